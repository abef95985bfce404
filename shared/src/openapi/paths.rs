//! The paths of the document: every public route of the edge, its success response, the
//! errors it can give, and the headers it takes and returns.

use serde_json::{json, Map, Value};

use super::ERRORS;

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
        let mut headers = json!({
            "x-request-id": {"$ref": "#/components/headers/RequestId"},
            "traceresponse": {"$ref": "#/components/headers/TraceResponse"},
            "server-timing": {"$ref": "#/components/headers/ServerTiming"},
        });
        let mut params = self.params.as_array().cloned().unwrap_or_default();
        params.push(json!({"$ref": "#/components/parameters/RequestId"}));
        params.push(json!({"$ref": "#/components/parameters/TraceParent"}));
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

pub(super) fn paths() -> Value {
    const READ: &[u16] = &[400, 404, 422, 502, 503, 504];
    const WRITE: &[u16] = &[400, 401, 404, 409, 413, 415, 422, 429, 502, 503, 504];
    let city = json!({"$ref": "#/components/parameters/City"});
    let status = json!({"name": "status", "in": "query", "required": false,
                        "schema": {"$ref": "#/components/schemas/VehicleStatus"}});
    let limit = json!({"name": "limit", "in": "query", "required": false,
                       "description": "Vehicles per page (default 50).",
                       "schema": {"type": "integer", "minimum": 1, "maximum": 200}});
    let after = json!({"name": "after", "in": "query", "required": false,
                       "description": "The `next` of the page before (opaque).",
                       "schema": {"type": "string", "maxLength": 96}});
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
            Op::new(
                "Log out: this session ends in every region",
                (204, None),
                &[401, 502, 503, 504],
            ),
        ),
        (
            "/api/v1/me/sessions",
            "delete",
            "logOutEverywhere",
            Op {
                signed_in: true,
                ..Op::new(
                    "Log out everywhere: every session of mine issued until now ends",
                    (204, None),
                    &[401, 502, 503, 504],
                )
            },
        ),
        (
            "/api/v1/cities/{city}/vehicles",
            "get",
            "listVehicles",
            Op {
                params: json!([city, status, limit, after]),
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
