//! What OpenTelemetry export costs an origin: the signed primary-key read of the throughput
//! section, against two extra us-east origins on the same node, one with export off (the
//! endpoint variables empty: no OpenTelemetry layer at all) and one exporting every request's
//! spans (OTLP/HTTP to a sink here that accepts and drops them; the SDK's batch processor
//! drops spans itself when its queue is full, as it would in production), measured
//! alternately (off, on, off, on) so a drift of the machine's load falls on both. The ratio
//! is on ÷ off. Only in the full bench: `bench --short` skips the throughput section.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use axum::body::Bytes;
use axum::routing::post;
use roam_stack::origin::{OriginOptions, OriginProcess};
use roam_stack::Stack;

use super::compare::{self, WRK};
use super::line::Line;
use super::origin_read::{seeded_vehicle_path, signed_get};

/// A sink for OTLP/HTTP exports: answers 200 to each, drops what it is sent and counts the
/// exports (so a run whose "on" origin exported nothing says so instead of printing a ratio
/// of two "off"s). Stops when the returned task is aborted.
async fn sink() -> Result<(String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let exports = Arc::new(AtomicUsize::new(0));
    let counted = exports.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |_body: Bytes| {
            counted.fetch_add(1, Ordering::Relaxed);
            async {}
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, exports, task))
}

/// An extra us-east origin like the stack's, with `env` added.
async fn extra_origin(stack: &Stack, name: &str, env: &[(&str, &str)]) -> Result<OriginProcess> {
    let model = stack.origin("us-east").context("no us-east origin")?;
    let mut options: OriginOptions = model.options.clone();
    options.port = None;
    options.log_file = options
        .log_file
        .with_file_name(format!("origin-us-east-{name}.log"));
    options.env.push(("ROAM_JOBS_WORKERS".into(), "0".into()));
    options
        .env
        .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    OriginProcess::start(options).await
}

/// The export-on ÷ export-off line.
pub(super) async fn measure(stack: &Stack, edge_url: &str) -> Result<Vec<Line>> {
    let (sink_url, exports, sink_task) = sink().await?;
    // Empty is off (as unset), and overrides whatever the shell running the bench has set.
    let off = extra_origin(
        stack,
        "otel-off",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ],
    )
    .await?;
    let on = extra_origin(
        stack,
        "otel-on",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url.as_str()),
            ("OTEL_SERVICE_NAME", "roam-origin-bench"),
        ],
    )
    .await?;
    let path = seeded_vehicle_path(&reqwest::Client::new(), edge_url, None).await?;
    let (mut off_rps, mut on_rps) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        // Signed afresh each round: a signature is good for 30 s. No traceparent: each
        // request starts a trace at the origin, which the default sampler (parent-based,
        // always on for a root) records.
        let signed = signed_get(&stack.options.secret, &path)?;
        off_rps.push(compare::wrk(&format!("{}{path}", off.url()), &signed)?.0);
        on_rps.push(compare::wrk(&format!("{}{path}", on.url()), &signed)?.0);
    }
    sink_task.abort();
    let exported = exports.load(Ordering::Relaxed);
    ensure!(
        exported > 0,
        "the export-on origin sent the sink nothing: no ratio to report"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (off_mean, on_mean) = (mean(&off_rps), mean(&on_rps));
    Ok(vec![Line {
        what: "origin primary-key read, OpenTelemetry export on ÷ off (every request sampled, \
               spans for the request, its node and its SQL)"
            .into(),
        value: format!(
            "{on_mean:.0} ÷ {off_mean:.0} req/s = {:.0}% ({exported} exports received)",
            100.0 * on_mean / off_mean.max(1.0)
        ),
        how: format!(
            "`{WRK}` alternately against two extra us-east origins, with \
             OTEL_EXPORTER_OTLP_ENDPOINT set and empty (xtask/src/bench/tracing_overhead.rs)"
        ),
        ..Line::default()
    }])
}
