//! The HTTP surface: the router, its state, the middleware every request passes, our
//! extractors, and one module per resource. Errors become problem+json in `crate::error`.

mod extract;
mod health;
mod json;
mod middleware;
mod ride_history;
mod rides;
mod sessions;
pub mod signature;
mod state;
mod traces;
mod users;
mod vehicles;

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use roam_shared::routes::{Method, Operation};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use json::parse_json;
pub use state::AppState;

use crate::error::Error;
use crate::storage::idempotency::Written;

/// Header on a response that was replayed from the idempotency record.
pub const REPLAY_HEADER: &str = "idempotent-replay";

/// The admin listener's surface: health, readiness and metrics, for operators and load
/// balancers on a private address.
pub fn admin_app(state: AppState) -> Router {
    health::admin_router()
        .fallback(not_found)
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}

/// Registers handlers under the method and path roam-shared's route table gives their
/// operation, so the origin answers exactly the table's forwarded routes (plus its own
/// `/ping`, `/healthz` and the edge's signed `/api/v1/health` and trace reports).
trait ApiRoutes {
    /// Adds `handler` as `op`'s route.
    fn api<H, T>(self, op: Operation, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static;
}

impl ApiRoutes for Router<AppState> {
    fn api<H, T>(self, op: Operation, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let route = op.route();
        let filter = match route.method {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Delete => MethodFilter::DELETE,
        };
        self.route(route.path, on(filter, handler))
    }
}

/// The whole public HTTP surface of an origin.
pub fn app(state: AppState) -> Router {
    let region = state.config.region.clone();
    let config = state.config.clone();
    Router::new()
        .merge(health::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(vehicles::router())
        .merge(rides::router())
        .merge(ride_history::router())
        .merge(traces::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run bottom-up on the way in: request id, span, metrics, timeout, signature.
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            signature::verify_signature,
        ))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            config,
            middleware::observe,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |r: &Request| middleware::make_span(&region, r))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                // `observe` logs each failure once, with its cause.
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound("no such route".into())
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// A JSON response that no cache keeps.
fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The answer to a write: its status and body, marked when it was replayed from the
/// idempotency record.
fn written(written: Written) -> Response {
    let mut response = json_response(written.status, written.body);
    if written.replayed {
        response
            .headers_mut()
            .insert(REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    response
}
