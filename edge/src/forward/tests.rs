use super::*;
use roam_shared::signature::verify;

fn tags() -> GeoTags {
    GeoTags {
        country: "IT".into(),
        city: "Rome".into(),
        colo: "FCO".into(),
        region: "eu-west".into(),
        lat: "41.89".into(),
        lon: "12.49".into(),
    }
}

fn client_headers() -> Vec<(String, String)> {
    [
        ("Content-Type", "application/json"),
        ("X-Roam-City", "Paris"),
        ("x-roam-signature", "forged"),
        ("Authorization", "Bearer t"),
        ("x-forwarded-host", "evil"),
        ("idempotency-key", "client-key-from-headers"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect()
}

/// What an origin does five seconds later: verify `parts` and `signature` under `secret`.
fn origin_accepts(secret: &SharedSecret, parts: &SignedParts<'_>, signature: &str) -> bool {
    let ring = secret.clone().into();
    verify(&ring, parts, Some(signature), 1_700_000_005, 30).is_ok()
}

#[test]
fn client_roam_headers_are_dropped_and_ours_are_signed() {
    let secret = SharedSecret::parse("forward-test-secret-123").unwrap();
    let out = Outbound::new(
        "post",
        "/api/v1/cities/rome/rides",
        &client_headers(),
        br#"{"vehicle_id":"x"}"#.to_vec(),
        &tags(),
        "req-1",
        Some("idem-1"),
    );
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let sent = out.signed_headers(&secret, 1_700_000_000, Some(tp));
    let get = |name: &str| -> Vec<&str> {
        sent.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("x-roam-city"), ["Rome"], "the client's Paris is gone");
    assert_eq!(get("idempotency-key"), ["idem-1"]);
    assert_eq!(get("authorization"), ["Bearer t"]);
    assert!(get("x-forwarded-host").is_empty());
    assert_eq!(get("x-roam-signature").len(), 1);
    assert_eq!(get("traceparent"), [tp], "signed with the rest");

    // What an origin does: rebuild the parts from what arrived and verify.
    let signed: Vec<(String, String)> = sent
        .iter()
        .filter(|(n, _)| is_signed_header(n))
        .cloned()
        .collect();
    let parts = SignedParts {
        method: "POST",
        path_and_query: "/api/v1/cities/rome/rides",
        timestamp: 1_700_000_000,
        body_sha256: body_digest(br#"{"vehicle_id":"x"}"#),
        headers: signed,
    };
    let signature = get("x-roam-signature")[0];
    assert!(origin_accepts(&secret, &parts, signature));
    let forged = SignedParts {
        path_and_query: "/api/v1/cities/paris/rides",
        ..parts
    };
    assert!(!origin_accepts(&secret, &forged, signature));
    let other_trace = SignedParts {
        headers: forged
            .headers
            .iter()
            .map(|(n, v)| match n.as_str() {
                "traceparent" => (n.clone(), v.replace("-01", "-00")),
                _ => (n.clone(), v.clone()),
            })
            .collect(),
        path_and_query: "/api/v1/cities/rome/rides",
        ..forged
    };
    assert!(
        !origin_accepts(&secret, &other_trace, signature),
        "a changed sampling decision breaks the signature"
    );
}

#[test]
fn reads_carry_no_idempotency_key() {
    let out = Outbound::new("GET", "/api/v1/me/rides", &[], vec![], &tags(), "r", None);
    assert!(out.headers.iter().all(|(n, _)| n != IDEMPOTENCY_KEY));
    assert_eq!(out.method, "GET");
}
