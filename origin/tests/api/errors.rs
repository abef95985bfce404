//! Bad input of every kind gets the right problem+json status, never a 500.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_stack, TestOrigin};

/// One bad request: method, path, body, content type ("" = none), signed in, the expected
/// status and the field the 422 must name ("" = none).
type Case = (
    &'static str,
    String,
    String,
    &'static str,
    bool,
    u16,
    &'static str,
);

const JSON: &str = "application/json";

#[tokio::test]
async fn malformed_requests_get_problem_json_never_500() {
    let stack = spawn_stack().await;
    let (token, vehicle) = stack.user_with_vehicle("boston").await;
    let origin = stack.origin("us-west");
    for case in malformed_cases(vehicle) {
        send_malformed(origin, &token, case).await;
    }
    let vehicles = "/api/v1/cities/boston/vehicles";
    let r = origin
        .post(vehicles, json!({"type": "bike", "last_location": "x"}))
        .token(&token)
        .header("idempotency-key", "has spaces")
        .send()
        .await;
    assert_problem(&r, 422, "bad idempotency key");
    let r = origin.request("GET", "/nowhere").send().await;
    assert_problem(&r, 404, "unknown route outside the API");
    // Nothing above wrote anything.
    assert_eq!(stack.count_local("us-east", "vehicles", "true").await, 1);
    stack.cleanup().await;
}

/// The table of bad requests; `vehicle` is a vehicle's id, not a ride's.
fn malformed_cases(vehicle: Uuid) -> Vec<Case> {
    let good = json!({"type": "bike", "last_location": "Back Bay"}).to_string();
    let big = format!(
        r#"{{"type":"bike","last_location":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let ride = json!({"vehicle_id": Uuid::new_v4()}).to_string();
    let rides = "/api/v1/cities/boston/rides".to_string();
    let vehicles = "/api/v1/cities/boston/vehicles".to_string();
    let s = |v: &str| v.to_string();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("POST", vehicles.clone(), s("{"), JSON, true, 400, ""),
        ("POST", vehicles.clone(), s("not json"), JSON, true, 400, ""),
        ("POST", vehicles.clone(), good.clone(), "text/plain", true, 415, ""),
        ("POST", vehicles.clone(), good.clone(), "", true, 415, ""),
        ("POST", vehicles.clone(), big, JSON, true, 413, ""),
        ("POST", vehicles.clone(), good.clone(), JSON, false, 401, ""),
        ("POST", s("/api/v1/cities/tokyo/vehicles"), good, JSON, true, 404, ""),
        ("GET", s("/api/v1/cities/tokyo/vehicles"), s(""), "", false, 404, ""),
        ("GET", s("/api/v1/cities/ROME/vehicles"), s(""), "", false, 404, ""),
        ("GET", format!("{vehicles}/not-a-uuid"), s(""), "", false, 404, ""),
        ("GET", format!("{vehicles}/{}", Uuid::new_v4()), s(""), "", false, 404, ""),
        ("GET", format!("{vehicles}?status=broken"), s(""), "", false, 422, "status"),
        ("POST", vehicles.clone(), s(r#"{"last_location":"x"}"#), JSON, true, 422, "type"),
        ("POST", vehicles.clone(), s(r#"{"type":"car","last_location":"x"}"#), JSON, true, 422, "type"),
        ("POST", vehicles.clone(), s(r#"{"type":"bike","last_location":""}"#), JSON, true, 422, "last_location"),
        ("POST", vehicles.clone(), s(r#"{"type":"bike","last_location":"x","wheels":3}"#), JSON, true, 422, "wheels"),
        ("POST", vehicles.clone(), s("[]"), JSON, true, 422, ""),
        ("POST", rides.clone(), s("{}"), JSON, true, 422, "vehicle_id"),
        ("POST", rides.clone(), s(r#"{"vehicle_id":"nope"}"#), JSON, true, 422, "vehicle_id"),
        ("POST", rides.clone(), ride, JSON, true, 404, ""),
        ("POST", format!("{rides}/not-a-uuid/end"), s(r#"{"location":"x"}"#), JSON, true, 404, ""),
        ("POST", format!("{rides}/{vehicle}/end"), s(r#"{"location":"x"}"#), JSON, true, 404, ""),
        ("POST", s("/api/v1/users"), s(r#"{"email":"nope","name":"A","password":"longenough"}"#), JSON, false, 422, "email"),
        ("POST", s("/api/v1/users"), s(r#"{"email":"a@b.co","name":"A","password":"short"}"#), JSON, false, 422, "password"),
        ("POST", s("/api/v1/users"), s(r#"{"email":"a@b.co","name":"A","password":"longenough"}"#), JSON, false, 422, "city"),
        ("POST", s("/api/v1/users"), s(r#"{"email":"a@b.co","name":"A","password":"longenough","city":"atlantis"}"#), JSON, false, 422, "city"),
        ("POST", s("/api/v1/sessions"), s(r#"{"email":"a@b.co","password":"wrong password"}"#), JSON, false, 401, ""),
        ("GET", s("/api/v1/me/rides"), s(""), "", false, 401, ""),
        ("GET", s("/api/v1/nowhere"), s(""), "", false, 404, ""),
        ("DELETE", vehicles, s(""), "", true, 405, ""),
        ("PUT", s("/api/v1/users"), s("{}"), JSON, false, 405, ""),
    ];
    cases
}

/// Sends one bad request; asserts its problem+json status and, for a 422, the field it names.
async fn send_malformed(origin: &TestOrigin, token: &str, case: Case) {
    let (method, path, body, content_type, signed_in, status, field) = case;
    let mut req = origin
        .request(method, &path)
        .body(body.into_bytes(), content_type);
    if content_type.is_empty() {
        req = req.no_content_type();
    }
    if signed_in {
        req = req.token(token);
    }
    let r = req.send().await;
    let context = format!("{method} {path}");
    assert_problem(&r, status, &context);
    if !field.is_empty() {
        assert_eq!(r.json()["field"], field, "{context}: {}", r.text());
    }
}

/// Every field of every write body replaced by values of the wrong kind, removed, or joined by
/// an unknown one: always a 4xx problem+json (or, for a value that happens to be valid, a
/// success), never a 5xx.
#[tokio::test]
async fn mutated_bodies_never_get_a_server_error() {
    let stack = spawn_stack().await;
    let (token, vehicle) = stack.user_with_vehicle("paris").await;
    let origin = stack.origin("us-east");
    let r = origin
        .post("/api/v1/cities/paris/rides", json!({"vehicle_id": vehicle}))
        .token(&token)
        .send()
        .await;
    let ride = r.json()["id"].as_str().unwrap().to_string();
    let mut sent = 0;
    for (path, valid) in &write_routes(vehicle, &ride) {
        for body in mutations_of(valid) {
            let r = origin.post(path, body.clone()).token(&token).send().await;
            sent += 1;
            assert!(r.status < 500, "{path} {body}: {} {}", r.status, r.text());
            if r.status >= 400 {
                assert_problem(&r, r.status, &format!("{path} {body}"));
            }
        }
    }
    assert!(sent > 150);
    stack.cleanup().await;
}

/// Every write route with a valid body for it (`ride` is an open ride on `vehicle`).
fn write_routes(vehicle: Uuid, ride: &str) -> [(String, Value); 5] {
    [
        (
            "/api/v1/users".to_string(),
            json!({"email": "m@example.com", "name": "M", "password": "correct horse", "city": "paris"}),
        ),
        (
            "/api/v1/sessions".to_string(),
            json!({"email": "m@example.com", "password": "correct horse"}),
        ),
        (
            "/api/v1/cities/paris/vehicles".to_string(),
            json!({"type": "bike", "last_location": "x", "color": "red", "brand": "b"}),
        ),
        (
            "/api/v1/cities/paris/rides".to_string(),
            json!({"vehicle_id": vehicle}),
        ),
        (
            format!("/api/v1/cities/paris/rides/{ride}/end"),
            json!({"location": "Louvre"}),
        ),
    ]
}

/// `valid` wrapped in an array, replaced by null or text, each field removed or replaced by
/// each value of the wrong kind, and joined by an unknown field.
fn mutations_of(valid: &Value) -> Vec<Value> {
    let weird = [
        json!(null),
        json!(0),
        json!(-1.5e300),
        json!(true),
        json!([]),
        json!({}),
        json!(""),
        json!(" "),
        json!("\u{0}\u{7}"),
        json!("é".repeat(300)),
        json!("'; DROP TABLE vehicles; --"),
        json!(Uuid::nil()),
    ];
    let fields: Vec<String> = valid
        .as_object()
        .expect("an object body")
        .keys()
        .cloned()
        .collect();
    let mut bodies = vec![json!([valid]), json!(null), json!("text")];
    for field in &fields {
        let mut without = valid.clone();
        without
            .as_object_mut()
            .expect("an object body")
            .remove(field);
        bodies.push(without);
        for value in &weird {
            let mut changed = valid.clone();
            changed[field] = value.clone();
            bodies.push(changed);
        }
    }
    let mut extra = valid.clone();
    extra["extra"] = json!(1);
    bodies.push(extra);
    bodies
}
