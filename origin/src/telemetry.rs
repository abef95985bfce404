//! Logs and metrics, set up in one place for the binary and the tests (the per-request part
//! is `http::middleware`).
//!
//! One log line per request was a tenth of an origin's CPU on a primary-key read (perf: the
//! event, its formatting and the write to stdout; `cargo xtask bench --only profile`). So the
//! request log keeps what someone reads it for, and samples the rest:
//!
//! | variable | what | default |
//! |---|---|---|
//! | `ROAM_LOG_SLOW_MS` | a request slower than this is logged (`warn`, "slow request") | 250 |
//! | `ROAM_LOG_SAMPLE` | one in N other requests is logged (`info`, "request"); 1 logs all, 0 none | 100 |
//!
//! Failures (5xx, with their cause) and refusals (4xx) are always logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::storage::Nodes;

/// Installs the global tracing subscriber (JSON lines when `ROAM_LOG_JSON=1`). Idempotent.
/// tower-http's line for every response is off whatever `RUST_LOG` says: the `observe`
/// middleware logs the requests worth a line instead ([`log_request`]).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let filter = match "tower_http::trace::on_response=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
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

/// The request log's settings, read once from the environment (see the module's doc).
struct RequestLog {
    slow: Duration,
    sample: u64,
    seen: AtomicU64,
}

fn request_log() -> &'static RequestLog {
    static LOG: OnceLock<RequestLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let var = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        RequestLog {
            slow: Duration::from_millis(var("ROAM_LOG_SLOW_MS", 250)),
            sample: var("ROAM_LOG_SAMPLE", 100),
            seen: AtomicU64::new(0),
        }
    })
}

/// One line for a request worth one (inside its span: the request id and geo tags come with
/// it). A 5xx with a cause was logged by the caller already.
pub fn log_request(status: u16, latency: Duration) {
    let log = request_log();
    let ms = latency.as_secs_f64() * 1000.0;
    if status >= 400 {
        tracing::info!(status, latency_ms = ms, "request refused");
    } else if latency >= log.slow {
        tracing::warn!(status, latency_ms = ms, "slow request");
    } else if log
        .seen
        .fetch_add(1, Ordering::Relaxed)
        .checked_rem(log.sample)
        == Some(0)
    {
        tracing::info!(status, latency_ms = ms, sampled = log.sample, "request");
    }
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut all) = self.0.lock() {
                all.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn refusals_and_slow_requests_are_logged_and_the_rest_sampled() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            log_request(401, Duration::from_millis(1));
            log_request(200, Duration::from_secs(1));
            for _ in 0..250 {
                log_request(200, Duration::from_millis(1));
            }
        });
        let text = String::from_utf8(captured.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(text.matches("request refused").count(), 1, "{text}");
        assert_eq!(text.matches("slow request").count(), 1, "{text}");
        // One in ROAM_LOG_SAMPLE (100 by default) of the 250 fast ones: the 1st, 101st, 201st.
        assert_eq!(
            text.lines().filter(|l| l.ends_with("sampled=100")).count(),
            3,
            "{text}"
        );
    }
}
