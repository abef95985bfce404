//! A region's database under pg_auto_failover, with real processes on loopback: the primary
//! killed with SIGKILL (five times; the standby takes over, nothing acknowledged is lost, the old
//! primary comes back as the standby and refuses writes), and the standby killed (writes stall
//! until the monitor notices, then go on alone; nothing acknowledged is lost).
//!
//! Each test prints a `FIGURES` line (`--nocapture`). `ROAM_HA_FAILOVER=pg_auto_failover` runs
//! them with pg_auto_failover's default timing instead of roam-stack's, for comparison.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use roam_stack::ha::probe::{audit, count_values, first_write, keep_writing, WriteLog};
use roam_stack::ha::{FailoverSettings, GroupOptions, HaGroup};
use roam_stack::pg::psql;
use roam_stack::process::free_port;
use tokio::task::JoinHandle;

const RUNS: usize = 5;
/// Wide: a loaded 2-core machine is slow, never wrong. Figures are printed, not asserted.
const FAILOVER_BOUND: Duration = Duration::from_secs(90);

fn failover_settings() -> FailoverSettings {
    match std::env::var("ROAM_HA_FAILOVER").as_deref() {
        Ok("pg_auto_failover") => FailoverSettings::pg_auto_failover_defaults(),
        _ => FailoverSettings::loopback(),
    }
}

async fn start_group(name: &str) -> Result<HaGroup> {
    let root = std::env::temp_dir().join(format!("roam-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let group = HaGroup::start(GroupOptions {
        region: "eu-west".into(),
        root,
        ports: [free_port()?, free_port()?, free_port()?],
        failover: failover_settings(),
        reap_on_exit: true,
    })
    .await?;
    let url = group.multi_host_url("postgres");
    psql(&url, "CREATE TABLE acked (n bigint)".into()).await?;
    psql(
        &url,
        "CREATE TABLE probe (at timestamptz DEFAULT now())".into(),
    )
    .await?;
    Ok(group)
}

/// Everything the writer was told was committed is on `survivor`, exactly once.
async fn check_nothing_lost(group: &HaGroup, survivor: &str, log: &WriteLog) -> Result<()> {
    let rows = count_values(&group.node(survivor)?.url("postgres"), "acked").await?;
    let (lost, doubled) = audit(log, &rows);
    ensure!(
        lost.is_empty() && doubled.is_empty(),
        "on {survivor}: lost {lost:?}, doubled {doubled:?} of {} acknowledged",
        log.acknowledged.len()
    );
    Ok(())
}

fn seconds(d: &Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

/// A writer into `acked` through `url`, from `first` on, for `lasting` after `started`.
fn spawn_writer(
    url: &str,
    first: i64,
    started: Instant,
    lasting: Duration,
) -> JoinHandle<WriteLog> {
    let url = url.to_string();
    tokio::spawn(
        async move { keep_writing(&url, "acked", first, started, started + lasting).await },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_is_replaced_by_its_standby_and_comes_back_as_one() -> Result<()> {
    let mut group = start_group("ha-primary").await?;
    let mut took = Vec::new();
    let mut acknowledged = 0;
    for run in 0..RUNS {
        let (writable_after, written) = kill_the_primary_under_a_writer(&mut group, run).await?;
        took.push(writable_after);
        acknowledged += written;
        // The next run kills the new primary: only once it is `primary` again (synchronous,
        // its standby caught up) may the monitor promote that standby. Killed while still
        // `wait_primary`, nothing fails over, by design (a clean-clone run did just that).
        group.wait_settled().await?;
    }
    let mut sorted = took.clone();
    sorted.sort();
    let (p50, max) = (sorted[RUNS / 2], sorted[RUNS - 1]);
    eprintln!(
        "FIGURES ha primary killed: first write after {} s (runs), p50 {} s, max {} s; \
         {acknowledged} writes acknowledged, 0 lost, 0 doubled; settings {:?}",
        took.iter().map(seconds).collect::<Vec<_>>().join(", "),
        seconds(&p50),
        seconds(&max),
        failover_settings(),
    );
    ensure!(max < FAILOVER_BOUND);
    Ok(())
}

/// Run `run`: kills the primary under a writer; the standby takes writes, nothing acknowledged
/// is lost, and the old primary comes back as the standby. Returns how long after the kill a
/// write went through again, and how many writes were acknowledged.
async fn kill_the_primary_under_a_writer(
    group: &mut HaGroup,
    run: usize,
) -> Result<(Duration, usize)> {
    let url = group.multi_host_url("postgres");
    let old = group.primary().await?.name.clone();
    let started = Instant::now();
    // A writer from a second before the kill until well after the failover.
    let first = (run as i64) * 1_000_000;
    let writer = spawn_writer(&url, first, started, Duration::from_secs(16));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = Instant::now();
    group.kill(&old)?;
    let probe = "INSERT INTO probe DEFAULT VALUES";
    let writable_after = first_write(&url, probe, killed_at, FAILOVER_BOUND).await?;
    let new = group
        .writable()
        .await
        .context("a writable node")?
        .name
        .clone();
    ensure!(new != old, "{old} was killed, yet it takes writes");
    let log = writer.await?;
    ensure!(
        log.acknowledged
            .iter()
            .any(|(_, at)| *at < Duration::from_secs(1)),
        "run {run}: the writer wrote before the kill: {log:?}"
    );
    check_nothing_lost(group, &new, &log).await?;
    the_old_primary_is_back_as_a_read_only_standby(group, &old).await?;
    eprintln!(
        "run {run}: killed {old}; {new} took a write after {} s",
        seconds(&writable_after)
    );
    Ok((writable_after, log.acknowledged.len()))
}

/// Restarted, `old` comes back as the standby and refuses a write.
async fn the_old_primary_is_back_as_a_read_only_standby(
    group: &mut HaGroup,
    old: &str,
) -> Result<()> {
    let back = group.restart(old).await?;
    ensure!(
        back.is_secondary(),
        "{old} is back as the standby: {back:?}"
    );
    let refused = psql(
        &group.node(old)?.url("postgres"),
        "INSERT INTO acked (n) VALUES (-1)".into(),
    )
    .await;
    let message = format!(
        "{:#}",
        refused.err().context("the old primary took a write")?
    );
    ensure!(message.contains("read-only transaction"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_standby_stalls_writes_until_noticed_and_loses_none() -> Result<()> {
    let mut group = start_group("ha-standby").await?;
    let url = group.multi_host_url("postgres");
    let primary = group.primary().await?.name.clone();
    let standby = group.standby().await?.name.clone();
    let primary_url = group.node(&primary)?.url("postgres");
    let before = every_commit_waits_for_the_standby(&primary_url).await?;

    let started = Instant::now();
    let writer = spawn_writer(&url, 0, started, Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed_at = started.elapsed();
    group.kill(&standby)?;
    let log = writer.await?;
    let after_kill: Vec<Duration> = log
        .acknowledged
        .iter()
        .map(|(_, at)| *at)
        .filter(|at| *at > killed_at)
        .collect();
    check_nothing_lost(&group, &primary, &log).await?;
    the_primary_commits_alone(&group, &primary, &primary_url).await?;

    let back = group.restart(&standby).await?;
    ensure!(back.is_secondary(), "{back:?}");
    group.wait_settled().await?;
    let after = sync_names(&primary_url).await?;
    ensure!(after.starts_with("ANY 1"), "synchronous again: {after:?}");
    eprintln!(
        "FIGURES ha standby killed: writes stalled at most {} s (between two acknowledgements), \
         {} acknowledged ({} after the kill), {} not acknowledged, 0 lost; primary {primary} \
         {before} → wait_primary (alone) → primary; standby back in sync",
        seconds(&longest_wait(&log)),
        log.acknowledged.len(),
        after_kill.len(),
        log.unacknowledged.len(),
    );
    ensure!(after_kill.len() > 5, "writes went on: {log:?}");
    Ok(())
}

async fn sync_names(url: &str) -> Result<String> {
    psql(url, "SHOW synchronous_standby_names".into())
        .await
        .map(|s| s.trim().to_string())
}

/// RPO 0: every commit on the primary (at `primary_url`) waits for the standby. Returns its
/// `synchronous_standby_names`.
async fn every_commit_waits_for_the_standby(primary_url: &str) -> Result<String> {
    let before = sync_names(primary_url).await?;
    ensure!(
        before.starts_with("ANY 1"),
        "synchronous_standby_names {before:?}"
    );
    let commit = psql(primary_url, "SHOW synchronous_commit".into()).await?;
    ensure!(commit.trim() == "on", "synchronous_commit {commit:?}");
    Ok(before)
}

/// The longest wait for an acknowledgement around the kill: the stall.
fn longest_wait(log: &WriteLog) -> Duration {
    log.acknowledged
        .windows(2)
        .map(|w| w[1].1.saturating_sub(w[0].1))
        .max()
        .unwrap_or_default()
}

/// With its standby gone and noticed, the primary is `wait_primary` and commits alone.
async fn the_primary_commits_alone(
    group: &HaGroup,
    primary: &str,
    primary_url: &str,
) -> Result<()> {
    let states = group.states().await?;
    let alone = states
        .iter()
        .find(|s| s.name == primary)
        .context("primary")?;
    ensure!(alone.reported == "wait_primary", "{states:?}");
    let during = sync_names(primary_url).await?;
    ensure!(during.is_empty(), "alone, it commits alone: {during:?}");
    Ok(())
}
