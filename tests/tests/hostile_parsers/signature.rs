//! The signature canonicaliser and the token decoder against arbitrary input.

use proptest::prelude::*;
use roam_shared::headers::is_valid_token_id;
use roam_shared::signature::{self, SharedSecret, SignedParts, DEV_SECRET};
use roam_shared::token;

use crate::cases;

proptest! {
    #![proptest_config(cases(256))]

    /// case, and any change of a part, or of the key, fails verification.
    #[test]
    fn signature_canonicaliser_separates_requests(
        method in "[A-Z]{1,7}", path in "/[ -~]{0,40}", ts in 0i64..4_000_000_000,
        body in prop::collection::vec(any::<u8>(), 0..64),
        headers in prop::collection::vec(("x-roam-[a-z]{1,8}", "[!-~]{0,20}"), 0..6),
        other_path in "/[ -~]{0,40}",
    ) {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        let parts = SignedParts { method: &method, path_and_query: &path, timestamp: ts, body_sha256: signature::body_digest(&body), headers };
        let sig = signature::sign(&secret, &parts);
        prop_assert_eq!(signature::verify(&secret.clone().into(), &parts, Some(&sig), ts, 30), Ok(()));
        let mut shuffled = parts.clone();
        shuffled.headers.reverse();
        shuffled.headers.iter_mut().for_each(|(n, _)| *n = n.to_ascii_uppercase());
        prop_assert_eq!(shuffled.canonical(), parts.canonical());
        if other_path != path {
            let moved = SignedParts { path_and_query: &other_path, ..parts.clone() };
            prop_assert!(signature::verify(&secret.into(), &moved, Some(&sig), ts, 30).is_err());
        }
        let other = SharedSecret::parse("another-secret-entirely-0123").expect("secret");
        prop_assert!(signature::verify(&other.into(), &parts, Some(&sig), ts, 30).is_err());
    }

    /// Verification of arbitrary signatures and timestamps never panics and never passes.
    #[test]
    fn signature_verification_is_total(sig in "\\PC{0,80}", ts in any::<i64>(), now in any::<i64>(), window in any::<i64>()) {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        let parts = SignedParts { method: "GET", path_and_query: "/", timestamp: ts, body_sha256: String::new(), headers: vec![] };
        let real = signature::sign(&secret, &parts);
        if sig != real {
            prop_assert!(signature::verify(&secret.into(), &parts, Some(&sig), now, window).is_err());
        }
        let _ = signature::parse_timestamp(Some(&sig));
    }

    /// Tokens: arbitrary text (and bearer headers) never verifies and never panics.
    #[test]
    fn token_decoding_is_total(text in "\\PC{0,300}", header in "\\PC{0,60}") {
        let secret = SharedSecret::parse(DEV_SECRET).expect("secret");
        prop_assert!(token::verify(&secret.clone().into(), &text, 0).is_err());
        let v1 = format!("v1.{text}");
        prop_assert!(token::verify(&secret.into(), &v1, 0).is_err());
        let _ = token::bearer(&header);
        let _ = is_valid_token_id(&text);
    }
}
