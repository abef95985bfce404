//! Entries on the Workers Cache API: each stored for its whole servable life (fresh + the
//! longer stale window) with its fetch time, windows, origin region and, once a write has
//! superseded it, that write's time, in metadata headers that never reach a client. A soft
//! purge stores an entry again with that mark instead of deleting it, so it is still there
//! when the origin cannot answer; it reaches this PoP only (the Cache API cannot reach others).

use worker::{Cache, Headers, Response};

use super::freshness::Windows;
use super::known::{self, Known};
use crate::forward::Reply;
use crate::{glue, now_ms};

/// Metadata headers stored with an entry and removed before it is served.
const META_FETCHED_AT: &str = "x-edge-cache-fetched-at";
const META_WINDOWS: &str = "x-edge-cache-windows";
const META_SERVED_BY: &str = "x-edge-cache-served-by";
const META_SUPERSEDED_AT: &str = "x-edge-cache-superseded-at";
/// The origin's own `cache-control` (the stored one is the Cache API's expiry).
const META_ORIGIN_CACHE_CONTROL: &str = "x-edge-cache-origin-cache-control";

/// Origin response headers worth keeping in an entry.
const KEPT_HEADERS: [&str; 4] = ["content-type", "cache-control", "etag", "last-modified"];

/// Every header [`lookup`] reads from an entry: its metadata, then the kept headers.
const ENTRY_HEADERS: [&str; 8] = [
    META_FETCHED_AT,
    META_WINDOWS,
    META_SERVED_BY,
    META_SUPERSEDED_AT,
    META_ORIGIN_CACHE_CONTROL,
    "content-type",
    "etag",
    "last-modified",
];

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
    /// When a write in this PoP made it stale (edge clock, ms), if one did.
    pub superseded_at: Option<f64>,
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
                source: None,
            },
            fetched_at,
            windows,
            served_by: served_by.to_string(),
            superseded_at: None,
        })
    }

    /// What [`known`] remembers of it.
    fn known(&self) -> Known {
        Known {
            fetched_at: self.fetched_at,
            windows: self.windows,
            superseded_at: self.superseded_at,
        }
    }
}

/// Looks an entry up; a Cache API failure counts as a miss (and is logged). Two crossings into
/// JavaScript: the lookup, then every header it needs at once; the body stays in the entry's
/// response, to be passed on unread.
pub async fn lookup(key: &str) -> Option<Entry> {
    let response = match glue::cache_match(key).await {
        Ok(Some(response)) => response,
        Ok(None) => {
            known::forget(key);
            return None;
        }
        Err(e) => {
            worker::console_warn!("cache lookup of {key} failed: {e}");
            return None;
        }
    };
    let (status, mut found) = glue::entry_facts(&response, &ENTRY_HEADERS);
    let mut meta = |name: &str| {
        let i = found.iter().position(|(n, _)| n == name)?;
        Some(found.swap_remove(i).1)
    };
    let fetched_at = meta(META_FETCHED_AT)?.parse::<f64>().ok()?;
    let windows = Windows::decode(&meta(META_WINDOWS)?)?;
    let served_by = meta(META_SERVED_BY).unwrap_or_default();
    let superseded_at = meta(META_SUPERSEDED_AT).and_then(|v| v.parse::<f64>().ok());
    let origin_cache_control = meta(META_ORIGIN_CACHE_CONTROL);
    // What is left are the kept headers; the stored cache-control is the Cache API's expiry.
    let headers = found
        .into_iter()
        .filter(|(n, _)| n != "cache-control")
        .chain(origin_cache_control.map(|v| ("cache-control".to_string(), v)))
        .collect();
    let entry = Entry {
        reply: Reply {
            status,
            headers,
            body: Vec::new(),
            source: Some(response),
        },
        fetched_at,
        windows,
        served_by,
        superseded_at,
    };
    known::learn(key, entry.known());
    Some(entry)
}

/// Stores an entry fresh from an origin. If a write superseded the entry it replaces after
/// this one's origin call began (a refresh that raced the write), the mark carries over: the
/// new entry may not have seen the write either.
pub async fn store(key: &str, entry: &Entry) {
    let mut entry = entry.clone();
    if let Some(written) = lookup(key).await.and_then(|old| old.superseded_at) {
        if written >= entry.fetched_at {
            entry.superseded_at = Some(written);
        }
    }
    put(key, &entry).await;
}

/// Soft purge: marks the entries under `keys` as superseded by a write at `written_at` (ms),
/// storing each again for the rest of its life (this PoP only).
pub async fn mark_superseded(keys: &[String], written_at: f64) {
    let marks = keys.iter().map(|key| async move {
        if let Some(mut entry) = lookup(key).await {
            let newest = entry
                .superseded_at
                .map_or(written_at, |s| s.max(written_at));
            entry.superseded_at = Some(newest);
            put(key, &entry).await;
        }
    });
    futures::future::join_all(marks).await;
}

/// Puts an entry for the rest of its servable life.
async fn put(key: &str, entry: &Entry) {
    let result = async {
        let headers = Headers::new();
        for (name, value) in &entry.reply.headers {
            if name == "cache-control" {
                headers.set(META_ORIGIN_CACHE_CONTROL, value)?;
            } else {
                headers.set(name, value)?;
            }
        }
        // The Cache API's own expiry: the longest the edge may still serve the entry.
        let remaining = entry
            .windows
            .remaining_storage_secs(entry.fetched_at, now_ms());
        headers.set("cache-control", &format!("public, s-maxage={remaining}"))?;
        headers.set(META_FETCHED_AT, &entry.fetched_at.to_string())?;
        headers.set(META_WINDOWS, &entry.windows.encode())?;
        headers.set(META_SERVED_BY, &entry.served_by)?;
        if let Some(written) = entry.superseded_at {
            headers.set(META_SUPERSEDED_AT, &written.to_string())?;
        }
        let response = Response::from_bytes(body_of(entry).await?)?.with_headers(headers);
        Cache::default().put(key, response).await
    }
    .await;
    match result {
        Ok(()) => known::learn(key, entry.known()),
        Err(e) => worker::console_warn!("cache store of {key} failed: {e}"),
    }
}

/// The entry's body: its own bytes, or, for an entry [`lookup`] found (a soft purge stores it
/// again), its response's, read now: a looked-up entry leaves its body in the response so that
/// a hit passes it on unread.
async fn body_of(entry: &Entry) -> worker::Result<Vec<u8>> {
    match &entry.reply.source {
        // `Clone::clone` copies the handle; `Response::clone` would tee the body in JavaScript.
        Some(source) => Response::from(Clone::clone(source)).bytes().await,
        None => Ok(entry.reply.body.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN_CC: &str = "public, s-maxage=5, stale-while-revalidate=30, stale-if-error=300";

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
                source: None,
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
