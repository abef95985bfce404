use super::*;
use proptest::prelude::*;

fn secret() -> SharedSecret {
    SharedSecret::parse("0123456789abcdef-test").unwrap()
}

fn ring() -> Keyring {
    secret().into()
}

fn parts(body: &[u8]) -> SignedParts<'static> {
    SignedParts {
        method: "POST",
        path_and_query: "/api/v1/cities/rome/rides?x=1",
        timestamp: 1_700_000_000,
        body_sha256: body_digest(body),
        headers: vec![
            ("x-roam-city".into(), "Rome".into()),
            ("x-roam-country".into(), "IT".into()),
            ("idempotency-key".into(), "k-1".into()),
        ],
    }
}

#[test]
fn round_trip_and_window() {
    let p = parts(b"{}");
    let sig = sign(&secret(), &p);
    assert_eq!(verify(&ring(), &p, Some(&sig), 1_700_000_010, 30), Ok(()));
    assert_eq!(
        verify(&ring(), &p, Some(&sig), 1_700_000_031, 30),
        Err(SignatureError::Stale(31))
    );
    assert_eq!(
        verify(&ring(), &p, Some(&sig), 1_699_999_960, 30),
        Err(SignatureError::Stale(-40))
    );
    assert_eq!(
        verify(&ring(), &p, None, 1_700_000_000, 30),
        Err(SignatureError::Missing)
    );
    let other = SharedSecret::parse("another-secret-of-16+").unwrap();
    assert_eq!(
        verify(&other.into(), &p, Some(&sig), 1_700_000_000, 30),
        Err(SignatureError::Mismatch)
    );
}

/// The value an edge or origin of any version computes for these parts (worked out with
/// Python's hmac module from the documented canonical string): a change here would make
/// edges and origins of two releases refuse each other.
#[test]
fn the_signature_of_known_parts_never_changes() {
    let mut p = parts(b"{}");
    p.method = "post";
    p.headers[0].0 = "X-Roam-City".into();
    assert_eq!(
        sign(&secret(), &p),
        "2519b7d12530136cac2905179679aaaad9033712c514195db44ff3142f0a0c28"
    );
}

#[test]
fn during_a_rotation_either_key_verifies_under_its_own_id() {
    let new = SharedSecret::parse("the-new-shared-secret").unwrap();
    let old = secret();
    let ring = Keyring::new(new.clone(), Some(old.clone()));
    let signed_by = |key: &SharedSecret, id: Option<&str>| {
        let mut p = parts(b"{}");
        if let Some(id) = id {
            p.headers.push((KEY_ID.into(), id.into()));
        }
        let sig = sign(key, &p);
        verify(&ring, &p, Some(&sig), 1_700_000_000, 30)
    };
    assert_eq!(signed_by(&old, Some(old.id())), Ok(()));
    assert_eq!(signed_by(&new, Some(new.id())), Ok(()));
    assert_eq!(signed_by(&old, None), Ok(()), "made before key ids");
    assert_eq!(
        signed_by(&old, Some(new.id())),
        Err(SignatureError::Mismatch),
        "a key id names the one key to try"
    );
    let stranger = SharedSecret::parse("not-in-the-ring-at-all").unwrap();
    assert_eq!(
        signed_by(&stranger, Some(stranger.id())),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(signed_by(&stranger, None), Err(SignatureError::Mismatch));
}

#[test]
fn header_order_does_not_matter_but_names_do() {
    let p = parts(b"{}");
    let mut reordered = p.clone();
    reordered.headers.reverse();
    assert_eq!(sign(&secret(), &p), sign(&secret(), &reordered));
    let mut extra = p.clone();
    extra.headers.push(("x-roam-city2".into(), "Paris".into()));
    assert_ne!(sign(&secret(), &p), sign(&secret(), &extra));
}

#[test]
fn timestamps_are_parsed_strictly() {
    assert_eq!(parse_timestamp(Some("1700000000")), Ok(1_700_000_000));
    for bad in ["", "-1", "1e9", "0x10", "99999999999999"] {
        assert!(parse_timestamp(Some(bad)).is_err(), "{bad}");
    }
    assert_eq!(parse_timestamp(None), Err(SignatureError::Missing));
    assert!(is_signed_header("X-Roam-City"));
    assert!(is_signed_header("idempotency-key"));
    assert!(is_signed_header("Traceparent"));
    assert!(!is_signed_header("tracestate"));
    assert!(!is_signed_header("x-roam-signature"));
    assert!(!is_signed_header("authorization"));
}

proptest! {
    /// Flipping any single byte of any signed part makes verification fail.
    #[test]
    fn any_single_byte_change_fails(which in 0usize..5, pos in any::<prop::sample::Index>(),
                                    flip in 1u8..=255) {
        let body = br#"{"vehicle_id":"6a0f"}"#.to_vec();
        let p = parts(&body);
        let sig = sign(&secret(), &p);
        let mut method = p.method.as_bytes().to_vec();
        let mut path = p.path_and_query.as_bytes().to_vec();
        let mut body2 = body.clone();
        let mut city = p.headers[0].1.as_bytes().to_vec();
        let mut sig2 = sig.as_bytes().to_vec();
        let target = match which { 0 => &mut method, 1 => &mut path, 2 => &mut body2, 3 => &mut city, _ => &mut sig2 };
        let i = pos.index(target.len());
        target[i] ^= flip;
        let method = String::from_utf8_lossy(&method).into_owned();
        let path = String::from_utf8_lossy(&path).into_owned();
        let mut changed = SignedParts { method: &method, path_and_query: &path, body_sha256: body_digest(&body2), ..p.clone() };
        changed.headers[0].1 = String::from_utf8_lossy(&city).into_owned();
        let sig2 = String::from_utf8_lossy(&sig2).into_owned();
        // Uppercasing the method or trimming a header value may undo a flip; only
        // distinct canonical strings must fail.
        if changed.canonical() != p.canonical() || sig2 != sig {
            prop_assert!(verify(&ring(), &changed, Some(&sig2), p.timestamp, 30).is_err());
        }
    }

    #[test]
    fn a_timestamp_change_fails(delta in 1i64..30) {
        let p = parts(b"");
        let sig = sign(&secret(), &p);
        let moved = SignedParts { timestamp: p.timestamp + delta, ..p.clone() };
        prop_assert_eq!(verify(&ring(), &moved, Some(&sig), p.timestamp, 30), Err(SignatureError::Mismatch));
    }
}
