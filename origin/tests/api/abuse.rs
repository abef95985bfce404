//! Password guessing: failed log-ins lock the account at its home, with a doubling wait; a
//! failed log-in takes no less than the floor, whatever the email.

use std::time::{Duration, Instant};

use roam_origin::Config;
use serde_json::json;

use crate::helpers::{assert_problem, email_claimed_on, spawn_stack_with};

fn quick_locks(config: &mut Config) {
    config.login_lock.free_failures = 3;
    config.login_lock.first_lock = Duration::from_secs(1);
    config.login_failure_floor = Duration::from_millis(150);
}

#[tokio::test]
async fn failed_log_ins_lock_the_account_and_a_success_clears_them() {
    let stack = spawn_stack_with(quick_locks).await;
    let email = email_claimed_on("us-west");
    let body =
        json!({"email": email, "name": "Guessed", "password": "correct horse", "city": "rome"});
    let r = stack
        .origin("eu-west")
        .post("/api/v1/users", body)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let log_in = |password: &str, via: &str| {
        let body = json!({"email": email, "password": password});
        stack.origin(via).post("/api/v1/sessions", body).send()
    };
    // Three free failures, through any region: counted at the home (eu-west).
    for via in ["eu-west", "us-east", "us-west"] {
        assert_problem(&log_in("guess", via).await, 401, "a free failure");
    }
    let locked = log_in("guess", "us-east").await;
    assert_problem(&locked, 429, "the fourth locks");
    assert_eq!(locked.header("retry-after"), Some("1"));
    assert_eq!(
        stack
            .count_local("eu-west", "login_failures", "failures = 4")
            .await,
        1
    );
    let r = log_in("correct horse", "eu-west").await;
    assert_problem(&r, 429, "even the right password waits out the lock");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = log_in("correct horse", "us-west").await;
    assert_eq!(r.status, 200, "after the lock: {}", r.text());
    assert_eq!(
        stack.count_local("eu-west", "login_failures", "true").await,
        0,
        "cleared"
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn a_failed_log_in_takes_the_floor_whether_or_not_the_email_exists() {
    let stack = spawn_stack_with(quick_locks).await;
    let email = email_claimed_on("us-west");
    let body =
        json!({"email": email, "name": "Timed", "password": "correct horse", "city": "rome"});
    let r = stack
        .origin("eu-west")
        .post("/api/v1/users", body)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    for (who, via) in [
        (email.as_str(), "eu-west"),
        (email.as_str(), "us-east"),
        ("nobody@example.com", "eu-west"),
    ] {
        let started = Instant::now();
        let body = json!({"email": who, "password": "wrong horse"});
        let r = stack
            .origin(via)
            .post("/api/v1/sessions", body)
            .send()
            .await;
        assert_problem(&r, 401, who);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(150),
            "{who} via {via}: {took:?}"
        );
    }
    stack.cleanup().await;
}
