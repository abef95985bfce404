//! Writes straight to a group, as a client of libpq would make them, for the tests that kill
//! its nodes: the first write that commits after a moment, a writer that records which of its
//! numbered writes were acknowledged, and a count of what the survivors hold.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::pg::psql;

/// Between two attempts of [`first_write`].
const RETRY_EVERY: Duration = Duration::from_millis(100);
/// Longest one write may take before it counts as not acknowledged.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// `url` with a connect timeout: a dead node on loopback refuses at once, this bounds a hung
/// one. (No statement timeout: cancelling a commit that waits for the standby leaves it
/// committed on the primary alone, and reports success.)
fn with_timeout(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout=2")
}

/// Runs `sql` (a write) through `url` until it commits, or fails after `timeout`: how long
/// after `since` it committed.
pub async fn first_write(
    url: &str,
    sql: &str,
    since: Instant,
    timeout: Duration,
) -> Result<Duration> {
    let url = with_timeout(url);
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match psql(&url, sql.to_string()).await {
            Ok(_) => return Ok(since.elapsed()),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
    bail!("no write committed within {timeout:?} through {url}; last: {last}")
}

/// What a [`keep_writing`] writer saw.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    /// Values whose insert was acknowledged, with when (since the writer's `since`).
    pub acknowledged: Vec<(i64, Duration)>,
    /// Values whose insert failed or was cut off (it may or may not have committed).
    pub unacknowledged: Vec<i64>,
}

/// Inserts `first`, `first + 1`, … into `table (n bigint)` through `url`, one at a time, until
/// `until`; each insert is tried once.
pub async fn keep_writing(
    url: &str,
    table: &str,
    first: i64,
    since: Instant,
    until: Instant,
) -> WriteLog {
    let url = with_timeout(url);
    let mut log = WriteLog::default();
    let mut value = first;
    while Instant::now() < until {
        let sql = format!("INSERT INTO {table} (n) VALUES ({value})");
        match tokio::time::timeout(WRITE_TIMEOUT, psql(&url, sql)).await {
            Ok(Ok(_)) => log.acknowledged.push((value, since.elapsed())),
            _ => {
                log.unacknowledged.push(value);
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
        value += 1;
    }
    log
}

/// How many rows of `table` hold each value of `n`, on the node `url` points at.
pub async fn count_values(url: &str, table: &str) -> Result<BTreeMap<i64, u32>> {
    let out = psql(
        &with_timeout(url),
        format!("SELECT n, count(*) FROM {table} GROUP BY n"),
    )
    .await?;
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (n, count) = line.split_once('|').context("n|count")?;
            Ok((n.trim().parse()?, count.trim().parse()?))
        })
        .collect()
}

/// Checks a writer's log against the rows the survivor holds: `(lost, doubled)`, the
/// acknowledged values missing, and any value present more than once.
pub fn audit(log: &WriteLog, rows: &BTreeMap<i64, u32>) -> (Vec<i64>, Vec<i64>) {
    let lost = log
        .acknowledged
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !rows.contains_key(n))
        .collect();
    let doubled = rows
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(n, _)| *n)
        .collect();
    (lost, doubled)
}
