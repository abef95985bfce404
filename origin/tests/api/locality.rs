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

/// Statement counts of every node, with the node's evictions so far.
async fn snapshot(stack: &TestStack) -> Vec<(&'static str, (i64, i64))> {
    let mut counts = Vec::new();
    for region in REGIONS {
        counts.push((region, stack.statement_calls(region, &USER_TABLES).await));
    }
    counts
}

/// Per node, how many statements ran since `before`; panics if the node evicted statistics
/// meanwhile (the count would be wrong, not the behaviour).
async fn since(
    stack: &TestStack,
    before: &[(&'static str, (i64, i64))],
) -> Vec<(&'static str, i64)> {
    let after = snapshot(stack).await;
    before
        .iter()
        .zip(after)
        .map(|((region, (b, evicted_before)), (_, (a, evicted_after)))| {
            assert_eq!(
                evicted_before, &evicted_after,
                "{region}: pg_stat_statements evicted entries during the count: raise \
                 pg_stat_statements.max in the nodes' settings"
            );
            (*region, a - b)
        })
        .collect()
}

fn ran_on(deltas: &[(&'static str, i64)], region: &str) -> i64 {
    deltas.iter().find(|(r, _)| *r == region).map_or(0, |d| d.1)
}

/// Asserts, per `(region, statements, why)`, exactly how many statements ran on that node.
fn assert_ran(deltas: &[(&'static str, i64)], expected: &[(&str, i64, &str)]) {
    for (region, statements, why) in expected {
        assert_eq!(
            ran_on(deltas, region),
            *statements,
            "{region}: {why}: {deltas:?}"
        );
    }
}

/// Asserts statements ran on eu-west (home) and none on another node, for `why`.
fn assert_stayed_in_eu_west(deltas: &[(&'static str, i64)], why: &str) {
    assert!(ran_on(deltas, "eu-west") >= 1, "{deltas:?}");
    assert_ran(deltas, &[("us-east", 0, why), ("us-west", 0, why)]);
}

/// The rider's rides through eu-west's origin, `recent_writes` naming the regions written to
/// (the read-your-writes bookmark), if any; asserts it lists the rider's one ride.
async fn my_rides_through_eu_west(
    stack: &TestStack,
    token: &str,
    recent_writes: Option<&str>,
) -> serde_json::Value {
    let mut request = stack.origin("eu-west").my_rides(token);
    if let Some(regions) = recent_writes {
        request = request.header("x-roam-recent-writes", regions);
    }
    let r = request.send().await;
    let listed = r.json()["rides"].as_array().map(Vec::len);
    assert_eq!(listed, Some(1), "{}", r.text());
    r.json()
}

/// A rider at home in Rome (eu-west) whose email's claim is on `claim_region`'s node; its email.
async fn rome_rider_claimed_on(stack: &TestStack, claim_region: &str) -> String {
    let email = email_claimed_on(claim_region);
    stack.sign_up("eu-west", &email, "Locality", "rome").await;
    email
}

#[tokio::test]
async fn a_log_in_at_home_and_a_home_riders_history_never_leave_the_region() {
    let stack = spawn_stack().await;
    // The claim on another node, so a log-in that asked the claim would show there.
    let email = rome_rider_claimed_on(&stack, "us-east").await;
    let before = snapshot(&stack).await;
    let token = stack.log_in("eu-west", &email).await;
    let claim_not_asked = "the claim (on us-east) was not asked";
    assert_stayed_in_eu_west(&since(&stack, &before).await, claim_not_asked);

    let vehicle = stack.vehicle("rome", &token).await;
    stack.start_ride("eu-west", "rome", vehicle, &token).await;
    let before = snapshot(&stack).await;
    my_rides_through_eu_west(&stack, &token, Some("eu-west")).await;
    assert_stayed_in_eu_west(&since(&stack, &before).await, "the history is at home");
    stack.cleanup().await;
}

#[tokio::test]
async fn a_rider_who_rode_elsewhere_costs_one_statement_per_region_ridden_in() {
    let stack = spawn_stack().await;
    let email = rome_rider_claimed_on(&stack, "eu-west").await;
    let token = stack.log_in("eu-west", &email).await;
    let (_, owner) = stack.user("boston").await;
    let vehicle = stack.vehicle("new-york", &owner).await;
    stack
        .start_ride("us-east", "new-york", vehicle, &token)
        .await;
    // Read-your-writes before the job has run: the bookmark names us-east.
    let before = snapshot(&stack).await;
    let rides = my_rides_through_eu_west(&stack, &token, Some("us-east")).await;
    assert_eq!(rides["rides"][0]["city"], "new-york", "{rides}");
    // The same cost both times: one statement where the rider rode, none elsewhere.
    let only_us_east = [
        ("us-east", 1, "one statement there"),
        ("us-west", 0, "never a region without rides"),
    ];
    assert_ran(&since(&stack, &before).await, &only_us_east);
    // Once the job has told the rider's home, no bookmark is needed, and still only us-east.
    stack.until_rider_regions("eu-west", 1).await;
    let before = snapshot(&stack).await;
    my_rides_through_eu_west(&stack, &token, None).await;
    assert_ran(&since(&stack, &before).await, &only_us_east);
    stack.cleanup().await;
}

#[tokio::test]
async fn a_travellers_log_in_asks_the_claims_node_and_home_only() {
    let stack = spawn_stack().await;
    let email = rome_rider_claimed_on(&stack, "us-west").await;
    let before = snapshot(&stack).await;
    stack.log_in("us-east", &email).await;
    let deltas = since(&stack, &before).await;
    assert_ran(
        &deltas,
        &[
            ("us-west", 1, "the claim, once"),
            ("eu-west", 1, "the user by id at home"),
            ("us-east", 1, "the local look-up"),
        ],
    );
    stack.cleanup().await;
}
