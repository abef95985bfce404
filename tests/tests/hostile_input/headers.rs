//! Hostile headers: floods, one huge header, many cookies, bad idempotency keys and a garbage
//! bearer token.

use roam_e2e::raw::pairs;

use crate::cases::{case, post, Case, BIKE, VEHICLES};

/// Too many, too large, or malformed headers.
pub(crate) fn headers() -> Vec<Case> {
    let flood = (0..300)
        .map(|i| (format!("x-flood-{i}"), "v".repeat(20)))
        .collect();
    let cookies = (0..200)
        .map(|i| format!("c{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        post("300 headers", VEHICLES, BIKE, &[201, 400, 431]).with_headers(flood),
        case("one 64 KiB header", "GET", VEHICLES, &[200, 400, 431])
            .with_headers(vec![("x-huge".into(), "h".repeat(64 * 1024))]),
        case("200 cookies", "GET", VEHICLES, &[200]).with_headers(vec![("cookie".into(), cookies)]),
        post("idempotency key with a space", VEHICLES, BIKE, &[422])
            .with_headers(pairs(&[("idempotency-key", "not valid")])),
        post("idempotency key of 200 chars", VEHICLES, BIKE, &[422])
            .with_headers(vec![("idempotency-key".into(), "k".repeat(200))]),
        post("garbage bearer token", VEHICLES, BIKE, &[401])
            .with_headers(pairs(&[("authorization", "Bearer v1.%%%.!!!")])),
    ]
}
