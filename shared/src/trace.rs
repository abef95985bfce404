//! W3C Trace Context as the edge and the origins speak it: `traceparent` (Level 1) in,
//! `traceresponse` (Level 2) out, parsed and formatted by hand so the edge's Wasm bundle pulls
//! in no tracing stack; the `server-timing` entries both sides add; and the report of the
//! edge's own spans that an origin exports for it (the edge has no exporter of its own).
//!
//! Randomness is the caller's (the edge has `crypto.getRandomValues`, the origin `rand`):
//! this crate does no I/O.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The request header that carries the caller's trace context.
pub const TRACEPARENT: &str = "traceparent";
/// The response header that tells the caller which trace (and span) answered it.
pub const TRACERESPONSE: &str = "traceresponse";
/// Where the edge reports its spans to the origin that answered (signed, like every `/api/`
/// request).
pub const EDGE_SPANS_PATH: &str = "/api/v1/traces/edge";
/// The `sampled` bit of the trace flags.
pub const SAMPLED: u8 = 0x01;

/// A parsed `traceparent` (or `traceresponse`): version 00's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// 16 bytes, never all zero.
    pub trace_id: [u8; 16],
    /// The span this context points at (the caller's span, or the callee's in a response),
    /// 8 bytes, never all zero.
    pub span_id: [u8; 8],
    /// Trace flags; bit 0 is `sampled`.
    pub flags: u8,
}

impl TraceParent {
    /// A context from raw ids; `None` when either id is all zeros (invalid by the spec).
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> Option<Self> {
        let valid = trace_id.iter().any(|b| *b != 0) && span_id.iter().any(|b| *b != 0);
        valid.then_some(Self {
            trace_id,
            span_id,
            flags,
        })
    }

    /// Parses a header value. Version 00 must be exactly 55 characters; a later version is
    /// read for its first four fields, as the spec asks, so a newer caller is still continued.
    /// Anything malformed is `None`, and the caller starts a new trace.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_ascii() {
            return None; // also keeps the slicing below on character boundaries
        }
        let bytes = value.as_bytes();
        if bytes.len() < 55 || (bytes.len() > 55 && bytes[55] != b'-') {
            return None;
        }
        let version = hex_array::<1>(&value[0..2])?[0];
        if version == 0xff || (version == 0 && bytes.len() != 55) {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = hex_array::<16>(&value[3..35])?;
        let span_id = hex_array::<8>(&value[36..52])?;
        let flags = hex_array::<1>(&value[53..55])?[0];
        Self::new(trace_id, span_id, flags)
    }

    /// The same trace, pointing at another span (a child's, or the callee's own).
    pub fn with_span(self, span_id: [u8; 8]) -> Self {
        Self {
            span_id: if span_id == [0; 8] {
                self.span_id
            } else {
                span_id
            },
            ..self
        }
    }

    /// The same context with the sampled bit set or cleared.
    pub fn with_sampled(self, sampled: bool) -> Self {
        let flags = if sampled {
            self.flags | SAMPLED
        } else {
            self.flags & !SAMPLED
        };
        Self { flags, ..self }
    }

    /// Whether the `sampled` flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The trace id, 32 lowercase hex digits: what a user quotes and a log line carries.
    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id_hex(&self) -> String {
        to_hex(&self.span_id)
    }

    /// The header value: `00-<trace id>-<span id>-<flags>`.
    pub fn to_header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id_hex(),
            self.span_id_hex(),
            self.flags
        )
    }
}

/// Lowercase hex of some bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Exactly `N` bytes from `2 * N` lowercase hex digits (uppercase is invalid in trace context).
fn hex_array<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let digits = hex.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// One `server-timing` entry: a name, a duration and, beyond the standard `dur` and `desc`,
/// `start`, the offset in ms from the start of the hop that reports it, so that the page can
/// draw a waterfall rather than a list (browsers ignore parameters they do not know).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// A token: `edge`, `cache`, `attempt`, `origin`, `app`, `db`.
    pub name: &'static str,
    /// Duration, ms.
    pub dur_ms: f64,
    /// Offset from the start of the reporting hop, ms.
    pub start_ms: Option<f64>,
    /// Free text (quoted in the header; quotes and backslashes are dropped from it).
    pub desc: Option<String>,
}

impl Timing {
    /// An entry without a start or a description.
    pub fn new(name: &'static str, dur_ms: f64) -> Self {
        Self {
            name,
            dur_ms,
            start_ms: None,
            desc: None,
        }
    }

    /// The entry with its start offset.
    pub fn at(mut self, start_ms: f64) -> Self {
        self.start_ms = Some(start_ms);
        self
    }

    /// The entry with a description.
    pub fn desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = Some(desc.into());
        self
    }
}

/// The `server-timing` header value of some entries (durations to 0.1 ms, never negative).
pub fn server_timing(entries: &[Timing]) -> String {
    let mut out = String::new();
    for (i, t) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{};dur={:.1}", t.name, t.dur_ms.max(0.0));
        if let Some(start) = t.start_ms {
            let _ = write!(out, ";start={:.1}", start.max(0.0));
        }
        if let Some(desc) = &t.desc {
            let clean: String = desc
                .chars()
                .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
                .collect();
            let _ = write!(out, ";desc=\"{clean}\"");
        }
    }
    out
}

/// A span the edge recorded, for an origin to export in its name (`POST
/// /api/v1/traces/edge`, signed). Times are the edge's clock, Unix ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeSpan {
    /// 16 hex digits.
    pub span_id: String,
    /// The parent's span id (16 hex digits); none for a trace the edge started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `edge`, `edge.cache`, `edge.origin_attempt`.
    pub name: String,
    /// `server`, `client` or `internal`.
    pub kind: String,
    /// Start, Unix ms.
    pub start_ms: f64,
    /// End, Unix ms.
    pub end_ms: f64,
    /// Whether it failed (an attempt that timed out or found no origin).
    #[serde(default)]
    pub error: bool,
    /// Attributes (semantic-convention names where there is one).
    #[serde(default)]
    pub attributes: Vec<(String, String)>,
}

/// The body of `POST /api/v1/traces/edge`: the edge's spans of one trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeSpans {
    /// 32 hex digits.
    pub trace_id: String,
    /// Its spans, the edge's server span first.
    pub spans: Vec<EdgeSpan>,
}

/// Most spans one report may carry: a request makes a handful (the edge span, the cache, an
/// attempt per origin tried), so more is not a report from our edge.
pub const MAX_EDGE_SPANS: usize = 32;

#[cfg(test)]
mod tests;
