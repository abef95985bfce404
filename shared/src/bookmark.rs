//! Read-your-writes bookmarks. A successful write returns one; a read that presents it is
//! never answered from a cache entry fetched before the write, and a read that gathers data
//! from several regions (`/me/rides`) also asks the regions the bookmark names, so a write
//! there shows even before the user's home region has heard of it.
//!
//! Format: `b3.<key id>.<unix milliseconds>.<regions joined by '+'>.<base64url(first 16 bytes
//! of HMAC-SHA256)>`. It is signed so a client can neither mint far-future bookmarks that would
//! bypass the edge cache forever nor make a read fan out to every region. The older forms are
//! still accepted under any key of the ring: `b2.<ms>.<regions>.<tag>` (no key id) and
//! `b1.<ms>.<tag>` (no regions: it says when, not where).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::keyring::Keyring;
use crate::secret::{hmac_sha256, SharedSecret};

const V1_PURPOSE: &str = "roam/bookmark/v1";
const V2_PURPOSE: &str = "roam/bookmark/v2";
const V3_PURPOSE: &str = "roam/bookmark/v3";
/// How far in the future (ms) a bookmark may be, to allow for clock differences.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;
/// Most regions one bookmark names.
pub const MAX_REGIONS: usize = 16;

/// What a genuine bookmark stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    /// When the (newest) write was acknowledged, unix ms.
    pub written_at_ms: i64,
    /// The regions written to; `None` for a bookmark that does not say (`b1`).
    pub regions: Option<Vec<String>>,
}

fn tag(secret: &SharedSecret, purpose: &str, signed: &str) -> String {
    let mac = hmac_sha256(&secret.derive(purpose), signed.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

fn is_region_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A bookmark for writes to `regions` acknowledged at `written_at_ms`, under `secret` (the
/// ring's current key; regions that are not plain names, and any past [`MAX_REGIONS`], are
/// left out).
pub fn issue(secret: &SharedSecret, written_at_ms: i64, regions: &[&str]) -> String {
    let mut names: Vec<&str> = regions
        .iter()
        .copied()
        .filter(|r| is_region_name(r))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.truncate(MAX_REGIONS);
    let signed = format!("{}.{written_at_ms}.{}", secret.id(), names.join("+"));
    format!("b3.{signed}.{}", tag(secret, V3_PURPOSE, &signed))
}

/// What a bookmark stands for, if it is genuine (under the key of the ring it names) and not
/// from the future.
pub fn verify(keys: &Keyring, bookmark: &str, now_ms: i64) -> Option<Bookmark> {
    let parts = Parts::parse(bookmark.trim())?;
    if parts.ms.is_empty() || parts.ms.len() > 15 || !parts.ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let written_at_ms: i64 = parts.ms.parse().ok()?;
    let genuine = keys.candidates(parts.key_id).any(|secret| {
        let expected = tag(secret, parts.purpose, parts.signed);
        subtle_eq(expected.as_bytes(), parts.tag.as_bytes())
    });
    (genuine && written_at_ms <= now_ms.saturating_add(MAX_FUTURE_SKEW_MS)).then_some(Bookmark {
        written_at_ms,
        regions: parts.regions,
    })
}

/// A bookmark of any version, taken apart (not yet checked).
struct Parts<'a> {
    /// The text the tag covers.
    signed: &'a str,
    tag: &'a str,
    purpose: &'static str,
    key_id: Option<&'a str>,
    ms: &'a str,
    regions: Option<Vec<String>>,
}

impl<'a> Parts<'a> {
    fn parse(bookmark: &'a str) -> Option<Self> {
        if let Some(b3) = bookmark.strip_prefix("b3.") {
            let (signed, tag) = b3.rsplit_once('.')?;
            let (key_id, when_and_where) = signed.split_once('.')?;
            let (ms, list) = when_and_where.split_once('.')?;
            let regions = Some(parse_regions(list)?);
            let (purpose, key_id) = (V3_PURPOSE, Some(key_id));
            Some(Self {
                signed,
                tag,
                purpose,
                key_id,
                ms,
                regions,
            })
        } else if let Some(b2) = bookmark.strip_prefix("b2.") {
            let (signed, tag) = b2.rsplit_once('.')?;
            let (ms, list) = signed.split_once('.')?;
            let regions = Some(parse_regions(list)?);
            Some(Self {
                signed,
                tag,
                purpose: V2_PURPOSE,
                key_id: None,
                ms,
                regions,
            })
        } else {
            let (signed, tag) = bookmark.strip_prefix("b1.")?.split_once('.')?;
            Some(Self {
                signed,
                tag,
                purpose: V1_PURPOSE,
                key_id: None,
                ms: signed,
                regions: None,
            })
        }
    }
}

/// The `+`-joined region list of a `b2` or `b3` bookmark.
fn parse_regions(list: &str) -> Option<Vec<String>> {
    if list.is_empty() {
        return Some(Vec::new());
    }
    let regions: Vec<String> = list.split('+').map(str::to_string).collect();
    (regions.len() <= MAX_REGIONS && regions.iter().all(|r| is_region_name(r))).then_some(regions)
}

/// Constant-time equality (length is not secret).
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What several presented bookmarks (header and cookie may both be present) stand for
/// together: the newest write time and every region any of them names (unknown if one of
/// them does not say). `None` when none is genuine.
pub fn combined(keys: &Keyring, candidates: &[&str], now_ms: i64) -> Option<Bookmark> {
    candidates
        .iter()
        .filter_map(|b| verify(keys, b, now_ms))
        .reduce(|a, b| Bookmark {
            written_at_ms: a.written_at_ms.max(b.written_at_ms),
            regions: match (a.regions, b.regions) {
                (Some(mut x), Some(y)) => {
                    x.extend(y);
                    x.sort_unstable();
                    x.dedup();
                    Some(x)
                }
                _ => None,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> SharedSecret {
        SharedSecret::parse("bookmark-test-secret-1").unwrap()
    }

    fn ring() -> Keyring {
        secret().into()
    }

    fn at(ms: i64, regions: &[&str]) -> Bookmark {
        Bookmark {
            written_at_ms: ms,
            regions: Some(regions.iter().map(|r| r.to_string()).collect()),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let b = issue(
            &secret(),
            1_700_000_000_000,
            &["us-east", "eu-west", "us-east"],
        );
        assert_eq!(
            verify(&ring(), &b, 1_700_000_000_500),
            Some(at(1_700_000_000_000, &["eu-west", "us-east"]))
        );
        assert_eq!(
            verify(&ring(), &b, 1_700_000_000_000 - 61_000),
            None,
            "from the future"
        );
        let other = SharedSecret::parse("other-bookmark-secret").unwrap();
        assert_eq!(verify(&other.into(), &b, 1_800_000_000_000), None);
        assert_eq!(verify(&ring(), "b3.1700000000000.eu-west", i64::MAX), None);
        let forged = b.replace("eu-west+us-east", "eu-west+us-east+us-west");
        assert_eq!(
            verify(&ring(), &forged, i64::MAX),
            None,
            "regions are signed"
        );
        let none = issue(&secret(), 7, &[]);
        assert_eq!(verify(&ring(), &none, i64::MAX), Some(at(7, &[])));
        let odd = issue(&secret(), 7, &["Eu West", "x+y", "ok"]);
        assert_eq!(verify(&ring(), &odd, i64::MAX), Some(at(7, &["ok"])));
    }

    #[test]
    fn version_one_says_when_but_not_where() {
        let tag = tag(&secret(), V1_PURPOSE, "5");
        let v1 = format!("b1.5.{tag}");
        let read = verify(&ring(), &v1, i64::MAX);
        assert_eq!(
            read,
            Some(Bookmark {
                written_at_ms: 5,
                regions: None
            })
        );
    }

    #[test]
    fn bookmarks_of_either_key_and_of_before_key_ids_verify_during_a_rotation() {
        let new = SharedSecret::parse("the-new-bookmark-secret").unwrap();
        let ring = Keyring::new(new.clone(), Some(secret()));
        let by_new = issue(&new, 7, &["eu-west"]);
        assert!(by_new.starts_with(&format!("b3.{}.7.", new.id())));
        assert_eq!(verify(&ring, &by_new, i64::MAX), Some(at(7, &["eu-west"])));
        let by_old = issue(&secret(), 8, &["us-east"]);
        assert_eq!(verify(&ring, &by_old, i64::MAX), Some(at(8, &["us-east"])));
        let b2 = format!("b2.9.us-west.{}", tag(&secret(), V2_PURPOSE, "9.us-west"));
        assert_eq!(verify(&ring, &b2, i64::MAX), Some(at(9, &["us-west"])));
        let renamed = by_old.replacen(secret().id(), new.id(), 1);
        assert_eq!(verify(&ring, &renamed, i64::MAX), None);
        assert_eq!(
            verify(&new.into(), &by_old, i64::MAX),
            None,
            "after the rotation"
        );
    }

    #[test]
    fn combining_takes_the_newest_time_and_every_region() {
        let a = issue(&secret(), 5, &["us-west"]);
        let b = issue(&secret(), 1_700_000_000_000, &["eu-west"]);
        assert_eq!(
            combined(&ring(), &[&a, &b, "junk"], i64::MAX),
            Some(at(1_700_000_000_000, &["eu-west", "us-west"]))
        );
        let v1 = format!("b1.9.{}", tag(&secret(), V1_PURPOSE, "9"));
        let mixed = combined(&ring(), &[&a, &v1], i64::MAX);
        assert_eq!(
            mixed.map(|m| m.regions),
            Some(None),
            "one says nothing of where"
        );
        assert_eq!(combined(&ring(), &["junk"], i64::MAX), None);
    }

    proptest! {
        #[test]
        fn altered_bookmarks_are_refused(pos in any::<prop::sample::Index>(), flip in 1u8..=127) {
            let b = issue(&secret(), 1_700_000_000_000, &["eu-west"]);
            let mut bytes = b.clone().into_bytes();
            let i = pos.index(bytes.len());
            bytes[i] ^= flip;
            if let Ok(altered) = String::from_utf8(bytes) {
                if altered.trim() != b {
                    prop_assert_eq!(verify(&ring(), &altered, i64::MAX), None);
                }
            }
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,80}") {
            let _ = verify(&ring(), &s, 0);
        }
    }
}
