//! The trace a request (or a job) belongs to, whether or not spans are exported.
//!
//! With export on, the request's span continues the edge's `traceparent` through
//! tracing-opentelemetry, and the context is that span's. With export off nothing is recorded,
//! but the trace id still travels: it is a field of the request's (and the job's) span, so
//! every log line carries it; it is in problem bodies and `traceresponse`; a job stores it.
//! A task-local [`Scope`] holds it for the request's task, with the time spent on each node
//! for `server-timing`.

use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

use opentelemetry::trace::TraceContextExt;
use rand::RngCore;
use roam_shared::trace::{Timing, TraceParent};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::export;

/// Most `db` entries one response's `server-timing` lists (a request asks a handful of nodes;
/// the header must stay small whatever a handler does).
const MAX_DB_TIMINGS: usize = 12;

/// What the request's task knows about its trace.
#[derive(Debug)]
pub struct Scope {
    /// The trace, pointing at this request's (or job's) span.
    pub context: TraceParent,
    started: Instant,
    db: RefCell<Vec<Timing>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// A fresh random context (a trace this origin starts), not sampled.
fn random_context() -> TraceParent {
    let mut rng = rand::thread_rng();
    let mut trace_id = [0u8; 16];
    let mut span_id = [0u8; 8];
    loop {
        rng.fill_bytes(&mut trace_id);
        rng.fill_bytes(&mut span_id);
        if let Some(tp) = TraceParent::new(trace_id, span_id, 0) {
            return tp;
        }
    }
}

/// The trace a request (or job) came with, and the context it has when nothing is exported:
/// the same trace, a span id of its own, not sampled (nothing here records it).
#[derive(Debug, Clone, Copy)]
pub struct Incoming {
    parent: Option<TraceParent>,
    unexported: TraceParent,
}

impl Incoming {
    /// From a `traceparent` (the edge's, or a job's stored one); none or a malformed one
    /// starts a trace here.
    pub fn new(traceparent: Option<&str>) -> Self {
        let parent = traceparent.and_then(TraceParent::parse);
        let fresh = random_context();
        let unexported = match parent {
            Some(p) => p.with_span(fresh.span_id).with_sampled(false),
            None => fresh,
        };
        Self { parent, unexported }
    }

    /// The context of `span`, the span made for this request: OpenTelemetry's when export is
    /// on, else [`Incoming`]'s own.
    pub fn context_of(&self, span: &Span) -> TraceParent {
        if export::enabled() {
            from_span(span).unwrap_or(self.unexported)
        } else {
            self.unexported
        }
    }
}

/// Makes `span` continue `incoming` and records its `trace_id` field; returns the context that
/// points at `span`.
pub fn continue_trace(span: &Span, incoming: &Incoming) -> TraceParent {
    if let (true, Some(parent)) = (export::enabled(), incoming.parent) {
        let _ = span.set_parent(
            opentelemetry::Context::new().with_remote_span_context(remote_span_context(&parent)),
        );
    }
    let context = incoming.context_of(span);
    span.record("trace_id", context.trace_id_hex());
    context
}

/// The OpenTelemetry span context of a `traceparent` received from elsewhere.
pub fn remote_span_context(tp: &TraceParent) -> opentelemetry::trace::SpanContext {
    opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(tp.trace_id),
        opentelemetry::trace::SpanId::from_bytes(tp.span_id),
        opentelemetry::trace::TraceFlags::new(tp.flags),
        true,
        Default::default(),
    )
}

/// The context of `span` as OpenTelemetry built it (export on), sampled or not.
fn from_span(span: &Span) -> Option<TraceParent> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid()
        .then(|| {
            TraceParent::new(
                sc.trace_id().to_bytes(),
                sc.span_id().to_bytes(),
                sc.trace_flags().to_u8(),
            )
        })
        .flatten()
}

/// Runs `work` (a request's handling) with `context` as its task's trace.
pub async fn scope<F: Future>(context: TraceParent, work: F) -> F::Output {
    let scope = Scope {
        context,
        started: Instant::now(),
        db: RefCell::new(Vec::new()),
    };
    SCOPE.scope(scope, work).await
}

/// The trace id of the request this task serves, if any.
pub fn trace_id() -> Option<String> {
    SCOPE.try_with(|s| s.context.trace_id_hex()).ok()
}

/// The context to hand on from here (a job enqueued now continues it): the current span's
/// when export is on, else the request's.
pub fn current() -> Option<TraceParent> {
    if export::enabled() {
        if let Some(tp) = from_span(&Span::current()) {
            return Some(tp);
        }
    }
    SCOPE.try_with(|s| s.context).ok()
}

/// Notes time spent on a node (`region`) from `started`, for `server-timing`.
pub fn note_db(region: &str, started: Instant) {
    let _ = SCOPE.try_with(|s| {
        let mut db = s.db.borrow_mut();
        if db.len() < MAX_DB_TIMINGS {
            let start = started.saturating_duration_since(s.started);
            db.push(
                Timing::new("db", started.elapsed().as_secs_f64() * 1e3)
                    .at(start.as_secs_f64() * 1e3)
                    .desc(region),
            );
        }
    });
}

/// This request's `server-timing` entries: `app` (the whole of it at this origin) and each
/// `db` call (node, start, duration).
pub fn timings() -> Vec<Timing> {
    SCOPE
        .try_with(|s| {
            let mut out = vec![Timing::new("app", s.started.elapsed().as_secs_f64() * 1e3).at(0.0)];
            out.extend(s.db.borrow().iter().cloned());
            out
        })
        .unwrap_or_default()
}
