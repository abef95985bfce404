//! This machine's numbers for the job queue (printed; see them with `--nocapture`): jobs/s of
//! one origin's workers draining a backlog, and the delay from a ride's end to its fare with
//! the default settings. Asserts only that every job took effect once.

use std::time::{Duration, Instant};

use roam_origin::Config;
use roam_stack::pg::test_cluster;
use uuid::Uuid;

use crate::helpers::{spawn_stack, spawn_stack_with, TestOrigin, TestStack};
use crate::jobs::no_workers_in_us_east;

const BACKLOG: i64 = 2_000;
const RIDES: usize = 40;

async fn origin_with_workers(stack: &TestStack, workers: usize) -> TestOrigin {
    let node = test_cluster().await.node("us-east").unwrap();
    let mut config = Config::development("us-east", &node.url(&stack.database)).unwrap();
    config.jobs.workers = workers;
    TestOrigin::spawn(config).await
}

#[tokio::test]
async fn jobs_per_second_of_one_origin_draining_a_backlog() {
    for workers in [2, 4] {
        let stack = spawn_stack_with(no_workers_in_us_east).await;
        let node = stack.node("us-east");
        let (rider, vehicle) = (Uuid::new_v4(), Uuid::new_v4());
        for sql in [
            "INSERT INTO vehicles (city, id, type, owner_id, status, last_location) \
             VALUES ('boston', $2, 'bike', $1, 'available', '1 Main St')",
            "INSERT INTO rides (city, id, rider_id, rider_city, vehicle_id, start_location, \
             end_location, start_time, end_time) \
             SELECT 'boston', gen_random_uuid(), $1, 'boston', $2, '1 Main St', '2 Elm St', \
             now() - interval '5 minutes', now() FROM generate_series(1, $3)",
            "INSERT INTO jobs (city, id, kind, payload) \
             SELECT city, gen_random_uuid(), 'ride_ended', jsonb_build_object('ride_id', id) \
             FROM rides WHERE city = 'boston' AND rider_id = $1 AND $3 > 0",
        ] {
            sqlx::query(sql)
                .bind(rider)
                .bind(vehicle)
                .bind(BACKLOG)
                .execute(node)
                .await
                .unwrap();
        }
        let started = Instant::now();
        let mut origin = origin_with_workers(&stack, workers).await;
        while stack
            .count_local("us-east", "jobs", "kind = 'ride_ended'")
            .await
            > 0
        {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "backlog drained"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let elapsed = started.elapsed();
        println!(
            "jobs: {workers} workers ran {BACKLOG} ride_ended jobs in {:.2} s: {:.0} jobs/s",
            elapsed.as_secs_f64(),
            BACKLOG as f64 / elapsed.as_secs_f64()
        );
        // Bike, five minutes, USD: 100 + 5 × 15.
        let priced = format!("rider_id = '{rider}' AND fare_cents = 175");
        assert_eq!(
            stack.count_local("us-east", "rides", &priced).await,
            BACKLOG
        );
        assert_eq!(
            stack
                .count_local("us-east", "vehicle_location_history", "true")
                .await,
            BACKLOG
        );
        origin.stop().await;
        stack.cleanup().await;
    }
}

#[tokio::test]
async fn delay_from_ride_end_to_fare_with_the_default_settings() {
    let stack = spawn_stack().await;
    let (_, token) = stack.user("boston").await;
    let origin = stack.origin("us-east");
    let node = stack.node("us-east");
    let mut delays = Vec::new();
    for _ in 0..RIDES {
        let vehicle = stack.vehicle("boston", &token).await;
        let r = origin
            .start_ride("boston", vehicle)
            .token(&token)
            .send()
            .await;
        let id = r.id();
        let r = origin
            .end_ride("boston", id, "2 Elm St")
            .token(&token)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let ended = Instant::now();
        loop {
            let fare: Option<i64> = sqlx::query_scalar(
                "SELECT fare_cents FROM rides WHERE city = 'boston' AND id = $1",
            )
            .bind(id)
            .fetch_one(node)
            .await
            .unwrap();
            if fare.is_some() {
                break;
            }
            assert!(
                ended.elapsed() < Duration::from_secs(10),
                "fare within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        delays.push(ended.elapsed());
    }
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "jobs: ride end → fare over {RIDES} rides (poll {} ms, {} workers): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        roam_origin::jobs::JobArgs::default().jobs_poll_ms,
        roam_origin::jobs::JobArgs::default().jobs_workers,
        ms(delays[RIDES / 2]),
        ms(delays[RIDES * 9 / 10]),
        ms(delays[RIDES - 1])
    );
    stack.cleanup().await;
}
