//! Running an origin: bind, connect the pools, serve until a signal, stop cleanly. The one
//! path the binary and the tests share.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{app, AppState};
use crate::jobs::{JobConfig, Workers};
use crate::password::Hasher;
use crate::storage::Nodes;
use crate::telemetry;

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
        let hasher = Hasher::new(
            config.argon2_memory_kib,
            config.hash_concurrency,
            config.hash_wait,
        );
        let state = AppState {
            hasher,
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
        let pruner = tokio::spawn(crate::storage::idempotency::prune_periodically(
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
