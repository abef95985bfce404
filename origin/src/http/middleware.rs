//! What every request passes through: its id, its span, its metrics and failure log, the
//! request timeout.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roam_shared::headers::{GeoTags, REQUEST_ID};
use tracing::Span;
use uuid::Uuid;

use crate::config::Config;
use crate::error::{Error, ErrorCause};

/// Longer than the configured timeout: 504, and the transaction in flight is rolled back
/// (dropping it does that).
pub async fn timeout(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout.into_response(),
    }
}

/// Keeps a well-formed `x-request-id` (the edge's), else makes one; echoes it in the response.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let name = roam_shared::headers::REQUEST_ID;
    let valid = request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(roam_shared::headers::is_valid_token_id);
    if !valid {
        let fresh = Uuid::new_v4().to_string();
        if let Ok(value) = HeaderValue::from_str(&fresh) {
            request.headers_mut().insert(name, value);
        }
    }
    let id = request.headers().get(name).cloned();
    let mut response = next.run(request).await;
    if let Some(id) = id {
        response.headers_mut().insert(name, id);
    }
    response
}

/// The span of one request: request id, method, route, this region and the edge's geo tags.
/// Never the body or the authorization header, so passwords and tokens stay out of logs.
pub fn make_span(region: &str, request: &Request) -> Span {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let geo = GeoTags::from_headers(header);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    tracing::info_span!(
        "request",
        request_id = header(REQUEST_ID).unwrap_or(""),
        method = %request.method(),
        route,
        region,
        user_country = geo.country,
        user_city = geo.city,
        colo = geo.colo,
        user_region = geo.region,
    )
}

/// Middleware: request counts and latencies by route/status/region, the cause of any 5xx in
/// the log (other requests as `telemetry::log_request` keeps or samples them), and
/// `cache-control: no-store` on anything that did not choose otherwise.
pub async fn observe(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let mut response = next.run(request).await;
    let status = response.status();
    let latency = started.elapsed();
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::error!(status = status.as_u16(), cause, "request failed");
    } else {
        crate::telemetry::log_request(status.as_u16(), latency);
    }
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let region = config.region.clone();
    let latency_labels = [("route", route), ("method", method), ("region", region)];
    metrics::histogram!("roam_http_request_duration_seconds", &latency_labels)
        .record(latency.as_secs_f64());
    let mut labels = latency_labels.to_vec();
    labels.push(("status", status.as_u16().to_string()));
    metrics::counter!("roam_http_requests_total", &labels).increment(1);
    response
}
