//! One write retried 20× at once under one idempotency key, across two origins and through
//! the edge, has one effect.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use roam_e2e::client::{uuid_like, User};
use roam_e2e::db::{partition, sql, vehicles_by_marker};
use roam_e2e::place::ROME;
use roam_e2e::signer::{Signer, Signing};
use roam_e2e::world::start_edge_for;
use roam_stack::Stack;
use serde_json::json;
use tokio::task::JoinSet;

use crate::{stack, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn one_write_retried_twenty_times_at_once_across_two_origins_has_one_effect() {
    let stack = stack().await;
    let edge = start_edge_for("storm", stack).await;
    let user = User::signed_in(&edge.url(), ROME, "storm", PASSWORD).await;
    let marker = format!("storm{}", uuid_like());
    let vehicle = storm_two_origins(stack, &user, &marker).await;

    // The same through the edge, on a contended effect: one ride, one unavailable vehicle.
    let ride_key = format!("{marker}-ride");
    let mut storm = JoinSet::new();
    for _ in 0..20 {
        let (user, vehicle, ride_key) = (user.clone(), vehicle.clone(), ride_key.clone());
        storm.spawn(async move {
            user.send(
                Method::POST,
                "/api/v1/cities/rome/rides",
                Some(&json!({"vehicle_id": vehicle})),
                &[("idempotency-key", &ride_key)],
            )
            .await
        });
    }
    let mut rides = BTreeSet::new();
    while let Some(joined) = storm.join_next().await {
        let answer = joined.expect("a storm task").expect(201);
        rides.insert(answer.body["id"].as_str().map(str::to_string));
    }
    let count = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE vehicle_id = '{vehicle}'",
            partition("rides", "eu-west")
        ),
    )
    .await;
    eprintln!("FIGURES retry storm (edge): 20 starts, one key → rides {rides:?}, rows {count:?}");
    assert_eq!(rides.len(), 1, "{rides:?}");
    assert_eq!(count, ["1"], "one ride");
}

/// Adds a vehicle at `marker` 20 times at once under one key, straight to two origins: Rome's
/// own, and us-east's (which writes through postgres_fdw). Every answer is a 201 naming the
/// one row there is; returns its id.
async fn storm_two_origins(stack: &Stack, user: &User, marker: &str) -> String {
    let token = user.token.clone().expect("a token");
    let key = format!("{marker}-key");
    let mut storm = JoinSet::new();
    for n in 0..20 {
        let region = if n % 2 == 0 { "eu-west" } else { "us-east" };
        let signer = Signer::for_origin(stack, region);
        let (token, marker, key) = (token.clone(), marker.to_string(), key.clone());
        storm.spawn(async move {
            let answer = signer
                .add_rome_bike(&token, &marker, &key, Signing::Valid)
                .await;
            (region, answer)
        });
    }
    let mut ids = BTreeSet::new();
    let mut statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    while let Some(joined) = storm.join_next().await {
        let (region, answer) = joined.expect("a storm task");
        *statuses.entry((region, answer.status)).or_default() += 1;
        assert_eq!(answer.status, 201, "{region}: {}", answer.text());
        ids.insert(answer.json()["id"].as_str().map(str::to_string));
    }
    let rows = vehicles_by_marker(stack, "eu-west", marker).await;
    eprintln!("FIGURES retry storm (origins): {statuses:?}, ids {ids:?}, rows {rows:?}");
    assert_eq!(ids.len(), 1, "every answer names the same vehicle: {ids:?}");
    assert_eq!(rows.get(marker).map(Vec::len), Some(1), "one row: {rows:?}");
    assert_eq!(
        ids.first().cloned().flatten().as_deref(),
        rows[marker].first().map(String::as_str)
    );
    ids.first().cloned().flatten().expect("the vehicle")
}
