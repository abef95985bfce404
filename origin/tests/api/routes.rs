//! The origin's router answers every route of roam-shared's route table that the edge forwards
//! (its handler speaks: a 401, 404 or 422 of its own is fine, routing's 404 or 405 is not), and
//! nothing else: a path off the table, or one only the edge answers, is routing's 404.

use roam_shared::routes::ROUTES;

use crate::helpers::{assert_problem, spawn_stack};

/// The detail of the origin's 404 for a path no route matches (`http::not_found`).
const NO_SUCH_ROUTE: &str = "no such route";

#[tokio::test]
async fn the_origin_answers_the_route_table_and_nothing_else() {
    let stack = spawn_stack().await;
    let origin = stack.origin("eu-west");
    let id = uuid::Uuid::new_v4().to_string();
    for route in ROUTES.iter().filter(|r| r.forwarded()) {
        let path = route.path.replace("{city}", "rome").replace("{id}", &id);
        let mut req = origin.request(route.method.as_str(), &path);
        if route.json_body {
            req = req.body(b"{}".to_vec(), "application/json");
        }
        let r = req.send().await;
        let context = format!("{} {path}: {} {}", route.operation_id, r.status, r.text());
        assert_ne!(r.status, 405, "{context}");
        assert!(
            r.status != 404 || r.json()["detail"] != NO_SUCH_ROUTE,
            "{context}"
        );
        assert!(r.status < 500, "{context}");
    }
    for path in [
        "/api/v1/nowhere",
        "/api/v1/cities/rome",
        "/api/v1/cities/rome/vehicles/",
        "/api/v1/me",
        // Answered by the edge alone.
        "/api/v1/regions",
        "/api/v1/cities",
        "/api/v1/openapi.json",
        "/ping/eu-west",
    ] {
        let r = origin.request("GET", path).send().await;
        assert_problem(&r, 404, path);
        assert_eq!(r.json()["detail"], NO_SUCH_ROUTE, "{path}");
    }
    let r = origin.request("PUT", "/api/v1/users").send().await;
    assert_problem(&r, 405, "PUT /api/v1/users");
    stack.cleanup().await;
}
