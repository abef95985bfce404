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
mod tests {
    use super::*;

    /// A scripted `random`: returns the given picks in turn.
    fn script(picks: &[usize]) -> impl FnMut(usize) -> usize + '_ {
        let mut at = 0;
        move |n| {
            let pick = picks[at % picks.len()];
            at += 1;
            assert!(pick < n, "pick {pick} out of 0..{n}");
            pick
        }
    }

    #[test]
    fn an_empty_pool_has_no_choice_and_a_single_origin_is_always_chosen() {
        assert_eq!(choose(&[], |_| unreachable!()), None);
        assert_eq!(choose(&[7], |_| unreachable!()), Some(0));
    }

    #[test]
    fn of_two_picks_the_one_with_fewer_requests_in_flight_wins() {
        assert_eq!(choose(&[3, 1], script(&[0, 0])), Some(1));
        assert_eq!(choose(&[1, 3], script(&[1, 0])), Some(0));
        // Three origins: picks 2 and (2 + 1 + 1) % 3 = 1.
        assert_eq!(choose(&[0, 5, 4], script(&[2, 1])), Some(2));
        assert_eq!(choose(&[0, 3, 4], script(&[2, 1])), Some(1));
    }

    #[test]
    fn the_two_picks_are_always_distinct_and_ties_go_to_the_first() {
        for n in 2..6 {
            for a in 0..n {
                for r in 0..n - 1 {
                    let loads = vec![0; n];
                    assert_eq!(choose(&loads, script(&[a, r])), Some(a), "tie → first pick");
                    // Make the first pick the busier: the second must be another origin.
                    let mut loads = vec![0; n];
                    loads[a] = 1;
                    let chosen = choose(&loads, script(&[a, r])).unwrap();
                    assert_ne!(chosen, a, "n={n} a={a} r={r}");
                }
            }
        }
    }

    #[test]
    fn idle_origins_share_the_load_and_a_busy_one_gets_less() {
        // A deterministic spread of picks over 0..n (a linear congruential sequence).
        let mut seed = 12_345_u64;
        let mut random = move |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) % n as u64) as usize
        };
        let mut counts = [0_u32; 3];
        for _ in 0..3_000 {
            counts[choose(&[0, 0, 0], &mut random).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "idle: {counts:?}");
        let mut counts = [0_u32; 3];
        for _ in 0..3_000 {
            counts[choose(&[4, 0, 0], &mut random).unwrap()] += 1;
        }
        // The busy origin wins only when it is both picks, which cannot happen: never.
        assert_eq!(counts[0], 0, "busy: {counts:?}");
        assert!(counts[1] > 1_200 && counts[2] > 1_200, "busy: {counts:?}");
    }

    #[test]
    fn a_request_skips_tried_origins_and_open_breakers_and_claims_the_probe() {
        let p = BreakerPolicy::default();
        let pool: Vec<String> = ["http://pick-a", "http://pick-b"].map(String::from).into();
        let first = |_: usize| 0;
        assert_eq!(pick_with(&pool, &[], 0.0, &p, first), Some(0));
        assert_eq!(
            pick_with(&pool, &["http://pick-a"], 0.0, &p, first),
            Some(1),
            "the other one"
        );
        assert_eq!(
            pick_with(&pool, &["http://pick-a", "http://pick-b"], 0.0, &p, first),
            None,
            "pool exhausted"
        );

        // In flight counts: a busy origin loses to an idle one.
        let busy = InFlight::begin(&pool[0]);
        assert_eq!(pick_with(&pool, &[], 0.0, &p, first), Some(1));
        assert_eq!(health(&pool, 0.0, &p)[0].in_flight, 1);
        drop(busy);
        assert_eq!(health(&pool, 0.0, &p)[0].in_flight, 0);

        // Origin a dies: once its breaker opens, every pick is b.
        (0..3).for_each(|_| record(&pool[0], false, 1.0, &p));
        let states = health(&pool, 2.0, &p);
        assert_eq!(
            (states[0].breaker.as_str(), states[1].breaker.as_str()),
            ("open", "closed")
        );
        assert_eq!(overall_state(&states), "closed", "the region stays healthy");
        assert!((0..20).all(|_| pick_with(&pool, &[], 2.0, &p, first) == Some(1)));
        assert_eq!(pick_with(&pool, &["http://pick-b"], 2.0, &p, first), None);

        // Ten seconds on, a is half-open: one request is its probe, the next goes to b.
        assert_eq!(pick_with(&pool, &[], 10_001.0, &p, first), Some(0));
        assert_eq!(pick_with(&pool, &[], 10_002.0, &p, first), Some(1));
        record(&pool[0], true, 10_003.0, &p);
        assert_eq!(
            pick_with(&pool, &[], 10_004.0, &p, first),
            Some(0),
            "closed again"
        );
    }

    #[test]
    fn the_pool_state_is_closed_while_any_origin_is() {
        let origin = |breaker: &str| OriginHealth {
            index: 0,
            breaker: breaker.into(),
            consecutive_failures: 0,
            in_flight: 0,
        };
        assert_eq!(overall_state(&[origin("open"), origin("closed")]), "closed");
        assert_eq!(
            overall_state(&[origin("open"), origin("half-open")]),
            "half-open"
        );
        assert_eq!(overall_state(&[origin("open"), origin("open")]), "open");
        assert_eq!(overall_state(&[]), "open");
    }
}
