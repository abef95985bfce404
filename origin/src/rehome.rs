//! Moving email claims after the set of regions changed.
//!
//! An email's claim lives on the node `claim_region(map, email)` picks, a function of the
//! sorted region list: adding a region moves many claims. `roam-origin rehome-claims`, run on
//! every node once all nodes are migrated with the new map, copies each local claim that now
//! belongs elsewhere to its new node (through the `email_claims` parent, so postgres_fdw
//! routes it) and then deletes the local copy. Copy first, delete second: at every moment at
//! least one claim exists, so an email is never free to be taken twice (at worst briefly
//! claimed twice by the same user, which blocks nobody else).

use roam_shared::routing::claim_region;
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

use crate::topology::local_table;

/// Moves this node's misplaced claims; returns how many moved.
pub async fn rehome_claims(pool: &PgPool, map: &RegionMap, region: &str) -> anyhow::Result<u64> {
    let local = local_table("email_claims", region);
    let claims: Vec<(String, Uuid, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT email, user_id, city, idempotency_key FROM ONLY \"{local}\""
    ))
    .fetch_all(pool)
    .await?;
    let mut moved = 0;
    for (email, user_id, city, key) in claims {
        let home = &claim_region(map, &email).name;
        if home == region {
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO email_claims (region, email, user_id, city, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(home)
        .bind(&email)
        .bind(user_id)
        .bind(&city)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM ONLY \"{local}\" WHERE email = $1 AND user_id = $2"
        ))
        .bind(&email)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}
