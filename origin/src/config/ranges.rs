//! Every numeric setting of `roam-origin serve` within its range; the message names the
//! variable.

use anyhow::bail;

use super::ServeArgs;

/// Every numeric setting within its range; the message names the variable.
pub(super) fn check_ranges(args: &ServeArgs) -> anyhow::Result<()> {
    check_service_ranges(args)?;
    check_abuse_ranges(args)
}

/// What the origin holds and waits for: timeouts, pools, hashing, connections.
fn check_service_ranges(args: &ServeArgs) -> anyhow::Result<()> {
    within(
        "ROAM_REQUEST_TIMEOUT_MS",
        args.request_timeout_ms,
        100,
        600_000,
    )?;
    within("ROAM_DB_MAX_CONNECTIONS", args.db_max_connections, 1, 1000)?;
    within(
        "ROAM_DB_ACQUIRE_TIMEOUT_MS",
        args.db_acquire_timeout_ms,
        10,
        600_000,
    )?;
    within(
        "ROAM_ARGON2_MEMORY_KIB",
        args.argon2_memory_kib,
        64,
        1_048_576,
    )?;
    within(
        "ROAM_IDEMPOTENCY_TTL_HOURS",
        args.idempotency_ttl_hours,
        1,
        24 * 365,
    )?;
    within(
        "ROAM_PEER_MAX_CONNECTIONS",
        args.peer_max_connections,
        1,
        1000,
    )?;
    within(
        "ROAM_HASH_CONCURRENCY",
        args.hash_concurrency.unwrap_or(1),
        1,
        256,
    )?;
    within("ROAM_HASH_WAIT_MS", args.hash_wait_ms, 1, 60_000)?;
    within(
        "ROAM_HEADER_READ_TIMEOUT_MS",
        args.header_read_timeout_ms,
        100,
        600_000,
    )?;
    within("ROAM_MAX_CONNECTIONS", args.max_connections, 1, 1_000_000)
}

/// The limits on clients and rides: failed log-ins, the longest ride, vehicles per hour.
fn check_abuse_ranges(args: &ServeArgs) -> anyhow::Result<()> {
    within(
        "ROAM_LOGIN_FREE_FAILURES",
        args.login_free_failures,
        1,
        1000,
    )?;
    within(
        "ROAM_LOGIN_FIRST_LOCK_SECS",
        args.login_first_lock_secs,
        1,
        3600,
    )?;
    within(
        "ROAM_LOGIN_LONGEST_LOCK_SECS",
        args.login_longest_lock_secs,
        1,
        86_400,
    )?;
    within(
        "ROAM_LOGIN_FAILURE_FLOOR_MS",
        args.login_failure_floor_ms,
        0,
        10_000,
    )?;
    within(
        "ROAM_RIDE_MAX_MINUTES",
        args.ride_max_minutes,
        1,
        7 * 24 * 60,
    )?;
    within("ROAM_VEHICLES_PER_HOUR", args.vehicles_per_hour, 1, 100_000)
}

fn within<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: T,
    low: T,
    high: T,
) -> anyhow::Result<()> {
    if value < low || value > high {
        bail!("{name} must be between {low} and {high}");
    }
    Ok(())
}
