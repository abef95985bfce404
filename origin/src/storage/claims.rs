//! Email claims: the rows in `email_claims` that make an email unique across all regions.
//!
//! A claim holds a keyed hash of the normalised email (never the email) and lives on the node
//! its hash picks (`roam_shared::email_claim::claim_region`); the primary key `(region,
//! email_hash)` lets exactly one of two racing sign-ups through, whichever origins they came
//! to. The claim is one autocommit statement sent straight to that node: one round trip. While
//! a claim key is being rotated, an email is claimed under every key in force, in parallel.
//!
//! A sign-up claims first, then creates the user on the user's home node. A claim is given
//! back only when creating the user was *rejected* (a definite answer from the node that the
//! row was not written); after anything ambiguous (the connection broke after the statement
//! was sent, the node went away) the claim stays, because the user may exist. Such a claim
//! blocks nobody for long: a retry of the same sign-up (same idempotency key) adopts it at
//! once, and any other sign-up for the email takes it over once it is older than any request
//! can run and its user provably does not exist.

use std::time::Duration;

use futures::future::try_join_all;
use roam_shared::email_claim::{claim_region, ClaimKeys};
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::storage::traced::OnNode;
use crate::storage::Nodes;

/// One claim this request wants to hold.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The node that holds it (a function of the hash).
    pub region: String,
    /// The keyed hash of the normalised email.
    pub email_hash: String,
    /// The key it was hashed with.
    pub key_id: String,
    /// The user it is for.
    pub user_id: Uuid,
    /// That user's home city.
    pub city: String,
    /// The sign-up's idempotency key.
    pub idempotency_key: Option<String>,
}

/// A claim that someone else made first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The user it names.
    pub user_id: Uuid,
    /// That user's home city.
    pub city: String,
}

/// What acquiring found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The email is claimed for our user now.
    Claimed,
    /// Claimed by a sign-up with our idempotency key (an earlier attempt of this one).
    HeldBySameKey(Held),
    /// Claimed by someone else.
    Taken,
}

impl Claim {
    /// Inserts the claim: true when it is ours now (false: some claim exists).
    async fn insert(&self, pool: &PgPool) -> Result<bool> {
        let inserted = sqlx::query_scalar!(
            r#"INSERT INTO email_claims (region, email_hash, key_id, user_id, city, idempotency_key)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1 AS "one!""#,
            self.region,
            self.email_hash,
            self.key_id,
            self.user_id,
            self.city,
            self.idempotency_key
        )
        .fetch_optional(pool)
        .on_node(pool)
        .await?;
        Ok(inserted.is_some())
    }

    /// Renews the claim when it names our user (a retry of our own insert, or a claim we
    /// adopt): true when it is ours. Renewing moves `created_at`, so a concurrent takeover of
    /// the claim as it was (which matches on it) no longer applies.
    async fn renew(&self, pool: &PgPool) -> Result<bool> {
        let renewed = sqlx::query!(
            "UPDATE email_claims SET created_at = now() \
             WHERE region = $1 AND email_hash = $2 AND user_id = $3",
            self.region,
            self.email_hash,
            self.user_id
        )
        .execute(pool)
        .on_node(pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Claims the email on its node, taking over an orphaned claim older than `stale_after`.
    pub async fn acquire(&self, nodes: &Nodes, stale_after: Duration) -> Result<Acquired> {
        let pool = nodes.region(&self.region);
        for _ in 0..3 {
            if self.insert(pool).await? {
                return Ok(Acquired::Claimed);
            }
            let existing = sqlx::query!(
                r#"SELECT user_id, city, idempotency_key, created_at,
                          extract(epoch FROM now() - created_at)::float8 AS "age_secs!"
                   FROM email_claims WHERE region = $1 AND email_hash = $2"#,
                self.region,
                self.email_hash
            )
            .fetch_optional(pool)
            .on_node(pool)
            .await?;
            // Released in the meantime: try again.
            let Some(existing) = existing else { continue };
            if existing.user_id == self.user_id {
                if self.renew(pool).await? {
                    return Ok(Acquired::Claimed);
                }
                continue;
            }
            if existing.idempotency_key.is_some()
                && existing.idempotency_key == self.idempotency_key
            {
                return Ok(Acquired::HeldBySameKey(Held {
                    user_id: existing.user_id,
                    city: existing.city,
                }));
            }
            if existing.age_secs < stale_after.as_secs_f64()
                || user_exists(nodes, &existing.city, existing.user_id).await?
            {
                return Ok(Acquired::Taken);
            }
            tracing::warn!(region = %self.region, "taking over an orphaned email claim");
            // Only the claim as it was checked: renewed since (adopted), it stays.
            sqlx::query!(
                "DELETE FROM email_claims WHERE region = $1 AND email_hash = $2 \
                 AND user_id = $3 AND created_at = $4",
                self.region,
                self.email_hash,
                existing.user_id,
                existing.created_at
            )
            .execute(pool)
            .on_node(pool)
            .await?;
        }
        Ok(Acquired::Taken)
    }

    /// Gives the email back (only our own claim: it names our user).
    pub async fn release(&self, nodes: &Nodes) -> Result<()> {
        sqlx::query!(
            "DELETE FROM email_claims WHERE region = $1 AND email_hash = $2 AND user_id = $3",
            self.region,
            self.email_hash,
            self.user_id
        )
        .execute(nodes.region(&self.region))
        .on_node(nodes.region(&self.region))
        .await?;
        Ok(())
    }
}

/// Whether the user a claim names exists on its home node.
async fn user_exists(nodes: &Nodes, city: &str, id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM here.users WHERE city = $1 AND id = $2) AS "exists!""#,
        city,
        id
    )
    .fetch_one(nodes.city(city)?)
    .on_node(nodes.city(city)?)
    .await?)
}

/// An email's claims under every key in force, acquired and released together.
#[derive(Debug, Clone)]
pub struct ClaimSet {
    user_id: Uuid,
    claims: Vec<Claim>,
}

impl ClaimSet {
    /// The claims of `email` for `user_id` (home `city`), one per key in force.
    pub fn new(
        keys: &ClaimKeys,
        map: &RegionMap,
        email: &str,
        user_id: Uuid,
        city: &str,
        idempotency_key: Option<&str>,
    ) -> Self {
        let claims = keys
            .all()
            .map(|key| {
                let email_hash = key.hash(email);
                Claim {
                    region: claim_region(map, &email_hash).name.clone(),
                    email_hash,
                    key_id: key.id().to_string(),
                    user_id,
                    city: city.to_string(),
                    idempotency_key: idempotency_key.map(str::to_string),
                }
            })
            .collect();
        Self { user_id, claims }
    }

    /// The user these claims are for.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// Acquires every claim (their nodes asked in parallel). Unless all are ours, the ones
    /// taken now are given back and the first obstacle is reported.
    pub async fn acquire(&self, nodes: &Nodes, stale_after: Duration) -> Result<Acquired> {
        let outcomes =
            try_join_all(self.claims.iter().map(|c| c.acquire(nodes, stale_after))).await?;
        if outcomes.iter().all(|o| *o == Acquired::Claimed) {
            return Ok(Acquired::Claimed);
        }
        let mine: Vec<&Claim> = self
            .claims
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == Acquired::Claimed)
            .map(|(c, _)| c)
            .collect();
        try_join_all(mine.into_iter().map(|c| c.release(nodes))).await?;
        let held = outcomes.into_iter().find_map(|o| match o {
            Acquired::HeldBySameKey(held) => Some(held),
            _ => None,
        });
        Ok(held.map_or(Acquired::Taken, Acquired::HeldBySameKey))
    }

    /// Gives every claim back; a failure is logged (the claim then stays until taken over).
    pub async fn release(&self, nodes: &Nodes) {
        for outcome in futures::future::join_all(self.claims.iter().map(|c| c.release(nodes))).await
        {
            if let Err(e) = outcome {
                tracing::error!(error = %e, "could not release an email claim");
            }
        }
    }
}

/// The user claimed under `email` (under any key in force, their nodes asked in parallel):
/// `(user id, home city)`.
pub async fn lookup(
    nodes: &Nodes,
    keys: &ClaimKeys,
    map: &RegionMap,
    email: &str,
) -> Result<Option<(Uuid, String)>> {
    let lookups = keys.all().map(|key| {
        let email_hash = key.hash(email);
        let region = claim_region(map, &email_hash).name.clone();
        async move {
            let found = sqlx::query!(
                "SELECT user_id, city FROM email_claims WHERE region = $1 AND email_hash = $2",
                region,
                email_hash
            )
            .fetch_optional(nodes.region(&region))
            .on_node(nodes.region(&region))
            .await?;
            Ok::<_, crate::error::Error>(found.map(|f| (f.user_id, f.city)))
        }
    });
    Ok(try_join_all(lookups).await?.into_iter().flatten().next())
}
