//! Exporting the spans the edge recorded for a request (it has no exporter of its own): the
//! request at the PoP, its cache lookup, each origin attempt. Each keeps the edge's ids, so the
//! origin's own server span, whose parent is the attempt that reached it, hangs in the right
//! place; times are the edge's clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt, TraceId, Tracer};
use opentelemetry::KeyValue;
use roam_shared::trace::{EdgeSpan, EdgeSpans, TraceParent, MAX_EDGE_SPANS, SAMPLED};

use super::context::remote_span_context;
use super::edge_ids::with_ids;
use super::export;

/// Why a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum BadReport {
    /// Too many spans, or ids that are not ids.
    #[error("{0}")]
    Malformed(&'static str),
}

/// Exports the report's spans (nothing with export off). Returns how many were exported.
pub fn export(report: &EdgeSpans) -> Result<usize, BadReport> {
    if report.spans.len() > MAX_EDGE_SPANS {
        return Err(BadReport::Malformed("too many spans"));
    }
    let trace_id = parse_hex::<16>(&report.trace_id).ok_or(BadReport::Malformed("trace_id"))?;
    let Some(tracer) = export::tracer("roam-edge") else {
        return Ok(0);
    };
    let mut exported = 0;
    for span in &report.spans {
        let span_id = parse_hex::<8>(&span.span_id).ok_or(BadReport::Malformed("span_id"))?;
        let parent = match &span.parent_id {
            Some(p) => Some(parse_hex::<8>(p).ok_or(BadReport::Malformed("parent_id"))?),
            None => None,
        };
        let parent_cx = match parent.and_then(|p| TraceParent::new(trace_id, p, SAMPLED)) {
            Some(tp) => {
                opentelemetry::Context::new().with_remote_span_context(remote_span_context(&tp))
            }
            // The edge started the trace: a root, whose trace id `with_ids` supplies.
            None => opentelemetry::Context::new(),
        };
        let ids = (TraceId::from_bytes(trace_id), SpanId::from_bytes(span_id));
        with_ids(ids.0, ids.1, || {
            let mut built = tracer
                .span_builder(span.name.clone())
                .with_kind(kind(span))
                .with_start_time(at(span.start_ms))
                .with_attributes(attributes(span))
                .start_with_context(&tracer, &parent_cx);
            if span.error {
                opentelemetry::trace::Span::set_status(&mut built, Status::error("failed"));
            }
            opentelemetry::trace::Span::end_with_timestamp(&mut built, at(span.end_ms));
        });
        exported += 1;
    }
    Ok(exported)
}

fn kind(span: &EdgeSpan) -> SpanKind {
    match span.kind.as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        _ => SpanKind::Internal,
    }
}

fn attributes(span: &EdgeSpan) -> Vec<KeyValue> {
    let mut out = vec![KeyValue::new("roam.recorded_by", "edge")];
    out.extend(
        span.attributes
            .iter()
            .take(16)
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    out
}

/// Unix ms (the edge's clock) as a time; out-of-range values become the epoch.
fn at(unix_ms: f64) -> SystemTime {
    Duration::try_from_secs_f64(unix_ms / 1000.0)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or(UNIX_EPOCH)
}

fn parse_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
