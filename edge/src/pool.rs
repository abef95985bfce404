//! Origin pools: a region may be served by several origins (`ORIGINS` lists them), and the
//! edge spreads that region's requests across the healthy ones.
//!
//! **Policy: power of two choices on requests in flight.** Among the origins of the pool whose
//! breakers admit a call (and that this request has not tried yet), pick two at random and send
//! to the one with fewer requests in flight from this isolate; a tie goes to the first pick, so
//! idle origins share the load at random. Why this one:
//! - in-flight counts are exact and local (no estimate, no clock, no tuning constant), and they
//!   track slowness by themselves: an origin that answers slowly keeps more requests in flight
//!   (Little's law), so it gets fewer new ones. It is Envoy's default `LEAST_REQUEST` policy;
//! - the random pair, rather than "always the least loaded", avoids the herd: thousands of
//!   isolates in many PoPs each see only their own traffic, and if all of them sent to the
//!   origin that looked idlest they would all pick the same one (Mitzenmacher's "power of two
//!   choices" gets most of the benefit of full information with none of the herding);
//! - round-robin would ignore load, and a per-isolate latency EWMA is noisy at the few requests
//!   per second an isolate sees.
//!
//! Health is a circuit breaker per origin ([`crate::breaker`]), keyed by URL, in isolate memory
//! like the in-flight counts. [`crate::failover`] moves to another region only when no origin
//! of the pool can take the request.

use std::cell::RefCell;
use std::collections::BTreeMap;

use roam_shared::api::OriginHealth;

use crate::breaker::{Breaker, BreakerPolicy};

/// What this isolate knows about one origin.
#[derive(Debug, Clone, Default)]
struct OriginState {
    breaker: Breaker,
    in_flight: u32,
}

thread_local! {
    static ORIGINS: RefCell<BTreeMap<String, OriginState>> = const { RefCell::new(BTreeMap::new()) };
}

fn with_origin<T>(url: &str, f: impl FnOnce(&mut OriginState) -> T) -> T {
    ORIGINS.with(|o| f(o.borrow_mut().entry(url.to_string()).or_default()))
}

/// Power of two choices: given the in-flight counts of the candidates, the index of the one to
/// use. `random(n)` returns a number in `0..n`. Pure, so it is tested natively.
pub fn choose(loads: &[u32], mut random: impl FnMut(usize) -> usize) -> Option<usize> {
    match loads.len() {
        0 => None,
        1 => Some(0),
        n => {
            let a = random(n).min(n - 1);
            // A second pick distinct from the first: skip `a` by offsetting from it.
            let b = (a + 1 + random(n - 1).min(n - 2)) % n;
            Some(if loads[b] < loads[a] { b } else { a })
        }
    }
}

/// A number in `0..n` from the Worker's `Math.random` (balancing needs spread, not secrecy).
fn random_below(n: usize) -> usize {
    (js_sys::Math::random() * n as f64) as usize
}

/// The origin of `pool` (its index) this request should try next: one whose URL is not in
/// `tried` (several regions may share an origin, as in a single-region deployment) and whose
/// breaker admits a call, chosen by [`choose`]. Claims the half-open probe when it picks an
/// origin that is probing. `None` when no origin of the pool can take it.
pub fn pick(pool: &[String], tried: &[&str], now: f64, policy: &BreakerPolicy) -> Option<usize> {
    pick_with(pool, tried, now, policy, random_below)
}

/// [`pick`] with the random numbers given (for the tests).
fn pick_with(
    pool: &[String],
    tried: &[&str],
    now: f64,
    policy: &BreakerPolicy,
    random: impl FnMut(usize) -> usize,
) -> Option<usize> {
    let (indices, loads): (Vec<usize>, Vec<u32>) = ORIGINS.with(|o| {
        let mut o = o.borrow_mut();
        pool.iter()
            .enumerate()
            .filter(|(_, url)| !tried.contains(&url.as_str()))
            .filter_map(|(i, url)| {
                let state = o.entry(url.clone()).or_default();
                state
                    .breaker
                    .available(now, policy)
                    .then_some((i, state.in_flight))
            })
            .unzip()
    });
    let chosen = indices[choose(&loads, random)?];
    with_origin(&pool[chosen], |s| s.breaker.admit(now, policy)).then_some(chosen)
}

/// An origin of `pool` for a diagnostic call (`/ping/{region}`), breakers or not.
pub fn pick_any(pool: &[String]) -> Option<usize> {
    let loads: Vec<u32> = pool
        .iter()
        .map(|url| with_origin(url, |s| s.in_flight))
        .collect();
    choose(&loads, random_below)
}

/// Counts a call to an origin as in flight until dropped (also when the request is abandoned).
#[derive(Debug)]
pub struct InFlight(String);

impl InFlight {
    /// Starts counting a call to `url`.
    pub fn begin(url: &str) -> Self {
        with_origin(url, |s| s.in_flight += 1);
        Self(url.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        with_origin(&self.0, |s| s.in_flight = s.in_flight.saturating_sub(1));
    }
}

/// Records the outcome of a call to the origin at `url`: it answered (`reached`), or it timed
/// out or could not be reached.
pub fn record(url: &str, reached: bool, now: f64, policy: &BreakerPolicy) {
    with_origin(url, |s| {
        if reached {
            s.breaker.success();
        } else {
            s.breaker.failure(now, policy);
        }
    });
}

/// Seconds a client should wait before retrying a region served by `pool`: until its first
/// origin lets a probe through.
pub fn retry_after_secs(pool: &[String], now: f64, policy: &BreakerPolicy) -> u32 {
    pool.iter()
        .map(|url| with_origin(url, |s| s.breaker.retry_after_secs(now, policy)))
        .min()
        .unwrap_or(crate::breaker::RETRY_AFTER_CLOSED_SECS)
}

/// Each origin of `pool` as this isolate believes it.
pub fn health(pool: &[String], now: f64, policy: &BreakerPolicy) -> Vec<OriginHealth> {
    pool.iter()
        .enumerate()
        .map(|(i, url)| {
            with_origin(url, |s| OriginHealth {
                index: i as u32,
                breaker: s.breaker.state(now, policy).to_string(),
                consecutive_failures: s.breaker.consecutive_failures(),
                in_flight: s.in_flight,
            })
        })
        .collect()
}

/// A pool's breaker state as a whole: `closed` if any origin's is, else `half-open` if any
/// origin's is, else `open` (an empty pool too).
pub fn overall_state(origins: &[OriginHealth]) -> &'static str {
    let any = |state: &str| origins.iter().any(|o| o.breaker == state);
    if any("closed") {
        "closed"
    } else if any("half-open") {
        "half-open"
    } else {
        "open"
    }
}

#[cfg(test)]
mod tests;
