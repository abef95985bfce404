//! Correct under concurrency: one winner per vehicle, one effect per idempotency key.

use futures::future::join_all;

use crate::helpers::{assert_all_one_201, spawn_stack, Resp, TestStack, REGIONS};

#[tokio::test]
async fn fifty_concurrent_starts_on_one_vehicle_give_one_ride() {
    let stack = spawn_stack().await;
    let (token, vehicle) = stack.user_with_vehicle("seattle").await;
    // Spread over all three origins: two of them reach the vehicle through postgres_fdw.
    let requests = (0..50).map(|i| {
        stack
            .origin(REGIONS[i % 3])
            .start_ride("seattle", vehicle)
            .token(&token)
            .send()
    });
    let responses = join_all(requests).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
    let filter = format!("vehicle_id = '{vehicle}'");
    assert_eq!(stack.count_local("us-west", "rides", &filter).await, 1);
    let status: String = sqlx::query_scalar("SELECT status FROM vehicles WHERE id = $1")
        .bind(vehicle)
        .fetch_one(stack.node("us-west"))
        .await
        .unwrap();
    assert_eq!(status, "unavailable");
    stack.cleanup().await;
}

#[tokio::test]
async fn ten_concurrent_identical_writes_have_one_effect_and_one_answer() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("amsterdam").await;
    // Through the home origin (local partition) and through a far one (foreign partition).
    the_same_vehicle_ten_times_at_once(&stack, &token, "eu-west", 1).await;
    the_same_vehicle_ten_times_at_once(&stack, &token, "us-west", 2).await;
    the_same_ride_start_ten_times_at_once(&stack, &token).await;
    stack.cleanup().await;
}

/// Adds an amsterdam vehicle of `kind` through `origin`, under idempotency key `key`.
async fn add_keyed(stack: &TestStack, origin: &str, token: &str, key: &str, kind: &str) -> Resp {
    stack
        .origin(origin)
        .add_vehicle("amsterdam", kind, "Dam Square")
        .token(token)
        .key(key)
        .send()
        .await
}

/// Ten identical adds through `via` at once, one key: one 201 answered ten times (nine
/// replays), one row (`vehicles_after` amsterdam vehicles in all), one idempotency record.
/// Later: the same answer again; the same key with another body is refused.
async fn the_same_vehicle_ten_times_at_once(
    stack: &TestStack,
    token: &str,
    via: &str,
    vehicles_after: i64,
) {
    let key = format!("vehicle-{via}");
    let responses =
        join_all((0..10).map(|_| add_keyed(stack, via, token, &key, "skateboard"))).await;
    let first = &responses[0];
    assert_eq!(first.status, 201, "{}", first.text());
    for r in &responses {
        assert_eq!(
            (r.status, &r.body),
            (first.status, &first.body),
            "via {via}"
        );
    }
    let replays = responses
        .iter()
        .filter(|r| r.header("idempotent-replay") == Some("true"))
        .count();
    assert_eq!(replays, 9, "via {via}");
    let id = first.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        stack
            .count_local("eu-west", "vehicles", "city = 'amsterdam'")
            .await,
        vehicles_after
    );
    assert_eq!(
        stack
            .count_local("eu-west", "idempotency", &format!("key = '{key}'"))
            .await,
        1
    );
    let again = add_keyed(stack, "us-east", token, &key, "skateboard").await;
    assert_eq!(
        (again.status, again.json()["id"].as_str()),
        (201, Some(id.as_str()))
    );
    let r = add_keyed(stack, via, token, &key, "bike").await;
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("idempotency-key")),
        "{}",
        r.text()
    );
}

/// Starting a ride: duplicates must replay the 201, not answer 409 for the vehicle the first
/// one took.
async fn the_same_ride_start_ten_times_at_once(stack: &TestStack, token: &str) {
    let vehicle = stack.vehicle("paris", token).await;
    let requests = (0..10).map(|i| {
        stack
            .origin(REGIONS[i % 3])
            .start_ride("paris", vehicle)
            .token(token)
            .key("ride-once")
            .send()
    });
    assert_all_one_201(&join_all(requests).await);
    assert_eq!(
        stack
            .count_local("eu-west", "rides", &format!("vehicle_id = '{vehicle}'"))
            .await,
        1
    );
}

#[tokio::test]
async fn a_region_without_a_peer_url_is_unavailable_not_reached_through_postgres_fdw() {
    // Statements name the node's own partition (`here.*`): us-east's node cannot answer for
    // Seattle, so without us-west's URL the write is refused, clearly, and lands nowhere.
    let stack = crate::helpers::spawn_stack_with(|c| c.peers.clear()).await;
    let (_, token) = stack.user("new-york").await;
    let us_east = stack.origin("us-east");
    let r = us_east
        .add_vehicle("seattle", "scooter", "nowhere to be found")
        .token(&token)
        .send()
        .await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text()
    );
    assert_eq!(
        stack
            .count_local(
                "us-west",
                "vehicles",
                "last_location = 'nowhere to be found'"
            )
            .await,
        0
    );
    let r = us_east
        .add_vehicle("new-york", "scooter", "1 Main St")
        .token(&token)
        .send()
        .await;
    assert_eq!(
        r.status,
        201,
        "its own region's cities still work: {}",
        r.text()
    );
    stack.cleanup().await;
}

/// Someone on us-west's node changes a Seattle vehicle and holds the row while a ride on it
/// starts through us-east; then they commit. Returns the start's answer.
async fn start_while_the_home_node_holds_the_row(
    stack: &crate::helpers::TestStack,
    token: &str,
    vehicle: uuid::Uuid,
) -> crate::helpers::Resp {
    let mut tx = stack.node("us-west").begin().await.unwrap();
    sqlx::query("UPDATE vehicles SET last_location = 'moved by a mechanic' WHERE id = $1")
        .bind(vehicle)
        .execute(&mut *tx)
        .await
        .unwrap();
    let request = stack
        .origin("us-east")
        .start_ride("seattle", vehicle)
        .token(token)
        .send();
    let request = tokio::spawn(request);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    tx.commit().await.unwrap();
    request.await.unwrap()
}

#[tokio::test]
async fn a_write_through_another_region_waits_for_a_concurrent_change_and_sees_it() {
    let stack = spawn_stack().await;
    let (token, vehicle) = stack.user_with_vehicle("seattle").await;
    // us-east writes on us-west's node directly: the start waits for the row's lock, then
    // re-reads the committed row (no retry needed, no lost update).
    let r = start_while_the_home_node_holds_the_row(&stack, &token, vehicle).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["start_location"], "moved by a mechanic");
    stack.cleanup().await;
}
