//! Running an origin: bind, connect the pools, serve until a signal, stop cleanly. The one
//! path the binary and the tests share.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::{admin_app, app, AppState};
use crate::jobs::{JobConfig, Workers};
use crate::password::Hasher;
use crate::server::{self, Limits};
use crate::storage::health::HealthWatch;
use crate::storage::Nodes;
use crate::telemetry;

/// A bound, ready-to-run origin: the public listener (the API), the admin listener
/// (readiness, metrics) and what runs beside them.
pub struct Application {
    listener: TcpListener,
    admin_listener: TcpListener,
    router: Router,
    admin_router: Router,
    limits: Limits,
    nodes: Nodes,
    /// Background tasks: the health checks, and following each multi-host node's primary.
    background: Vec<JoinHandle<()>>,
    port: u16,
    admin_port: u16,
    region: String,
    idempotency_ttl: Duration,
    map: roam_shared::RegionMap,
    jobs: JobConfig,
}

impl Application {
    /// Connects the pools (lazily, so an origin whose node is down still starts and reports
    /// unready) and binds both listeners (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // sqlx keeps retrying a refused connection until this timeout: with the node down,
        // the 1 s default makes that a quick 503 + retry-after, well inside the edge's 3 s
        // origin timeout (at 3 s the two raced and the edge gave up first).
        let acquire_timeout = config.db_acquire_timeout.min(config.request_timeout / 2);
        let nodes = Nodes::connect(&config, acquire_timeout)?;
        let listener = bind("ROAM_LISTEN", config.listen).await?;
        let admin_listener = bind("ROAM_ADMIN_LISTEN", config.admin_listen).await?;
        let (port, admin_port) = (
            listener.local_addr()?.port(),
            admin_listener.local_addr()?.port(),
        );
        // Series that exist from the start, so a scrape shows 0 rather than nothing.
        metrics::counter!("roam_db_transaction_retries_total").increment(0);
        metrics::counter!("roam_db_transaction_retries_exhausted_total").increment(0);
        let regions = config.map.regions.iter().map(|r| r.name.clone()).collect();
        // Which host of each node takes writes, before the first request (and from then on).
        let mut background = nodes.follow_primaries().await;
        let (health, health_checks) = HealthWatch::start(nodes.clone(), regions, config.health);
        background.push(health_checks);
        let state = AppState {
            hasher: Hasher::new(
                config.argon2_memory_kib,
                config.hash_concurrency,
                config.hash_wait,
            ),
            health,
            nodes: nodes.clone(),
            metrics: telemetry::metrics_handle(),
            config: Arc::new(config.clone()),
        };
        Ok(Self {
            listener,
            admin_listener,
            router: app(state.clone()),
            admin_router: admin_app(state),
            limits: config.limits,
            nodes,
            background,
            port,
            admin_port,
            region: config.region,
            idempotency_ttl: config.idempotency_ttl,
            map: config.map,
            jobs: config.jobs,
        })
    }

    /// The port of the public listener (the API).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the admin listener (`/readyz`, `/metrics`).
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves (and runs this region's background jobs) until `signal` completes; then
    /// in-flight requests finish, the job workers finish the jobs in hand, and the pools close.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(
            port = self.port,
            admin_port = self.admin_port,
            "origin listening"
        );
        let pruner = tokio::spawn(crate::storage::upkeep::prune_periodically(
            self.nodes.local().clone(),
            self.region.clone(),
            self.idempotency_ttl,
            Duration::from_secs(600),
        ));
        // Owned by this future: if it is dropped (the process dies), so are the workers.
        let workers = Workers::start(self.nodes.clone(), &self.region, self.map, self.jobs);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stopped_admin = stopped.clone();
        let on_signal = async move {
            signal.await;
            let _ = stop.send(true);
        };
        tokio::join!(
            on_signal,
            server::serve(self.listener, self.router, self.limits, wait_for(stopped)),
            server::serve(
                self.admin_listener,
                self.admin_router,
                self.limits,
                wait_for(stopped_admin)
            ),
        );
        pruner.abort();
        for task in &self.background {
            task.abort();
        }
        workers.stop().await;
        self.nodes.close().await;
        tracing::info!("origin stopped");
        Ok(())
    }
}

async fn bind(variable: &str, address: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("{variable} {address}: cannot listen: {e}"))
}

/// Completes once `stopped` says so (or its sender is gone).
async fn wait_for(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
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
