//! The edge's spans as a report for the origin that answered, and sending it: the edge exports
//! nothing itself, the origin exports these with its own.

use roam_shared::headers::GeoTags;
use roam_shared::trace::{to_hex, EdgeSpan, EdgeSpans, TraceParent, EDGE_SPANS_PATH};

use super::{new_span_id, new_trace_id, Trace};
use crate::config::Config;
use crate::forward::{self, CallError, Outbound};

impl Trace {
    /// The origin to send the edge's spans to, when one answered and records the trace.
    pub fn report_to(&self) -> Option<String> {
        match &self.0.borrow().answered_by {
            Some((url, true)) => Some(url.clone()),
            _ => None,
        }
    }

    /// The report for the origin: the edge's server span (ending `now`) and its children.
    pub fn report(&self, now: f64, method: &str, path: &str) -> EdgeSpans {
        let state = self.0.borrow();
        let edge_id = state.context.span_id;
        let mut spans = vec![EdgeSpan {
            span_id: to_hex(&edge_id),
            parent_id: state.parent.map(|p| to_hex(&p)),
            name: "edge".into(),
            kind: "server".into(),
            start_ms: state.started,
            end_ms: now,
            error: false,
            attributes: vec![
                ("http.request.method".into(), method.to_string()),
                ("url.path".into(), path.to_string()),
            ],
        }];
        spans.extend(state.spans.iter().map(|s| EdgeSpan {
            span_id: to_hex(&s.span_id),
            parent_id: Some(to_hex(&edge_id)),
            name: s.name.into(),
            kind: s.kind.into(),
            start_ms: s.start,
            end_ms: s.end,
            error: s.error,
            attributes: s.attributes.clone(),
        }));
        EdgeSpans {
            trace_id: state.context.trace_id_hex(),
            spans,
        }
    }
}

/// Sends the edge's spans to the origin at `base` (`POST /api/v1/traces/edge`, signed), which
/// exports them with its own. The report's own `traceparent` is unsampled: reporting is not
/// part of any trace.
pub async fn send_report(base: &str, config: &Config, report: &EdgeSpans) -> Result<(), CallError> {
    let body = serde_json::to_vec(report).map_err(|e| CallError::Unreachable(e.to_string()))?;
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let request_id = uuid::Uuid::new_v4().to_string();
    let out = Outbound::new(
        "POST",
        EDGE_SPANS_PATH,
        &headers,
        body,
        &GeoTags::default(),
        &request_id,
        None,
    );
    let unsampled = TraceParent::new(new_trace_id(), new_span_id(), 0).map(|t| t.to_header());
    let timeout = config.origin_timeout_ms;
    let reply = forward::call(
        base,
        &out,
        config.keys.current(),
        timeout,
        unsampled.as_deref(),
    )
    .await?;
    if reply.status >= 300 {
        return Err(CallError::Unreachable(format!("answered {}", reply.status)));
    }
    Ok(())
}
