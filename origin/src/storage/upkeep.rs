//! Housekeeping on this region's node, every ten minutes: idempotency records past their
//! time to live, and revocations of tokens that have expired anyway.

use std::time::Duration;

use sqlx::PgPool;

use crate::storage::{idempotency, revocations};

/// Prunes every `every` until the process ends; failures are logged and retried next time.
pub async fn prune_periodically(pool: PgPool, region: String, ttl: Duration, every: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticker.tick().await;
        match idempotency::prune(&pool, &region, ttl).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned old idempotency records"),
            Err(e) => tracing::warn!(error = %e, "could not prune idempotency records"),
        }
        match revocations::prune(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned revocations of expired tokens"),
            Err(e) => tracing::warn!(error = %e, "could not prune revocations"),
        }
    }
}
