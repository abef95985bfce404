//! Each region's own report of its health (`GET /api/v1/health` at one of its origins, signed
//! like every forwarded request): which database host takes writes, its standbys' lag, the job
//! backlog. `/api/v1/regions` shows it beside the breaker state this isolate keeps.
//!
//! Kept [`FRESH_FOR_MS`] in isolate memory, so a page polling the regions costs each origin
//! one health call per isolate per few seconds; the origin serves it from its own background
//! checks, so the nodes see nothing of it. A region whose breakers are all open is not asked
//! (it is `unreachable` until a probe succeeds), and a slow origin costs the listing at most
//! [`TIMEOUT_MS`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use roam_shared::api::{RegionHealth, RegionReport};
use roam_shared::headers::GeoTags;

use crate::config::Config;
use crate::forward::{CallError, Outbound};
use crate::trace::Trace;
use crate::{failover, now_ms, pool};

/// How long a fetched report is shown before it is fetched again.
pub const FRESH_FOR_MS: f64 = 5_000.0;
/// The longest a region's report may take: the listing waits for the slowest.
pub const TIMEOUT_MS: u32 = 1_000;

thread_local! {
    /// The latest report of each region and when it was fetched (edge clock, ms).
    static REPORTS: RefCell<BTreeMap<String, (f64, RegionReport)>> =
        const { RefCell::new(BTreeMap::new()) };
}

/// Fills in each region's `report`, fetching the ones older than [`FRESH_FOR_MS`] (in
/// parallel).
pub async fn attach_reports(
    config: &Config,
    regions: &mut [RegionHealth],
    request_id: &str,
    trace: &Trace,
) {
    let now = now_ms();
    let stale: Vec<String> = regions
        .iter()
        .filter(|r| cached(&r.name, now).is_none())
        .map(|r| r.name.clone())
        .collect();
    let fetches = stale.iter().map(|region| async move {
        let report = fetch(config, region, request_id, trace).await;
        REPORTS.with(|r| r.borrow_mut().insert(region.clone(), (now_ms(), report)));
    });
    futures::future::join_all(fetches).await;
    let now = now_ms();
    for region in regions {
        region.report = cached(&region.name, now);
    }
}

/// The cached report of `region`, with its age, while it is fresh enough to show.
fn cached(region: &str, now: f64) -> Option<RegionReport> {
    REPORTS.with(|r| {
        r.borrow().get(region).and_then(|(at, report)| {
            let age = now - at;
            (age < FRESH_FOR_MS).then(|| RegionReport {
                age_ms: age.max(0.0).round(),
                ..report.clone()
            })
        })
    })
}

/// Asks one of the region's origins (one whose breaker admits a call); its outcome feeds that
/// origin's breaker like any call.
async fn fetch(config: &Config, region: &str, request_id: &str, trace: &Trace) -> RegionReport {
    let pool = config.pool(region);
    let Some(i) = pool::pick(pool, &[], now_ms(), &config.breaker) else {
        return RegionReport::unreachable("unreachable", "every origin's breaker is open");
    };
    let base = &pool[i];
    let out = Outbound::new(
        "GET",
        "/api/v1/health",
        &[],
        Vec::new(),
        &GeoTags::default(),
        request_id,
        None,
    );
    let (_, traceparent) = trace.child();
    let timeout = TIMEOUT_MS.min(config.origin_timeout_ms);
    let (result, _) = failover::call_counted(base, &out, config, timeout, &traceparent).await;
    match result {
        // 503 is a readiness answer too (its database is down): read it all the same.
        Ok(reply) => RegionReport::from_readiness(&reply.body).unwrap_or_else(|| {
            RegionReport::unreachable(
                "unreachable",
                &format!("its origin answered {}", reply.status),
            )
        }),
        Err(CallError::Timeout) => {
            RegionReport::unreachable("unreachable", "its origin did not answer in time")
        }
        Err(CallError::Unreachable(_)) => {
            RegionReport::unreachable("unreachable", "its origin could not be reached")
        }
    }
}
