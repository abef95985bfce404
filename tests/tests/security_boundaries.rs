//! Nothing forged gets in: client-sent `x-roam-*` headers and bookmarks change nothing, an
//! origin refuses anything the edge did not sign (missing, wrong key, replayed, tampered), a
//! session token signed with another key, expired or altered is refused, one user can neither
//! end nor read another's ride, and a password never appears in an answer or a log line.
//!
//! One stack and one edge serve the file.

mod edge_support;
mod fault_support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edge_support::{local_rows, start_edge_for, start_stack, uuid_like, User, ROME};
use fault_support::{pairs, partition, signed_in, sql, vehicles_by_marker, Signer, Signing};
use reqwest::Method;
use roam_shared::signature::SharedSecret;
use roam_shared::token::{self, SessionClaims};
use roam_stack::edge::EdgeProcess;
use roam_stack::Stack;
use serde_json::json;
use tokio::sync::OnceCell;

const PASSWORD: &str = "security boundaries password";

struct World {
    stack: Stack,
    edge: EdgeProcess,
}

/// Statics are never dropped: the stack's and edge's reapers stop them when the binary exits.
async fn world() -> &'static World {
    static WORLD: OnceCell<World> = OnceCell::const_new();
    WORLD
        .get_or_init(|| async {
            let stack = start_stack("security").await;
            let edge = start_edge_for("security", stack.origin_urls(), &stack.options.secret).await;
            World { stack, edge }
        })
        .await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_roam_headers_and_bookmarks_from_a_client_change_nothing() {
    let world = world().await;
    let user = User::new(&world.edge.url(), ROME);
    let zeros = "0".repeat(64);
    let ts = now().to_string();
    let forged = [
        ("x-roam-city", "Los Angeles"),
        ("x-roam-country", "US"),
        ("x-roam-region", "us-west"),
        ("x-roam-colo", "LAX"),
        ("x-roam-lat", "34.05"),
        ("x-roam-lon", "-118.24"),
        ("x-roam-timestamp", ts.as_str()),
        ("x-roam-signature", zeros.as_str()),
        ("x-roam-served-by", "us-west"),
    ];
    let ping = user
        .send(Method::GET, "/ping", None, &forged)
        .await
        .expect(200);
    assert_eq!(ping.body["region"], "eu-west", "{ping:#?}");
    assert_eq!(ping.body["country"], "IT");

    // Sign-up without a city: the detected one (Rome), not the forged one, and stored there.
    let email = edge_support::email("forger");
    let body = json!({"email": email, "name": "Mallory", "password": PASSWORD});
    let signed_up = user
        .send(Method::POST, "/api/v1/users", Some(&body), &forged)
        .await
        .expect(201);
    assert_eq!(signed_up.body["city"], "rome", "{signed_up:#?}");
    let id = signed_up.body["id"].as_str().expect("an id");
    assert_eq!(local_rows(&world.stack, "eu-west", "users", id).await, 1);
    assert_eq!(local_rows(&world.stack, "us-west", "users", id).await, 0);

    // A bookmark the client made up (far future, unsigned) does not bypass the cache.
    let list = "/api/v1/cities/rome/vehicles?status=available";
    user.get(list).await.expect(200);
    let future = format!("b1.{}.AAAAAAAAAAAAAAAAAAAAAA", (now() + 86_400) * 1000);
    let cached = user
        .send(Method::GET, list, None, &[("x-roam-bookmark", &future)])
        .await
        .expect(200);
    assert_eq!(cached.header("x-roam-cache"), "hit", "{cached:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_origin_refuses_what_the_edge_did_not_sign() {
    let world = world().await;
    let user = signed_in(&world.edge.url(), ROME, "signer", PASSWORD).await;
    let token = user.token.clone().expect("a token");
    let run = format!("unsigned{}", uuid_like());
    for region in ["eu-west", "us-east"] {
        let origin = world.stack.origin(region).expect("an origin").url();
        let signer = Signer::new(&origin, &world.stack.options.secret);
        for (name, signing) in [
            ("missing", Signing::Missing),
            ("other-key", Signing::OtherKey),
            ("replayed", Signing::Replayed(120)),
            ("from-the-future", Signing::Replayed(-120)),
            ("tampered-body", Signing::TamperedBody),
            ("tampered-tag", Signing::TamperedTag),
            ("valid", Signing::Valid),
        ] {
            let marker = format!("{run}-{region}-{name}");
            let body = serde_json::to_vec(&json!({"type": "bike", "last_location": marker}))
                .expect("JSON");
            let headers = pairs(&[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
                ("idempotency-key", &marker),
            ]);
            let answer = signer
                .send(
                    "POST",
                    "/api/v1/cities/rome/vehicles",
                    &body,
                    &headers,
                    signing,
                )
                .await;
            let expected = if signing == Signing::Valid { 201 } else { 401 };
            assert_eq!(
                answer.status,
                expected,
                "{region} {name}: {}",
                answer.text()
            );
            if expected == 401 {
                assert_eq!(answer.header("content-type"), "application/problem+json");
            }
            let read = signer
                .send("GET", "/api/v1/cities/rome/vehicles", b"", &[], signing)
                .await;
            // (A tampered read carries one byte of body its signature did not cover.)
            let expected_read = if signing == Signing::Valid { 200 } else { 401 };
            assert_eq!(read.status, expected_read, "{region} {name} read");
        }
    }
    let rows = vehicles_by_marker(&world.stack, "eu-west", &run).await;
    let written: Vec<&String> = rows.keys().collect();
    assert_eq!(
        written,
        [
            &format!("{run}-eu-west-valid"),
            &format!("{run}-us-east-valid")
        ],
        "only the validly signed writes took effect"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_signed_with_another_key_expired_or_altered_are_refused() {
    let world = world().await;
    let real = signed_in(&world.edge.url(), ROME, "holder", PASSWORD).await;
    let token = real.token.clone().expect("a token");
    let secret = SharedSecret::parse(&world.stack.options.secret).expect("the secret");
    let claims = token::verify(&secret.clone().into(), &token, now()).expect("a valid token");

    let other_key = SharedSecret::parse("somebody-elses-secret-entirely").expect("a secret");
    let expired = SessionClaims {
        iat: now() - 7_200,
        exp: now() - 3_600,
        ..claims.clone()
    };
    // The same tag over other claims: another user, another home city.
    let mut pieces = token.rsplitn(3, '.');
    let (tag, _, version_and_key) = (
        pieces.next().expect("a tag"),
        pieces.next().expect("claims"),
        pieces.next().expect("a version and key id"),
    );
    let altered_claims = SessionClaims {
        sub: uuid_sub(),
        city: "paris".into(),
        ..claims.clone()
    };
    let altered = format!(
        "{version_and_key}.{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered_claims).expect("JSON"))
    );
    let body_only = token
        .rsplit_once('.')
        .map(|(b, _)| format!("{b}."))
        .expect("a body");
    let flipped = {
        let mut t = token.clone().into_bytes();
        let i = t.len() - 3;
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).expect("ASCII")
    };
    let cases = [
        ("another key", token::issue(&other_key, &claims)),
        ("expired", token::issue(&secret, &expired)),
        ("altered claims", altered),
        ("no tag", body_only),
        ("flipped tag", flipped),
        ("garbage", "v1.garbage".to_string()),
        ("too long", format!("v1.{}", "A".repeat(5_000))),
    ];
    let origin = world.stack.origin("eu-west").expect("an origin").url();
    let signer = Signer::new(&origin, &world.stack.options.secret);
    for (name, bad) in &cases {
        let mut user = real.clone();
        user.token = Some(bad.clone());
        let write = user
            .post(
                "/api/v1/cities/rome/vehicles",
                &json!({"type": "bike", "last_location": format!("token-{name}")}),
            )
            .await;
        assert_eq!(write.status.as_u16(), 401, "{name}: {write:#?}");
        assert_eq!(write.header("content-type"), "application/problem+json");
        let read = user.get("/api/v1/me/rides").await;
        assert_eq!(read.status.as_u16(), 401, "{name}: {read:#?}");
        // As a cookie, the browser's way.
        let mut anonymous = real.clone();
        anonymous.token = None;
        let cookie = format!("roam_session={bad}");
        let read = anonymous
            .send(
                Method::GET,
                "/api/v1/me/rides",
                None,
                &[("cookie", &cookie)],
            )
            .await;
        assert_eq!(read.status.as_u16(), 401, "{name} (cookie): {read:#?}");
        // Straight at an origin, validly signed by the edge: still refused.
        let direct = signer
            .send(
                "GET",
                "/api/v1/me/rides",
                b"",
                &pairs(&[("authorization", &format!("Bearer {bad}"))]),
                Signing::Valid,
            )
            .await;
        assert_eq!(direct.status, 401, "{name} (origin)");
    }
    // The real one works, so the refusals above are the tokens' doing.
    real.get("/api/v1/me/rides").await.expect(200);
}

fn uuid_sub() -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_user_can_neither_end_nor_read_another_users_ride() {
    let world = world().await;
    let base = world.edge.url();
    let (alice, bob) = tokio::join!(
        signed_in(&base, ROME, "alice", PASSWORD),
        signed_in(&base, ROME, "bob", PASSWORD)
    );
    let vehicle = alice
        .post(
            "/api/v1/cities/rome/vehicles",
            &json!({"type": "bike", "last_location": "Campo de' Fiori"}),
        )
        .await
        .expect(201);
    let ride = alice
        .post(
            "/api/v1/cities/rome/rides",
            &json!({"vehicle_id": vehicle.body["id"]}),
        )
        .await
        .expect(201);
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
    let wrong = format!("{password}-wrong");
    let email = edge_support::email("secretive");
    let user = User::new(&world.edge.url(), ROME);
    let signup = json!({"email": email, "name": "Grace", "password": password});
    let mut answers = vec![
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
    ];
    // A password in the wrong place of a malformed body is not echoed either.
    answers.push(
        user.send(
            Method::POST,
            "/api/v1/sessions",
            None,
            &[
                ("content-type", "application/json"),
                ("x-password", password.as_str()),
            ],
        )
        .await,
    );
    for answer in &answers {
        let text = format!("{:?} {}", answer.headers, answer.body);
        assert!(
            !text.contains(&password) && !text.contains("argon2"),
            "an answer leaks the password or its hash: {answer:#?}"
        );
    }

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut logs: Vec<std::path::PathBuf> = world
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
                !line.contains(&password),
                "{} logs the password: {line}",
                path.display()
            );
        }
    }
    let edge_log = std::fs::read_to_string(world.edge.options.log_file()).unwrap_or_default();
    assert!(
        edge_log.contains("POST /api/v1/sessions"),
        "the edge log records requests, so the grep means something"
    );
    eprintln!(
        "FIGURES password grep: {} log files, {lines} lines, 0 hits",
        logs.len()
    );
}
