//! Failover: the order in which regions are tried, and within a region its pool of origins.
//!
//! For each region in [`candidates`] order, the request goes to an origin of the region's pool
//! picked by [`pool::pick`] (power of two choices among the origins whose circuit breakers
//! admit a call, see [`crate::pool`] and [`crate::breaker`]). When that origin cannot be
//! reached (connection refused or reset: the process is down) the request goes to another
//! origin of the same pool, and only when no origin of the pool is left does it fail over to
//! the next region. A **timeout** moves on to the next region at once: the origins of a pool
//! share their region's database node and network path, which is what most often makes one of
//! them slow, so a sibling would likely cost another full timeout; a single hung origin soon
//! has its own breaker open and drops out of its pool.

use roam_shared::api::RegionHealth;
use roam_shared::{Coordinates, Region, RegionMap};

use crate::config::Config;
use crate::error::EdgeError;
use crate::forward::{self, CallError, Outbound, Reply};
use crate::trace::{Attempt, Trace};
use crate::{now_ms, pool};

/// Every region's health as this isolate believes it, origin by origin.
pub fn health(config: &Config, now: f64) -> Vec<RegionHealth> {
    let map = &config.map;
    map.regions
        .iter()
        .map(|region| {
            let origins = pool::health(config.pool(&region.name), now, &config.breaker);
            RegionHealth {
                name: region.name.clone(),
                label: region.label.clone(),
                breaker: pool::overall_state(&origins).to_string(),
                consecutive_failures: origins
                    .iter()
                    .map(|o| o.consecutive_failures)
                    .min()
                    .unwrap_or(0),
                cities: map
                    .cities_in(&region.name)
                    .map(|c| c.slug.clone())
                    .collect(),
                origins,
                report: None,
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

/// Sends `out` to an origin of the home region's pool, then (connection errors) to the pool's
/// other origins, then (when no origin of the pool is left, or on a timeout) to the next
/// regions' pools. Each attempt is a span of `trace`, with its own `traceparent`.
///
/// Reads may always go elsewhere: any origin reaches the home partition through the database.
/// Writes may too, because every forwarded write carries an idempotency key whose record
/// commits with the effect on the home partition's node: if the first origin did apply it
/// (a timeout after the commit), the second finds the key and returns the stored answer, so the
/// write has exactly one effect.
pub async fn send(
    config: &Config,
    home: &Region,
    out: &Outbound,
    trace: &Trace,
) -> Result<Served, EdgeError> {
    let policy = &config.breaker;
    let mut origin_ms = 0.0;
    let mut timed_out = false;
    let timeout_ms = if matches!(out.method.as_str(), "GET" | "HEAD") {
        config.origin_timeout_ms
    } else {
        config.write_timeout_ms
    };
    let mut tried: Vec<&str> = Vec::new();
    for region in candidates(&config.map, home) {
        let pool = config.pool(&region.name);
        while let Some(i) = pool::pick(pool, &tried, now_ms(), policy) {
            let base = &pool[i];
            let kind = match (tried.is_empty(), region.name == home.name) {
                (true, _) => Attempt::First,
                (false, true) => Attempt::SamePool,
                (false, false) => Attempt::Failover,
            };
            tried.push(base);
            let started_at = now_ms();
            let (result, ended) =
                attempt(config, base, &region.name, kind, out, timeout_ms, trace).await;
            origin_ms += ended - started_at;
            let error = match result {
                Ok(reply) => {
                    return Ok(Served {
                        reply,
                        region: region.name.clone(),
                        origin_ms,
                        started_at,
                    });
                }
                Err(error) => error,
            };
            worker::console_warn!(
                "origin {} #{i} failed for {} {}: {error:?}",
                region.name,
                out.method,
                out.path_and_query
            );
            if error == CallError::Timeout {
                timed_out = true;
                break;
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
            retry_after_secs: pool::retry_after_secs(config.pool(&home.name), now_ms(), policy),
        }
    })
}

/// One attempt at the origin at `base` (of `region`), as a span of `trace` with its own
/// `traceparent`. Returns the result and when it ended.
async fn attempt(
    config: &Config,
    base: &str,
    region: &str,
    kind: Attempt,
    out: &Outbound,
    timeout_ms: u32,
    trace: &Trace,
) -> (Result<Reply, CallError>, f64) {
    let (span_id, traceparent) = trace.child();
    let started_at = now_ms();
    let (result, ended) = call_counted(base, out, config, timeout_ms, &traceparent).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(CallError::Timeout) => "timeout",
        Err(CallError::Unreachable(_)) => "unreachable",
    };
    trace.attempt(span_id, region, kind, started_at, ended, outcome);
    if let Ok(reply) = &result {
        trace.answered(base, reply.header(roam_shared::trace::TRACERESPONSE));
    }
    (result, ended)
}

/// One signed call to the origin at `base`, counted in its pool: in flight while it runs, then
/// recorded for its breaker (reached or not). Returns the result and when it ended.
pub async fn call_counted(
    base: &str,
    out: &Outbound,
    config: &Config,
    timeout_ms: u32,
    traceparent: &str,
) -> (Result<Reply, CallError>, f64) {
    let result = {
        let _in_flight = pool::InFlight::begin(base);
        let key = config.keys.current();
        forward::call(base, out, key, timeout_ms, Some(traceparent)).await
    };
    let ended = now_ms();
    pool::record(base, result.is_ok(), ended, &config.breaker);
    (result, ended)
}

#[cfg(test)]
mod tests {
    use super::*;

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
