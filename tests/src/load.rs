//! A bounded mixed read/write load, as a well-behaved client produces it: each user sends one
//! request per `interval` (a write every `write_every`-th, else a read of its city's vehicles),
//! every write carries its own idempotency key, and a 503, a 504 or a dropped connection is
//! retried with the same key after `retry-after` (capped) until `give_up_after`.
//! (Long because the client's loop, its retries and the tally they fill are one behaviour.)

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::client::{header_text, region_entry, User};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Prefix of every idempotency key and vehicle location of this run (SQL finds them by it).
    pub run: String,
    /// How long users start new operations.
    pub duration: Duration,
    /// One operation per user per interval (retries included).
    pub interval: Duration,
    /// Every n-th operation is a write (0: none, a reader).
    pub write_every: u32,
    /// A retried operation is abandoned this long after its first attempt.
    pub give_up_after: Duration,
    /// Longest wait between retries, whatever `retry-after` says.
    pub max_backoff: Duration,
}

/// One attempt of one operation.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The user's city.
    pub city: &'static str,
    /// Whether the operation is a write.
    pub write: bool,
    /// When it was sent, since the load began.
    pub at: Duration,
    /// How long the answer took.
    pub latency: Duration,
    /// HTTP status, 0 when the connection failed.
    pub status: u16,
    /// `x-roam-served-by`.
    pub served_by: String,
    /// `x-roam-cache`.
    pub cache: String,
    /// `retry-after`, when the answer had one.
    pub retry_after: Option<u64>,
    /// `content-type`.
    pub content_type: String,
    /// 1 for the first attempt of an operation.
    pub number: u32,
}

/// One write operation, however many attempts it took.
#[derive(Debug, Clone)]
pub struct Write {
    /// The user's city (the home of the vehicle).
    pub city: &'static str,
    /// Its home region.
    pub region: &'static str,
    /// Idempotency key, also the vehicle's `last_location`.
    pub key: String,
    /// The vehicle id of the 2xx answer, if one came.
    pub acked: Option<String>,
    /// When the 2xx came, since the load began.
    pub acked_at: Option<Duration>,
    /// Attempts made.
    pub attempts: u32,
}

/// What one user saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every attempt.
    pub attempts: Vec<Attempt>,
    /// Every write.
    pub writes: Vec<Write>,
    /// Reads that never got a 2xx.
    pub unanswered_reads: u32,
}

/// How long after a node stops its sessions are surely gone (its refusals are then certain).
pub const NODE_SESSIONS_GONE: Duration = Duration::from_millis(500);

impl Outcome {
    /// Merges several users' outcomes.
    pub fn merge(all: Vec<Outcome>) -> Outcome {
        let mut out = Outcome::default();
        for o in all {
            out.attempts.extend(o.attempts);
            out.writes.extend(o.writes);
            out.unanswered_reads += o.unanswered_reads;
        }
        out.attempts.sort_by_key(|a| a.at);
        out
    }

    /// The attempts sent at `from` or later and answered before `to`.
    pub fn attempts_between(&self, from: Duration, to: Duration) -> Vec<&Attempt> {
        self.attempts
            .iter()
            .filter(|a| a.at >= from && a.at + a.latency < to)
            .collect()
    }

    /// The attempts made while a node was surely down: from half a second after it stopped (its
    /// sessions gone) until a second before its start began (on a loaded 2-core machine, a
    /// request that ended just before the start was recorded was once served by the node
    /// already coming up).
    pub fn attempts_while_down(
        &self,
        stopped_at: Duration,
        restarting_at: Duration,
    ) -> Vec<&Attempt> {
        self.attempts_between(
            stopped_at + NODE_SESSIONS_GONE,
            restarting_at.saturating_sub(Duration::from_secs(1)),
        )
    }
}

/// Whether a well-behaved client tries again: a dropped connection (0), a 503 or a 504.
/// Starts each user's share of the load (its plan) in a task of its own; `t0` is the common
/// start.
pub fn spawn(
    shares: impl IntoIterator<Item = (User, Plan)>,
    t0: Instant,
) -> Vec<JoinHandle<Outcome>> {
    shares
        .into_iter()
        .map(|(user, plan)| tokio::spawn(run(user, plan, t0)))
        .collect()
}

/// Waits for every task [`spawn`] started; what they all saw, merged.
pub async fn gather(tasks: Vec<JoinHandle<Outcome>>) -> Outcome {
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a load task"));
    }
    Outcome::merge(outcomes)
}

fn retryable(status: u16) -> bool {
    matches!(status, 0 | 503 | 504)
}

/// Runs `user`'s share of the load; `t0` is the common start.
pub async fn run(user: User, plan: Plan, t0: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let city = user.place.city;
    let mut n: u32 = 0;
    while t0.elapsed() < plan.duration {
        let tick = Instant::now();
        let write = plan.write_every != 0 && n.is_multiple_of(plan.write_every);
        let key = format!("{}-{city}-{n}", plan.run);
        let first = Instant::now();
        let mut number = 0;
        let mut acked = None;
        loop {
            number += 1;
            let attempt = once(&user, write, &key, t0, number).await;
            let status = attempt.0.status;
            let backoff = attempt
                .0
                .retry_after
                .map_or(Duration::from_millis(500), Duration::from_secs)
                .min(plan.max_backoff);
            outcome.attempts.push(attempt.0);
            if (200..300).contains(&status) {
                acked = Some((attempt.1, t0.elapsed()));
                break;
            }
            if !retryable(status) || first.elapsed() + backoff > plan.give_up_after {
                break;
            }
            tokio::time::sleep(backoff).await;
        }
        if write {
            outcome.writes.push(Write {
                city,
                region: user.place.region,
                key,
                acked: acked.as_ref().and_then(|(id, _)| id.clone()),
                acked_at: acked.map(|(_, at)| at),
                attempts: number,
            });
        } else if acked.is_none() {
            outcome.unanswered_reads += 1;
        }
        n += 1;
        if let Some(rest) = plan.interval.checked_sub(tick.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    outcome
}

/// One attempt: the attempt, and the created vehicle's id for a 2xx write.
async fn once(
    user: &User,
    write: bool,
    key: &str,
    t0: Instant,
    number: u32,
) -> (Attempt, Option<String>) {
    let city = user.place.city;
    let path = format!("/api/v1/cities/{city}/vehicles");
    let request = if write {
        user.request(Method::POST, &path)
            .header("idempotency-key", key)
            .json(&json!({"type": "scooter", "last_location": key}))
    } else {
        user.request(Method::GET, &path)
    };
    let at = t0.elapsed();
    let started = Instant::now();
    let mut attempt = Attempt {
        city,
        write,
        at,
        latency: Duration::ZERO,
        status: 0,
        served_by: String::new(),
        cache: String::new(),
        retry_after: None,
        content_type: String::new(),
        number,
    };
    let mut id = None;
    if let Ok(response) = request.send().await {
        let header = |name: &str| header_text(response.headers(), name).to_string();
        attempt.status = response.status().as_u16();
        attempt.served_by = header("x-roam-served-by");
        attempt.cache = header("x-roam-cache");
        attempt.content_type = header("content-type");
        attempt.retry_after = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        if write && (200..300).contains(&attempt.status) {
            id = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string));
        }
    }
    attempt.latency = started.elapsed();
    (attempt, id)
}

/// Samples eu-west's breaker in `/api/v1/regions` every `every` until `until` (since `t0`):
/// (time since t0, state).
pub async fn watch_breaker(
    user: User,
    region: &'static str,
    t0: Instant,
    until: Duration,
    every: Duration,
) -> Vec<(Duration, String)> {
    let mut seen = Vec::new();
    while t0.elapsed() < until {
        let at = t0.elapsed();
        if let Ok(r) = user
            .http
            .get(format!("{}/api/v1/regions", user.base))
            .send()
            .await
        {
            if let Ok(body) = r.json::<serde_json::Value>().await {
                seen.push((at, breaker(&body, region)));
            }
        }
        tokio::time::sleep(every).await;
    }
    seen
}

/// `region`'s breaker state in a `/api/v1/regions` body ("?" when it is not there).
pub fn breaker(regions: &serde_json::Value, region: &str) -> String {
    region_entry(regions, region)["breaker"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// `retry-after` in seconds, if the answer carries a valid one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `p`-th percentile (0–100) of `values` (which it sorts), in the values' unit.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}
