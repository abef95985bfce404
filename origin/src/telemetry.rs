//! Logs and metrics, set up in one place for the binary and the tests (the per-request part
//! is `http::middleware`).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::storage::Nodes;

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

/// Records the local pool's gauges (called when /metrics is scraped).
pub fn record_pool(nodes: &Nodes, config: &Config) {
    let region = config.region.clone();
    metrics::gauge!("roam_db_pool_connections", "region" => region.clone())
        .set(f64::from(nodes.local().size()));
    metrics::gauge!("roam_db_pool_idle", "region" => region.clone())
        .set(nodes.local().num_idle() as f64);
    metrics::gauge!("roam_db_pool_max", "region" => region)
        .set(f64::from(config.db_max_connections));
}
