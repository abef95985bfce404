//! 200 concurrent ride starts on 20 vehicles make exactly 20 rides.

use std::collections::BTreeMap;

use roam_e2e::client::{uuid_like, User};
use roam_e2e::db::{partition, sql};
use roam_e2e::place::ROME;
use roam_e2e::world::start_edge_for;
use roam_stack::Stack;
use serde_json::json;
use tokio::task::JoinSet;

use crate::{stack, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_starts_on_twenty_vehicles_make_exactly_twenty_rides() {
    let stack = stack().await;
    let edge = start_edge_for("contention", stack).await;
    let base = edge.url();
    let owner = User::signed_in(&base, ROME, "fleet", PASSWORD).await;
    let marker = format!("contended{}", uuid_like());
    let mut vehicles = Vec::new();
    for i in 0..20 {
        let added = owner.add_bike("paris", &format!("{marker}-{i}")).await;
        vehicles.push(added.body["id"].as_str().expect("an id").to_string());
    }
    // Two riders contend for each vehicle, each trying five times (a rider may hold one
    // open ride at a time, so one start per rider can win).
    let mut riders = Vec::new();
    for i in 0..40 {
        riders.push(User::signed_in(&base, ROME, &format!("rider{i}"), PASSWORD).await);
    }
    let (statuses, won) = start_at_once(&riders, &vehicles).await;
    eprintln!("FIGURES contention: 200 starts on 20 vehicles → {statuses:?}");
    assert_eq!(statuses.get(&201), Some(&20), "{statuses:?}");
    assert_eq!(statuses.get(&409), Some(&180), "{statuses:?}");
    assert!(won.values().all(|&n| n == 1), "one winner per vehicle");
    one_open_ride_each(stack, &vehicles).await;
}

/// 200 ride starts at once, rider and vehicle in turn: how many of each status, and how many
/// starts each vehicle won. Each start is won (201) or lost as problem+json (409).
async fn start_at_once(
    riders: &[User],
    vehicles: &[String],
) -> (BTreeMap<u16, usize>, BTreeMap<String, usize>) {
    let mut starts = JoinSet::new();
    for n in 0..200 {
        let rider = riders[n % riders.len()].clone();
        let vehicle = vehicles[n % vehicles.len()].clone();
        starts.spawn(async move {
            let answer = rider
                .post(
                    "/api/v1/cities/paris/rides",
                    &json!({"vehicle_id": vehicle}),
                )
                .await;
            (vehicle, answer)
        });
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut won: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(joined) = starts.join_next().await {
        let (vehicle, answer) = joined.expect("a start task");
        *statuses.entry(answer.status.as_u16()).or_default() += 1;
        match answer.status.as_u16() {
            201 => *won.entry(vehicle).or_default() += 1,
            409 => assert_eq!(
                answer.header("content-type"),
                "application/problem+json",
                "{answer:#?}"
            ),
            _ => panic!("a start was neither won nor lost: {answer:#?}"),
        }
    }
    (statuses, won)
}

/// In the database: every vehicle has exactly one ride, open, and is unavailable.
async fn one_open_ride_each(stack: &Stack, vehicles: &[String]) {
    let ids = vehicles
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rides = partition("rides", "eu-west");
    let open = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT vehicle_id || ':' || count(*) FROM \"{rides}\" \
             WHERE vehicle_id IN ({ids}) AND end_time IS NULL GROUP BY vehicle_id"
        ),
    )
    .await;
    assert_eq!(open.len(), 20, "every vehicle has an open ride: {open:?}");
    assert!(
        open.iter().all(|row| row.ends_with(":1")),
        "no vehicle has two open rides: {open:?}"
    );
    let total = sql(
        stack,
        "eu-west",
        &format!("SELECT count(*) FROM \"{rides}\" WHERE vehicle_id IN ({ids})"),
    )
    .await;
    assert_eq!(total, ["20"], "exactly 20 rides");
    let available = sql(
        stack,
        "eu-west",
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE id IN ({ids}) AND status = 'available'",
            partition("vehicles", "eu-west")
        ),
    )
    .await;
    assert_eq!(available, ["0"], "every ridden vehicle is unavailable");
}
