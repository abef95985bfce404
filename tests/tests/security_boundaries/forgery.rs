//! Forgery: what a client claims in `x-roam-*` headers and bookmarks changes nothing, and an
//! origin refuses any request the edge did not sign.

use reqwest::Method;
use roam_e2e::client::{email, uuid_like};
use roam_e2e::db::{local_rows, vehicles_by_marker};
use roam_e2e::place::ROME;
use roam_e2e::signer::{unix_now, Signer, Signing};
use serde_json::json;

use crate::{world, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn forged_roam_headers_and_bookmarks_from_a_client_change_nothing() {
    let world = world().await;
    let user = world.user(ROME);
    let zeros = "0".repeat(64);
    let ts = unix_now().to_string();
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
    let email = email("forger");
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
    let future = format!("b1.{}.AAAAAAAAAAAAAAAAAAAAAA", (unix_now() + 86_400) * 1000);
    let cached = user
        .send(Method::GET, list, None, &[("x-roam-bookmark", &future)])
        .await
        .expect(200);
    assert_eq!(cached.header("x-roam-cache"), "hit", "{cached:#?}");
}

/// The ways a request can be (mis)signed, by name.
const SIGNINGS: [(&str, Signing); 7] = [
    ("missing", Signing::Missing),
    ("other-key", Signing::OtherKey),
    ("replayed", Signing::Replayed(120)),
    ("from-the-future", Signing::Replayed(-120)),
    ("tampered-body", Signing::TamperedBody),
    ("tampered-tag", Signing::TamperedTag),
    ("valid", Signing::Valid),
];

#[tokio::test(flavor = "multi_thread")]
async fn an_origin_refuses_what_the_edge_did_not_sign() {
    let world = world().await;
    let user = world.signed_in(ROME, "signer", PASSWORD).await;
    let token = user.token.clone().expect("a token");
    let run = format!("unsigned{}", uuid_like());
    for region in ["eu-west", "us-east"] {
        let signer = world.signer(region);
        for (name, signing) in SIGNINGS {
            let marker = format!("{run}-{region}-{name}");
            write_and_read(&signer, &token, &marker, signing).await;
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

/// Adds a vehicle at `marker` and reads Rome's list, both signed per `signing`: 201 and 200
/// when valid, else 401 (problem+json for the write).
async fn write_and_read(signer: &Signer, token: &str, marker: &str, signing: Signing) {
    let answer = signer.add_rome_bike(token, marker, marker, signing).await;
    let expected = if signing == Signing::Valid { 201 } else { 401 };
    assert_eq!(answer.status, expected, "{marker}: {}", answer.text());
    if expected == 401 {
        assert_eq!(answer.header("content-type"), "application/problem+json");
    }
    let read = signer
        .send("GET", "/api/v1/cities/rome/vehicles", b"", &[], signing)
        .await;
    // (A tampered read carries one byte of body its signature did not cover.)
    let expected_read = if signing == Signing::Valid { 200 } else { 401 };
    assert_eq!(read.status, expected_read, "{marker} read");
}
