//! The error body every roam response uses: `application/problem+json` (RFC 9457).

use serde::{Deserialize, Serialize};

/// Content type of [`Problem`] bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Base of the `type` URIs; each problem kind documents itself under it.
pub const PROBLEM_TYPE_BASE: &str = "https://roam.dev/problems/";

/// An RFC 9457 problem details body, with roam's extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary that is the same for every occurrence of the kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The request field at fault, for validation problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id, to find the log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The W3C trace id (32 hex digits) of the request, to quote when reporting it: it finds
    /// the whole trace, edge to database, and every log line on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl Problem {
    /// A problem of the standard kind for `status`, with a detail.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        let (slug, title) = kind_of(status);
        Self {
            kind: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_string(),
            status,
            detail: detail.into(),
            field: None,
            request_id: None,
            trace_id: None,
        }
    }

    /// A 422 naming the field at fault.
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(422, detail)
        }
    }

    /// The same problem, tagged with a request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The same problem, tagged with a trace id.
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"about:blank","title":"Error","status":{},"detail":""}}"#,
                self.status
            )
        })
    }
}

/// The slug and title of the standard problem kinds.
fn kind_of(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("malformed-request", "Malformed request"),
        401 => ("unauthenticated", "Not signed in or not signed correctly"),
        403 => ("forbidden", "Not allowed"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        406 => ("not-acceptable", "Not acceptable"),
        408 => ("request-timeout", "Request timeout"),
        409 => ("conflict", "Conflict"),
        411 => ("length-required", "Length required"),
        413 => ("body-too-large", "Request body too large"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        422 => ("invalid-field", "Invalid field"),
        429 => ("too-many-requests", "Too many requests"),
        431 => ("headers-too-large", "Request headers too large"),
        502 => ("bad-gateway", "Bad gateway"),
        503 => ("region-unavailable", "Region unavailable"),
        504 => ("origin-timeout", "Origin timeout"),
        500..=599 => ("internal", "Internal error"),
        _ => ("error", "Error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_rfc9457_with_extensions() {
        let p = Problem::invalid_field("email", "email must look like name@example.com")
            .with_request_id("r-1")
            .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["type"], "https://roam.dev/problems/invalid-field");
        assert_eq!(v["status"], 422);
        assert_eq!(v["field"], "email");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        let plain = serde_json::to_value(Problem::new(404, "no such vehicle")).unwrap();
        assert!(plain.get("field").is_none());
        assert!(plain.get("trace_id").is_none());
        assert_eq!(plain["title"], "Not found");
    }
}
