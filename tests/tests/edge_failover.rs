//! Failover through the edge (real workerd) when a region breaks: its origin (another origin
//! reaches the home partition through the database), then its database node (stale cache,
//! else 503/504 with problem+json). Each test breaks its own stack.

use std::time::{Duration, Instant};

use reqwest::Method;
use roam_e2e::client::{region_entry, uuid_like, User};
use roam_e2e::db::local_rows;
use roam_e2e::place::ROME;
use roam_e2e::raw::pairs;
use roam_e2e::world::{World, SHORT_CACHE};
use roam_stack::Stack;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread")]
async fn with_the_eu_west_origin_down_rome_is_served_by_another_origin() {
    let mut world = World::start("edge-failover-origin").await;
    let user = world.signed_in(ROME, "failover", PASSWORD).await;
    let stack = &mut world.stack;

    stack
        .origin_mut("eu-west")
        .expect("an eu-west origin")
        .kill();

    // A read goes to the origin nearest eu-west, which reads Rome's partition over the database.
    let list = user.get("/api/v1/cities/rome/vehicles").await.expect(200);
    assert_eq!(list.header("x-roam-served-by"), "us-east", "{list:#?}");
    assert!(!list.body["vehicles"]
        .as_array()
        .expect("vehicles")
        .is_empty());

    // A write too, because it carries an idempotency key: exactly one effect, on eu-west's node.
    write_once_while_eu_west_is_down(&user, stack).await;

    // The edge has noticed: after repeated failures eu-west's breaker opens.
    for _ in 0..3 {
        user.get("/api/v1/cities/paris/vehicles?status=unavailable")
            .await
            .expect(200);
    }
    let regions = user.get("/api/v1/regions").await.expect(200);
    let eu_west = region_entry(&regions.body, "eu-west");
    assert_eq!(eu_west["breaker"], "open", "{regions:#?}");

    // Back up: after the open period a probe goes through and eu-west serves Rome again.
    stack
        .origin_mut("eu-west")
        .expect("an eu-west origin")
        .restart()
        .await
        .expect("eu-west's origin restarts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = user
            .get("/api/v1/cities/rome/vehicles?status=available")
            .await
            .expect(200);
        if list.header("x-roam-served-by") == "eu-west" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "eu-west never came back: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_eu_west_database_down_reads_come_from_stale_cache_and_writes_are_refused() {
    // Short freshness so the test need not wait long.
    let world = World::start_with("edge-failover-db", |o| {
        o.origin_env.extend(pairs(&SHORT_CACHE));
    })
    .await;
    let user = world.user(ROME);
    let list_path = "/api/v1/cities/rome/vehicles";
    let cached = user.get(list_path).await.expect(200);
    // Past fresh, within stale-while-revalidate: served stale, refreshed in the background.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let stale = user.get(list_path).await.expect(200);
    assert_eq!(stale.header("x-roam-cache"), "stale", "{stale:#?}");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let refreshed = user.get(list_path).await.expect(200);
    assert_eq!(
        refreshed.header("x-roam-cache"),
        "hit",
        "ctx.wait_until refreshed the entry"
    );
    let vehicle_id = cached.body["vehicles"][0]["id"]
        .as_str()
        .expect("a seeded vehicle")
        .to_string();

    world.node("eu-west").stop().expect("eu-west's node stops");
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Past fresh and stale-while-revalidate, within stale-if-error: the origin fails, the
    // edge answers from its entry.
    let stale = user.get(list_path).await.expect(200);
    assert_eq!(stale.header("x-roam-cache"), "stale", "{stale:#?}");
    assert_eq!(stale.body, cached.body);

    // Nothing cached: an honest 503 (with retry-after) or 504, as problem+json.
    let uncached = user.get(&format!("{list_path}/{vehicle_id}")).await;
    assert!(
        matches!(uncached.status.as_u16(), 503 | 504),
        "{uncached:#?}"
    );
    assert_eq!(uncached.header("content-type"), "application/problem+json");
    if uncached.status.as_u16() == 503 {
        assert!(
            uncached.header("retry-after").parse::<u32>().is_ok(),
            "{uncached:#?}"
        );
    }
}

/// A write with an idempotency key while eu-west's origin is down: another origin takes it
/// (once, on eu-west's node, however often it is retried), or an honest 503 + retry-after.
async fn write_once_while_eu_west_is_down(user: &User, stack: &Stack) {
    let key = format!("failover-{}", uuid_like());
    let body = json!({"type": "skateboard", "last_location": "Trastevere"});
    let headers = [("idempotency-key", key.as_str())];
    let added = user
        .send(
            Method::POST,
            "/api/v1/cities/rome/vehicles",
            Some(&body),
            &headers,
        )
        .await;
    match added.status.as_u16() {
        201 => {
            eprintln!(
                "the write failed over to {}",
                added.header("x-roam-served-by")
            );
            assert_eq!(added.header("x-roam-served-by"), "us-east");
            let id = added.body["id"].as_str().expect("a vehicle id").to_string();
            assert_eq!(
                local_rows(stack, "eu-west", "vehicles", &id).await,
                1,
                "nothing acknowledged is lost"
            );
            let again = user
                .send(
                    Method::POST,
                    "/api/v1/cities/rome/vehicles",
                    Some(&body),
                    &headers,
                )
                .await
                .expect(201);
            assert_eq!(
                again.body["id"], added.body["id"],
                "a retried write has one effect"
            );
            assert_eq!(local_rows(stack, "eu-west", "vehicles", &id).await, 1);
        }
        503 => assert!(
            added.header("retry-after").parse::<u32>().is_ok(),
            "{added:#?}"
        ),
        _ => panic!("unexpected answer to a write while eu-west's origin is down: {added:#?}"),
    }
}
