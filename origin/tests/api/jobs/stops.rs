//! Jobs across an origin's end: one that dies mid-job loses and doubles nothing, one that
//! stops gracefully finishes the job in hand.

use std::time::Duration;

use roam_origin::Application;
use sqlx::PgPool;
use uuid::Uuid;

use super::{config, fares, history_rows, lock_ride, ride, until, FARE_WITHIN};
use super::{no_workers_in_us_east, SCOOTER_ONE_MINUTE_USD};
use crate::helpers::{spawn_stack_with, TestOrigin, TestStack};

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
    let lock = lock_ride(&node, ids[0]).await;
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
    assert_each_charged_once(&stack, &node, &ids).await;
    second.stop().await;
    stack.cleanup().await;
}

/// Each of the boston rides `ids` has one location history row and the one-minute fare.
async fn assert_each_charged_once(stack: &TestStack, node: &PgPool, ids: &[Uuid]) {
    for id in ids {
        assert_eq!(history_rows(stack, "us-east", *id).await, 1, "ride {id}");
    }
    let fares_charged: Vec<i64> =
        sqlx::query_scalar("SELECT fare_cents FROM rides WHERE city = 'boston' AND id = ANY($1)")
            .bind(ids)
            .fetch_all(node)
            .await
            .unwrap();
    assert!(fares_charged.iter().all(|f| *f == SCOOTER_ONE_MINUTE_USD));
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_job_in_hand() {
    let stack = spawn_stack_with(no_workers_in_us_east).await;
    let (_, token) = stack.user("boston").await;
    let id = ride(&stack, "us-east", "boston", &token).await;
    let node = stack.node("us-east").clone();
    let lock = lock_ride(&node, id).await;
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
