//! The edge-signature check: the first thing every `/api/` request meets.
//!
//! The body is buffered (at most [`MAX_BODY_BYTES`] bytes, else 413) because its digest is signed;
//! the handler then reads the same bytes. A missing, stale or wrong signature is a 401 before
//! any handler runs, so nothing is written.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roam_shared::headers::{SIGNATURE, TIMESTAMP};
use roam_shared::request::{declares_too_large, MAX_BODY_BYTES};
use roam_shared::signature::{self, SignedParts};

use crate::config::Config;
use crate::error::Error;

/// What the check established, for later extractors (the idempotency hash uses the digest).
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
}

/// Middleware: verifies the signature of `/api/` requests; other paths pass untouched.
pub async fn verify_signature(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    match check(&config, request).await {
        Ok(request) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

async fn check(config: &Config, request: Request) -> Result<Request, Error> {
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    if declared.is_some_and(declares_too_large) {
        return Err(Error::TooLarge(MAX_BODY_BYTES));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large =
                std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                    .any(|e| e.to_string().contains("length limit"));
            if too_large {
                Error::TooLarge(MAX_BODY_BYTES)
            } else {
                Error::Malformed("the body could not be read".into())
            }
        })?;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let unauthenticated = |e: signature::SignatureError| {
        tracing::info!(reason = %e, "refused an unsigned or badly signed request");
        Error::Unauthenticated("the request is not signed by the edge".into())
    };
    let timestamp = signature::parse_timestamp(header(TIMESTAMP)).map_err(unauthenticated)?;
    let mut signed_headers = Vec::new();
    for (name, value) in &parts.headers {
        if signature::is_signed_header(name.as_str()) {
            let value = value
                .to_str()
                .map_err(|_| unauthenticated(signature::SignatureError::Mismatch))?;
            signed_headers.push((name.as_str().to_string(), value.to_string()));
        }
    }
    let body_sha256 = signature::body_digest(&bytes);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let signed = SignedParts {
        method: parts.method.as_str(),
        path_and_query,
        timestamp,
        body_sha256: body_sha256.clone(),
        headers: signed_headers,
    };
    let now = chrono::Utc::now().timestamp();
    signature::verify(
        &config.keys,
        &signed,
        header(SIGNATURE),
        now,
        config.signature_window_secs,
    )
    .map_err(unauthenticated)?;
    parts.extensions.insert(Verified { body_sha256 });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
