//! Bad input of every kind gets the right problem+json status, never a 500.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_stack};

/// (method, path, body, content type, signed in, expected status, expected field)
type Case<'a> = (
    &'a str,
    String,
    String,
    Option<&'a str>,
    bool,
    u16,
    Option<&'a str>,
);

#[tokio::test]
async fn malformed_requests_get_problem_json_never_500() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("boston").await;
    let vehicle = stack.vehicle("boston", &token).await;
    let origin = stack.origin("us-west");
    let good_vehicle = json!({"type": "bike", "last_location": "Back Bay"}).to_string();
    let big = format!(
        r#"{{"type":"bike","last_location":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let rides = "/api/v1/cities/boston/rides";
    let vehicles = "/api/v1/cities/boston/vehicles";
    let cases: Vec<Case> = vec![
        (
            "POST",
            vehicles.into(),
            "{".into(),
            Some("application/json"),
            true,
            400,
            None,
        ),
        (
            "POST",
            vehicles.into(),
            "not json".into(),
            Some("application/json"),
            true,
            400,
            None,
        ),
        (
            "POST",
            vehicles.into(),
            good_vehicle.clone(),
            Some("text/plain"),
            true,
            415,
            None,
        ),
        (
            "POST",
            vehicles.into(),
            good_vehicle.clone(),
            None,
            true,
            415,
            None,
        ),
        (
            "POST",
            vehicles.into(),
            big,
            Some("application/json"),
            true,
            413,
            None,
        ),
        (
            "POST",
            vehicles.into(),
            good_vehicle.clone(),
            Some("application/json"),
            false,
            401,
            None,
        ),
        (
            "POST",
            "/api/v1/cities/tokyo/vehicles".into(),
            good_vehicle.clone(),
            Some("application/json"),
            true,
            404,
            None,
        ),
        (
            "GET",
            "/api/v1/cities/tokyo/vehicles".into(),
            String::new(),
            None,
            false,
            404,
            None,
        ),
        (
            "GET",
            "/api/v1/cities/ROME/vehicles".into(),
            String::new(),
            None,
            false,
            404,
            None,
        ),
        (
            "GET",
            format!("{vehicles}/not-a-uuid"),
            String::new(),
            None,
            false,
            404,
            None,
        ),
        (
            "GET",
            format!("{vehicles}/{}", uuid::Uuid::new_v4()),
            String::new(),
            None,
            false,
            404,
            None,
        ),
        (
            "GET",
            format!("{vehicles}?status=broken"),
            String::new(),
            None,
            false,
            422,
            Some("status"),
        ),
        (
            "POST",
            vehicles.into(),
            r#"{"last_location":"x"}"#.into(),
            Some("application/json"),
            true,
            422,
            Some("type"),
        ),
        (
            "POST",
            vehicles.into(),
            r#"{"type":"car","last_location":"x"}"#.into(),
            Some("application/json"),
            true,
            422,
            Some("type"),
        ),
        (
            "POST",
            vehicles.into(),
            r#"{"type":"bike","last_location":""}"#.into(),
            Some("application/json"),
            true,
            422,
            Some("last_location"),
        ),
        (
            "POST",
            vehicles.into(),
            r#"{"type":"bike","last_location":"x","wheels":3}"#.into(),
            Some("application/json"),
            true,
            422,
            Some("wheels"),
        ),
        (
            "POST",
            vehicles.into(),
            "[]".into(),
            Some("application/json"),
            true,
            422,
            None,
        ),
        (
            "POST",
            rides.into(),
            "{}".into(),
            Some("application/json"),
            true,
            422,
            Some("vehicle_id"),
        ),
        (
            "POST",
            rides.into(),
            r#"{"vehicle_id":"nope"}"#.into(),
            Some("application/json"),
            true,
            422,
            Some("vehicle_id"),
        ),
        (
            "POST",
            rides.into(),
            json!({"vehicle_id": uuid::Uuid::new_v4()}).to_string(),
            Some("application/json"),
            true,
            404,
            None,
        ),
        (
            "POST",
            format!("{rides}/not-a-uuid/end"),
            r#"{"location":"x"}"#.into(),
            Some("application/json"),
            true,
            404,
            None,
        ),
        (
            "POST",
            format!("{rides}/{vehicle}/end"),
            r#"{"location":"x"}"#.into(),
            Some("application/json"),
            true,
            404,
            None,
        ),
        (
            "POST",
            "/api/v1/users".into(),
            r#"{"email":"nope","name":"A","password":"longenough"}"#.into(),
            Some("application/json"),
            false,
            422,
            Some("email"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            r#"{"email":"a@b.co","name":"A","password":"short"}"#.into(),
            Some("application/json"),
            false,
            422,
            Some("password"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            r#"{"email":"a@b.co","name":"A","password":"longenough"}"#.into(),
            Some("application/json"),
            false,
            422,
            Some("city"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            r#"{"email":"a@b.co","name":"A","password":"longenough","city":"atlantis"}"#.into(),
            Some("application/json"),
            false,
            422,
            Some("city"),
        ),
        (
            "POST",
            "/api/v1/sessions".into(),
            r#"{"email":"a@b.co","password":"wrong password"}"#.into(),
            Some("application/json"),
            false,
            401,
            None,
        ),
        (
            "GET",
            "/api/v1/me/rides".into(),
            String::new(),
            None,
            false,
            401,
            None,
        ),
        (
            "GET",
            "/api/v1/nowhere".into(),
            String::new(),
            None,
            false,
            404,
            None,
        ),
        (
            "DELETE",
            vehicles.into(),
            String::new(),
            None,
            true,
            405,
            None,
        ),
        (
            "PUT",
            "/api/v1/users".into(),
            "{}".into(),
            Some("application/json"),
            false,
            405,
            None,
        ),
    ];
    for (method, path, body, content_type, signed_in, status, field) in cases {
        let mut req = origin
            .request(method, &path)
            .body(body.into_bytes(), content_type.unwrap_or(""));
        if content_type.is_none() {
            req = req.no_content_type();
        }
        if signed_in {
            req = req.token(&token);
        }
        let r = req.send().await;
        let context = format!("{method} {path}");
        assert_problem(&r, status, &context);
        if let Some(field) = field {
            assert_eq!(r.json()["field"], field, "{context}: {}", r.text());
        }
    }
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
