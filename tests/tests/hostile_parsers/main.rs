//! Property-based fuzzing of what reads untrusted bytes, beyond the targets `roam-shared`
//! carries in its own modules (tokens, bookmarks, signatures, header values, routing, geo,
//! validation):
//!
//! - the edge's request parsers: route resolution, URL splitting, cookies, `request.cf`
//!   fields, cache keys and freshness, and the outbound request it signs (no client header
//!   ever lands in the signed set);
//! - the origin's JSON body parser (syntax errors are 400, every well-formed body of the wrong
//!   shape is 422, nothing panics);
//! - the origin's whole router, driven in-process with arbitrary methods, paths, headers and
//!   bodies, signed and unsigned (its database unreachable, so only parsing and refusals run):
//!   no 500, every error problem+json, unsigned `/api/` requests never get past 401/413;
//! - the signature canonicaliser and the token decoder against arbitrary input.
//!
//! Cases per property: `PROPTEST_CASES` (default 256). A longer run for
//! maintainers: `PROPTEST_CASES=20000 cargo test --release -p roam-e2e --test hostile_parsers`.
//!
//! One binary; the strategies and each surface's properties are its modules.

mod edge;
mod origin;
mod signature;
mod strategies;

use proptest::prelude::ProptestConfig;

/// `default` cases per property, or `PROPTEST_CASES`; failures are not persisted.
pub(crate) fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
