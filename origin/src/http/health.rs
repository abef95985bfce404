//! Health and operations: `/ping` and `/healthz` on the public listener; `/readyz` and
//! `/metrics` on the admin listener only (an operator's and a load balancer's, not the
//! internet's). The edge reads the same readiness at `/api/v1/health`, signed like every
//! `/api/` request, to show each region's health. Never cached.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use roam_shared::api::Pong;
use serde::Serialize;

use super::extract::Geo;
use super::AppState;
use crate::config::Config;
use crate::error::RETRY_AFTER_SECS;
use crate::storage::health::{NodeCheck, RegionHealth, EVERY};
use crate::storage::Nodes;

/// The public health routes (and the edge's signed view of readiness).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ping", get(ping))
        .route("/healthz", get(healthz))
        .route("/api/v1/health", get(readyz))
}

/// The admin listener's routes.
pub(super) fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn ping(State(state): State<AppState>, Geo(geo): Geo) -> axum::Json<Pong> {
    axum::Json(Pong {
        pong: true,
        colo: geo.colo,
        country: geo.country,
        city: geo.city,
        region: state.config.region.clone(),
        latitude: None,
        longitude: None,
    })
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    region: String,
    /// How old the checks are, ms (they run every second in the background).
    checked_ms_ago: u64,
    /// This region in detail (absent before the first checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<RegionHealth>,
    nodes: Vec<NodeCheck>,
}

/// Ready when this region's node answered the latest check (taken within the last few
/// seconds); also reports every other region's node (informational: a far node being down
/// degrades only the requests about its cities). Served from memory.
async fn readyz(State(state): State<AppState>) -> Response {
    let (age, health) = match state.health.latest() {
        Some((age, health)) => (age, Some(health)),
        None => (Duration::MAX, None),
    };
    let fresh = age < EVERY * 5;
    let (nodes, region) = health.map_or((Vec::new(), None), |h| (h.nodes, Some(h.region)));
    let ready = fresh && nodes.iter().any(|n| n.local && n.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let readiness = Readiness {
        ready,
        region: state.config.region.clone(),
        checked_ms_ago: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
        health: region,
        nodes,
    };
    let mut response = (status, axum::Json(readiness)).into_response();
    if !ready {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

async fn metrics(State(state): State<AppState>) -> Response {
    record_pool(&state.nodes, &state.config);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Records the local pool's gauges (called when /metrics is scraped).
fn record_pool(nodes: &Nodes, config: &Config) {
    let region = config.region.clone();
    metrics::gauge!("roam_db_pool_connections", "region" => region.clone())
        .set(f64::from(nodes.local().size()));
    metrics::gauge!("roam_db_pool_idle", "region" => region.clone())
        .set(nodes.local().num_idle() as f64);
    metrics::gauge!("roam_db_pool_max", "region" => region)
        .set(f64::from(config.db_max_connections));
}
