//! `/ping`, `/healthz`, `/readyz`, `/metrics`: unsigned, never cached.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use roam_shared::api::Pong;
use serde::Serialize;

use super::extract::Geo;
use super::AppState;
use crate::error::RETRY_AFTER_SECS;
use crate::schema::names::local_table;
use crate::storage::Nodes;
use crate::telemetry;

/// How long /readyz waits for one node.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ping", get(ping))
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
    })
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// One partition's node as this origin sees it.
#[derive(Debug, Serialize)]
struct NodeCheck {
    region: String,
    local: bool,
    ok: bool,
    ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    region: String,
    nodes: Vec<NodeCheck>,
}

/// Ready when this region's node answers; also reports the latency to every other region's
/// node (informational: a far node being down degrades only the requests about its cities).
async fn readyz(State(state): State<AppState>) -> Response {
    let own = state.config.region.clone();
    let checks = state
        .config
        .map
        .regions
        .iter()
        .map(|r| check_node(&state.nodes, r.name.clone(), r.name == own));
    let nodes = futures::future::join_all(checks).await;
    let ready = nodes.iter().any(|n| n.local && n.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (
        status,
        axum::Json(Readiness {
            ready,
            region: own,
            nodes,
        }),
    )
        .into_response();
    if !ready {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

/// How one region's node answers this origin now. A node reached directly answers
/// `SELECT 1`; one reached through postgres_fdw is asked for a row of its foreign partition.
async fn check_node(nodes: &Nodes, region: String, local: bool) -> NodeCheck {
    let sql = if nodes.is_direct(&region) {
        "SELECT 1".to_string()
    } else {
        format!(
            "SELECT 1 FROM {} LIMIT 1",
            local_table("email_claims", &region)
        )
    };
    let started = Instant::now();
    let asked = sqlx::query(&sql).fetch_optional(nodes.region(&region));
    let result = tokio::time::timeout(CHECK_TIMEOUT, asked).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let error = match result {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(short_error(&e)),
        Err(_) => Some("timed out".to_string()),
    };
    NodeCheck {
        region,
        local,
        ok: error.is_none(),
        ms: (ms * 100.0).round() / 100.0,
        error,
    }
}

/// A database error's kind, without connection strings or query text.
fn short_error(e: &sqlx::Error) -> String {
    match crate::error::sqlstate(e) {
        Some(code) => format!("database error {code}"),
        None if crate::error::is_unavailable(e) => "unreachable".to_string(),
        None => "error".to_string(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    telemetry::record_pool(&state.nodes, &state.config);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
