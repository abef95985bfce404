//! The web UI in a real browser: starts the whole stack (PostgreSQL nodes, origins, the edge
//! under `wrangler dev`) and the `--as` front as a user in Rome, then runs the browser tests
//! (`node --test tests/browser/`: playwright-core driving Debian's chromium) against the front
//! and fails when they fail; then stops us-west's origin and runs
//! `tests/browser/when-us-west-is-down.mjs`. Screenshots land in `test-output/screenshots/`.
//!
//! `ROAM_EDGE_URL=http://127.0.0.1:8787` runs them against an edge that is already up (for
//! example `cargo xtask dev`) instead of starting a stack: the quick loop while editing pages.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use roam_e2e::world::World;
use roam_stack::front::{Front, FrontOptions};

/// The city the browser is in; the tests read it from `ROAM_AS_CITY`.
const AS_CITY: &str = "rome";
/// Generous: a cold chromium, 5 pings × 4 targets × a few rounds, and the whole journey.
const NODE_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The suites that need the whole stack healthy (every `*.test.mjs` there).
const HEALTHY: &str = "tests/browser/";
/// The suite run once us-west's origin is stopped.
const US_WEST_DOWN: &str = "tests/browser/when-us-west-is-down.mjs";

/// Runs `node --test <what>` with the front's URL; Ok when every test passed.
async fn run_browser_tests(base_url: &str, what: &str) -> Result<()> {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    ensure!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: `cargo xtask bootstrap` installs it (apt-get install chromium)"
    );
    ensure!(
        root.join("node_modules/playwright-core").exists(),
        "node_modules/playwright-core is missing: run `npm ci` (or `cargo xtask bootstrap`)"
    );
    let screenshots = std::env::var_os("ROAM_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("test-output/screenshots"));
    let mut node = tokio::process::Command::new("node");
    node.args([
        "--test",
        "--test-concurrency=1",
        "--test-reporter=spec",
        what,
    ])
    .current_dir(&root)
    .env("ROAM_BASE_URL", base_url)
    .env("ROAM_AS_CITY", AS_CITY)
    .env("ROAM_SCREENSHOTS", screenshots)
    .stdin(Stdio::null())
    .kill_on_drop(true);
    let status = tokio::time::timeout(NODE_TIMEOUT, node.status())
        .await
        .context("the browser tests took longer than 10 minutes")?
        .context("running node (install Node.js 20)")?;
    ensure!(
        status.success(),
        "browser tests {what} failed ({status}); see the node output above"
    );
    Ok(())
}

async fn front_for(edge_url: String) -> Result<Front> {
    Front::start(FrontOptions {
        listen: "127.0.0.1:0".parse()?,
        edge_url,
        default_city: AS_CITY.into(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_works_in_a_real_browser_for_a_user_in_rome() -> Result<()> {
    if let Ok(edge_url) = std::env::var("ROAM_EDGE_URL") {
        let front = front_for(edge_url).await?;
        let result = run_browser_tests(&front.url(), HEALTHY).await;
        front.stop().await;
        return result;
    }
    let mut world = World::start("browser").await;
    let front = front_for(world.edge.url()).await?;
    let mut result = run_browser_tests(&front.url(), HEALTHY).await;
    if result.is_ok() {
        let us_west = world
            .stack
            .origin_mut("us-west")
            .context("the map has us-west")?;
        us_west.stop();
        result = run_browser_tests(&front.url(), US_WEST_DOWN).await;
    }
    front.stop().await;
    result.with_context(|| format!("edge log (tail):\n{}", world.edge.log_tail(30)))
}
