//! An OTLP/HTTP receiver for the tests (protobuf bodies decoded with opentelemetry-proto):
//! it keeps every span it is sent, and the tests wait for the spans they expect and walk a
//! trace's tree by parent ids.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message;

/// One span as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id ("" for a root).
    pub parent_id: String,
    /// The span's name.
    pub name: String,
    /// Its attributes, values as text.
    pub attributes: BTreeMap<String, String>,
}

/// Every span received so far, shared with the receiver's task.
pub type Spans = Arc<Mutex<Vec<Received>>>;

/// A span the test waits for: what it is, and how to know it.
pub type Wanted<'a> = (&'a str, fn(&Received) -> bool);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes one OTLP/HTTP export and keeps its spans.
fn keep(spans: &Spans, body: &[u8]) -> Result<(), prost::DecodeError> {
    let request = ExportTraceServiceRequest::decode(body)?;
    let mut kept = spans.lock().expect("the span list");
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            for span in scope.spans {
                let attributes = span
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                            Some(Any::StringValue(s)) => s.clone(),
                            Some(Any::IntValue(i)) => i.to_string(),
                            Some(Any::BoolValue(b)) => b.to_string(),
                            Some(other) => format!("{other:?}"),
                            None => String::new(),
                        };
                        (kv.key.clone(), value)
                    })
                    .collect();
                kept.push(Received {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_id: hex(&span.parent_span_id),
                    name: span.name,
                    attributes,
                });
            }
        }
    }
    Ok(())
}

/// An OTLP/HTTP receiver on a free port; stops when the returned task is aborted.
pub async fn receiver() -> (String, Spans, tokio::task::JoinHandle<()>) {
    let spans: Spans = Arc::default();
    let kept = spans.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                match keep(&kept, &body) {
                    Ok(()) => (axum::http::StatusCode::OK, Vec::new()),
                    Err(e) => (
                        axum::http::StatusCode::BAD_REQUEST,
                        e.to_string().into_bytes(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, spans, task)
}

/// Aborts the receiver even when the test panics.
pub struct Stop(
    /// The receiver's task.
    pub tokio::task::JoinHandle<()>,
);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The spans of `trace_id` received so far.
fn of_trace(spans: &Spans, trace_id: &str) -> Vec<Received> {
    spans
        .lock()
        .expect("the span list")
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect()
}

/// Waits (bounded) until the trace holds a span satisfying each of `wanted`; returns them all.
pub async fn wait_for(spans: &Spans, trace_id: &str, wanted: &[Wanted<'_>]) -> Vec<Received> {
    for _ in 0..120 {
        let got = of_trace(spans, trace_id);
        if wanted.iter().all(|(_, f)| got.iter().any(f)) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let got = of_trace(spans, trace_id);
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(_, f)| !got.iter().any(f))
        .map(|(what, _)| *what)
        .collect();
    let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
    panic!("trace {trace_id}: no {missing:?} among {names:?}");
}

/// The exported ancestors of `span`, nearest first.
pub fn ancestors<'a>(by_id: &BTreeMap<&str, &'a Received>, span: &Received) -> Vec<&'a Received> {
    let mut out: Vec<&Received> = Vec::new();
    let mut parent = span.parent_id.as_str();
    while let Some(&up) = by_id.get(parent) {
        if out.len() > 64 {
            break;
        }
        out.push(up);
        parent = up.parent_id.as_str();
    }
    out
}

/// The names of `spans`, in order.
pub fn names<'a>(spans: &[&'a Received]) -> Vec<&'a str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}
