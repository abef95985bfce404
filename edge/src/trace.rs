//! The edge's part of a request's trace: it continues the client's `traceparent` (or starts a
//! trace), records its own spans (the request at the PoP, the cache lookup, each origin
//! attempt), gives each attempt its own `traceparent` for the origin, and answers with
//! `traceresponse` and `server-timing`.
//!
//! The edge exports nothing itself (an OpenTelemetry SDK and an exporter would dwarf the
//! bundle, and a Worker has no collector beside it). When the origin that answered says it
//! records the trace (its `traceresponse` is sampled), the edge sends it these spans after the
//! response (`ctx.wait_until`), signed, and the origin exports them with its own: so the trace
//! shows the PoP's part, and with export off nothing extra is sent.

use std::cell::RefCell;
use std::rc::Rc;

use roam_shared::trace::{Timing, TraceParent, SAMPLED};

use crate::now_ms;

mod report;

pub use report::send_report;

/// 8 random bytes for a span id.
fn new_span_id() -> [u8; 8] {
    let random = uuid::Uuid::new_v4().into_bytes();
    // Bytes 6 and 8 of a v4 UUID carry its version and variant; skip them.
    let mut id = [0u8; 8];
    id[..6].copy_from_slice(&random[..6]);
    id[6..].copy_from_slice(&random[9..11]);
    id
}

/// 16 random bytes for a trace id. All sixteen must be random: OpenTelemetry's ratio sampler
/// decides on the low eight, and a UUID's variant bits there would bias it.
fn new_trace_id() -> [u8; 16] {
    let mut id = uuid::Uuid::new_v4().into_bytes();
    let more = uuid::Uuid::new_v4().into_bytes();
    id[6] = more[0];
    id[8] = more[1];
    id
}

/// One span the edge recorded.
#[derive(Debug, Clone)]
struct Recorded {
    span_id: [u8; 8],
    name: &'static str,
    kind: &'static str,
    start: f64,
    end: f64,
    error: bool,
    /// What `server-timing` says about it (`desc`).
    desc: String,
    attributes: Vec<(String, String)>,
}

#[derive(Debug)]
struct State {
    /// The trace, pointing at the edge's own (server) span.
    context: TraceParent,
    /// The client's span, when the client sent a `traceparent`.
    parent: Option<[u8; 8]>,
    started: f64,
    spans: Vec<Recorded>,
    /// The origin that answered and whether it records this trace.
    answered_by: Option<(String, bool)>,
}

/// The trace of one request at the edge; cheap to clone (one per request, shared by the
/// functions that take part in it).
#[derive(Debug, Clone)]
pub struct Trace(Rc<RefCell<State>>);

/// What an attempt to reach an origin was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The first origin tried.
    First,
    /// Another origin of the same region's pool.
    SamePool,
    /// An origin of another region: failover.
    Failover,
}

impl Trace {
    /// Continues the client's `traceparent` when it is well-formed, keeping its sampling
    /// decision; else starts a trace, sampled (origins' `OTEL_TRACES_SAMPLER` still decides
    /// whether they record it).
    pub fn begin(incoming: Option<&str>, started: f64) -> Self {
        let client = incoming.and_then(TraceParent::parse);
        let context = match client {
            Some(c) => c.with_span(new_span_id()),
            None => {
                TraceParent::new(new_trace_id(), new_span_id(), SAMPLED).unwrap_or(TraceParent {
                    trace_id: [1; 16],
                    span_id: [1; 8],
                    flags: SAMPLED,
                })
            }
        };
        Self(Rc::new(RefCell::new(State {
            context,
            parent: client.map(|c| c.span_id),
            started,
            spans: Vec::new(),
            answered_by: None,
        })))
    }

    /// The edge's own context: its trace id and its server span.
    pub fn context(&self) -> TraceParent {
        self.0.borrow().context
    }

    /// The trace id, as a user quotes it.
    pub fn trace_id(&self) -> String {
        self.context().trace_id_hex()
    }

    /// A new child span id and the `traceparent` to send with the call it stands for.
    pub fn child(&self) -> ([u8; 8], String) {
        let id = new_span_id();
        (id, self.context().with_span(id).to_header())
    }

    /// Records the cache lookup.
    pub fn cache_lookup(&self, start: f64, end: f64, label: &str) {
        self.push(Recorded {
            span_id: new_span_id(),
            name: "edge.cache",
            kind: "internal",
            start,
            end,
            error: false,
            desc: label.to_string(),
            attributes: vec![("roam.cache".into(), label.to_string())],
        });
    }

    /// Records one origin attempt (`span_id` from [`Trace::child`]); `outcome` is `ok`,
    /// `timeout` or `unreachable`.
    #[allow(clippy::too_many_arguments)]
    pub fn attempt(
        &self,
        span_id: [u8; 8],
        region: &str,
        kind: Attempt,
        start: f64,
        end: f64,
        outcome: &str,
    ) {
        let failover = kind == Attempt::Failover;
        let mut desc = format!("{region} {outcome}");
        if failover {
            desc.push_str(" (failover)");
        }
        self.push(Recorded {
            span_id,
            name: "edge.origin_attempt",
            kind: "client",
            start,
            end,
            error: outcome != "ok",
            desc,
            attributes: vec![
                ("roam.region".into(), region.to_string()),
                ("roam.failover".into(), failover.to_string()),
                ("roam.attempt".into(), format!("{kind:?}")),
                ("roam.outcome".into(), outcome.to_string()),
            ],
        });
    }

    /// Notes the origin that answered and whether its `traceresponse` says it records the trace.
    pub fn answered(&self, base_url: &str, traceresponse: Option<&str>) {
        let sampled = traceresponse
            .and_then(TraceParent::parse)
            .is_some_and(|t| t.sampled() && t.trace_id == self.context().trace_id);
        self.0.borrow_mut().answered_by = Some((base_url.to_string(), sampled));
    }

    /// `traceresponse`: the trace and the edge's span, sampled when an origin records it (or,
    /// with no origin involved, as the trace came in).
    pub fn traceresponse(&self) -> String {
        let state = self.0.borrow();
        let sampled = match &state.answered_by {
            Some((_, sampled)) => *sampled,
            None => state.context.sampled(),
        };
        state.context.with_sampled(sampled).to_header()
    }

    /// The edge's `server-timing` entries at `now`: `edge` (its own time), `cache`, each
    /// `attempt` (start offsets from the request's start), and `origin` (all attempts).
    pub fn timings(&self, now: f64) -> Vec<Timing> {
        let state = self.0.borrow();
        let total = now - state.started;
        let attempts: Vec<&Recorded> = state.spans.iter().filter(|s| s.kind == "client").collect();
        let origin: f64 = attempts.iter().map(|s| s.end - s.start).sum();
        let mut out = vec![Timing::new("edge", total - origin).desc(format!("total {total:.1}"))];
        for span in &state.spans {
            let name = if span.kind == "client" {
                "attempt"
            } else {
                "cache"
            };
            out.push(
                Timing::new(name, span.end - span.start)
                    .at(span.start - state.started)
                    .desc(span.desc.clone()),
            );
        }
        if !attempts.is_empty() {
            out.push(Timing::new("origin", origin));
        }
        out
    }

    fn push(&self, span: Recorded) {
        self.0.borrow_mut().spans.push(span);
    }
}

/// A trace for work no client waits on (a background cache refresh): its spans are kept
/// nowhere, but the origin still gets a well-formed `traceparent`.
pub fn detached() -> Trace {
    Trace::begin(None, now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_trace_is_continued_and_attempts_are_its_children() {
        let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = Trace::begin(Some(client), 1_000.0);
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(trace.context().span_id_hex(), "00f067aa0ba902b7");
        let (first, header) = trace.child();
        let sent = TraceParent::parse(&header).unwrap();
        assert_eq!(sent.trace_id, trace.context().trace_id);
        assert_eq!(sent.span_id, first);

        trace.cache_lookup(1_000.0, 1_002.0, "miss");
        trace.attempt(
            first,
            "eu-west",
            Attempt::First,
            1_002.0,
            1_030.0,
            "timeout",
        );
        let (second, _) = trace.child();
        trace.attempt(second, "us-east", Attempt::Failover, 1_030.0, 1_050.0, "ok");
        let timing = roam_shared::trace::server_timing(&trace.timings(1_051.0));
        assert_eq!(
            timing,
            "edge;dur=3.0;desc=\"total 51.0\", cache;dur=2.0;start=0.0;desc=\"miss\", \
             attempt;dur=28.0;start=2.0;desc=\"eu-west timeout\", \
             attempt;dur=20.0;start=30.0;desc=\"us-east ok (failover)\", origin;dur=48.0"
        );

        assert_eq!(trace.report_to(), None, "no origin answered yet");
        let unsampled = trace.context().with_sampled(false).to_header();
        trace.answered("http://o", Some(&unsampled));
        assert_eq!(trace.report_to(), None, "the origin does not record it");
        assert!(!TraceParent::parse(&trace.traceresponse())
            .unwrap()
            .sampled());
        trace.answered("http://o", Some(&trace.context().to_header()));
        assert_eq!(trace.report_to().as_deref(), Some("http://o"));

        let report = trace.report(1_051.0, "GET", "/api/v1/cities/{city}/vehicles");
        assert_eq!(report.spans.len(), 4);
        assert_eq!(
            report.spans[0].parent_id.as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert!(report.spans[2].error && !report.spans[3].error);
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_sampled_trace() {
        let trace = Trace::begin(Some("00-garbage"), 0.0);
        assert!(trace.context().sampled());
        let other = Trace::begin(None, 0.0);
        assert_ne!(trace.trace_id(), other.trace_id());
        assert_eq!(trace.report(1.0, "GET", "/").spans[0].parent_id, None);
    }
}
