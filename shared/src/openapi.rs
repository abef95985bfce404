//! The public API as an OpenAPI 3.1 document (feature `openapi`).
//!
//! Schemas are derived from the Rust types in [`crate::api`] by utoipa, so they cannot drift
//! from what the code (de)serialises; the paths below list every public route of the edge
//! with the statuses and headers it can answer. `cargo xtask openapi` writes the document to
//! `edge/openapi.json`, which the edge serves and the test command checks for staleness.

use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::api::*;
use crate::map::City;
use crate::problem::{Problem, PROBLEM_CONTENT_TYPE};

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
    RegionHealth,
    RegionList,
    City,
    CityList,
    Problem
)))]
struct Schemas;

/// The whole document.
pub fn document() -> Value {
    let schemas = serde_json::to_value(Schemas::openapi().components)
        .ok()
        .and_then(|c| c.get("schemas").cloned())
        .unwrap_or_else(|| json!({}));
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
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "roam session token",
                    "description": "The `token` of `POST /api/v1/sessions`."
                }
            },
            "parameters": {
                "IdempotencyKey": header_param(
                    "idempotency-key",
                    "Retrying a write with the same key has exactly one effect and returns the \
                     first response. 1–128 characters of [A-Za-z0-9._:-].",
                ),
                "RequestId": header_param("x-request-id", "Your id for this request (echoed)."),
                "Bookmark": header_param(
                    "x-roam-bookmark",
                    "A bookmark returned by an earlier write: the read reflects that write.",
                ),
                "City": {
                    "name": "city", "in": "path", "required": true,
                    "description": "City slug (see GET /api/v1/cities).",
                    "schema": {"type": "string", "examples": ["rome"]}
                },
            },
            "headers": {
                "RequestId": {"description": "The request's id.", "schema": {"type": "string"}},
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
            },
            "responses": error_responses(),
        }
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

const ERRORS: &[(u16, &str, &str)] = &[
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
            "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        });
        if *status == 503 {
            response["headers"]["retry-after"] = json!({"$ref": "#/components/headers/RetryAfter"});
        }
        responses.insert((*name).to_string(), response);
    }
    Value::Object(responses)
}

/// One operation: summary, success status and schema, error statuses, options.
struct Op {
    summary: &'static str,
    ok: (u16, Option<&'static str>),
    errors: &'static [u16],
    body: Option<&'static str>,
    signed_in: bool,
    write: bool,
    cached: bool,
    params: Value,
}

impl Op {
    fn new(summary: &'static str, ok: (u16, Option<&'static str>), errors: &'static [u16]) -> Self {
        Op {
            summary,
            ok,
            errors,
            body: None,
            signed_in: false,
            write: false,
            cached: false,
            params: json!([]),
        }
    }

    fn to_json(&self, id: &str) -> Value {
        let mut headers = json!({"x-request-id": {"$ref": "#/components/headers/RequestId"}});
        let mut params = self.params.as_array().cloned().unwrap_or_default();
        params.push(json!({"$ref": "#/components/parameters/RequestId"}));
        if self.write {
            headers["x-roam-bookmark"] = json!({"$ref": "#/components/headers/Bookmark"});
            params.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
        }
        if self.cached {
            headers["x-roam-cache"] = json!({"$ref": "#/components/headers/Cache"});
            params.push(json!({"$ref": "#/components/parameters/Bookmark"}));
        }
        headers["x-roam-served-by"] = json!({"$ref": "#/components/headers/ServedBy"});
        let mut ok = json!({"description": "Success.", "headers": headers});
        if let Some(schema) = self.ok.1 {
            ok["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}});
        }
        let mut responses = Map::new();
        responses.insert(self.ok.0.to_string(), ok);
        for status in self.errors {
            if let Some((_, name, _)) = ERRORS.iter().find(|(s, ..)| s == status) {
                responses.insert(
                    status.to_string(),
                    json!({"$ref": format!("#/components/responses/{name}")}),
                );
            }
        }
        let mut op = json!({"operationId": id, "summary": self.summary, "parameters": params,
                            "responses": responses});
        if let Some(schema) = self.body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        if self.signed_in {
            op["security"] = json!([{"bearer": []}]);
        }
        op
    }
}

fn id_param(description: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": description,
           "schema": {"type": "string", "format": "uuid"}})
}

fn paths() -> Value {
    const READ: &[u16] = &[400, 404, 422, 502, 503, 504];
    const WRITE: &[u16] = &[400, 401, 404, 409, 413, 415, 422, 502, 503, 504];
    let city = json!({"$ref": "#/components/parameters/City"});
    let status = json!({"name": "status", "in": "query", "required": false,
                        "schema": {"$ref": "#/components/schemas/VehicleStatus"}});
    let region = json!({"name": "region", "in": "path", "required": true,
                        "schema": {"type": "string", "examples": ["eu-west"]}});
    let ops: Vec<(&str, &str, &str, Op)> = vec![
        (
            "/ping",
            "get",
            "ping",
            Op::new(
                "Answered by the nearest edge alone",
                (200, Some("Pong")),
                &[],
            ),
        ),
        (
            "/ping/{region}",
            "get",
            "pingRegion",
            Op {
                params: json!([region]),
                ..Op::new(
                    "Round trip from the edge to a region's origin",
                    (200, Some("RegionPing")),
                    &[404],
                )
            },
        ),
        (
            "/api/v1/regions",
            "get",
            "listRegions",
            Op::new(
                "Regions and the health the edge believes",
                (200, Some("RegionList")),
                &[],
            ),
        ),
        (
            "/api/v1/cities",
            "get",
            "listCities",
            Op::new(
                "Cities and their home regions",
                (200, Some("CityList")),
                &[],
            ),
        ),
        (
            "/api/v1/users",
            "post",
            "signUp",
            Op {
                body: Some("SignUp"),
                write: true,
                ..Op::new(
                    "Sign up (city defaults to the detected one)",
                    (201, Some("User")),
                    WRITE,
                )
            },
        ),
        (
            "/api/v1/sessions",
            "post",
            "logIn",
            Op {
                body: Some("LogIn"),
                write: true,
                ..Op::new("Log in", (200, Some("Session")), WRITE)
            },
        ),
        (
            "/api/v1/sessions",
            "delete",
            "logOut",
            Op::new("Log out", (204, None), &[401, 502, 503, 504]),
        ),
        (
            "/api/v1/cities/{city}/vehicles",
            "get",
            "listVehicles",
            Op {
                params: json!([city, status]),
                cached: true,
                ..Op::new(
                    "Vehicles in a city (edge-cached)",
                    (200, Some("VehicleList")),
                    READ,
                )
            },
        ),
        (
            "/api/v1/cities/{city}/vehicles",
            "post",
            "addVehicle",
            Op {
                params: json!([city]),
                body: Some("NewVehicle"),
                signed_in: true,
                write: true,
                ..Op::new("Add a vehicle", (201, Some("Vehicle")), WRITE)
            },
        ),
        (
            "/api/v1/cities/{city}/vehicles/{id}",
            "get",
            "getVehicle",
            Op {
                params: json!([city, id_param("Vehicle id")]),
                cached: true,
                ..Op::new("One vehicle (edge-cached)", (200, Some("Vehicle")), READ)
            },
        ),
        (
            "/api/v1/cities/{city}/rides",
            "post",
            "startRide",
            Op {
                params: json!([city]),
                body: Some("StartRide"),
                signed_in: true,
                write: true,
                ..Op::new("Start a ride", (201, Some("Ride")), WRITE)
            },
        ),
        (
            "/api/v1/cities/{city}/rides/{id}/end",
            "post",
            "endRide",
            Op {
                params: json!([city, id_param("Ride id")]),
                body: Some("EndRide"),
                signed_in: true,
                write: true,
                ..Op::new(
                    "End a ride",
                    (200, Some("Ride")),
                    &[400, 401, 403, 404, 409, 413, 415, 422, 502, 503, 504],
                )
            },
        ),
        (
            "/api/v1/me/rides",
            "get",
            "myRides",
            Op {
                signed_in: true,
                ..Op::new(
                    "My rides in every city",
                    (200, Some("RideList")),
                    &[401, 502, 503, 504],
                )
            },
        ),
    ];
    let mut paths = Map::new();
    for (path, method, id, op) in ops {
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        item[method] = op.to_json(id);
    }
    paths.insert(
        "/api/v1/openapi.json".into(),
        json!({"get": {
        "operationId": "openapi", "summary": "This document",
        "responses": {"200": {"description": "The OpenAPI document.",
            "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    Value::Object(paths)
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
