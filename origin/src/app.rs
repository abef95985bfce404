//! Building the router and running it: the one path the binary and the tests share.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use uuid::Uuid;

use crate::config::Config;
use crate::error::Error;
use crate::jobs::{JobConfig, Workers};
use crate::nodes::Nodes;
use crate::{health, rides, sessions, signing, telemetry, users, vehicles};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Every region's node: this region's, and the others' reached directly.
    pub nodes: Nodes,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Renders /metrics.
    pub metrics: PrometheusHandle,
}

/// The whole HTTP surface of an origin.
pub fn app(state: AppState) -> Router {
    let region = state.config.region.clone();
    Router::new()
        .merge(health::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(vehicles::router())
        .merge(rides::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run bottom-up on the way in: request id, span, metrics, timeout, signature.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            signing::verify_signature,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::observe,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |r: &Request| telemetry::make_span(&region, r))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound("no such route".into())
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Longer than the configured timeout: 504, and the transaction in flight is rolled back
/// (dropping it does that).
async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout.into_response(),
    }
}

/// Keeps a well-formed `x-request-id` (the edge's), else makes one; echoes it in the response.
async fn request_id(mut request: Request, next: Next) -> Response {
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

/// A bound, ready-to-run origin.
pub struct Application {
    listener: TcpListener,
    router: Router,
    nodes: Nodes,
    port: u16,
    region: String,
    idempotency_ttl: Duration,
    map: roam_shared::RegionMap,
    jobs: JobConfig,
}

impl Application {
    /// Connects the pool (lazily, so an origin whose node is down still starts and reports
    /// unready) and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // sqlx keeps retrying a refused connection until this timeout: with the node down,
        // the 1 s default makes that a quick 503 + retry-after, well inside the edge's 3 s
        // origin timeout (at 3 s the two raced and the edge gave up first).
        let acquire_timeout = config.db_acquire_timeout.min(config.request_timeout / 2);
        let nodes = Nodes::connect(&config, acquire_timeout)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("ROAM_LISTEN {}: cannot listen: {e}", config.listen))?;
        let port = listener.local_addr()?.port();
        let metrics = telemetry::metrics_handle();
        // Series that exist from the start, so a scrape shows 0 rather than nothing.
        metrics::counter!("roam_db_transaction_retries_total").increment(0);
        metrics::counter!("roam_db_transaction_retries_exhausted_total").increment(0);
        let (region, idempotency_ttl) = (config.region.clone(), config.idempotency_ttl);
        let (map, jobs) = (config.map.clone(), config.jobs.clone());
        let state = AppState {
            nodes: nodes.clone(),
            config: Arc::new(config),
            metrics,
        };
        Ok(Self {
            listener,
            router: app(state),
            nodes,
            port,
            region,
            idempotency_ttl,
            map,
            jobs,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves (and runs this region's background jobs) until `signal` completes; then
    /// in-flight requests finish, the job workers finish the jobs in hand, and the pool closes.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(port = self.port, "origin listening");
        let pruner = tokio::spawn(crate::idempotency::prune_periodically(
            self.nodes.local().clone(),
            self.region.clone(),
            self.idempotency_ttl,
            Duration::from_secs(600),
        ));
        // Owned by this future: if it is dropped (the process dies), so are the workers.
        let workers = Workers::start(self.nodes.clone(), &self.region, self.map, self.jobs);
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .await;
        pruner.abort();
        workers.stop().await;
        served?;
        self.nodes.close().await;
        tracing::info!("origin stopped");
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// 204 with no body (log-out).
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
