//! Logs, traces and metrics, set up in one place for the binary and the tests (the
//! per-request part is `http::middleware`): [`context`] (the trace a request or job is in,
//! exported or not), [`export`] (OTLP, on with `OTEL_EXPORTER_OTLP_ENDPOINT`), [`sql`] (a span
//! per statement), [`edge_spans`] (the edge's spans, exported here), [`http_metrics`] (the
//! HTTP semantic conventions' metrics), [`request_log`] (which requests get a log line).

pub mod context;
pub mod edge_ids;
pub mod edge_spans;
pub mod export;
pub mod http_metrics;
pub mod request_log;
pub mod sql;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Level;
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global tracing subscriber: log lines (JSON when `ROAM_LOG_JSON=1`; each one
/// inside a request or a job carries its `trace_id`, a field of that span) and, when the
/// standard `OTEL_*` variables ask for it, OpenTelemetry export on `runtime`. Idempotent.
/// tower-http's log line for every response is off whatever `RUST_LOG` says: the `observe`
/// middleware logs the requests worth a line instead ([`request_log`]).
pub fn init_tracing(runtime: tokio::runtime::Handle) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let filter = match "tower_http::trace::on_response=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let json = std::env::var("ROAM_LOG_JSON").is_ok_and(|v| v == "1");
    // Colours only for people at a terminal; log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let logs = tracing_subscriber::fmt::layer().with_ansi(ansi);
    let logs = if json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let registry = tracing_subscriber::registry().with(logs.with_filter(filter));
    if !export::wanted() {
        let _ = registry.try_init();
        return;
    }
    match export::start(runtime) {
        Ok(tracer) => {
            // Our spans and the libraries' at info; sqlx's statement events become spans of
            // their own (below), not events on their parent.
            let spans = tracing_opentelemetry::layer()
                .with_tracer(tracer.clone())
                .with_filter(filter_fn(|m| m.target() != "sqlx::query"))
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            let statements = sql::SqlSpans::new(tracer).with_filter(
                Targets::new()
                    .with_target("sqlx::query", Level::TRACE)
                    .with_target("roam_origin", Level::INFO),
            );
            let _ = registry.with(spans).with(statements).try_init();
            tracing::info!("OpenTelemetry export on (OTLP/HTTP)");
        }
        Err(e) => {
            let _ = registry.try_init();
            tracing::error!(error = %e, "OpenTelemetry export is off: the exporter could not start");
        }
    }
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
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(http_metrics::DURATION.into()),
                        &http_metrics::BUCKETS,
                    )
                })
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
