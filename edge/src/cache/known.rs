//! What this isolate last knew of each entry (its fetch time, windows and superseded mark, as
//! it stored, marked or looked it up), so that a read it already knows cannot be answered from
//! the cache (superseded by a write here, or past its windows) goes straight to the origin
//! instead of first asking the Cache API. The knowledge is a hint, never the answer: an entry
//! is only ever served after a lookup, and another isolate may have stored a newer entry since
//! (then this isolate asks the origin once more than it needed to, and learns the newer one at
//! its next store or lookup).

use std::cell::RefCell;
use std::collections::HashMap;

use super::freshness::{judge, Verdict, Windows};

/// Most keys remembered; past it the isolate forgets them all and learns again.
const MAX_KEYS: usize = 4096;

/// An entry as this isolate last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub fetched_at: f64,
    pub windows: Windows,
    pub superseded_at: Option<f64>,
}

thread_local! {
    static KNOWN: RefCell<HashMap<String, Known>> = RefCell::new(HashMap::new());
}

/// Remembers `key`'s entry as just stored, marked or found.
pub fn learn(key: &str, known: Known) {
    KNOWN.with(|k| {
        let mut k = k.borrow_mut();
        if let Some(entry) = k.get_mut(key) {
            *entry = known;
            return;
        }
        if k.len() >= MAX_KEYS {
            k.clear();
        }
        k.insert(key.to_string(), known);
    });
}

/// Forgets `key` (a lookup found no entry).
pub fn forget(key: &str) {
    KNOWN.with(|k| k.borrow_mut().remove(key));
}

/// How `key`'s entry, as this isolate last knew it, would answer a read at `now` by a reader
/// whose newest write is `written_at`; `None` when it knows nothing of the key.
pub fn verdict(key: &str, now: f64, written_at: Option<f64>) -> Option<Verdict> {
    KNOWN.with(|k| {
        k.borrow()
            .get(key)
            .map(|e| judge(e.fetched_at, &e.windows, now, written_at, e.superseded_at))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Windows {
        Windows {
            fresh_ms: 5_000.0,
            swr_ms: 30_000.0,
            sie_ms: 300_000.0,
        }
    }

    #[test]
    fn the_verdict_is_the_last_known_entrys() {
        let key = "https://edge-cache.roam.internal/v1/test/known";
        assert_eq!(verdict(key, 1_000.0, None), None, "unknown");
        let fresh = Known {
            fetched_at: 1_000.0,
            windows: windows(),
            superseded_at: None,
        };
        learn(key, fresh.clone());
        assert_eq!(verdict(key, 2_000.0, None), Some(Verdict::Fresh));
        assert_eq!(
            verdict(key, 2_000.0, Some(1_500.0)),
            Some(Verdict::OlderThanBookmark)
        );
        assert_eq!(verdict(key, 40_000.0, None), Some(Verdict::StaleIfError));
        learn(
            key,
            Known {
                superseded_at: Some(1_200.0),
                ..fresh
            },
        );
        assert_eq!(verdict(key, 2_000.0, None), Some(Verdict::StaleIfError));
        forget(key);
        assert_eq!(verdict(key, 2_000.0, None), None, "forgotten");
    }
}
