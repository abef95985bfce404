//! A stack with a pool of origins per region (`origins_per_region`), with `--wan` so each
//! origin also gets its own proxy: what the edge is given (`origin_pools`) reaches every
//! origin of the pool, one by one.

use anyhow::{Context, Result};
use roam_stack::{Stack, StackOptions, WanOptions};

async fn healthy(url: &str) -> bool {
    let client = reqwest::Client::new();
    let answer = client.get(format!("{url}/healthz")).send().await;
    answer.is_ok_and(|r| r.status().is_success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_origins_per_region_each_reached_through_its_own_url() -> Result<()> {
    let mut stack = Stack::start(StackOptions {
        origins_per_region: 2,
        wan: Some(WanOptions::default()),
        seed: None,
        ..StackOptions::for_tests("pool")
    })
    .await?;
    let regions = roam_shared::RegionMap::builtin().regions.len();
    assert_eq!(stack.origins.len(), 2 * regions);
    let pools = stack.origin_pools();
    assert_eq!(pools.len(), regions);
    for (region, pool) in &pools {
        let origins: Vec<_> = stack.origins_of(region).collect();
        assert_eq!(origins.len(), 2, "{region}");
        assert_ne!(origins[0].port, origins[1].port, "{region}");
        assert_ne!(origins[0].options.log_file, origins[1].options.log_file);
        assert_eq!(pool.len(), 2, "{region}: {pool:?}");
        assert_ne!(pool[0], pool[1]);
        assert!(!pool.contains(&origins[0].url()), "through the proxies");
        assert_eq!(
            stack.origin_urls()[region],
            pool[0],
            "origin_urls: the first"
        );
    }
    let eu = pools.get("eu-west").context("an eu-west pool")?;
    assert!(healthy(&eu[0]).await && healthy(&eu[1]).await);
    // Each URL of the pool is its own origin: kill the second, only its URL goes dark.
    stack
        .origins_of_mut("eu-west")
        .nth(1)
        .context("a second eu-west origin")?
        .kill();
    assert!(healthy(&eu[0]).await, "the first origin still answers");
    assert!(!healthy(&eu[1]).await, "the second one is gone");
    Ok(())
}
