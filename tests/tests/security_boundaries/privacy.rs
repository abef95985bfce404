//! Privacy: one user can neither end nor read another's ride, and a password never appears
//! in an answer or a log line.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use roam_e2e::client::{email, uuid_like, Answer, User};
use roam_e2e::db::{partition, sql};
use roam_e2e::place::ROME;
use roam_e2e::world::World;
use serde_json::json;

use crate::{world, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn one_user_can_neither_end_nor_read_another_users_ride() {
    let world = world().await;
    let (alice, bob) = tokio::join!(
        world.signed_in(ROME, "alice", PASSWORD),
        world.signed_in(ROME, "bob", PASSWORD)
    );
    let vehicle = alice.add_bike("rome", "Campo de' Fiori").await;
    let ride = alice.start_ride("rome", &vehicle).await;
    let ride_id = ride.body["id"].as_str().expect("a ride id").to_string();

    let end = |city: &str| format!("/api/v1/cities/{city}/rides/{ride_id}/end");
    let stolen = bob.post(&end("rome"), &json!({"location": "Ostia"})).await;
    assert!(matches!(stolen.status.as_u16(), 403 | 404), "{stolen:#?}");
    assert_eq!(stolen.header("content-type"), "application/problem+json");
    let elsewhere = bob.post(&end("paris"), &json!({"location": "Ostia"})).await;
    assert_eq!(elsewhere.status.as_u16(), 404, "{elsewhere:#?}");
    let open = sql(
        &world.stack,
        "eu-west",
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE id = '{ride_id}' AND end_time IS NULL",
            partition("rides", "eu-west")
        ),
    )
    .await;
    assert_eq!(open, ["1"], "the ride is still Alice's and still open");

    let bobs = bob.get("/api/v1/me/rides").await.expect(200);
    assert!(
        !bobs.body.to_string().contains(&ride_id),
        "Bob cannot read Alice's ride: {bobs:#?}"
    );
    let alices = alice.get("/api/v1/me/rides").await.expect(200);
    assert!(alices.body.to_string().contains(&ride_id));
    alice
        .post(&end("rome"), &json!({"location": "Ostia"}))
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_never_appears_in_an_answer_or_a_log_line() {
    let world = world().await;
    let password = format!("Pw-{}-never-logged", uuid_like());
    let answers = sign_ups_and_log_ins(&world.user(ROME), &password).await;
    for answer in &answers {
        let text = format!("{:?} {}", answer.headers, answer.body);
        assert!(
            !text.contains(&password) && !text.contains("argon2"),
            "an answer leaks the password or its hash: {answer:#?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (files, lines) = assert_no_log_line_has(world, &password);
    let edge_log = std::fs::read_to_string(world.edge.options.log_file()).unwrap_or_default();
    assert!(
        edge_log.contains("POST /api/v1/sessions"),
        "the edge log records requests, so the grep means something"
    );
    eprintln!("FIGURES password grep: {files} log files, {lines} lines, 0 hits");
}

/// Sign-ups and log-ins with `password`, right, wrong and malformed: their answers.
async fn sign_ups_and_log_ins(user: &User, password: &str) -> Vec<Answer> {
    let wrong = format!("{password}-wrong");
    let email = email("secretive");
    let signup = json!({"email": email, "name": "Grace", "password": password});
    vec![
        user.post("/api/v1/users", &signup).await.expect(201),
        user.post("/api/v1/users", &signup).await.expect(409),
        user.post(
            "/api/v1/users",
            &json!({"email": "not an email", "name": "Grace", "password": password}),
        )
        .await
        .expect(422),
        user.post(
            "/api/v1/users",
            &json!({"email": email, "name": "Grace", "password": password, "city": "atlantis"}),
        )
        .await,
        user.post(
            "/api/v1/sessions",
            &json!({"email": email, "password": wrong}),
        )
        .await
        .expect(401),
        user.post(
            "/api/v1/sessions",
            &json!({"email": email, "password": password}),
        )
        .await
        .expect(200),
        // A password in the wrong place of a malformed body is not echoed either.
        user.send(
            Method::POST,
            "/api/v1/sessions",
            None,
            &[
                ("content-type", "application/json"),
                ("x-password", password),
            ],
        )
        .await,
    ]
}

/// Panics if a line of any origin's or the edge's log holds `secret`; returns how many files
/// and lines were read.
fn assert_no_log_line_has(world: &World, secret: &str) -> (usize, usize) {
    let mut logs: Vec<PathBuf> = world
        .stack
        .origins
        .iter()
        .map(|o| o.options.log_file.clone())
        .collect();
    logs.push(world.edge.options.log_file());
    let mut lines = 0;
    for path in &logs {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        lines += text.lines().count();
        for line in text.lines() {
            assert!(
                !line.contains(secret),
                "{} logs the password: {line}",
                path.display()
            );
        }
    }
    (logs.len(), lines)
}
