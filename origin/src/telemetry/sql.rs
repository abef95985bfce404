//! A span for every SQL statement, without touching the statements: sqlx reports each one it
//! ran as a `sqlx::query` event (its text, rows, elapsed time) when that target is enabled;
//! this layer, installed only with export on, turns each into an OpenTelemetry client span
//! that ends when the event arrives and began `elapsed` before, child of the span it ran in.
//! The node it ran on comes from the nearest enclosing node span (`storage::traced`), whose
//! `db.region` and `server.address` the layer remembers. Statements outside any sampled span
//! (the workers' polling, the health checks) make no span.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The layer.
pub struct SqlSpans {
    tracer: SdkTracer,
}

impl SqlSpans {
    /// Spans made with `tracer`.
    pub fn new(tracer: SdkTracer) -> Self {
        Self { tracer }
    }
}

/// A node span's identity, kept in its extensions.
#[derive(Debug, Clone, Default)]
struct Node {
    region: String,
    address: String,
}

impl Visit for Node {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.region" => self.region = value.to_string(),
            "server.address" => self.address = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// What a `sqlx::query` event says.
#[derive(Debug, Default)]
struct Statement {
    summary: String,
    text: String,
    rows_returned: u64,
    rows_affected: u64,
    elapsed_secs: f64,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.text = value.trim().to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = value,
            "rows_affected" => self.rows_affected = value,
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for SqlSpans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().fields().field("db.region").is_none() {
            return;
        }
        let mut node = Node::default();
        attrs.record(&mut node);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(node);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let parent = opentelemetry::Context::current();
        if !parent.span().span_context().is_sampled() {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let node = ctx.event_scope(event).and_then(|scope| {
            scope
                .into_iter()
                .find_map(|span| span.extensions().get::<Node>().cloned())
        });
        let end = SystemTime::now();
        let elapsed = Duration::try_from_secs_f64(statement.elapsed_secs).unwrap_or_default();
        let text = if statement.text.is_empty() {
            statement.summary.clone()
        } else {
            statement.text.clone()
        };
        let mut attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.operation.name", operation(&text)),
            KeyValue::new("db.query.text", text.clone()),
            KeyValue::new("db.response.returned_rows", statement.rows_returned as i64),
            KeyValue::new("roam.rows_affected", statement.rows_affected as i64),
        ];
        if let Some(node) = node {
            attributes.push(KeyValue::new("roam.region", node.region));
            attributes.push(KeyValue::new("server.address", node.address));
        }
        let span = self
            .tracer
            .span_builder(span_name(&text))
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(elapsed).unwrap_or(end))
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        let mut span = span;
        opentelemetry::trace::Span::end_with_timestamp(&mut span, end);
    }
}

/// The statement's verb (`SELECT`, `INSERT`, …, `BEGIN`).
fn operation(sql: &str) -> String {
    sql.split_whitespace()
        .next()
        .unwrap_or("SQL")
        .to_ascii_uppercase()
}

/// `<verb> <table>` (the semantic conventions' span name), the verb alone when no table shows.
fn span_name(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(64).collect();
    let verb = operation(sql);
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .and_then(|i| words.get(i + 1))
    };
    let table = match verb.as_str() {
        "INSERT" => after("INTO"),
        "UPDATE" => words
            .get(1)
            .filter(|w| !w.eq_ignore_ascii_case("ONLY"))
            .or(words.get(2)),
        "SELECT" | "DELETE" => after("FROM")
            .filter(|w| !w.eq_ignore_ascii_case("ONLY"))
            .or(after("ONLY")),
        _ => None,
    };
    match table {
        Some(t) => format!("{verb} {}", t.trim_matches(|c: char| c == '"' || c == '(')),
        None => verb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_named_verb_and_table() {
        assert_eq!(
            span_name("SELECT city, id FROM rides WHERE x"),
            "SELECT rides"
        );
        assert_eq!(
            span_name("update vehicles SET status = 1"),
            "UPDATE vehicles"
        );
        assert_eq!(
            span_name("INSERT INTO jobs (city) VALUES ($1)"),
            "INSERT jobs"
        );
        assert_eq!(
            span_name("DELETE FROM ONLY \"jobs_eu_west\" WHERE"),
            "DELETE jobs_eu_west"
        );
        assert_eq!(span_name("BEGIN"), "BEGIN");
        assert_eq!(span_name(""), "SQL");
    }
}
