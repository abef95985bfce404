//! /readyz follows the node: unready (503) while its PostgreSQL is stopped, ready again after.

use std::time::Duration;

use roam_shared::RegionMap;
use roam_stack::pg::{reap_when_gone, PgCluster, PgNode};
use serde_json::json;
use tokio::sync::OnceCell;

use crate::helpers::{assert_problem, spawn_stack_on, Resp, TestStack};

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

async fn readyz(stack: &TestStack, region: &str) -> (u16, serde_json::Value) {
    let (status, text) = stack.origin(region).admin("/readyz").await;
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// `/readyz` of `region` once `holds` says what it shows is as expected (the checks run every
/// second in the background), within ten seconds.
async fn readyz_once(
    stack: &TestStack,
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
async fn boston_vehicles_through(stack: &TestStack, via: &str) -> Resp {
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
    us_east_is_ready_with_every_node_ok(&stack).await;

    switch_node(cluster, "us-east", PgNode::stop).await;
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
    let r = add_a_boston_bike(&stack, &token).await;
    assert_problem(&r, 503, "a write to a partition that is down");
    assert!(r.header("retry-after").is_some());

    switch_node(cluster, "us-east", PgNode::start).await;
    assert!(
        ready_within_ten_seconds(&stack, "us-east").await,
        "ready again after the restart"
    );
    let r = boston_vehicles_through(&stack, "eu-west").await;
    assert_eq!(
        r.status,
        200,
        "the far origin reaches the partition again: {}",
        r.text()
    );
    let first = add_a_boston_bike(&stack, &token).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = add_a_boston_bike(&stack, &token).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(again.header("idempotent-replay"), Some("true"));
    assert_eq!(stack.count_local("us-east", "vehicles", "true").await, 1);
    stack.cleanup().await;
}

/// us-east's `/readyz` answers 200 and lists all three nodes, every one ok.
async fn us_east_is_ready_with_every_node_ok(stack: &TestStack) {
    let (status, body) = readyz_once(stack, "us-east", |s, _| s == 200).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["nodes"].as_array().expect("nodes").len(), 3);
    assert!(
        body["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["ok"] == true),
        "{body}"
    );
}

/// Stops or starts `region`'s PostgreSQL node (a blocking call, off the runtime).
async fn switch_node(cluster: &PgCluster, region: &str, switch: fn(&PgNode) -> anyhow::Result<()>) {
    let node = cluster.node(region).expect("node").clone();
    tokio::task::spawn_blocking(move || switch(&node))
        .await
        .expect("the node switch task")
        .expect("stopping or starting the node");
}

/// Polls `region`'s `/readyz` for up to ten seconds; whether it answered 200.
async fn ready_within_ten_seconds(stack: &TestStack, region: &str) -> bool {
    for _ in 0..50 {
        if readyz(stack, region).await.0 == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Adds a bike in boston (us-east's node) through eu-west, always with the same idempotency key.
async fn add_a_boston_bike(stack: &TestStack, token: &str) -> Resp {
    stack
        .origin("eu-west")
        .post(
            "/api/v1/cities/boston/vehicles",
            json!({"type": "bike", "last_location": "Fenway"}),
        )
        .token(token)
        .key("failover-write")
        .send()
        .await
}
