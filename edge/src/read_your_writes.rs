//! Read-your-writes across the edge: the bookmark a write hands out (when, and which regions
//! it wrote to), what a read presents (header or cookie), and what an origin is told of it.
//!
//! A bookmark names the regions of the writes it stands for: the new write's, and those of a
//! bookmark the client presented with it while that one is still recent (a client that wrote
//! in two regions within a few minutes gets one bookmark naming both). `/me/rides` then asks
//! those regions too, so a ride just started shows before the rider's home has recorded where
//! it is.

use roam_shared::bookmark::{self, Bookmark};
use roam_shared::headers::{BOOKMARK_COOKIE, RECENT_WRITES};
use roam_shared::{Keyring, SharedSecret};

/// How long the bookmark cookie lives: longer than any entry may be served (5 s fresh +
/// 300 s stale-if-error with the origin's current policy), so it covers every stale entry.
pub const COOKIE_SECS: u32 = 600;

/// What the presented bookmarks (header, cookie) stand for together, if any is genuine.
pub fn presented(
    keys: &Keyring,
    header: Option<&str>,
    cookie: Option<&str>,
    now_ms: i64,
) -> Option<Bookmark> {
    let candidates: Vec<&str> = [header, cookie].into_iter().flatten().collect();
    bookmark::combined(keys, &candidates, now_ms)
}

/// The `x-roam-recent-writes` header an origin gets with a read: the bookmark's regions
/// (`*` when it does not say which).
pub fn recent_writes_header(presented: &Bookmark) -> (&'static str, String) {
    let value = match &presented.regions {
        Some(regions) => regions.join(","),
        None => "*".to_string(),
    };
    (RECENT_WRITES, value)
}

/// The bookmark for a write to `region` acknowledged at `now_ms`, carrying the regions of a
/// recent presented bookmark along; and its `set-cookie` value.
pub fn after_write(
    secret: &SharedSecret,
    presented: Option<&Bookmark>,
    region: &str,
    now_ms: i64,
) -> (String, String) {
    let recent = presented.filter(|b| now_ms - b.written_at_ms < i64::from(COOKIE_SECS) * 1000);
    let mut regions: Vec<&str> = vec![region];
    if let Some(earlier) = recent.and_then(|b| b.regions.as_ref()) {
        regions.extend(earlier.iter().map(String::as_str));
    }
    let mark = bookmark::issue(secret, now_ms, &regions);
    let cookie = format!(
        "{BOOKMARK_COOKIE}={mark}; Path=/; Max-Age={COOKIE_SECS}; Secure; HttpOnly; SameSite=Lax"
    );
    (mark, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("read-your-writes-test").unwrap()
    }

    #[test]
    fn a_write_carries_the_regions_of_a_recent_bookmark_along() {
        let now = 1_700_000_000_000;
        let (first, _) = after_write(&secret(), None, "us-east", now);
        let earlier = presented(&secret().into(), Some(&first), None, now).unwrap();
        let (second, cookie) = after_write(&secret(), Some(&earlier), "eu-west", now + 5_000);
        assert!(cookie.starts_with(&format!("roam_bookmark={second};")));
        let both = presented(&secret().into(), None, Some(&second), now + 6_000).unwrap();
        assert_eq!(
            recent_writes_header(&both),
            (RECENT_WRITES, "eu-west,us-east".to_string())
        );
        let long_after = now + 5_000 + i64::from(COOKIE_SECS) * 1000 + 1;
        let (third, _) = after_write(&secret(), Some(&both), "us-west", long_after);
        let alone = presented(&secret().into(), Some(&third), None, long_after).unwrap();
        assert_eq!(
            recent_writes_header(&alone).1,
            "us-west",
            "old ones dropped"
        );
    }

    #[test]
    fn junk_is_no_bookmark_and_an_old_bookmark_means_every_region() {
        assert_eq!(presented(&secret().into(), Some("junk"), Some(""), 0), None);
        let old = Bookmark {
            written_at_ms: 1,
            regions: None,
        };
        assert_eq!(recent_writes_header(&old).1, "*");
    }
}
