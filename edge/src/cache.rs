//! The edge cache for vehicle GETs, on the Workers Cache API, with freshness decided here.
//!
//! The Cache API honours `s-maxage` but not `stale-while-revalidate` or `stale-if-error`, and
//! each PoP has its own cache. So each entry is stored for the longest window it may be served
//! in (fresh + the longer of the two stale windows), stamped with when its origin call began,
//! and on every read the edge itself decides ([`judge`]): fresh → `hit`; within
//! stale-while-revalidate → `stale`, refreshed in `ctx.wait_until`; past that → the origin,
//! falling back to the entry (`stale`) while within stale-if-error; a read presenting a
//! bookmark newer than the entry → the origin (`bypass`), so a user always reads their writes.
//!
//! Keys are URLs the edge builds from the route, with only known query parameters, so
//! `?status=available&utm=x` and `?status=available` share an entry and junk cannot fill the
//! cache. A successful write deletes the keys it affects, in this PoP (the Cache API cannot
//! reach others); elsewhere entries age out after `s-maxage`, and bookmarks cover the writer.

use std::cell::RefCell;
use std::collections::BTreeSet;

use roam_shared::api::VehicleStatus;
use worker::{Cache, Headers, Response};

use crate::forward::Reply;
use crate::route::DataRoute;

/// Origin of every cache key; never fetched, only a namespace.
const KEY_BASE: &str = "https://edge-cache.roam.internal/v1";

/// Metadata headers stored with an entry and removed before it is served.
const META_FETCHED_AT: &str = "x-edge-cache-fetched-at";
const META_WINDOWS: &str = "x-edge-cache-windows";
const META_SERVED_BY: &str = "x-edge-cache-served-by";
/// The origin's own `cache-control` (the stored one is the Cache API's expiry).
const META_ORIGIN_CACHE_CONTROL: &str = "x-edge-cache-origin-cache-control";

/// Origin response headers worth keeping in an entry.
const KEPT_HEADERS: [&str; 4] = ["content-type", "cache-control", "etag", "last-modified"];

/// How long an entry may be served, from the origin's `cache-control`, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Windows {
    /// `s-maxage` (or `max-age`): served as a `hit`.
    pub fresh_ms: f64,
    /// `stale-while-revalidate`: served as `stale` while a refresh runs.
    pub swr_ms: f64,
    /// `stale-if-error`: served as `stale` only when the origin fails.
    pub sie_ms: f64,
}

impl Windows {
    /// The windows of a shared-cacheable response, or `None` when it must not be stored
    /// (`private`, `no-store`, `no-cache`, or no shared max-age).
    pub fn from_cache_control(value: &str) -> Option<Windows> {
        let mut shared_max = None;
        let mut max = None;
        let (mut swr, mut sie) = (0.0, 0.0);
        for directive in value.split(',') {
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let secs = || {
                arg.and_then(|a| a.parse::<u32>().ok())
                    .map(|s| f64::from(s) * 1000.0)
            };
            match name.to_ascii_lowercase().as_str() {
                "private" | "no-store" | "no-cache" => return None,
                "s-maxage" => shared_max = secs(),
                "max-age" => max = secs(),
                "stale-while-revalidate" => swr = secs().unwrap_or(0.0),
                "stale-if-error" => sie = secs().unwrap_or(0.0),
                _ => {}
            }
        }
        let fresh_ms = shared_max.or(max)?;
        (fresh_ms > 0.0).then_some(Windows {
            fresh_ms,
            swr_ms: swr,
            sie_ms: sie,
        })
    }

    /// How long the Cache API must keep the entry, in whole seconds.
    pub fn storage_secs(&self) -> u64 {
        ((self.fresh_ms + self.swr_ms.max(self.sie_ms)) / 1000.0).ceil() as u64
    }

    fn encode(&self) -> String {
        format!("{},{},{}", self.fresh_ms, self.swr_ms, self.sie_ms)
    }

    fn decode(text: &str) -> Option<Windows> {
        let mut parts = text.split(',').map(|p| p.trim().parse::<f64>().ok());
        Some(Windows {
            fresh_ms: parts.next()??,
            swr_ms: parts.next()??,
            sie_ms: parts.next()??,
        })
    }
}

/// What to do with a cached entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it (`hit`).
    Fresh,
    /// Serve it (`stale`) and refresh it in the background.
    StaleWhileRevalidate,
    /// Ask the origin; serve the entry (`stale`) only if the origin fails.
    StaleIfError,
    /// Ask the origin; the entry is of no use.
    TooOld,
    /// The client wrote after this entry was fetched: ask the origin (`bypass`).
    OlderThanBookmark,
}

/// Judges an entry fetched at `fetched_at` (ms) at `now`, for a reader whose newest write is
/// `bookmark` (ms), if any.
pub fn judge(fetched_at: f64, windows: &Windows, now: f64, bookmark: Option<f64>) -> Verdict {
    if bookmark.is_some_and(|written| written >= fetched_at) {
        return Verdict::OlderThanBookmark;
    }
    let age = (now - fetched_at).max(0.0);
    if age <= windows.fresh_ms {
        Verdict::Fresh
    } else if age <= windows.fresh_ms + windows.swr_ms {
        Verdict::StaleWhileRevalidate
    } else if age <= windows.fresh_ms + windows.sie_ms {
        Verdict::StaleIfError
    } else {
        Verdict::TooOld
    }
}

/// The cache key and the path+query to forward for a cacheable route, or `None` when the
/// request must not use the cache (an unknown `status` value: the origin rejects it).
pub fn key_for(route: &DataRoute, query: Option<&str>) -> Option<(String, String)> {
    match route {
        DataRoute::VehicleList { city } => {
            let mut status = None;
            for (name, value) in query
                .unwrap_or("")
                .split('&')
                .filter_map(|p| p.split_once('='))
            {
                if name == "status" {
                    status = Some(VehicleStatus::parse(value)?.as_str());
                }
            }
            let query = status.map(|s| format!("?status={s}")).unwrap_or_default();
            let path = format!("/api/v1/cities/{city}/vehicles{query}");
            Some((format!("{KEY_BASE}/cities/{city}/vehicles{query}"), path))
        }
        DataRoute::Vehicle { city, id } => Some((
            format!("{KEY_BASE}/cities/{city}/vehicles/{id}"),
            format!("/api/v1/cities/{city}/vehicles/{id}"),
        )),
        _ => None,
    }
}

/// The keys a write in `city` (touching `vehicle`, if known) makes stale: every list variant
/// of the city, and the vehicle.
pub fn keys_to_purge(city: &str, vehicle: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("{KEY_BASE}/cities/{city}/vehicles")];
    for status in [VehicleStatus::Available, VehicleStatus::Unavailable] {
        keys.push(format!(
            "{KEY_BASE}/cities/{city}/vehicles?status={}",
            status.as_str()
        ));
    }
    if let Some(id) = vehicle.and_then(|v| uuid::Uuid::parse_str(v).ok()) {
        keys.push(format!(
            "{KEY_BASE}/cities/{city}/vehicles/{}",
            id.hyphenated()
        ));
    }
    keys
}

/// A cached origin answer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The answer as the origin gave it (kept headers only).
    pub reply: Reply,
    /// When the origin call that produced it began (edge clock, ms).
    pub fetched_at: f64,
    /// Its windows.
    pub windows: Windows,
    /// The region whose origin produced it.
    pub served_by: String,
}

impl Entry {
    /// An entry from a fresh origin reply, if the reply may be stored.
    pub fn from_reply(reply: &Reply, fetched_at: f64, served_by: &str) -> Option<Entry> {
        if reply.status != 200 || reply.header("set-cookie").is_some() {
            return None;
        }
        let windows = Windows::from_cache_control(reply.header("cache-control")?)?;
        let headers = reply
            .headers
            .iter()
            .filter(|(n, _)| KEPT_HEADERS.contains(&n.as_str()))
            .cloned()
            .collect();
        Some(Entry {
            reply: Reply {
                status: reply.status,
                headers,
                body: reply.body.clone(),
            },
            fetched_at,
            windows,
            served_by: served_by.to_string(),
        })
    }
}

/// Looks an entry up; a Cache API failure counts as a miss (and is logged).
pub async fn lookup(key: &str) -> Option<Entry> {
    let found = Cache::default().get(key, false).await;
    let mut response = match found {
        Ok(Some(response)) => response,
        Ok(None) => return None,
        Err(e) => {
            worker::console_warn!("cache lookup of {key} failed: {e}");
            return None;
        }
    };
    let meta = |name: &str| response.headers().get(name).ok().flatten();
    let fetched_at = meta(META_FETCHED_AT)?.parse::<f64>().ok()?;
    let windows = Windows::decode(&meta(META_WINDOWS)?)?;
    let served_by = meta(META_SERVED_BY).unwrap_or_default();
    let origin_cache_control = meta(META_ORIGIN_CACHE_CONTROL);
    let headers = response
        .headers()
        .entries()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .filter(|(n, _)| KEPT_HEADERS.contains(&n.as_str()) && n != "cache-control")
        .chain(origin_cache_control.map(|v| ("cache-control".to_string(), v)))
        .collect();
    let body = response.bytes().await.ok()?;
    Some(Entry {
        reply: Reply {
            status: response.status_code(),
            headers,
            body,
        },
        fetched_at,
        windows,
        served_by,
    })
}

/// Stores an entry for its whole servable life.
pub async fn store(key: &str, entry: &Entry) {
    let result = async {
        let headers = Headers::new();
        for (name, value) in &entry.reply.headers {
            if name == "cache-control" {
                headers.set(META_ORIGIN_CACHE_CONTROL, value)?;
            } else {
                headers.set(name, value)?;
            }
        }
        // The Cache API's own expiry: the longest the edge may serve the entry.
        let storage = format!("public, s-maxage={}", entry.windows.storage_secs());
        headers.set("cache-control", &storage)?;
        headers.set(META_FETCHED_AT, &entry.fetched_at.to_string())?;
        headers.set(META_WINDOWS, &entry.windows.encode())?;
        headers.set(META_SERVED_BY, &entry.served_by)?;
        let response = Response::from_bytes(entry.reply.body.clone())?.with_headers(headers);
        Cache::default().put(key, response).await
    }
    .await;
    if let Err(e) = result {
        worker::console_warn!("cache store of {key} failed: {e}");
    }
}

/// Deletes entries (this PoP only).
pub async fn purge(keys: &[String]) {
    let cache = Cache::default();
    for key in keys {
        if let Err(e) = cache.delete(key.as_str(), false).await {
            worker::console_warn!("cache purge of {key} failed: {e}");
        }
    }
}

thread_local! {
    /// Keys being refreshed by this isolate, so a burst of stale reads starts one refresh.
    static REFRESHING: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// Marks `key` as being refreshed; false if a refresh is already running.
pub fn begin_refresh(key: &str) -> bool {
    REFRESHING.with(|r| r.borrow_mut().insert(key.to_string()))
}

/// Clears the mark set by [`begin_refresh`].
pub fn end_refresh(key: &str) {
    REFRESHING.with(|r| r.borrow_mut().remove(key));
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN_CC: &str = "public, s-maxage=5, stale-while-revalidate=30, stale-if-error=300";

    #[test]
    fn windows_come_from_the_origins_cache_control() {
        let w = Windows::from_cache_control(ORIGIN_CC).unwrap();
        assert_eq!(
            w,
            Windows {
                fresh_ms: 5_000.0,
                swr_ms: 30_000.0,
                sie_ms: 300_000.0
            }
        );
        assert_eq!(w.storage_secs(), 305);
        assert_eq!(Windows::decode(&w.encode()), Some(w));
        for never in [
            "private, max-age=60",
            "no-store",
            "public",
            "s-maxage=0",
            "public, no-cache, s-maxage=9",
        ] {
            assert_eq!(Windows::from_cache_control(never), None, "{never}");
        }
        assert_eq!(
            Windows::from_cache_control("max-age=7").map(|w| w.fresh_ms),
            Some(7_000.0)
        );
    }

    #[test]
    fn verdicts_over_an_entrys_life() {
        let w = Windows::from_cache_control(ORIGIN_CC).unwrap();
        let at = 1_000_000.0;
        assert_eq!(judge(at, &w, at + 4_999.0, None), Verdict::Fresh);
        assert_eq!(
            judge(at, &w, at + 6_000.0, None),
            Verdict::StaleWhileRevalidate
        );
        assert_eq!(judge(at, &w, at + 35_001.0, None), Verdict::StaleIfError);
        assert_eq!(judge(at, &w, at + 305_001.0, None), Verdict::TooOld);
        assert_eq!(
            judge(at, &w, at + 1.0, Some(at + 0.5)),
            Verdict::OlderThanBookmark
        );
        assert_eq!(
            judge(at, &w, at + 1.0, Some(at)),
            Verdict::OlderThanBookmark,
            "same ms: unsure, so bypass"
        );
        assert_eq!(judge(at, &w, at + 1.0, Some(at - 1.0)), Verdict::Fresh);
    }

    #[test]
    fn keys_keep_only_known_parameters() {
        let list = DataRoute::VehicleList {
            city: "rome".into(),
        };
        let (key, path) = key_for(&list, Some("utm=1&status=available&x")).unwrap();
        assert_eq!(
            key,
            format!("{KEY_BASE}/cities/rome/vehicles?status=available")
        );
        assert_eq!(path, "/api/v1/cities/rome/vehicles?status=available");
        assert_eq!(
            key_for(&list, None).unwrap().1,
            "/api/v1/cities/rome/vehicles"
        );
        assert_eq!(key_for(&list, Some("status=broken")), None);
        let purge = keys_to_purge("rome", Some("6A0F8C2E-1B1E-4F7B-9D55-0C1D2E3F4A5B"));
        assert!(purge.contains(&key));
        assert!(purge.contains(&format!("{KEY_BASE}/cities/rome/vehicles")));
        assert!(purge.contains(&format!(
            "{KEY_BASE}/cities/rome/vehicles/6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b"
        )));
        assert_eq!(keys_to_purge("rome", Some("junk")).len(), 3);
    }

    #[test]
    fn only_public_200s_without_cookies_are_stored() {
        let reply = |status, cc: &str, cookie: bool| {
            let mut headers = vec![("cache-control".to_string(), cc.to_string())];
            if cookie {
                headers.push(("set-cookie".into(), "a=b".into()));
            }
            Reply {
                status,
                headers,
                body: b"{}".to_vec(),
            }
        };
        assert!(Entry::from_reply(&reply(200, ORIGIN_CC, false), 0.0, "eu-west").is_some());
        assert!(Entry::from_reply(&reply(404, ORIGIN_CC, false), 0.0, "eu-west").is_none());
        assert!(Entry::from_reply(&reply(200, ORIGIN_CC, true), 0.0, "eu-west").is_none());
        assert!(
            Entry::from_reply(&reply(200, "private, max-age=5", false), 0.0, "eu-west").is_none()
        );
    }
}
