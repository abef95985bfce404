//! The origin's one error type, and its single mapping to problem+json.
//!
//! 5xx bodies say nothing internal: the cause travels to the log through a response
//! extension ([`ErrorCause`]) that the telemetry middleware records.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roam_shared::problem::{Problem, PROBLEM_CONTENT_TYPE};

/// Result with [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the body or query is not well-formed.
    #[error("{0}")]
    Malformed(String),
    /// 401: no valid session, or no valid edge signature.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 409: a concurrent request with the same idempotency key committed first (the caller
    /// replays its record instead; only surfaces if that record cannot be read).
    #[error("a request with this idempotency key is being processed")]
    KeyTaken,
    /// 413.
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 naming a field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (JSON name, header or query parameter).
        field: String,
        /// Why.
        message: String,
    },
    /// 503 with `retry-after`: the database node (or a partition's node) is unreachable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// 503 with `retry-after`: this origin is at capacity for this kind of work (password
    /// hashing); other requests still run.
    #[error("busy: {what}")]
    Busy {
        /// What is at capacity (for the log).
        what: &'static str,
        /// Seconds to wait.
        retry_after: u32,
    },
    /// 429 with `retry-after`: too many attempts (failed log-ins of one account, vehicles
    /// added by one user).
    #[error("{detail}")]
    TooManyRequests {
        /// Why, in words.
        detail: String,
        /// Seconds to wait.
        retry_after: u32,
    },
    /// 504: the request took longer than the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// A database error that is not the client's fault.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else that is not the client's fault.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// The internal cause of a 5xx, for the log only.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

impl Error {
    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::KeyTaken => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Database(e) if is_unavailable(e) || is_retryable(e) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Maps a database error to what it means for the client, by the violated constraint's
    /// name: a duplicate key of a table the API writes is a 409 saying which thing exists, a
    /// foreign-key violation a 422; anything else stays a database error. (Partitions are named
    /// `<table>_<region>`, their primary keys `<table>_<region>_pkey`.)
    pub fn from_db(e: sqlx::Error) -> Self {
        let Some(db) = e.as_database_error() else {
            return Self::Database(e);
        };
        let constraint = db.constraint().unwrap_or_default();
        match db.code().as_deref() {
            Some("23505") => match duplicate_of(constraint) {
                Some(message) => Self::Conflict(message.into()),
                None => Self::Database(e),
            },
            Some("23503") => Self::invalid(
                "body",
                format!("refers to something that does not exist ({constraint})"),
            ),
            _ => Self::Database(e),
        }
    }
}

/// What a duplicate of `constraint` means to a client, for the constraints the API can hit.
fn duplicate_of(constraint: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 4] = [
        ("users_", "an account with this id already exists"),
        ("vehicles_", "a vehicle with this id already exists"),
        ("rides_", "a ride with this id already exists"),
        ("email_claims_", "an account with this email already exists"),
    ];
    let table = constraint.strip_suffix("_pkey")?;
    KNOWN
        .iter()
        .find(|(prefix, _)| table.starts_with(prefix))
        .map(|(_, message)| *message)
}

impl From<roam_shared::api::FieldError> for Error {
    fn from(e: roam_shared::api::FieldError) -> Self {
        Self::invalid(e.field, e.message)
    }
}

/// The SQLSTATE of a database error, if it is one.
pub fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Serialization failure or deadlock: the transaction may simply be run again.
pub fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(sqlstate(e).as_deref(), Some("40001" | "40P01"))
}

/// The node (or, through postgres_fdw, a partition's node) cannot be reached right now.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(_) => {
            let code = sqlstate(e).unwrap_or_default();
            // 08: connection exceptions (also what postgres_fdw reports for a peer it cannot
            // reach); 57P01-03: the server is shutting down or starting; 53300: too many
            // connections; HV00N: FDW unable to establish connection.
            code.starts_with("08")
                || matches!(
                    code.as_str(),
                    "57P01" | "57P02" | "57P03" | "53300" | "HV00N"
                )
        }
        _ => false,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Busy { retry_after, .. } => {
                format!("this origin is busy; retry in {retry_after} s")
            }
            _ if status.is_server_error() => match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    "the database for this data is unreachable; retry later".to_string()
                }
                StatusCode::GATEWAY_TIMEOUT => "the request took too long".to_string(),
                _ => "something went wrong on our side".to_string(),
            },
            Self::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let problem = match &self {
            Self::Invalid { field, .. } => Problem::invalid_field(field, detail),
            _ => Problem::new(status.as_u16(), detail),
        };
        // The trace id of the request being answered, so a user can quote it.
        let problem = match crate::telemetry::context::trace_id() {
            Some(id) => problem.with_trace_id(id),
            None => problem,
        };
        let mut response = problem_response(&problem);
        let retry_after = match &self {
            Self::Busy { retry_after, .. } | Self::TooManyRequests { retry_after, .. } => {
                Some(*retry_after)
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(ErrorCause(self.to_string()));
        }
        response
    }
}

/// A problem+json response (`no-store`).
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            (header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        problem.to_json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_say_nothing_internal() {
        let response =
            Error::Internal(anyhow::anyhow!("password=hunter2 at db.internal")).into_response();
        assert_eq!(response.status(), 500);
        assert!(response.extensions().get::<ErrorCause>().is_some());
        let response = Error::Database(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(Error::invalid("city", "unknown").status(), 422);
        assert_eq!(Error::from_db(sqlx::Error::RowNotFound).status(), 500);
        assert_eq!(
            duplicate_of("vehicles_eu_west_pkey"),
            Some("a vehicle with this id already exists")
        );
        assert_eq!(
            duplicate_of("rider_regions_eu_west_pkey"),
            None,
            "not a ride"
        );
        assert_eq!(duplicate_of("users_email"), None, "not a key");
    }
}
