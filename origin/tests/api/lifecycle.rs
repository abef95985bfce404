//! Request timeout and graceful shutdown, with a row lock held by the test to make a request
//! wait inside its transaction.

use std::time::Duration;

use crate::helpers::{assert_problem, hold_row_locks, spawn_stack, spawn_stack_with};

/// Holds the vehicle's row lock on its node until the returned sender fires.
async fn lock_vehicle(
    pool: &sqlx::PgPool,
    vehicle: uuid::Uuid,
) -> tokio::sync::oneshot::Sender<()> {
    let lock = "SELECT 1 FROM vehicles WHERE id = $1 FOR UPDATE";
    let tx = hold_row_locks(pool, lock, vehicle).await;
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = released.await;
        tx.rollback().await.unwrap();
    });
    release
}

#[tokio::test]
async fn a_request_over_the_timeout_gets_504_and_writes_nothing() {
    let stack = spawn_stack_with(|c| c.request_timeout = Duration::from_millis(400)).await;
    let (token, vehicle) = stack.user_with_vehicle("boston").await;
    let release = lock_vehicle(stack.node("us-east"), vehicle).await;
    let slow_ride = || {
        stack
            .origin("us-east")
            .start_ride("boston", vehicle)
            .token(&token)
            .key("slow-ride")
            .send()
    };
    let r = slow_ride().await;
    assert_problem(&r, 504, "blocked on a row lock");
    release.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stack.count_local("us-east", "rides", "true").await, 0);
    assert_eq!(
        stack
            .count_local("us-east", "idempotency", "key = 'slow-ride'")
            .await,
        0
    );
    // The same key later runs for real.
    let r = slow_ride().await;
    assert_eq!(r.status, 201, "{}", r.text());
    stack.cleanup().await;
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let mut stack = spawn_stack().await;
    let (token, vehicle) = stack.user_with_vehicle("seattle").await;
    let release = lock_vehicle(stack.node("us-west"), vehicle).await;
    let in_flight = {
        let origin = stack.origin("us-west");
        let request = origin.start_ride("seattle", vehicle).token(&token);
        tokio::spawn(request.send())
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let origin = stack
        .origins
        .iter_mut()
        .find(|o| o.region == "us-west")
        .unwrap();
    origin.signal_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    release.send(()).unwrap();
    let r = in_flight.await.unwrap();
    assert_eq!(
        r.status,
        201,
        "the request in flight finished: {}",
        r.text()
    );
    assert!(
        origin.stopped_within(Duration::from_secs(10)).await,
        "then the origin stopped"
    );
    assert!(
        reqwest::get(format!("{}/healthz", origin.address))
            .await
            .is_err(),
        "and no longer accepts connections"
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn old_idempotency_records_are_pruned_from_the_local_partition_only() {
    let stack = spawn_stack().await;
    for (region, city) in [("eu-west", "rome"), ("us-east", "boston")] {
        for (key, age) in [("old", "2 days"), ("new", "1 minute")] {
            sqlx::query(&format!(
                "INSERT INTO idempotency (city, key, request_hash, status, body, created_at) \
                 VALUES ('{city}', '{key}', 'h', 201, '{{}}', now() - interval '{age}')"
            ))
            .execute(stack.node(region))
            .await
            .unwrap();
        }
    }
    let day = Duration::from_secs(24 * 3600);
    let pruned = roam_origin::storage::idempotency::prune(stack.node("eu-west"), "eu-west", day)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(stack.count_local("eu-west", "idempotency", "true").await, 1);
    assert_eq!(
        stack.count_local("us-east", "idempotency", "true").await,
        2,
        "not another node's"
    );
    stack.cleanup().await;
}
