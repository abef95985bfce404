//! The paths of the document, generated from the route table ([`crate::routes::ROUTES`]:
//! path, method, operation id, and whether a route is a write, cached or signed in). What
//! only the document needs (summary, success status and schema, the errors it can give, the
//! body's schema, the parameters' details) is here, by operation.

use serde_json::{json, Map, Value};

use super::ERRORS;
use crate::routes::{ApiRoute, Operation, Session, ROUTES};

/// What the document says about one operation beyond the table: summary, success status and
/// schema, error statuses, the body's schema, the parameters.
struct Op {
    summary: &'static str,
    ok: (u16, Option<&'static str>),
    errors: &'static [u16],
    body: Option<&'static str>,
    params: Value,
}

impl Op {
    fn new(summary: &'static str, ok: (u16, Option<&'static str>), errors: &'static [u16]) -> Self {
        Op {
            summary,
            ok,
            errors,
            body: None,
            params: json!([]),
        }
    }

    fn to_json(&self, route: &ApiRoute) -> Value {
        let mut headers = json!({
            "x-request-id": {"$ref": "#/components/headers/RequestId"},
            "traceresponse": {"$ref": "#/components/headers/TraceResponse"},
            "server-timing": {"$ref": "#/components/headers/ServerTiming"},
        });
        let mut params = self.params.as_array().cloned().unwrap_or_default();
        params.push(json!({"$ref": "#/components/parameters/RequestId"}));
        params.push(json!({"$ref": "#/components/parameters/TraceParent"}));
        if route.write {
            headers["x-roam-bookmark"] = json!({"$ref": "#/components/headers/Bookmark"});
            params.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
        }
        if route.cacheable {
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
        let mut op = json!({"operationId": route.operation_id, "summary": self.summary, "parameters": params,
                            "responses": responses});
        if let Some(schema) = self.body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        if route.session == Session::Required {
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
    let params = Params::new();
    let mut paths = Map::new();
    for route in &ROUTES {
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = match route.op {
            Operation::OpenApi => json!({
                "operationId": route.operation_id, "summary": "This document",
                "responses": {"200": {"description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}}}}}),
            op => details(op, &params).to_json(route),
        };
    }
    Value::Object(paths)
}

/// The parameters several operations share.
struct Params {
    city: Value,
    status: Value,
    limit: Value,
    after: Value,
    region: Value,
}

impl Params {
    fn new() -> Self {
        Params {
            city: json!({"$ref": "#/components/parameters/City"}),
            status: json!({"name": "status", "in": "query", "required": false,
                           "schema": {"$ref": "#/components/schemas/VehicleStatus"}}),
            limit: json!({"name": "limit", "in": "query", "required": false,
                          "description": "Vehicles per page (default 50).",
                          "schema": {"type": "integer", "minimum": 1, "maximum": 200}}),
            after: json!({"name": "after", "in": "query", "required": false,
                          "description": "The `next` of the page before (opaque).",
                          "schema": {"type": "string", "maxLength": 96}}),
            region: json!({"name": "region", "in": "path", "required": true,
                           "schema": {"type": "string", "examples": ["eu-west"]}}),
        }
    }
}

const READ: &[u16] = &[400, 404, 422, 502, 503, 504];
const WRITE: &[u16] = &[400, 401, 404, 409, 413, 415, 422, 429, 502, 503, 504];
/// A log-out: no body, and a malformed `idempotency-key` is a 422 like any write's.
const LOG_OUT: &[u16] = &[401, 422, 502, 503, 504];

/// What the document says about `op` beyond the table.
fn details(op: Operation, p: &Params) -> Op {
    match op {
        Operation::Ping
        | Operation::PingRegion
        | Operation::ListRegions
        | Operation::ListCities
        | Operation::OpenApi => edge_details(op, p),
        Operation::SignUp
        | Operation::LogIn
        | Operation::LogOut
        | Operation::LogOutEverywhere
        | Operation::MyRides => account_details(op),
        Operation::ListVehicles
        | Operation::AddVehicle
        | Operation::GetVehicle
        | Operation::StartRide
        | Operation::EndRide => city_details(op, p),
    }
}

/// The routes the edge answers itself.
fn edge_details(op: Operation, p: &Params) -> Op {
    match op {
        Operation::Ping => Op::new(
            "Answered by the nearest edge alone",
            (200, Some("Pong")),
            &[],
        ),
        Operation::PingRegion => Op {
            params: json!([p.region]),
            ..Op::new(
                "Round trip from the edge to a region's origin",
                (200, Some("RegionPing")),
                &[404],
            )
        },
        Operation::ListRegions => Op::new(
            "Regions and the health the edge believes",
            (200, Some("RegionList")),
            &[],
        ),
        Operation::ListCities => Op::new(
            "Cities and their home regions",
            (200, Some("CityList")),
            &[],
        ),
        // `OpenApi`, written out by `paths` (it has none of the API's headers).
        _ => Op::new("This document", (200, None), &[]),
    }
}

/// Sign-up, the sessions, and the user's own rides.
fn account_details(op: Operation) -> Op {
    match op {
        Operation::SignUp => Op {
            body: Some("SignUp"),
            ..Op::new(
                "Sign up (city defaults to the detected one)",
                (201, Some("User")),
                WRITE,
            )
        },
        Operation::LogIn => Op {
            body: Some("LogIn"),
            ..Op::new("Log in", (200, Some("Session")), WRITE)
        },
        Operation::LogOut => Op::new(
            "Log out: this session ends in every region",
            (204, None),
            LOG_OUT,
        ),
        Operation::LogOutEverywhere => Op::new(
            "Log out everywhere: every session of mine issued until now ends",
            (204, None),
            LOG_OUT,
        ),
        // `MyRides`.
        _ => Op::new(
            "My rides in every city",
            (200, Some("RideList")),
            &[401, 502, 503, 504],
        ),
    }
}

/// The routes about a city's vehicles and rides.
fn city_details(op: Operation, p: &Params) -> Op {
    let city = &p.city;
    match op {
        Operation::ListVehicles => Op {
            params: json!([city, p.status, p.limit, p.after]),
            ..Op::new(
                "Vehicles in a city (edge-cached)",
                (200, Some("VehicleList")),
                READ,
            )
        },
        Operation::AddVehicle => Op {
            params: json!([city]),
            body: Some("NewVehicle"),
            ..Op::new("Add a vehicle", (201, Some("Vehicle")), WRITE)
        },
        Operation::GetVehicle => Op {
            params: json!([city, id_param("Vehicle id")]),
            ..Op::new("One vehicle (edge-cached)", (200, Some("Vehicle")), READ)
        },
        Operation::StartRide => Op {
            params: json!([city]),
            body: Some("StartRide"),
            ..Op::new("Start a ride", (201, Some("Ride")), WRITE)
        },
        // `EndRide`.
        _ => Op {
            params: json!([city, id_param("Ride id")]),
            body: Some("EndRide"),
            ..Op::new(
                "End a ride",
                (200, Some("Ride")),
                &[400, 401, 403, 404, 409, 413, 415, 422, 502, 503, 504],
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_schema_exactly_where_the_table_takes_a_body() {
        let p = Params::new();
        for route in &ROUTES {
            let op = details(route.op, &p);
            assert_eq!(op.body.is_some(), route.json_body, "{}", route.operation_id);
            if route.write && route.op != Operation::LogOut {
                assert!(op.errors.contains(&401), "{}", route.operation_id);
            }
        }
    }
}
