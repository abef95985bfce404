//! The request log: one line per request only where someone reads it.
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
//! Failures (5xx, with their cause) and refusals (4xx) are always logged. tower-http's line for
//! every response is off (see [`super::init_tracing`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

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
