//! Logs and metrics, set up in one place for the binary and the tests.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use roam_shared::headers::{GeoTags, REQUEST_ID};
use tracing::Span;
use tracing_subscriber::EnvFilter;

use crate::app::AppState;
use crate::error::ErrorCause;

/// Installs the global tracing subscriber (JSON lines when `ROAM_LOG_JSON=1`). Idempotent.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("ROAM_LOG_JSON").is_ok_and(|v| v == "1");
    // Colours only for people at a terminal; log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The process-wide Prometheus recorder (installed on first use; every origin in the
/// process shares it and tells itself apart by the `region` label).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program); then ours just
            // renders nothing, which is better than refusing to start.
            let _ = metrics::set_global_recorder(recorder);
            // Histogram samples queue up until drained; without a scrape they would only grow.
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                });
            handle
        })
        .clone()
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
/// the log, and `cache-control: no-store` on anything that did not choose otherwise.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let mut response = next.run(request).await;
    let status = response.status();
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::error!(status = status.as_u16(), cause, "request failed");
    }
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let region = state.config.region.clone();
    let latency_labels = [("route", route), ("method", method), ("region", region)];
    metrics::histogram!("roam_http_request_duration_seconds", &latency_labels)
        .record(started.elapsed().as_secs_f64());
    let mut labels = latency_labels.to_vec();
    labels.push(("status", status.as_u16().to_string()));
    metrics::counter!("roam_http_requests_total", &labels).increment(1);
    response
}

/// Records the pool's gauges (called when /metrics is scraped).
pub fn record_pool(state: &AppState) {
    let region = state.config.region.clone();
    metrics::gauge!("roam_db_pool_connections", "region" => region.clone())
        .set(f64::from(state.nodes.local().size()));
    metrics::gauge!("roam_db_pool_idle", "region" => region.clone())
        .set(state.nodes.local().num_idle() as f64);
    metrics::gauge!("roam_db_pool_max", "region" => region)
        .set(f64::from(state.config.db_max_connections));
}
