//! Latency under rising load: an open-loop generator at fixed rates, stepping up to
//! saturation. Request i of a step is due at start + i / rate and sent then, however many are
//! still in flight; its latency runs from when it was due, so time spent queueing (in the
//! server, or here waiting for a connection) counts. A closed loop such as wrk's waits for an
//! answer before it asks again, slowing down with the server, and hides that queueing.
//!
//! Curves: cached reads at the edge (roam in plain workerd, and the JavaScript worker doing the
//! same Cache API lookup), the origin's primary-key read and `pgbench -S -R` on the same node,
//! and start-ride writes through the edge. The knee is where a curve stops being flat: the
//! last rate served in full (≥ 90 % of it delivered, nothing failed) with its median latency
//! within 3× of the lightest step's (the median, not p99: on this shared 2-core machine a
//! p99 moves with whatever else runs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::Semaphore;

/// Answers slower than this count as failed (and end the curve).
const TIMEOUT: Duration = Duration::from_secs(5);

/// Requests in flight at most; beyond that a due request waits (and its wait counts).
const MAX_IN_FLIGHT: usize = 512;

/// One step of a curve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// Requests per second asked for.
    pub offered: f64,
    /// Answered 2xx per second.
    pub delivered: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that failed or timed out.
    pub failed: usize,
}

impl Step {
    /// Whether the step was served in full (pgbench's -R schedule is a Poisson process: a
    /// short step holds a few percent more or fewer than asked).
    fn kept_up(&self) -> bool {
        self.delivered >= 0.9 * self.offered && self.failed == 0
    }
}

/// A curve: steps at rising rates.
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Curve {
    /// The last rate served in full with a median within 3× of the lightest step's.
    pub(crate) fn knee(&self) -> Option<f64> {
        let base = self.steps.first()?.p50_ms;
        self.steps
            .iter()
            .take_while(|s| s.kept_up() && s.p50_ms <= 3.0 * base)
            .last()
            .map(|s| s.offered)
    }
}

/// Whether to climb further after `step`: stop once it fell behind or its p99 passed 1 s.
pub(super) fn saturated(step: &Step) -> bool {
    !step.kept_up() || step.p99_ms > 1000.0
}

/// Sends `request(i)` at `rate` per second for `duration`, open loop.
pub(super) async fn step<F>(rate: f64, duration: Duration, request: F) -> Result<Step>
where
    F: Fn(u64) -> reqwest::RequestBuilder,
{
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let gate = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let pending = request(i).timeout(TIMEOUT).send();
        let gate = gate.clone();
        tasks.spawn(async move {
            let _slot = gate.acquire_owned().await;
            let ok = match pending.await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    ok && response.bytes().await.is_ok()
                }
                Err(_) => false,
            };
            (ok, due.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((true, latency)) => latencies.push(latency.as_secs_f64() * 1000.0),
            _ => failed += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(duration.as_secs_f64());
    Ok(summarise(rate, latencies, failed, elapsed))
}

/// A step from the latencies (ms) of its answered requests.
pub(super) fn summarise(rate: f64, mut latencies: Vec<f64>, failed: usize, seconds: f64) -> Step {
    latencies.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len().max(1));
        latencies.get(i - 1).copied().unwrap_or(f64::NAN)
    };
    Step {
        offered: rate,
        delivered: latencies.len() as f64 / seconds,
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        failed,
    }
}

/// A client for load: many connections kept alive, nothing compressed.
pub(super) fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: f64, delivered: f64, p99_ms: f64) -> Step {
        Step {
            offered,
            delivered,
            p50_ms: p99_ms / 2.0,
            p99_ms,
            failed: 0,
        }
    }

    #[test]
    fn the_knee_is_the_last_rate_served_in_full_with_a_flat_p99() {
        let curve = Curve {
            name: "x".into(),
            steps: vec![
                step(100.0, 100.0, 2.0),
                step(200.0, 185.0, 3.0),
                step(400.0, 398.0, 5.9),
                step(800.0, 790.0, 40.0),
                step(1600.0, 900.0, 900.0),
            ],
        };
        assert_eq!(curve.knee(), Some(400.0));
        assert!(saturated(&curve.steps[4]) && !saturated(&curve.steps[3]));
        let behind = Curve {
            name: "y".into(),
            steps: vec![step(100.0, 80.0, 2.0)],
        };
        assert_eq!(behind.knee(), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = summarise(10.0, (1..=100).map(f64::from).collect(), 0, 10.0);
        assert_eq!((s.p50_ms, s.p99_ms, s.delivered), (50.0, 99.0, 10.0));
    }
}
