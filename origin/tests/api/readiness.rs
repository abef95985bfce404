//! /readyz follows the node: unready (503) while its PostgreSQL is stopped, ready again after.

use std::time::Duration;

use roam_shared::RegionMap;
use roam_stack::pg::{reap_when_gone, PgCluster};
use serde_json::json;
use tokio::sync::OnceCell;

use crate::helpers::{assert_problem, spawn_stack_on, Resp};

/// A cluster of its own, so stopping a node does not disturb the other tests.
async fn private_cluster() -> &'static PgCluster {
    static CLUSTER: OnceCell<PgCluster> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            let root =
                std::env::temp_dir().join(format!("roam-origin-readyz-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let cluster = PgCluster::start(&root, RegionMap::builtin())
                .await
                .expect("cluster");
            reap_when_gone(std::process::id(), &root, &cluster, &[]).expect("reaper");
            cluster
        })
        .await
}

async fn readyz(stack: &crate::helpers::TestStack, region: &str) -> (u16, serde_json::Value) {
    let (status, text) = stack.origin(region).admin("/readyz").await;
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// `/readyz` of `region` once `holds` says what it shows is as expected (the checks run every
/// second in the background), within ten seconds.
async fn readyz_once(
    stack: &crate::helpers::TestStack,
    region: &str,
    holds: impl Fn(u16, &serde_json::Value) -> bool,
) -> (u16, serde_json::Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = readyz(stack, region).await;
        if holds(status, &body) || std::time::Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Boston's vehicles (on us-east's node) read through `via`'s origin.
async fn boston_vehicles_through(stack: &crate::helpers::TestStack, via: &str) -> Resp {
    let boston_vehicles = "/api/v1/cities/boston/vehicles";
    stack.origin(via).get(boston_vehicles).send().await
}

fn us_east_down(body: &serde_json::Value) -> bool {
    body["nodes"].as_array().is_some_and(|n| {
        n.iter()
            .any(|n| n["region"] == "us-east" && n["ok"] == false)
    })
}

#[tokio::test]
async fn readyz_follows_the_database_node() {
    let cluster = private_cluster().await;
    let stack = spawn_stack_on(cluster).await;
    let (_, token) = stack.user("rome").await;
    let (status, body) = readyz_once(&stack, "us-east", |s, _| s == 200).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["nodes"].as_array().unwrap().len(), 3);
    assert!(
        body["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["ok"] == true),
        "{body}"
    );

    let node = cluster.node("us-east").unwrap().clone();
    tokio::task::spawn_blocking(move || node.stop())
        .await
        .unwrap()
        .unwrap();
    let (status, body) = readyz_once(&stack, "us-east", |s, _| s == 503).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let r = boston_vehicles_through(&stack, "us-east").await;
    assert_problem(&r, 503, "data request while the node is down");
    assert!(r.header("retry-after").is_some());
    // Another region's origin reports the node it cannot reach, but stays ready.
    let (status, body) = readyz_once(&stack, "eu-west", |_, b| us_east_down(b)).await;
    assert_eq!(status, 200, "{body}");
    assert!(us_east_down(&body), "{body}");
    let r = boston_vehicles_through(&stack, "eu-west").await;
    assert_problem(&r, 503, "a far partition that is down");
    // A write whose home node is down: 503, nothing acknowledged; retried later with the same
    // key it takes effect exactly once.
    let add = || {
        stack
            .origin("eu-west")
            .post(
                "/api/v1/cities/boston/vehicles",
                json!({"type": "bike", "last_location": "Fenway"}),
            )
            .token(&token)
            .key("failover-write")
            .send()
    };
    let r = add().await;
    assert_problem(&r, 503, "a write to a partition that is down");
    assert!(r.header("retry-after").is_some());

    let node = cluster.node("us-east").unwrap().clone();
    tokio::task::spawn_blocking(move || node.start())
        .await
        .unwrap()
        .unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if readyz(&stack, "us-east").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "ready again after the restart");
    let r = boston_vehicles_through(&stack, "eu-west").await;
    assert_eq!(
        r.status,
        200,
        "the far origin reaches the partition again: {}",
        r.text()
    );
    let first = add().await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = add().await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(again.header("idempotent-replay"), Some("true"));
    assert_eq!(stack.count_local("us-east", "vehicles", "true").await, 1);
    stack.cleanup().await;
}
