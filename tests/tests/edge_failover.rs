//! Failover through the edge (real workerd) when a region breaks: its origin (another origin
//! reaches the home partition through the database), then its database node (stale cache,
//! else 503/504 with problem+json). Each test breaks its own stack.

mod edge_support;

use std::time::{Duration, Instant};

use edge_support::{local_rows, start_edge_for, start_stack, User, ROME};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread")]
async fn with_the_eu_west_origin_down_rome_is_served_by_another_origin() {
    let mut stack = start_stack("edge-failover-origin").await;
    let mut edge = start_edge_for(
        "failover-origin",
        stack.origin_urls(),
        &stack.options.secret,
    )
    .await;
    let mut user = User::new(&edge.url(), ROME);
    user.sign_up_and_log_in("failover", PASSWORD).await;

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
    let key = format!("failover-{}", edge_support::uuid_like());
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
                local_rows(&stack, "eu-west", "vehicles", &id).await,
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
            assert_eq!(local_rows(&stack, "eu-west", "vehicles", &id).await, 1);
        }
        503 => assert!(
            added.header("retry-after").parse::<u32>().is_ok(),
            "{added:#?}"
        ),
        _ => panic!("unexpected answer to a write while eu-west's origin is down: {added:#?}"),
    }

    // The edge has noticed: after repeated failures eu-west's breaker opens.
    for _ in 0..3 {
        user.get("/api/v1/cities/paris/vehicles?status=unavailable")
            .await
            .expect(200);
    }
    let regions = user.get("/api/v1/regions").await.expect(200);
    let eu_west = regions.body["regions"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "eu-west"))
        .cloned()
        .expect("eu-west in /api/v1/regions");
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
    edge.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_eu_west_database_down_reads_come_from_stale_cache_and_writes_are_refused() {
    let mut stack = start_stack("edge-failover-db").await;
    // Short freshness so the test need not wait long: 1 s fresh, 1 s stale-while-revalidate,
    // 300 s stale-if-error.
    for region in ["us-east", "us-west", "eu-west"] {
        let origin = stack.origin_mut(region).expect("an origin");
        origin.options.env.extend([
            ("ROAM_CACHE_S_MAXAGE".to_string(), "1".to_string()),
            ("ROAM_CACHE_SWR".to_string(), "1".to_string()),
            ("ROAM_CACHE_SIE".to_string(), "300".to_string()),
        ]);
        origin.restart().await.expect("the origin restarts");
    }
    let mut edge = start_edge_for("failover-db", stack.origin_urls(), &stack.options.secret).await;
    let user = User::new(&edge.url(), ROME);
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

    stack
        .cluster
        .node("eu-west")
        .expect("an eu-west node")
        .stop()
        .expect("eu-west's node stops");
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
    edge.stop();
}
