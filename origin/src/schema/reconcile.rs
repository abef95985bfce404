//! `roam-origin reconcile-claims`: bring the email claims in step with the region map and the
//! claim keys, run on every node after every node is migrated.
//!
//! On the node of region R it:
//! 1. hashes the plaintext claims of earlier versions (`legacy_email_claims`, this node's own
//!    partition) into `email_claims`, then drops the legacy table once it is empty;
//! 2. moves this node's claims whose hash now belongs to another region (the region list
//!    changed) to that region's node;
//! 3. makes sure every user living here is claimed under every key in force, and removes
//!    their claims under keys no longer in force (a rotation of `ROAM_CLAIM_KEY`).
//!
//! A claim is removed only once its replacement is on its node and names the same user. When
//! the replacement's place is held by a claim for *another* user (two accounts got the same
//! email while the map changed), both stay and the conflict is reported: which account keeps
//! the email is a person's call, never a migration's. Claims are reached through the parent
//! table (postgres_fdw routes them): this is maintenance, not a request path.

use std::fmt;

use roam_shared::email_claim::{claim_region, ClaimKey, ClaimKeys};
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

use crate::schema::names::local_table;

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Plaintext claims hashed into `email_claims`.
    pub hashed: u64,
    /// Claims moved to the node that owns them now.
    pub moved: u64,
    /// Claims made for local users that had none under a key in force.
    pub made: u64,
    /// Claims removed because their key is no longer in force.
    pub retired: u64,
    /// Claims left in place because another user's claim holds their new place.
    pub conflicts: Vec<Conflict>,
}

/// Two users, one email (by hash): kept, for a person to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The region whose node holds the other claim.
    pub region: String,
    /// The first characters of the hash.
    pub hash_prefix: String,
    /// The user this node's claim (or user) names.
    pub ours: Uuid,
    /// The user the claim in its place names.
    pub theirs: Uuid,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "claim {}… on {} names user {}, but user {} holds the same email; both kept",
            self.hash_prefix, self.region, self.theirs, self.ours
        )
    }
}

/// One claim to place: (hash, key id, user, city, idempotency key).
struct Wanted {
    email_hash: String,
    key_id: String,
    user_id: Uuid,
    city: String,
    idempotency_key: Option<String>,
}

/// What every step works with: `region`'s node, the map and the claim keys in force.
#[derive(Clone, Copy)]
struct Node<'a> {
    pool: &'a PgPool,
    map: &'a RegionMap,
    region: &'a str,
    keys: &'a ClaimKeys,
}

/// Runs the three steps on `region`'s node.
pub async fn reconcile_claims(
    pool: &PgPool,
    map: &RegionMap,
    region: &str,
    keys: &ClaimKeys,
) -> anyhow::Result<Report> {
    let node = Node {
        pool,
        map,
        region,
        keys,
    };
    let mut report = Report::default();
    hash_legacy(node, &mut report).await?;
    rehome(node, &mut report).await?;
    rekey(node, &mut report).await?;
    Ok(report)
}

/// What placing a claim found in its place.
enum Placed {
    /// Its place was free: the claim is there now.
    Made,
    /// The same user's claim was there already.
    AlreadyThere,
    /// Another user's claim holds its place.
    Conflict(Conflict),
}

/// Places `wanted` on the node its hash belongs to (through `node`'s parent table, which
/// routes it), unless it is there.
async fn place(node: Node<'_>, wanted: &Wanted) -> anyhow::Result<Placed> {
    let region = claim_region(node.map, &wanted.email_hash).name.clone();
    let inserted = sqlx::query(
        "INSERT INTO email_claims (region, email_hash, key_id, user_id, city, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&region)
    .bind(&wanted.email_hash)
    .bind(&wanted.key_id)
    .bind(wanted.user_id)
    .bind(&wanted.city)
    .bind(&wanted.idempotency_key)
    .execute(node.pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Placed::Made);
    }
    let holder: Uuid = sqlx::query_scalar(
        "SELECT user_id FROM email_claims WHERE region = $1 AND email_hash = $2",
    )
    .bind(&region)
    .bind(&wanted.email_hash)
    .fetch_one(node.pool)
    .await?;
    if holder == wanted.user_id {
        return Ok(Placed::AlreadyThere);
    }
    Ok(Placed::Conflict(Conflict {
        region,
        hash_prefix: wanted.email_hash.chars().take(12).collect(),
        ours: wanted.user_id,
        theirs: holder,
    }))
}

/// Step 1: plaintext claims of earlier versions.
async fn hash_legacy(node: Node<'_>, report: &mut Report) -> anyhow::Result<()> {
    let legacy = format!("legacy_{}", local_table("email_claims", node.region));
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&legacy)
        .fetch_one(node.pool)
        .await?;
    if !exists {
        return Ok(());
    }
    let rows: Vec<(String, Uuid, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT email, user_id, city, idempotency_key FROM ONLY \"{legacy}\""
    ))
    .fetch_all(node.pool)
    .await?;
    for (email, user_id, city, idempotency_key) in rows {
        let mut placed = true;
        for key in node.keys.all() {
            let wanted = wanted(key, &email, user_id, &city, idempotency_key.clone());
            if let Placed::Conflict(conflict) = place(node, &wanted).await? {
                report.conflicts.push(conflict);
                placed = false;
            }
        }
        if placed {
            sqlx::query(&format!(
                "DELETE FROM ONLY \"{legacy}\" WHERE email = $1 AND user_id = $2"
            ))
            .bind(&email)
            .bind(user_id)
            .execute(node.pool)
            .await?;
            report.hashed += 1;
        }
    }
    let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ONLY \"{legacy}\""))
        .fetch_one(node.pool)
        .await?;
    if left == 0 {
        sqlx::query("DROP TABLE IF EXISTS legacy_email_claims CASCADE")
            .execute(node.pool)
            .await?;
    }
    Ok(())
}

fn wanted(
    key: &ClaimKey,
    email: &str,
    user_id: Uuid,
    city: &str,
    idempotency_key: Option<String>,
) -> Wanted {
    Wanted {
        email_hash: key.hash(email),
        key_id: key.id().to_string(),
        user_id,
        city: city.to_string(),
        idempotency_key,
    }
}

/// Step 2: this node's claims that belong elsewhere now.
async fn rehome(node: Node<'_>, report: &mut Report) -> anyhow::Result<()> {
    let local = local_table("email_claims", node.region);
    let claims: Vec<(String, String, Uuid, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT email_hash, key_id, user_id, city, idempotency_key FROM ONLY \"{local}\""
    ))
    .fetch_all(node.pool)
    .await?;
    for (email_hash, key_id, user_id, city, idempotency_key) in claims {
        if claim_region(node.map, &email_hash).name == node.region {
            continue;
        }
        let wanted = Wanted {
            email_hash,
            key_id,
            user_id,
            city,
            idempotency_key,
        };
        if let Placed::Conflict(conflict) = place(node, &wanted).await? {
            report.conflicts.push(conflict);
            continue;
        }
        sqlx::query(&format!(
            "DELETE FROM ONLY \"{local}\" WHERE email_hash = $1 AND user_id = $2"
        ))
        .bind(&wanted.email_hash)
        .bind(user_id)
        .execute(node.pool)
        .await?;
        report.moved += 1;
    }
    Ok(())
}

/// Step 3: every local user claimed under every key in force, and nothing under others.
async fn rekey(node: Node<'_>, report: &mut Report) -> anyhow::Result<()> {
    let users: Vec<(Uuid, String, String)> = sqlx::query_as(&format!(
        "SELECT id, city, email FROM ONLY \"{}\"",
        local_table("users", node.region)
    ))
    .fetch_all(node.pool)
    .await?;
    let key_ids: Vec<String> = node.keys.all().map(|k| k.id().to_string()).collect();
    let mut settled = Vec::new();
    for (user_id, city, email) in users {
        let mut clean = true;
        for key in node.keys.all() {
            let wanted = wanted(key, &email, user_id, &city, None);
            match place(node, &wanted).await? {
                Placed::Made => report.made += 1,
                Placed::AlreadyThere => {}
                Placed::Conflict(conflict) => {
                    report.conflicts.push(conflict);
                    clean = false;
                }
            }
        }
        if clean {
            settled.push(user_id);
        }
    }
    if !settled.is_empty() {
        report.retired += sqlx::query(
            "DELETE FROM email_claims WHERE user_id = ANY($1) AND NOT (key_id = ANY($2))",
        )
        .bind(&settled)
        .bind(&key_ids)
        .execute(node.pool)
        .await?
        .rows_affected();
    }
    Ok(())
}
