//! Connection pools: this region's node, and another region's over a wide-area link.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

/// A lazily connecting pool, so an origin starts (and reports unready) while its node is down.
pub fn pool(
    database_url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(connect_options(database_url)?))
}

/// A remote connection idle longer than this is pinged before use: a network path may drop
/// idle connections silently, and a statement sent into one would hang until the timeout.
const REMOTE_IDLE_PING: Duration = Duration::from_secs(30);

/// A lazily connecting pool to another region's node. Its connections stay open (a new one
/// costs several wide-area round trips: TCP, startup, authentication) and are not pinged before
/// each use (a ping is one more round trip) unless they sat idle for a while; at least one is
/// kept ready. A connection reset since its last use fails its next statement, which callers
/// answer like the node being away (503); the pool then replaces it.
pub fn remote_pool(
    database_url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > REMOTE_IDLE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(connect_options(database_url)?))
}

fn connect_options(database_url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(database_url)?.application_name("roam-origin"))
}
