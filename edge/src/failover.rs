//! Failover: the order in which origins are tried, and a circuit breaker per region.
//!
//! The breakers live in isolate memory (a `thread_local`). That is what a Worker has: no memory
//! is shared between isolates, let alone PoPs, so each isolate learns on its own that a region
//! is down, at the cost of a few failed calls (each of which still fails over). Durable Objects
//! could share the state, but would put a network hop in front of every request.
//!
//! Thresholds ([`BreakerPolicy::default`]):
//! - **open after 3 consecutive failures** (timeouts or connection errors): one failure can be
//!   a blip or a restart, three in a row mean the region keeps costing users a timeout each;
//! - **stay open 10 s**, then **half-open**: one real request is let through as the probe; if
//!   it succeeds the breaker closes, if it fails it re-opens for another 10 s. Ten seconds keeps
//!   a recovered region out of rotation only briefly, and a dead one is tried once per 10 s per
//!   isolate rather than on every request;
//! - a probe that has not reported back within 30 s is presumed lost and another is allowed.
//!
//! An origin's own HTTP answers, 5xx included, are not failures: the origin was reachable and
//! answered, and another origin would reach the same database partition.

use std::cell::RefCell;
use std::collections::BTreeMap;

use roam_shared::api::RegionHealth;
use roam_shared::{Coordinates, Region, RegionMap};

use crate::config::Config;
use crate::error::EdgeError;
use crate::forward::{self, CallError, Outbound, Reply};
use crate::now_ms;

/// Circuit breaker thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failures_to_open: u32,
    /// How long an open breaker refuses calls before letting a probe through, ms.
    pub open_for_ms: f64,
    /// How long a probe may be outstanding before another one is allowed, ms.
    pub probe_timeout_ms: f64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures_to_open: 3,
            open_for_ms: 10_000.0,
            probe_timeout_ms: 30_000.0,
        }
    }
}

/// `retry-after` when the region's breaker is still closed: long enough for an origin restart.
pub const RETRY_AFTER_CLOSED_SECS: u32 = 5;

/// One region's breaker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breaker {
    consecutive_failures: u32,
    /// When the breaker opened (ms), if it is open or half-open.
    opened_at: Option<f64>,
    /// When the outstanding half-open probe started (ms).
    probe_started: Option<f64>,
}

impl Breaker {
    /// Whether a call may go to this region now; in half-open state only the first caller (the
    /// probe) gets a yes.
    pub fn admit(&mut self, now: f64, policy: &BreakerPolicy) -> bool {
        let Some(opened_at) = self.opened_at else {
            return true;
        };
        if now - opened_at < policy.open_for_ms {
            return false;
        }
        match self.probe_started {
            Some(started) if now - started < policy.probe_timeout_ms => false,
            _ => {
                self.probe_started = Some(now);
                true
            }
        }
    }

    /// Records a call that reached the origin.
    pub fn success(&mut self) {
        *self = Breaker::default();
    }

    /// Records a timeout or connection error.
    pub fn failure(&mut self, now: f64, policy: &BreakerPolicy) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.opened_at.is_some() || self.consecutive_failures >= policy.failures_to_open {
            self.opened_at = Some(now);
            self.probe_started = None;
        }
    }

    /// `closed`, `open` or `half-open`, as `/api/v1/regions` shows it.
    pub fn state(&self, now: f64, policy: &BreakerPolicy) -> &'static str {
        match self.opened_at {
            None => "closed",
            Some(at) if now - at < policy.open_for_ms => "open",
            Some(_) => "half-open",
        }
    }

    /// Seconds a client should wait before retrying, for `retry-after`: until an open breaker
    /// lets a probe through, else [`RETRY_AFTER_CLOSED_SECS`].
    pub fn retry_after_secs(&self, now: f64, policy: &BreakerPolicy) -> u32 {
        match self.opened_at {
            Some(at) => (((at + policy.open_for_ms - now).max(0.0) / 1000.0).ceil() as u32).max(1),
            None => RETRY_AFTER_CLOSED_SECS,
        }
    }
}

thread_local! {
    static BREAKERS: RefCell<BTreeMap<String, Breaker>> = const { RefCell::new(BTreeMap::new()) };
}

fn with_breaker<T>(region: &str, f: impl FnOnce(&mut Breaker) -> T) -> T {
    BREAKERS.with(|b| f(b.borrow_mut().entry(region.to_string()).or_default()))
}

/// Whether this isolate's breaker lets a call go to `region` now.
pub fn admit(region: &str, now: f64, policy: &BreakerPolicy) -> bool {
    with_breaker(region, |b| b.admit(now, policy))
}

/// Records the outcome of a call to `region`.
pub fn record(region: &str, reached: bool, now: f64, policy: &BreakerPolicy) {
    with_breaker(region, |b| {
        if reached {
            b.success();
        } else {
            b.failure(now, policy);
        }
    });
}

/// Seconds a client should wait before retrying `region`.
pub fn retry_after_secs(region: &str, now: f64, policy: &BreakerPolicy) -> u32 {
    with_breaker(region, |b| b.retry_after_secs(now, policy))
}

/// Every region's health as this isolate believes it.
pub fn health(map: &RegionMap, now: f64, policy: &BreakerPolicy) -> Vec<RegionHealth> {
    map.regions
        .iter()
        .map(|region| {
            let (breaker, consecutive_failures) = with_breaker(&region.name, |b| {
                (b.state(now, policy), b.consecutive_failures)
            });
            RegionHealth {
                name: region.name.clone(),
                label: region.label.clone(),
                breaker: breaker.to_string(),
                consecutive_failures,
                cities: map
                    .cities_in(&region.name)
                    .map(|c| c.slug.clone())
                    .collect(),
            }
        })
        .collect()
}

/// The regions to try for a request whose home is `home`: the home region first, then the
/// others nearest the home region first. Nearest to the home rather than to the user, because
/// a stand-in origin talks to the home partition several times per request (over the
/// database link) but to the edge only once.
pub fn candidates<'a>(map: &'a RegionMap, home: &'a Region) -> Vec<&'a Region> {
    let mut order = vec![home];
    let at = Coordinates::new(home.lat, home.lon);
    order.extend(
        map.regions_by_distance_from(at)
            .into_iter()
            .filter(|r| r.name != home.name),
    );
    order
}

/// An origin's answer and who gave it.
#[derive(Debug, Clone)]
pub struct Served {
    /// The answer.
    pub reply: Reply,
    /// The region whose origin answered.
    pub region: String,
    /// Time spent waiting for origins, failed attempts included, ms.
    pub origin_ms: f64,
    /// When the answering call began (edge clock, ms): what a cache entry is as old as.
    pub started_at: f64,
}

/// Sends `out` to the home region's origin, failing over on timeout or connection error to the
/// next candidates whose breakers admit a call.
///
/// Reads may always go elsewhere: any origin reaches the home partition through the database.
/// Writes may too, because every forwarded write carries an idempotency key whose record
/// commits with the effect on the home partition's node: if the first origin did apply it
/// (a timeout after the commit), the second finds the key and returns the stored answer, so the
/// write has exactly one effect.
pub async fn send(config: &Config, home: &Region, out: &Outbound) -> Result<Served, EdgeError> {
    let policy = &config.breaker;
    let mut origin_ms = 0.0;
    let mut timed_out = false;
    for region in candidates(&config.map, home) {
        let Some(base) = config.origin(&region.name) else {
            continue;
        };
        if !admit(&region.name, now_ms(), policy) {
            continue;
        }
        let started_at = now_ms();
        let timeout_ms = if matches!(out.method.as_str(), "GET" | "HEAD") {
            config.origin_timeout_ms
        } else {
            config.write_timeout_ms
        };
        let result = forward::call(base, out, &config.secret, timeout_ms).await;
        let ended = now_ms();
        origin_ms += ended - started_at;
        match result {
            Ok(reply) => {
                record(&region.name, true, ended, policy);
                return Ok(Served {
                    reply,
                    region: region.name.clone(),
                    origin_ms,
                    started_at,
                });
            }
            Err(error) => {
                timed_out |= error == CallError::Timeout;
                record(&region.name, false, ended, policy);
                worker::console_warn!(
                    "origin {} failed for {} {}: {error:?}; trying the next region",
                    region.name,
                    out.method,
                    out.path_and_query
                );
            }
        }
    }
    Err(if timed_out {
        EdgeError::Timeout {
            region: home.name.clone(),
        }
    } else {
        EdgeError::Unavailable {
            region: home.name.clone(),
            retry_after_secs: retry_after_secs(&home.name, now_ms(), policy),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_three_failures_then_half_opens_for_one_probe() {
        let p = BreakerPolicy::default();
        let mut b = Breaker::default();
        for t in [0.0, 1.0] {
            b.failure(t, &p);
            assert!(b.admit(t, &p), "still closed after a blip");
        }
        b.failure(2.0, &p);
        assert_eq!(b.state(2.0, &p), "open");
        assert!(!b.admit(5_000.0, &p));
        assert_eq!(b.retry_after_secs(5_000.0, &p), 6);
        assert_eq!(b.state(10_002.0, &p), "half-open");
        assert!(b.admit(10_002.0, &p), "the probe");
        assert!(!b.admit(10_003.0, &p), "only one probe at a time");
        b.failure(10_500.0, &p);
        assert!(!b.admit(15_000.0, &p), "a failed probe re-opens");
        assert!(b.admit(20_600.0, &p));
        b.success();
        assert_eq!(b.state(20_601.0, &p), "closed");
        assert!(b.admit(20_601.0, &p));
    }

    #[test]
    fn a_lost_probe_does_not_wedge_the_breaker() {
        let p = BreakerPolicy::default();
        let mut b = Breaker::default();
        (0..3).for_each(|_| b.failure(0.0, &p));
        assert!(b.admit(10_000.0, &p));
        assert!(!b.admit(39_000.0, &p));
        assert!(b.admit(40_001.0, &p));
    }

    #[test]
    fn candidates_start_home_then_nearest_to_home() {
        let map = RegionMap::builtin();
        let names = |home: &str| -> Vec<String> {
            let home = map.region(home).unwrap();
            candidates(map, home)
                .iter()
                .map(|r| r.name.clone())
                .collect()
        };
        assert_eq!(names("eu-west"), ["eu-west", "us-east", "us-west"]);
        assert_eq!(names("us-west"), ["us-west", "us-east", "eu-west"]);
        assert_eq!(names("us-east"), ["us-east", "us-west", "eu-west"]);
    }
}
