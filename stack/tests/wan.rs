//! A stack with `--wan`: postgres_fdw and edge → origin traffic really goes through the
//! roam-wan proxies, with the modelled round-trip times, and a cut link is a partition.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use roam_stack::{Stack, StackOptions, Topology, Wan, WanOptions};
use roam_wan::LinkHandle;
use serde_json::Value;

async fn readyz(url: &str) -> Result<Value> {
    let body = reqwest::get(format!("{url}/readyz")).await?.text().await?;
    serde_json::from_str(&body).with_context(|| format!("/readyz said {body}"))
}

/// `/readyz` (on an admin listener, `url`) once `holds` (the checks run every second in the
/// background), within fifteen seconds.
async fn readyz_once(url: &str, holds: impl Fn(&Value) -> bool) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = readyz(url).await?;
        if holds(&ready) || Instant::now() > deadline {
            return Ok(ready);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn node<'a>(ready: &'a Value, region: &str) -> Option<&'a Value> {
    ready["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["region"] == region)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fdw_and_edge_links_carry_the_modelled_rtt_and_can_be_cut() -> Result<()> {
    let stack = Stack::start(StackOptions {
        wan: Some(WanOptions {
            pop: Some("FCO".into()),
            ..WanOptions::default()
        }),
        seed: None,
        ..StackOptions::for_tests("wan")
    })
    .await?;
    let wan = stack.wan.as_ref().context("the stack has links")?;
    let eu = stack
        .origin("eu-west")
        .context("eu-west origin")?
        .admin_url();

    // eu-west reaches us-east's node through the proxy (its origin's pool for us-east, and
    // its node's postgres_fdw server): a statement there costs at least one modelled
    // eu-west ↔ us-east round trip.
    let fdw = wan.fdw_link("eu-west", "us-east").context("fdw link")?;
    a_check_through_the_link_takes_its_rtt(&eu, fdw).await?;
    a_cut_link_is_a_partition(&eu, fdw).await?;
    fdw.restore();
    the_edge_reaches_us_east_through_a_link_with_its_rtt(&stack, wan).await
}

/// eu-west's `/readyz` (at `eu`) shows us-east's node ok, its check taking at least the
/// modelled round trip of `fdw`, which the proxy accepted a connection for.
async fn a_check_through_the_link_takes_its_rtt(eu: &str, fdw: &LinkHandle) -> Result<()> {
    let rtt = fdw.conditions().rtt;
    assert!(rtt > Duration::from_millis(80), "{rtt:?}");
    // The first check opens the connection; a later one shows one statement's round trip.
    let checked_twice = |r: &Value| r["ready"] == true && r["checked_ms_ago"].as_u64() < Some(900);
    readyz_once(eu, checked_twice).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ready = readyz_once(eu, checked_twice).await?;
    let far = node(&ready, "us-east").context("us-east in /readyz")?;
    assert_eq!(far["ok"], true, "{ready}");
    let ms = far["ms"].as_f64().context("ms")?;
    assert!(
        ms >= rtt.as_secs_f64() * 1000.0,
        "{ms} ms through a {rtt:?} link"
    );
    assert!(fdw.stats().accepted >= 1);
    Ok(())
}

/// Cut: the far node is unreachable, the region's own still ready.
async fn a_cut_link_is_a_partition(eu: &str, fdw: &LinkHandle) -> Result<()> {
    fdw.cut();
    let far_down = |r: &Value| node(r, "us-east").is_some_and(|n| n["ok"] == false);
    let ready = readyz_once(eu, far_down).await?;
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        node(&ready, "us-east").map(|n| n["ok"].clone()),
        Some(Value::Bool(false))
    );
    Ok(())
}

/// The edge's URL for us-east goes through a link with the FCO → Ashburn RTT: a `/ping` on a
/// warm connection takes at least that long.
async fn the_edge_reaches_us_east_through_a_link_with_its_rtt(
    stack: &Stack,
    wan: &Wan,
) -> Result<()> {
    let urls = stack.origin_urls();
    let via = urls.get("us-east").context("us-east url")?;
    assert_ne!(via, &stack.origin("us-east").context("origin")?.url());
    let edge_rtt = wan
        .edge_link("us-east")
        .context("edge link")?
        .conditions()
        .rtt;
    assert!(edge_rtt > Duration::from_millis(90), "{edge_rtt:?}");
    let client = reqwest::Client::new();
    client.get(format!("{via}/ping")).send().await?; // warm connection
    let started = Instant::now();
    client
        .get(format!("{via}/ping"))
        .send()
        .await?
        .error_for_status()?;
    assert!(started.elapsed() >= edge_rtt, "{:?}", started.elapsed());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_region_runs_one_node_and_one_origin_for_every_region() -> Result<()> {
    let stack = Stack::start(StackOptions {
        topology: Topology::single_region(),
        seed: None,
        ..StackOptions::for_tests("single")
    })
    .await?;
    assert_eq!(stack.cluster.nodes.len(), 1);
    assert_eq!(stack.origins.len(), 1);
    let origin = stack.origin("us-east").context("us-east origin")?;
    let (only, admin) = (origin.url(), origin.admin_url());
    let urls = stack.origin_urls();
    assert_eq!(urls.len(), roam_shared::RegionMap::builtin().regions.len());
    assert!(urls.values().all(|u| *u == only), "{urls:?}");
    let ready = readyz_once(&admin, |r| r["ready"] == true).await?;
    assert_eq!(ready["ready"], true, "{ready}");
    Ok(())
}
