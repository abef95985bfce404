//! The circuit breaker the edge keeps for each origin (of each region's pool).
//!
//! Breakers live in isolate memory (see [`crate::pool`]). That is what a Worker has: no memory
//! is shared between isolates, let alone PoPs, so each isolate learns on its own that an origin
//! is down, at the cost of a few failed calls (each of which still goes elsewhere). Durable
//! Objects could share the state, but would put a network hop in front of every request.
//!
//! Thresholds ([`BreakerPolicy::default`]):
//! - **open after 3 consecutive failures** (timeouts or connection errors): one failure can be
//!   a blip or a restart, three in a row mean the origin keeps costing users a retry each;
//! - **stay open 10 s**, then **half-open**: one real request is let through as the probe; if
//!   it succeeds the breaker closes, if it fails it re-opens for another 10 s. Ten seconds keeps
//!   a recovered origin out of rotation only briefly, and a dead one is tried once per 10 s per
//!   isolate rather than on every request;
//! - a probe that has not reported back within 30 s is presumed lost and another is allowed.
//!
//! An origin's own HTTP answers, 5xx included, are not failures: the origin was reachable and
//! answered, and another origin would reach the same database partition.

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

/// `retry-after` when a breaker is still closed: long enough for an origin restart.
pub const RETRY_AFTER_CLOSED_SECS: u32 = 5;

/// One origin's breaker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breaker {
    consecutive_failures: u32,
    /// When the breaker opened (ms), if it is open or half-open.
    opened_at: Option<f64>,
    /// When the outstanding half-open probe started (ms).
    probe_started: Option<f64>,
}

impl Breaker {
    /// Whether [`Breaker::admit`] would say yes now, without claiming the probe.
    pub fn available(&self, now: f64, policy: &BreakerPolicy) -> bool {
        let Some(opened_at) = self.opened_at else {
            return true;
        };
        now - opened_at >= policy.open_for_ms
            && self
                .probe_started
                .is_none_or(|started| now - started >= policy.probe_timeout_ms)
    }

    /// Whether a call may go to this origin now; in half-open state only the first caller (the
    /// probe) gets a yes.
    pub fn admit(&mut self, now: f64, policy: &BreakerPolicy) -> bool {
        if !self.available(now, policy) {
            return false;
        }
        if self.opened_at.is_some() {
            self.probe_started = Some(now);
        }
        true
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

    /// Consecutive failures seen.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
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
        assert!(
            b.available(10_002.0, &p),
            "looking does not claim the probe"
        );
        assert!(b.admit(10_002.0, &p), "the probe");
        assert!(!b.available(10_003.0, &p));
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
}
