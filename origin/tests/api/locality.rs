//! What stays local stays local, proved by what the other nodes execute (pg_stat_statements),
//! not by timing: a log-in at home and the ride history of a rider who never left home run no
//! statement on another region's node; a rider who rode elsewhere costs exactly the regions
//! they rode in; a traveller's log-in asks the claim's node and the home node, nobody else.

use crate::helpers::{email_claimed_on, spawn_stack, TestStack, REGIONS};

/// The tables a user's requests touch.
const USER_TABLES: [&str; 5] = [
    "users",
    "email_claims",
    "rides",
    "rider_regions",
    "login_failures",
];

/// Statement counts of every node.
async fn snapshot(stack: &TestStack) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for region in REGIONS {
        counts.push((region, stack.statement_calls(region, &USER_TABLES).await));
    }
    counts
}

/// Per node, how many statements ran since `before`.
async fn since(stack: &TestStack, before: &[(&'static str, i64)]) -> Vec<(&'static str, i64)> {
    let after = snapshot(stack).await;
    before
        .iter()
        .zip(after)
        .map(|((region, b), (_, a))| (*region, a - b))
        .collect()
}

fn ran_on(deltas: &[(&'static str, i64)], region: &str) -> i64 {
    deltas.iter().find(|(r, _)| *r == region).map_or(0, |d| d.1)
}

#[tokio::test]
async fn a_log_in_at_home_and_a_home_riders_history_never_leave_the_region() {
    let stack = spawn_stack().await;
    // The claim on another node, so a log-in that asked the claim would show there.
    let email = email_claimed_on("us-east");
    stack.sign_up("eu-west", &email, "Locality", "rome").await;
    let before = snapshot(&stack).await;
    let token = stack.log_in("eu-west", &email).await;
    let deltas = since(&stack, &before).await;
    assert!(ran_on(&deltas, "eu-west") >= 1, "{deltas:?}");
    assert_eq!(
        ran_on(&deltas, "us-east"),
        0,
        "the claim was not asked: {deltas:?}"
    );
    assert_eq!(ran_on(&deltas, "us-west"), 0, "{deltas:?}");

    let vehicle = stack.vehicle("rome", &token).await;
    stack.start_ride("eu-west", "rome", vehicle, &token).await;
    let before = snapshot(&stack).await;
    let r = stack
        .origin("eu-west")
        .my_rides(&token)
        .header("x-roam-recent-writes", "eu-west")
        .send()
        .await;
    assert_eq!(
        r.json()["rides"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text()
    );
    let deltas = since(&stack, &before).await;
    assert!(ran_on(&deltas, "eu-west") >= 1, "{deltas:?}");
    assert_eq!(
        ran_on(&deltas, "us-east") + ran_on(&deltas, "us-west"),
        0,
        "{deltas:?}"
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn a_rider_who_rode_elsewhere_costs_one_statement_per_region_ridden_in() {
    let stack = spawn_stack().await;
    let email = email_claimed_on("eu-west");
    stack.sign_up("eu-west", &email, "Locality", "rome").await;
    let token = stack.log_in("eu-west", &email).await;
    let (_, owner) = stack.user("boston").await;
    let vehicle = stack.vehicle("new-york", &owner).await;
    stack
        .start_ride("us-east", "new-york", vehicle, &token)
        .await;
    // Read-your-writes before the job has run: the bookmark names us-east.
    let before = snapshot(&stack).await;
    let r = stack
        .origin("eu-west")
        .my_rides(&token)
        .header("x-roam-recent-writes", "us-east")
        .send()
        .await;
    assert_eq!(r.json()["rides"][0]["city"], "new-york", "{}", r.text());
    let deltas = since(&stack, &before).await;
    assert_eq!(
        ran_on(&deltas, "us-east"),
        1,
        "one statement there: {deltas:?}"
    );
    assert_eq!(
        ran_on(&deltas, "us-west"),
        0,
        "never a region without rides: {deltas:?}"
    );
    // Once the job has told the rider's home, no bookmark is needed, and still only us-east.
    stack.until_rider_regions("eu-west", 1).await;
    let before = snapshot(&stack).await;
    let r = stack.origin("eu-west").my_rides(&token).send().await;
    assert_eq!(
        r.json()["rides"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text()
    );
    let deltas = since(&stack, &before).await;
    assert_eq!(ran_on(&deltas, "us-east"), 1, "{deltas:?}");
    assert_eq!(ran_on(&deltas, "us-west"), 0, "{deltas:?}");
    stack.cleanup().await;
}

#[tokio::test]
async fn a_travellers_log_in_asks_the_claims_node_and_home_only() {
    let stack = spawn_stack().await;
    let email = email_claimed_on("us-west");
    stack.sign_up("eu-west", &email, "Locality", "rome").await;
    let before = snapshot(&stack).await;
    stack.log_in("us-east", &email).await;
    let deltas = since(&stack, &before).await;
    assert_eq!(ran_on(&deltas, "us-west"), 1, "the claim, once: {deltas:?}");
    assert_eq!(
        ran_on(&deltas, "eu-west"),
        1,
        "the user by id at home: {deltas:?}"
    );
    assert_eq!(
        ran_on(&deltas, "us-east"),
        1,
        "the local look-up: {deltas:?}"
    );
    stack.cleanup().await;
}
