//! Only the edge can call the API: anything not signed by it is a 401 and writes nothing.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_stack, Signing};

#[tokio::test]
async fn missing_forged_stale_or_tampered_signatures_are_refused() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("rome").await;
    let origin = stack.origin("us-east");
    for signing in [
        Signing::Missing,
        Signing::Forged,
        Signing::Stale,
        Signing::TamperedBody,
        Signing::TamperedHeader,
    ] {
        let body = json!({"type": "bike", "last_location": "Via del Corso"});
        let r = origin
            .post("/api/v1/cities/rome/vehicles", body)
            .token(&token)
            .signing(signing)
            .send()
            .await;
        assert_problem(&r, 401, &format!("{signing:?}"));
        let r = origin
            .get("/api/v1/cities/rome/vehicles")
            .signing(signing)
            .send()
            .await;
        if signing != Signing::TamperedBody {
            assert_problem(&r, 401, &format!("GET {signing:?}"));
        }
        let r = origin
            .post("/api/v1/users", json!({"email": "x@example.com", "name": "X", "password": "longenough", "city": "rome"}))
            .signing(signing)
            .send()
            .await;
        assert_problem(&r, 401, &format!("sign-up {signing:?}"));
    }
    let r = origin.get("/api/v1/cities/rome/vehicles").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(stack.count_local("eu-west", "vehicles", "true").await, 0);
    assert_eq!(
        stack
            .count_local("eu-west", "users", "email = 'x@example.com'")
            .await,
        0
    );
    // The health routes need no signature; readiness and metrics are not public at all.
    for path in ["/ping", "/healthz"] {
        let r = origin.get(path).signing(Signing::Missing).send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    for path in ["/readyz", "/metrics"] {
        let r = origin.get(path).signing(Signing::Missing).send().await;
        assert_eq!(r.status, 404, "{path} on the public listener: {}", r.text());
        let (status, _) = origin.admin(path).await;
        assert_eq!(status, 200, "{path} on the admin listener");
    }
    let (_, metrics) = origin.admin("/metrics").await;
    assert!(metrics.contains("roam_http_requests_total"), "{metrics}");
    assert!(metrics.contains("status=\"401\""));
    stack.cleanup().await;
}
