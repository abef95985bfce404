//! What every request passes through: its id and trace, its span, its metrics and failure
//! log, `server-timing` and `traceresponse`, the request timeout.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roam_shared::headers::{GeoTags, REQUEST_ID};
use roam_shared::trace::{EDGE_SPANS_PATH, TRACEPARENT, TRACERESPONSE};
use tracing::Span;
use uuid::Uuid;

use crate::config::Config;
use crate::error::{Error, ErrorCause};
use crate::telemetry::context::{self, Incoming};
use crate::telemetry::{http_metrics, request_log};

/// Longer than the configured timeout: 504, and the transaction in flight is rolled back
/// (dropping it does that).
pub(super) async fn timeout(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout.into_response(),
    }
}

/// Keeps a well-formed `x-request-id` (the edge's), else makes one; echoes it in the response.
/// Reads the `traceparent` the request continues (the edge's, signed with the rest).
pub(super) async fn request_id(mut request: Request, next: Next) -> Response {
    let traceparent = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok());
    let incoming = Incoming::new(traceparent);
    request.extensions_mut().insert(incoming);
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

/// The span of one request: request id, trace id, method, route, this region and the edge's
/// geo tags (and, for OpenTelemetry, a server span named after the route, continuing the
/// edge's trace). Never the body or the authorization header, so passwords and tokens stay
/// out of logs. The edge's span reports get none: they are about another request.
pub(super) fn make_span(region: &str, request: &Request) -> Span {
    if request.uri().path() == EDGE_SPANS_PATH {
        return Span::none();
    }
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let geo = GeoTags::from_headers(header);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = header(REQUEST_ID).unwrap_or(""),
        trace_id = tracing::field::Empty,
        method = %request.method(),
        route,
        region,
        user_country = geo.country,
        user_city = geo.city,
        colo = geo.colo,
        user_region = geo.region,
        otel.name = format!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
    );
    if let Some(incoming) = request.extensions().get::<Incoming>() {
        context::continue_trace(&span, incoming);
    }
    span
}

/// Middleware: request counts and latencies by route/status/region (ours and the HTTP
/// semantic conventions'), the cause of any 5xx in the log (other requests as
/// `telemetry::request_log` keeps or samples them), `cache-control: no-store` on anything that
/// did not choose otherwise, and the trace: the request runs in its [`context::scope`] and
/// answers `traceresponse` and `server-timing` (`app`, each `db`).
pub(super) async fn observe(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let route = matched.clone().unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let trace = request
        .extensions()
        .get::<Incoming>()
        .map(|i| i.context_of(&Span::current()));
    let mut response = match trace {
        Some(trace) => {
            context::scope(trace, async move {
                let mut response = next.run(request).await;
                let timing = roam_shared::trace::server_timing(&context::timings());
                if let Ok(value) = HeaderValue::from_str(&timing) {
                    response.headers_mut().insert("server-timing", value);
                }
                response
            })
            .await
        }
        None => next.run(request).await,
    };
    if let Some(value) = trace.and_then(|t| HeaderValue::from_str(&t.to_header()).ok()) {
        response.headers_mut().insert(TRACERESPONSE, value);
    }
    let status = response.status();
    let latency = started.elapsed();
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::error!(status = status.as_u16(), cause, "request failed");
    } else {
        request_log::log_request(status.as_u16(), latency);
    }
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let region = config.region.clone();
    let seconds = latency.as_secs_f64();
    let semconv_route = matched.as_deref().unwrap_or("");
    http_metrics::record(&method, semconv_route, status.as_u16(), &region, seconds);
    let latency_labels = [("route", route), ("method", method), ("region", region)];
    metrics::histogram!("roam_http_request_duration_seconds", &latency_labels).record(seconds);
    let mut labels = latency_labels.to_vec();
    labels.push(("status", status.as_u16().to_string()));
    metrics::counter!("roam_http_requests_total", &labels).increment(1);
    response
}
