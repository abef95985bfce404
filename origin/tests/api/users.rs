//! Sign-up and log-in: one account per email across all regions.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{assert_all_one_201, assert_problem, spawn_stack, Resp, TestStack, PASSWORD};

#[tokio::test]
async fn one_email_signed_up_through_three_regions_at_once_gives_one_account() {
    let stack = spawn_stack().await;
    for round in 0..20 {
        let email = format!("race{round}-{}@example.com", uuid::Uuid::new_v4().simple());
        let attempts = [
            ("us-east", "boston"),
            ("us-west", "seattle"),
            ("eu-west", "rome"),
        ]
        .map(|(via, city)| stack.origin(via).sign_up(&email, "Racer", city).send());
        let responses = join_all(attempts).await;
        let mut statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409, 409],
            "round {round}: {:?}",
            responses.iter().map(|r| r.text()).collect::<Vec<_>>()
        );
        let mut total = 0;
        for region in ["us-east", "us-west", "eu-west"] {
            total += stack
                .count_local(region, "users", &format!("email = '{email}'"))
                .await;
        }
        assert_eq!(total, 1, "round {round}");
        // The winner can log in through any origin, whatever its case.
        let r = stack
            .origin("us-west")
            .log_in(&email.to_uppercase(), PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("v2.")));
        assert!(r.text().find("password").is_none(), "no hash in the body");
    }
    stack.cleanup().await;
}

/// Signs `body` (no city) up through `via`'s origin, the edge having detected the user in the
/// city named `detected` (`x-roam-city`).
async fn sign_up_detected_in(stack: &TestStack, via: &str, body: Value, detected: &str) -> Resp {
    let sign_up = stack.origin(via).post("/api/v1/users", body);
    sign_up.header("x-roam-city", detected).send().await
}

#[tokio::test]
async fn sign_up_defaults_the_city_and_log_in_refuses_alike() {
    let stack = spawn_stack().await;
    let body = json!({"email": "Ada@Example.com", "name": "Ada", "password": "correct horse"});
    let r = sign_up_detected_in(&stack, "us-west", body.clone(), "Roma").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        (r.json()["city"].as_str(), r.json()["email"].as_str()),
        (Some("rome"), Some("ada@example.com"))
    );
    assert!(r.json().get("password_hash").is_none());
    assert_eq!(
        stack
            .count_local("eu-west", "users", "email = 'ada@example.com'")
            .await,
        1
    );
    let r = sign_up_detected_in(&stack, "us-east", body, "Rome").await;
    assert_problem(&r, 409, "same email again");
    // Nothing detected and nothing given: the city is the field at fault.
    let bo = json!({"email": "bo@example.com", "name": "Bo", "password": "correct horse"});
    let r = sign_up_detected_in(&stack, "us-east", bo, "Tokyo").await;
    assert_problem(&r, 422, "undetected city");
    let wrong_password = stack
        .origin("us-east")
        .log_in("ada@example.com", "wrong horse")
        .send()
        .await;
    let unknown = stack
        .origin("us-east")
        .log_in("nobody@example.com", "wrong horse")
        .send()
        .await;
    assert_problem(&wrong_password, 401, "wrong password");
    // Alike but for the trace id, which names the request, not the account.
    let without_trace = |r: &Resp| {
        let mut body = r.json();
        body.as_object_mut().map(|o| o.remove("trace_id"));
        body
    };
    assert_eq!(
        without_trace(&wrong_password),
        without_trace(&unknown),
        "no hint which one was wrong"
    );
    let r = stack.origin("us-east").log_out().send().await;
    assert_eq!(r.status, 204);
    stack.cleanup().await;
}

#[tokio::test]
async fn a_retried_sign_up_is_answered_once_even_concurrently() {
    let stack = spawn_stack().await;
    let via = ["us-east", "us-west", "eu-west", "us-east", "eu-west"];
    let attempts = via.map(|region| {
        stack
            .origin(region)
            .sign_up("twice@example.com", "Twice", "paris")
            .key("sign-up-once")
            .send()
    });
    assert_all_one_201(&join_all(attempts).await);
    assert_eq!(
        stack
            .count_local("eu-west", "users", "email = 'twice@example.com'")
            .await,
        1
    );
    // A different sign-up reusing the key is refused; the claim it made is released.
    let other = || {
        stack
            .origin("us-east")
            .sign_up("third@example.com", "Third", "paris")
    };
    let r = other().key("sign-up-once").send().await;
    assert_problem(&r, 422, "key reused for another sign-up");
    let r = other().send().await;
    assert_eq!(
        r.status,
        201,
        "the email was not left claimed: {}",
        r.text()
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn an_orphaned_claim_blocks_an_email_only_until_it_is_stale() {
    let stack = spawn_stack().await;
    let map = roam_shared::RegionMap::builtin();
    let orphan = |email: &str, age: &str| {
        let key = roam_shared::email_claim::ClaimKey::development();
        let hash = key.hash(email);
        let region = roam_shared::email_claim::claim_region(map, &hash)
            .name
            .clone();
        let sql = format!(
            "INSERT INTO email_claims (region, email_hash, key_id, user_id, city, created_at) \
             VALUES ('{region}', '{hash}', 'dev', '{}', 'rome', now() - interval '{age}')",
            uuid::Uuid::new_v4()
        );
        (region, sql)
    };
    // A sign-up that failed and could not release its claim left these behind.
    for (email, age) in [
        ("fresh@example.com", "1 second"),
        ("old@example.com", "1 hour"),
    ] {
        let (region, sql) = orphan(email, age);
        sqlx::query(&sql)
            .execute(stack.node(&region))
            .await
            .unwrap();
    }
    let sign_up = |email: &str| stack.origin("us-west").sign_up(email, "N", "rome").send();
    assert_problem(
        &sign_up("fresh@example.com").await,
        409,
        "a recent claim may still be in use",
    );
    let r = sign_up("old@example.com").await;
    assert_eq!(r.status, 201, "a stale orphan is taken over: {}", r.text());
    assert_problem(
        &sign_up("old@example.com").await,
        409,
        "and now it is really taken",
    );
    stack.cleanup().await;
}
