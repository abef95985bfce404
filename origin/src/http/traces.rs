//! `POST /api/v1/traces/edge`: the edge's own spans of a request this origin answered (the
//! edge has no exporter; see `telemetry::edge_spans`). Signed like every `/api/` call, so only
//! the edge can add to a trace. 204 whether or not export is on: the edge sends them only when
//! this origin's `traceresponse` said it records the trace.

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use roam_shared::trace::{EdgeSpans, EDGE_SPANS_PATH};

use super::json::Json;
use super::AppState;
use crate::error::{Error, Result};
use crate::telemetry::edge_spans;

/// The route.
pub(super) fn router() -> Router<AppState> {
    Router::new().route(EDGE_SPANS_PATH, post(report))
}

async fn report(Json(spans): Json<EdgeSpans>) -> Result<StatusCode> {
    edge_spans::export(&spans).map_err(|e| Error::invalid("spans", e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}
