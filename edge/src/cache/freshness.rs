//! How long an entry may be served and what to do with it now: pure, unit-tested natively.
//!
//! The Cache API honours `s-maxage` but not `stale-while-revalidate` or `stale-if-error`, so
//! the edge reads all three from the origin's `cache-control` and decides itself. A write in
//! this PoP supersedes the entries it affects (a soft purge): they are no longer served as
//! fresh, only in place of an origin that fails, and never to the writer (its bookmark).

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

    /// How long the Cache API must still keep an entry fetched at `fetched_at` when it is
    /// stored (again) at `now`: the rest of its servable life, at least a second (so storing
    /// it again, as a soft purge does, never lengthens it).
    pub fn remaining_storage_secs(&self, fetched_at: f64, now: f64) -> u64 {
        let ends = fetched_at + self.fresh_ms + self.swr_ms.max(self.sie_ms);
        (((ends - now) / 1000.0).ceil() as u64).max(1)
    }

    pub(super) fn encode(&self) -> String {
        format!("{},{},{}", self.fresh_ms, self.swr_ms, self.sie_ms)
    }

    pub(super) fn decode(text: &str) -> Option<Windows> {
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
/// `bookmark` (ms), if any; `superseded_at` is when a write in this PoP soft-purged the
/// entry, if one did.
pub fn judge(
    fetched_at: f64,
    windows: &Windows,
    now: f64,
    bookmark: Option<f64>,
    superseded_at: Option<f64>,
) -> Verdict {
    if bookmark.is_some_and(|written| written >= fetched_at) {
        return Verdict::OlderThanBookmark;
    }
    // Same ms: unsure whether the fetch saw the write, so the entry counts as older.
    let current = !superseded_at.is_some_and(|written| written >= fetched_at);
    let age = (now - fetched_at).max(0.0);
    if current && age <= windows.fresh_ms {
        Verdict::Fresh
    } else if current && age <= windows.fresh_ms + windows.swr_ms {
        Verdict::StaleWhileRevalidate
    } else if age <= windows.fresh_ms + windows.sie_ms {
        Verdict::StaleIfError
    } else {
        Verdict::TooOld
    }
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
        assert_eq!(w.remaining_storage_secs(1_000.0, 1_000.0), 305);
        assert_eq!(w.remaining_storage_secs(1_000.0, 200_500.0), 106);
        assert_eq!(w.remaining_storage_secs(1_000.0, 900_000.0), 1);
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
        let judge = |now, bookmark| judge(at, &w, now, bookmark, None);
        assert_eq!(judge(at + 4_999.0, None), Verdict::Fresh);
        assert_eq!(judge(at + 6_000.0, None), Verdict::StaleWhileRevalidate);
        assert_eq!(judge(at + 35_001.0, None), Verdict::StaleIfError);
        assert_eq!(judge(at + 305_001.0, None), Verdict::TooOld);
        assert_eq!(judge(at + 1.0, Some(at + 0.5)), Verdict::OlderThanBookmark);
        assert_eq!(
            judge(at + 1.0, Some(at)),
            Verdict::OlderThanBookmark,
            "same ms: unsure, so bypass"
        );
        assert_eq!(judge(at + 1.0, Some(at - 1.0)), Verdict::Fresh);
    }

    #[test]
    fn a_superseded_entry_only_stands_in_for_a_failing_origin() {
        let w = Windows::from_cache_control(ORIGIN_CC).unwrap();
        let at = 1_000_000.0;
        let written = Some(at + 2_000.0);
        // Fresh and stale-while-revalidate ages: ask the origin, keep the entry for its failure.
        for age in [0.0, 2_500.0, 4_999.0, 6_000.0, 35_000.0] {
            assert_eq!(
                judge(at, &w, at + age, None, written),
                Verdict::StaleIfError,
                "{age}"
            );
        }
        assert_eq!(
            judge(at, &w, at + 305_001.0, None, written),
            Verdict::TooOld
        );
        // Whoever made that write (or a later one) never gets the entry, even on error.
        assert_eq!(
            judge(at, &w, at + 3_000.0, Some(at + 2_000.0), written),
            Verdict::OlderThanBookmark
        );
        // A write before the fetch began changes nothing: the fetch saw it.
        assert_eq!(
            judge(at, &w, at + 1.0, None, Some(at - 1.0)),
            Verdict::Fresh
        );
        assert_eq!(
            judge(at, &w, at + 1.0, None, Some(at)),
            Verdict::StaleIfError,
            "same ms: unsure, so not fresh"
        );
        // A reader who wrote before the entry was fetched may have it on error.
        assert_eq!(
            judge(at, &w, at + 3_000.0, Some(at - 10.0), written),
            Verdict::StaleIfError
        );
    }
}
