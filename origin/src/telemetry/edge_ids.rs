//! Span ids for the spans the edge recorded and an origin exports for it.
//!
//! The origin's server span is the child of the edge's attempt span, by id (the `traceparent`
//! the edge sent names it); exporting the edge's spans under new ids would leave the origin's
//! part an orphan. The SDK always takes span ids from its id generator, so this generator hands
//! out ids set just before a span is built on the same thread ([`with_ids`]), and random ids
//! otherwise. (The trace id matters for a trace the edge started: its root has no parent to
//! inherit it from.)

use std::cell::Cell;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

thread_local! {
    static NEXT_SPAN_ID: Cell<Option<SpanId>> = const { Cell::new(None) };
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// The SDK's random ids, except where [`with_ids`] says otherwise.
#[derive(Debug, Default)]
pub struct EdgeIds(RandomIdGenerator);

impl IdGenerator for EdgeIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        NEXT_SPAN_ID
            .with(Cell::take)
            .unwrap_or_else(|| self.0.new_span_id())
    }
}

/// Runs `build` (which builds exactly one span, synchronously) with its span id set to `span`
/// and, when it has no parent to take one from, its trace id to `trace`.
pub fn with_ids<T>(trace: TraceId, span: SpanId, build: impl FnOnce() -> T) -> T {
    NEXT_SPAN_ID.with(|next| next.set(Some(span)));
    NEXT_TRACE_ID.with(|next| next.set(Some(trace)));
    let built = build();
    // Not taken (a span with a parent, a provider shut down): the next span must not get them.
    NEXT_SPAN_ID.with(|next| next.set(None));
    NEXT_TRACE_ID.with(|next| next.set(None));
    built
}
