//! Background jobs on the database queue: an ended ride gets its fare and location history from
//! its home region's workers, whichever origin ended it. A crash mid-job loses and doubles
//! nothing and a graceful stop finishes the job in hand (`stops`); a poison job is set aside
//! without blocking the others and a job run twice changes nothing (`retries`). The helpers
//! here serve all three; the measurements are in `jobs_throughput.rs`.

use std::time::{Duration, Instant};

use roam_origin::Config;
use roam_stack::pg::test_cluster;
use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::helpers::{hold_row_locks, spawn_stack, spawn_stack_with, TestOrigin, TestStack};

mod retries;
mod stops;

/// Longest a fare may take to appear.
const FARE_WITHIN: Duration = Duration::from_secs(10);

/// USD scooter (the helper's vehicle), a ride shorter than a minute: base + one minute.
const SCOOTER_ONE_MINUTE_USD: i64 = 100 + 39;

/// A configuration of `region`'s origin over the stack's database, with `workers` job workers.
async fn config(stack: &TestStack, region: &str, workers: usize) -> Config {
    let node = test_cluster().await.node(region).unwrap();
    let mut config = Config::development(region, &node.url(&stack.database)).unwrap();
    config.argon2_memory_kib = 256;
    config.jobs.workers = workers;
    config.jobs.poll_interval = Duration::from_millis(50);
    config
}

/// us-east's origin runs no jobs: they wait on its node for an origin the test starts.
pub(crate) fn no_workers_in_us_east(config: &mut Config) {
    if config.region == "us-east" {
        config.jobs.workers = 0;
    }
}

/// Starts a ride on a new vehicle of `city` and ends it through `via`; returns the ride id.
async fn ride(stack: &TestStack, via: &str, city: &str, token: &str) -> Uuid {
    let vehicle = stack.vehicle(city, token).await;
    let id = stack.start_ride(via, city, vehicle, token).await;
    let r = stack
        .origin(via)
        .end_ride(city, id, "2 Harbor Rd")
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json().get("fare_cents").is_none(),
        "no fare before the job ran: {}",
        r.text()
    );
    id
}

/// The user's rides as `/me/rides` on `via` shows them, by id.
async fn my_rides(stack: &TestStack, via: &str, token: &str) -> Vec<Value> {
    let r = stack.origin(via).my_rides(token).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["rides"].as_array().unwrap().clone()
}

/// Polls `/me/rides` until every ride in `ids` shows a fare; panics after `FARE_WITHIN`.
async fn fares(stack: &TestStack, via: &str, token: &str, ids: &[Uuid]) -> Vec<Value> {
    let deadline = Instant::now() + FARE_WITHIN;
    loop {
        let rides = my_rides(stack, via, token).await;
        let priced: Vec<Value> = rides
            .into_iter()
            .filter(|r| ids.iter().any(|id| r["id"] == json!(id)))
            .filter(|r| r["fare_cents"].is_i64())
            .collect();
        if priced.len() == ids.len() {
            return priced;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} fares within {FARE_WITHIN:?}",
            priced.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Rows of the history in `region`'s own partition for `ride`.
async fn history_rows(stack: &TestStack, region: &str, ride: Uuid) -> i64 {
    stack
        .count_local(
            region,
            "vehicle_location_history",
            &format!("ride_id = '{ride}'"),
        )
        .await
}

/// Waits until `count` returns `want`.
async fn until(what: &str, limit: Duration, mut count: impl AsyncFnMut() -> i64, want: i64) {
    let deadline = Instant::now() + limit;
    loop {
        let n = count().await;
        if n == want {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {n}, not {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Locks a boston ride's row on `node`, so a job about it waits (in hand) until the lock goes.
async fn lock_ride(node: &PgPool, id: Uuid) -> Transaction<'static, Postgres> {
    let lock = "SELECT 1 FROM rides WHERE city = 'boston' AND id = $1 FOR UPDATE";
    hold_row_locks(node, lock, id).await
}

#[tokio::test]
async fn an_ended_ride_gets_its_fare_and_its_location_history() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("boston").await;
    let id = ride(&stack, "us-east", "boston", &token).await;
    let priced = fares(&stack, "us-east", &token, &[id]).await;
    assert_eq!(priced[0]["fare_cents"], json!(SCOOTER_ONE_MINUTE_USD));
    assert_eq!(priced[0]["fare_currency"], json!("USD"));
    assert_eq!(history_rows(&stack, "us-east", id).await, 1);
    assert_eq!(
        stack
            .count_local("us-east", "jobs", "kind = 'ride_ended'")
            .await,
        0
    );
    let (_, metrics) = stack.origin("us-east").admin("/metrics").await;
    for series in [
        r#"roam_jobs_total{region="us-east",kind="ride_ended",outcome="success"}"#,
        "roam_jobs_latency_duration_seconds_bucket",
        r#"roam_jobs_queue_depth{region="us-east",status="pending"}"#,
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    stack.cleanup().await;
}

#[tokio::test]
async fn a_ride_ended_through_another_region_is_run_by_its_home_regions_workers() {
    // us-east's origin runs no jobs at first: the job must wait on us-east's node, untouched
    // by the eu-west origin that ended the ride.
    let mut stack = spawn_stack_with(no_workers_in_us_east).await;
    let (_, token) = stack.user("boston").await;
    let id = ride(&stack, "eu-west", "boston", &token).await;
    let filter =
        format!("payload->>'ride_id' = '{id}' AND kind = 'ride_ended' AND status = 'pending'");
    assert_eq!(stack.count_local("us-east", "jobs", &filter).await, 1);
    assert_eq!(
        stack
            .count_local("eu-west", "jobs", "kind = 'ride_ended'")
            .await,
        0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.count_local("us-east", "jobs", &filter).await,
        1,
        "only us-east's workers run us-east's jobs"
    );
    // A us-east origin with workers comes up; the fare shows through eu-west's origin too.
    let mut worker = TestOrigin::spawn(config(&stack, "us-east", 2).await).await;
    let priced = fares(&stack, "eu-west", &token, &[id]).await;
    assert_eq!(priced[0]["fare_cents"], json!(SCOOTER_ONE_MINUTE_USD));
    assert_eq!(history_rows(&stack, "us-east", id).await, 1);
    worker.stop().await;
    stack.origins.retain(|o| o.region != "us-east");
    stack.cleanup().await;
}
