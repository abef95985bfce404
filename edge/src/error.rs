//! The edge's one error type and its single mapping to a status and an
//! `application/problem+json` body ([`crate::respond::problem`] makes the response).
//!
//! 5xx bodies say nothing internal: the cause goes to the log (`console.error`, which
//! `wrangler tail` and the dev console show) under the request id the body carries.

use roam_shared::Problem;

/// Result of the edge's handlers.
pub type Result<T, E = EdgeError> = std::result::Result<T, E>;

/// Everything that can go wrong at the edge.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// No route matches the path.
    #[error("no route for `{0}`")]
    NotFound(String),
    /// The path names a region the map does not know.
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
    /// The path names a city the map does not know.
    #[error("unknown city `{0}`")]
    UnknownCity(String),
    /// The path names a vehicle id that is not a UUID.
    #[error("no vehicle `{0}`")]
    UnknownVehicle(String),
    /// The route exists but not with this method.
    #[error("{method} is not allowed here (allowed: {allow})")]
    MethodNotAllowed {
        /// The method the client used.
        method: String,
        /// The `allow` header value.
        allow: &'static str,
    },
    /// The request body exceeds the edge's limit.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A write whose body is not JSON.
    #[error("writes take a JSON body (content-type: application/json)")]
    UnsupportedMediaType,
    /// A client-sent `idempotency-key` of the wrong shape.
    #[error("idempotency-key must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'")]
    BadIdempotencyKey,
    /// This client address used up its allowance of the route (see `rate_limit`).
    #[error("too many attempts from your address; try again in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until the allowance is back.
        retry_after_secs: u32,
    },
    /// No origin could take the request (all down, or breakers open).
    #[error("region {region} is unavailable")]
    Unavailable {
        /// The region that should have served the request.
        region: String,
        /// Seconds the client should wait before retrying.
        retry_after_secs: u32,
    },
    /// The origin did not answer in time (and no other could).
    #[error("the origin of {region} did not answer in time")]
    Timeout {
        /// The region that should have served the request.
        region: String,
    },
    /// The Worker's vars or secrets are wrong; the message names the variable.
    #[error("edge configuration: {0}")]
    Config(String),
    /// A runtime failure (a JS exception, a Cache API error, …).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<worker::Error> for EdgeError {
    fn from(e: worker::Error) -> Self {
        EdgeError::Internal(e.to_string())
    }
}

impl EdgeError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            EdgeError::NotFound(_)
            | EdgeError::UnknownRegion(_)
            | EdgeError::UnknownCity(_)
            | EdgeError::UnknownVehicle(_) => 404,
            EdgeError::MethodNotAllowed { .. } => 405,
            EdgeError::BodyTooLarge { .. } => 413,
            EdgeError::UnsupportedMediaType => 415,
            EdgeError::BadIdempotencyKey => 422,
            EdgeError::TooManyRequests { .. } => 429,
            EdgeError::Unavailable { .. } => 503,
            EdgeError::Timeout { .. } => 504,
            EdgeError::Config(_) | EdgeError::Internal(_) => 500,
        }
    }

    /// The problem body, with the request and trace ids a user can quote; 500s say nothing
    /// about their cause.
    pub fn to_problem(&self, request_id: &str, trace_id: Option<&str>) -> Problem {
        let problem = match self {
            EdgeError::Config(_) | EdgeError::Internal(_) => Problem::new(
                500,
                "the edge failed to handle this request; quote the request id when reporting it",
            ),
            EdgeError::BadIdempotencyKey => {
                Problem::invalid_field("idempotency-key", self.to_string())
            }
            other => Problem::new(other.status(), other.to_string()),
        };
        let problem = problem.with_request_id(request_id);
        match trace_id {
            Some(id) => problem.with_trace_id(id),
            None => problem,
        }
    }

    /// Whether the cause belongs in the error log (server faults) rather than being the
    /// client's doing.
    pub fn is_server_fault(&self) -> bool {
        self.status() >= 500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_design() {
        assert_eq!(EdgeError::UnknownCity("tokyo".into()).status(), 404);
        assert_eq!(EdgeError::BodyTooLarge { limit: 1 }.status(), 413);
        assert_eq!(EdgeError::UnsupportedMediaType.status(), 415);
        assert_eq!(EdgeError::BadIdempotencyKey.status(), 422);
        let limited = EdgeError::TooManyRequests {
            retry_after_secs: 60,
        };
        assert_eq!(limited.status(), 429);
        let down = EdgeError::Unavailable {
            region: "eu-west".into(),
            retry_after_secs: 5,
        };
        assert_eq!(down.status(), 503);
        assert_eq!(
            EdgeError::Timeout {
                region: "eu-west".into()
            }
            .status(),
            504
        );
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let p = EdgeError::Internal("JsError: secret stack".into())
            .to_problem("r-1", Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret"));
        assert_eq!(p.request_id.as_deref(), Some("r-1"));
        assert_eq!(
            p.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let p = EdgeError::BadIdempotencyKey.to_problem("r-2", None);
        assert_eq!(
            (p.status, p.field.as_deref()),
            (422, Some("idempotency-key"))
        );
    }
}
