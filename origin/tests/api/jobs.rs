//! Background jobs on the database queue: an ended ride gets its fare and location history from
//! its home region's workers, whichever origin ended it; a crash mid-job loses and doubles
//! nothing; a poison job is set aside without blocking the others; a job run twice changes
//! nothing; a graceful stop finishes the job in hand. (Past 300 lines: six scenarios over the
//! helpers at the top; the measurements are in `jobs_throughput.rs`.)

use std::time::{Duration, Instant};

use roam_origin::jobs::{self, ride_ended, Outcome};
use roam_origin::{Application, Config};
use roam_shared::RegionMap;
use roam_stack::pg::test_cluster;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{spawn_stack, spawn_stack_with, TestOrigin, TestStack};

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

#[tokio::test]
async fn jobs_pending_when_an_origin_dies_each_take_effect_once_after_restart() {
    const RIDES: usize = 12;
    let stack = spawn_stack_with(no_workers_in_us_east).await;
    let (_, token) = stack.user("boston").await;
    let mut ids = Vec::new();
    for _ in 0..RIDES {
        ids.push(ride(&stack, "us-east", "boston", &token).await);
    }
    let node = stack.node("us-east").clone();
    assert_eq!(
        stack
            .count_local("us-east", "jobs", "kind = 'ride_ended'")
            .await,
        RIDES as i64
    );
    // One ride's row is locked, so its job is in hand (claimed, mid-transaction) when the
    // origin dies; the others run.
    let mut lock = node.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM rides WHERE city = 'boston' AND id = $1 FOR UPDATE")
        .bind(ids[0])
        .execute(&mut *lock)
        .await
        .unwrap();
    let first = Application::build(config(&stack, "us-east", 4).await)
        .await
        .unwrap();
    let first = tokio::spawn(first.run_until(std::future::pending()));
    let priced = "fare_cents IS NOT NULL";
    until(
        "rides priced before the crash",
        FARE_WITHIN,
        async || stack.count_local("us-east", "rides", priced).await,
        RIDES as i64 - 1,
    )
    .await;
    // Dies without shutting down: the task and its workers are dropped mid-job.
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    lock.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        stack.count_local("us-east", "rides", priced).await,
        RIDES as i64 - 1,
        "the job in hand did not commit"
    );
    let mut second = TestOrigin::spawn(config(&stack, "us-east", 2).await).await;
    fares(&stack, "us-east", &token, &ids).await;
    until(
        "jobs left",
        FARE_WITHIN,
        async || {
            stack
                .count_local("us-east", "jobs", "kind = 'ride_ended'")
                .await
        },
        0,
    )
    .await;
    for id in &ids {
        assert_eq!(history_rows(&stack, "us-east", *id).await, 1, "ride {id}");
    }
    let fares_charged: Vec<i64> =
        sqlx::query_scalar("SELECT fare_cents FROM rides WHERE city = 'boston' AND id = ANY($1)")
            .bind(&ids)
            .fetch_all(&node)
            .await
            .unwrap();
    assert!(fares_charged.iter().all(|f| *f == SCOOTER_ONE_MINUTE_USD));
    second.stop().await;
    stack.cleanup().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_job_in_hand() {
    let stack = spawn_stack_with(no_workers_in_us_east).await;
    let (_, token) = stack.user("boston").await;
    let id = ride(&stack, "us-east", "boston", &token).await;
    let node = stack.node("us-east").clone();
    let mut lock = node.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM rides WHERE city = 'boston' AND id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut origin = TestOrigin::spawn(config(&stack, "us-east", 1).await).await;
    // Claimed: the job's row is locked by the worker, which waits on the ride's row.
    let unclaimed = async || -> i64 {
        let mut tx = node.begin().await.unwrap();
        let free: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM jobs_us_east WHERE kind = 'ride_ended' FOR UPDATE SKIP LOCKED",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        free.len() as i64
    };
    until("unclaimed jobs", FARE_WITHIN, unclaimed, 0).await;
    origin.signal_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.rollback().await.unwrap();
    assert!(origin.stopped_within(Duration::from_secs(10)).await);
    let priced = format!("id = '{id}' AND fare_cents IS NOT NULL");
    assert_eq!(stack.count_local("us-east", "rides", &priced).await, 1);
    assert_eq!(
        stack
            .count_local("us-east", "jobs", "kind = 'ride_ended'")
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn a_poison_job_is_set_aside_with_its_error_and_blocks_nothing() {
    let stack = spawn_stack_with(|c| {
        c.jobs.max_attempts = 3;
        c.jobs.backoff = Duration::from_millis(20);
        c.jobs.poll_interval = Duration::from_millis(50);
    })
    .await;
    let node = stack.node("us-east");
    // Due before anything else, so the workers meet them first.
    let insert = "INSERT INTO jobs (city, id, kind, payload, run_after) \
                  VALUES ('boston', $1, $2, $3, now() - interval '1 minute')";
    let poison = [
        ("ride_ended", json!({"ride": 42})),
        ("ride_ended", json!({"ride_id": Uuid::new_v4()})),
        ("teleport", json!({})),
    ];
    let mut poison_ids = Vec::new();
    for (kind, payload) in &poison {
        let id = Uuid::new_v4();
        sqlx::query(insert)
            .bind(id)
            .bind(kind)
            .bind(payload)
            .execute(node)
            .await
            .unwrap();
        poison_ids.push(id);
    }
    let (_, token) = stack.user("boston").await;
    let good = ride(&stack, "us-east", "boston", &token).await;
    fares(&stack, "us-east", &token, &[good]).await;
    until(
        "dead jobs",
        FARE_WITHIN,
        async || {
            stack
                .count_local("us-east", "jobs", "status = 'dead'")
                .await
        },
        3,
    )
    .await;
    let dead: Vec<(Uuid, i32, String)> =
        sqlx::query_as("SELECT id, attempts, last_error FROM jobs WHERE status = 'dead'")
            .fetch_all(node)
            .await
            .unwrap();
    let find = |id: Uuid| dead.iter().find(|d| d.0 == id).unwrap().clone();
    let (_, attempts, error) = find(poison_ids[0]);
    assert_eq!(
        attempts, 1,
        "a payload that cannot parse is set aside at once"
    );
    assert!(error.contains("bad ride_ended payload"), "{error}");
    let (_, attempts, error) = find(poison_ids[1]);
    assert_eq!(attempts, 3, "retried up to the limit");
    assert!(error.contains("no ride"), "{error}");
    let (_, attempts, error) = find(poison_ids[2]);
    assert_eq!(attempts, 1);
    assert!(error.contains("unknown job kind `teleport`"), "{error}");
    assert_eq!(dead.len(), 3, "only the poison is left");
    let (_, metrics) = stack.origin("us-east").admin("/metrics").await;
    assert!(
        metrics.contains(r#"roam_jobs_total{region="us-east",kind="ride_ended",outcome="dead"}"#)
    );
    assert!(
        metrics.contains(r#"roam_jobs_total{region="us-east",kind="ride_ended",outcome="retry"}"#)
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn running_a_job_twice_changes_nothing() {
    let stack = spawn_stack_with(no_workers_in_us_east).await;
    let (_, token) = stack.user("boston").await;
    let id = ride(&stack, "us-east", "boston", &token).await;
    let node = stack.node("us-east");
    let payload: Value = sqlx::query_scalar("SELECT payload FROM jobs WHERE city = 'boston'")
        .fetch_one(node)
        .await
        .unwrap();
    let map = RegionMap::builtin();
    let prices = config(&stack, "us-east", 0).await.jobs.prices;
    let state = async |pool: &PgPool| -> (Option<i64>, Option<String>, i64) {
        let (fare, currency): (Option<i64>, Option<String>) = sqlx::query_as(
            "SELECT fare_cents, fare_currency FROM rides WHERE city = 'boston' AND id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
        (fare, currency, history_rows(&stack, "us-east", id).await)
    };
    let run = async |prices: &roam_origin::jobs::fare::PriceTable| {
        let mut tx = node.begin().await.unwrap();
        let nodes = roam_origin::storage::Nodes::through("us-east", node.clone(), map);
        ride_ended::run(&mut tx, &nodes, map, prices, "boston", payload.clone())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    run(&prices).await;
    let once = state(node).await;
    assert_eq!(
        once,
        (Some(SCOOTER_ONE_MINUTE_USD), Some("USD".to_string()), 1)
    );
    run(&prices).await;
    assert_eq!(state(node).await, once, "a second run changes nothing");
    // Not even with other prices since: the fare charged stays the one computed first.
    let cheaper = roam_origin::jobs::fare::PriceTable::from_json(
        r#"{"currencies": {"USD": {
            "bike": {"base_cents": 1, "per_minute_cents": 1},
            "scooter": {"base_cents": 1, "per_minute_cents": 1},
            "skateboard": {"base_cents": 1, "per_minute_cents": 1}}}}"#,
    )
    .unwrap();
    run(&cheaper).await;
    assert_eq!(state(node).await, once);
    // The queued job itself, run by a worker now, succeeds and changes nothing either.
    let jobs_config = config(&stack, "us-east", 0).await.jobs;
    let nodes = roam_origin::storage::Nodes::through("us-east", node.clone(), map);
    let outcome = jobs::run_one(&nodes, map, &jobs_config).await.unwrap();
    assert_eq!(outcome, Some(Outcome::Succeeded));
    assert_eq!(state(node).await, once);
    assert_eq!(
        stack
            .count_local("us-east", "jobs", "kind = 'ride_ended'")
            .await,
        0
    );
    assert_eq!(
        jobs::run_one(&nodes, map, &jobs_config).await.unwrap(),
        None
    );
    stack.cleanup().await;
}
