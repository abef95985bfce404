//! The public API as an OpenAPI 3.1 document (feature `openapi`).
//!
//! Schemas are derived from the Rust types in [`crate::api`] by utoipa, so they cannot drift
//! from what the code (de)serialises; the paths below list every public route of the edge
//! with the statuses and headers it can answer. `cargo xtask openapi` writes the document to
//! `edge/openapi.json`, which the edge serves and the test command checks for staleness.
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::api::{
    CityList, EndRide, JobBacklog, LogIn, NewVehicle, OriginHealth, Pong, RegionHealth, RegionList,
    RegionPing, RegionReport, Ride, RideList, Session, SignUp, StandbyReport, StartRide, User,
    Vehicle, VehicleList, VehicleStatus, VehicleType,
};
use crate::map::{City, Region};
use crate::problem::{Problem, PROBLEM_CONTENT_TYPE};

mod paths;

use paths::paths;

#[derive(OpenApi)]
#[openapi(components(schemas(
    SignUp,
    LogIn,
    User,
    Session,
    VehicleType,
    VehicleStatus,
    NewVehicle,
    Vehicle,
    VehicleList,
    StartRide,
    EndRide,
    Ride,
    RideList,
    Pong,
    RegionPing,
    OriginHealth,
    StandbyReport,
    JobBacklog,
    RegionReport,
    RegionHealth,
    RegionList,
    City,
    Region,
    CityList,
    Problem
)))]
struct Schemas;

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "roam",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Vehicle sharing served from the edge nearest you. Reads are \
                answered at the PoP when cached; writes go to the home region of their city.",
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "roam session token",
                    "description": "The `token` of `POST /api/v1/sessions`."
                }
            },
            "parameters": parameters(),
            "headers": headers(),
            "responses": error_responses(),
        }
    })
}

/// The schemas utoipa derives from the API types.
fn schemas() -> Value {
    serde_json::to_value(Schemas::openapi().components)
        .ok()
        .and_then(|c| c.get("schemas").cloned())
        .unwrap_or_else(|| json!({}))
}

/// The shared request parameters (`#/components/parameters`).
fn parameters() -> Value {
    json!({
        "IdempotencyKey": header_param(
            "idempotency-key",
            "Retrying a write with the same key has exactly one effect and returns the \
             first response. 1–128 characters of [A-Za-z0-9._:-].",
        ),
        "RequestId": header_param("x-request-id", "Your id for this request (echoed)."),
        "TraceParent": header_param(
            "traceparent",
            "W3C Trace Context: the edge continues your trace (else starts one).",
        ),
        "Bookmark": header_param(
            "x-roam-bookmark",
            "A bookmark returned by an earlier write: the read reflects that write.",
        ),
        "City": {
            "name": "city", "in": "path", "required": true,
            "description": "City slug (see GET /api/v1/cities).",
            "schema": {"type": "string", "examples": ["rome"]}
        },
    })
}

/// The shared response headers (`#/components/headers`).
fn headers() -> Value {
    json!({
        "RequestId": {"description": "The request's id.", "schema": {"type": "string"}},
        "TraceResponse": {
            "description": "W3C Trace Context Level 2: `00-<trace id>-<the edge's span id>-<flags>`; \
                the trace id is also in problem bodies (`trace_id`).",
            "schema": {"type": "string"}
        },
        "ServerTiming": {
            "description": "Where the time went: `edge`, `cache`, each origin `attempt` \
                (with `start`, ms from the edge's start), `origin`, then the origin's \
                `app` and `db` (with `start` from the origin's start).",
            "schema": {"type": "string"}
        },
        "Bookmark": {
            "description": "Present it on later reads to see this write.",
            "schema": {"type": "string"}
        },
        "Cache": {
            "description": "How the edge cache answered.",
            "schema": {"type": "string", "enum": ["hit", "miss", "stale", "bypass"]}
        },
        "ServedBy": {
            "description": "The region that produced the response, or `edge`.",
            "schema": {"type": "string"}
        },
        "RetryAfter": {"description": "Seconds to wait.", "schema": {"type": "string"}},
    })
}

/// The document as pretty JSON with a trailing newline (the committed file's form).
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

fn header_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": false, "description": description,
           "schema": {"type": "string"}})
}

pub(crate) const ERRORS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "Malformed request (JSON syntax, bad id).",
    ),
    (
        401,
        "Unauthorized",
        "Not signed in, or the session is invalid or expired.",
    ),
    (403, "Forbidden", "Signed in, but not allowed."),
    (404, "NotFound", "Unknown route, city or id."),
    (
        405,
        "MethodNotAllowed",
        "The route exists but not with this method.",
    ),
    (
        409,
        "Conflict",
        "Conflicts with the current state (taken email, vehicle in use).",
    ),
    (413, "PayloadTooLarge", "Body over 64 KiB."),
    (415, "UnsupportedMediaType", "Body is not application/json."),
    (
        422,
        "UnprocessableEntity",
        "A field is invalid; `field` names it.",
    ),
    (
        429,
        "TooManyRequests",
        "Too many attempts (log-ins, sign-ups, additions); `retry-after` says when to retry.",
    ),
    (502, "BadGateway", "The origin answered something unusable."),
    (
        503,
        "ServiceUnavailable",
        "The region that owns the data is unavailable; retry later.",
    ),
    (504, "GatewayTimeout", "The origin did not answer in time."),
];

fn error_responses() -> Value {
    let mut responses = Map::new();
    for (status, name, description) in ERRORS {
        let mut response = json!({
            "description": description,
            "headers": {
                "x-request-id": {"$ref": "#/components/headers/RequestId"},
                "traceresponse": {"$ref": "#/components/headers/TraceResponse"}
            },
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        });
        if matches!(*status, 429 | 503) {
            response["headers"]["retry-after"] = json!({"$ref": "#/components/headers/RetryAfter"});
        }
        responses.insert((*name).to_string(), response);
    }
    Value::Object(responses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\"$ref\":\"#/") {
            let tail = &rest[at + 9..];
            let end = tail.find('"').unwrap();
            let pointer = &tail[..end];
            assert!(doc.pointer(pointer).is_some(), "dangling $ref #/{pointer}");
            rest = &tail[end..];
        }
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/api/v1/cities/{city}/rides"]["post"]["security"].is_array());
    }
}
