//! Jobs that fail or run again: a poison job is retried up to the limit, then set aside with
//! its error, blocking nothing; a job run twice (or with other prices since) changes nothing.

use std::time::Duration;

use roam_origin::jobs::{self, ride_ended, Outcome};
use roam_shared::RegionMap;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::{config, fares, history_rows, ride, until, FARE_WITHIN};
use super::{no_workers_in_us_east, SCOOTER_ONE_MINUTE_USD};
use crate::helpers::spawn_stack_with;

/// Three jobs that cannot succeed, due before anything else so the workers meet them first:
/// a payload that does not parse, a ride that does not exist, a kind nobody knows.
async fn insert_poison(node: &PgPool) -> Vec<Uuid> {
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
    poison_ids
}

/// Prices far below the ones a fare was computed with.
fn cheaper_prices() -> roam_origin::jobs::fare::PriceTable {
    roam_origin::jobs::fare::PriceTable::from_json(
        r#"{"currencies": {"USD": {
            "bike": {"base_cents": 1, "per_minute_cents": 1},
            "scooter": {"base_cents": 1, "per_minute_cents": 1},
            "skateboard": {"base_cents": 1, "per_minute_cents": 1}}}}"#,
    )
    .unwrap()
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
    let poison_ids = insert_poison(node).await;
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
    run(&cheaper_prices()).await;
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
