//! The edge cache for vehicle GETs, on the Workers Cache API, with freshness decided here.
//!
//! Each PoP has its own cache, and the Cache API honours `s-maxage` only. So each entry is
//! stored for the longest window it may be served in, stamped with when its origin call began
//! ([`store`]), and on every read the edge decides ([`freshness::judge`]): fresh → `hit`;
//! within stale-while-revalidate → `stale`, refreshed in `ctx.wait_until`; past that → the
//! origin, falling back to the entry (`stale`) while within stale-if-error; a read presenting
//! a bookmark newer than the entry → the origin (`bypass`), so users always read their writes
//! (and get the origin's error, 503 + `retry-after`, rather than an older entry).
//! A successful write soft-purges the keys it affects ([`keys::keys_to_purge`]) in this PoP:
//! they are marked superseded, never served as fresh again, but still there to stand in for an
//! origin that fails (`stale`) — so a list being written to when its region goes dark is still
//! answered. Elsewhere entries age out after `s-maxage`, and bookmarks cover the writer.
//! Storing an entry and the soft purge both go out after the answer ([`write_behind`]), ordered
//! within the isolate as if awaited. A read of an entry this isolate knows cannot answer it
//! (it marked it superseded, or it is past its windows: [`known`]) skips the lookup and asks
//! the Cache API only if the origin fails.

pub mod freshness;
pub mod keys;
pub mod known;
pub mod store;
pub mod write_behind;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use roam_shared::Region;
use worker::Context;

pub use freshness::{judge, Verdict, Windows};
pub use keys::{key_for, keys_to_purge};
pub use store::{lookup, mark_superseded, store, Entry};

use crate::config::Config;
use crate::error::Result;
use crate::failover;
use crate::forward::{Outbound, Reply};
use crate::now_ms;
use crate::trace::{self, Trace};

/// How a cacheable read was answered.
#[derive(Debug)]
pub struct CacheAnswer {
    /// The answer (an origin's, or an entry's).
    pub reply: Reply,
    /// The region whose origin produced it.
    pub served_by: String,
    /// `hit`, `miss`, `stale` or `bypass`: the `x-roam-cache` value.
    pub label: &'static str,
    /// Time spent waiting for origins, ms (0 when the cache answered).
    pub origin_ms: f64,
}

/// Answers a cacheable read: from the entry under `key` when the edge may, else from the
/// origins (with failover), storing what they answer. `written_at` is the reader's newest
/// bookmark (ms), if any.
pub async fn read_through(
    config: Rc<Config>,
    home: &Region,
    key: String,
    out: Outbound,
    written_at: Option<f64>,
    ctx: &Context,
    trace: &Trace,
) -> Result<CacheAnswer> {
    write_behind::settled(&key).await;
    let now = now_ms();
    // Known here to need the origin: the Cache API is asked only if the origin fails.
    let known_verdict = known::verdict(&key, now, written_at)
        .filter(|v| !matches!(v, Verdict::Fresh | Verdict::StaleWhileRevalidate));
    let skip_lookup = known_verdict.is_some();
    let entry = if skip_lookup {
        None
    } else {
        lookup(&key).await
    };
    let verdict = entry
        .as_ref()
        .map(|e| judge(e.fetched_at, &e.windows, now, written_at, e.superseded_at))
        .or(known_verdict);
    let looked_up = match verdict {
        _ if skip_lookup => "known stale",
        Some(Verdict::Fresh) => "hit",
        Some(Verdict::StaleWhileRevalidate) => "stale",
        Some(_) => "expired",
        None => "miss",
    };
    trace.cache_lookup(now, now_ms(), looked_up);
    let from_entry = |entry: Entry, label| CacheAnswer {
        reply: entry.reply,
        served_by: entry.served_by,
        label,
        origin_ms: 0.0,
    };
    match (entry, verdict) {
        (Some(entry), Some(Verdict::Fresh)) => Ok(from_entry(entry, "hit")),
        (Some(entry), Some(Verdict::StaleWhileRevalidate)) => {
            if begin_refresh(&key) {
                ctx.wait_until(refresh(config.clone(), home.name.clone(), key, out));
            }
            Ok(from_entry(entry, "stale"))
        }
        (entry, _) => {
            let label = if verdict == Some(Verdict::OlderThanBookmark) {
                "bypass"
            } else {
                "miss"
            };
            let result = failover::send(&config, home, &out, trace).await;
            // The origins failed (unreachable, timed out, or could not reach the data): an
            // entry within stale-if-error is better than an error.
            let origin_failed = result.as_ref().map_or(true, |s| s.reply.status >= 500);
            let fallback = match (origin_failed, skip_lookup) {
                (false, _) => None,
                (true, false) => entry,
                (true, true) => lookup(&key).await,
            }
            .filter(|e| {
                matches!(
                    judge(e.fetched_at, &e.windows, now, written_at, e.superseded_at),
                    Verdict::Fresh | Verdict::StaleWhileRevalidate | Verdict::StaleIfError
                )
            });
            if let (true, Some(entry)) = (origin_failed, fallback) {
                if let Err(e) = &result {
                    worker::console_warn!("serving stale {key}: {e}");
                }
                return Ok(from_entry(entry, "stale"));
            }
            Ok(stored_after_answer(result?, key, label, ctx))
        }
    }
}

/// The origins' answer, stored under `key` after it has gone out (when it may be stored).
fn stored_after_answer(
    served: failover::Served,
    key: String,
    label: &'static str,
    ctx: &Context,
) -> CacheAnswer {
    if let Some(fresh) = Entry::from_reply(&served.reply, served.started_at, &served.region) {
        let stored = key.clone();
        write_behind::after_answer(ctx, vec![key], async move {
            store(&stored, &fresh).await;
        });
    }
    CacheAnswer {
        reply: served.reply,
        served_by: served.region,
        label,
        origin_ms: served.origin_ms,
    }
}

/// Refreshes an entry in the background (`ctx.wait_until`), keeping it when the origin fails.
/// A trace of its own: no client waits on it.
async fn refresh(config: Rc<Config>, home: String, key: String, out: Outbound) {
    if let Some(region) = config.map.region(&home) {
        match failover::send(&config, region, &out, &trace::detached()).await {
            Ok(served) => match Entry::from_reply(&served.reply, served.started_at, &served.region)
            {
                Some(entry) => store(&key, &entry).await,
                None => worker::console_warn!(
                    "refresh of {key}: origin answered {}",
                    served.reply.status
                ),
            },
            Err(e) => worker::console_warn!("refresh of {key} failed: {e}"),
        }
    }
    end_refresh(&key);
}

thread_local! {
    /// Keys being refreshed by this isolate, so a burst of stale reads starts one refresh.
    static REFRESHING: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// Marks `key` as being refreshed; false if a refresh is already running.
fn begin_refresh(key: &str) -> bool {
    REFRESHING.with(|r| r.borrow_mut().insert(key.to_string()))
}

/// Clears the mark set by [`begin_refresh`].
fn end_refresh(key: &str) {
    REFRESHING.with(|r| r.borrow_mut().remove(key));
}
