//! Email claims: the row in `email_claims` that makes an email unique across all regions.
//!
//! A claim lives on the node `claim_region(email)` picks; its primary key `(region, email)`
//! lets exactly one of two racing sign-ups through, whichever origins they came to. Sign-up
//! claims first and releases the claim if creating the user then fails. If even the release
//! fails (the claim's node went away at that moment), the claim is orphaned: it names a user
//! that was never created. Such a claim blocks nobody for long: once it is older than any
//! request can run, the next sign-up for the email checks that its user does not exist and
//! takes it over.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::error::{sqlstate, Error, Result};

/// A claim this request wants to make.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The node that holds it (`claim_region(email)`).
    pub region: String,
    /// Normalised email.
    pub email: String,
    /// The user about to be created.
    pub user_id: Uuid,
    /// That user's home city.
    pub city: String,
    /// The sign-up's idempotency key.
    pub key: Option<String>,
}

/// What [`Claim::acquire`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// The email is ours now.
    Claimed,
    /// Already claimed by a request with our idempotency key (a retry of this sign-up).
    HeldBySameKey,
    /// Already claimed by someone else.
    Taken,
}

impl Claim {
    /// Claims the email, taking over an orphaned claim older than `stale_after`.
    pub async fn acquire(&self, pool: &PgPool, stale_after: Duration) -> Result<Acquired> {
        for _ in 0..3 {
            if self.insert(pool).await? {
                return Ok(Acquired::Claimed);
            }
            let existing = sqlx::query!(
                r#"SELECT user_id, city, idempotency_key,
                          extract(epoch FROM now() - created_at)::float8 AS "age_secs!"
                   FROM email_claims WHERE region = $1 AND email = $2"#,
                self.region,
                self.email
            )
            .fetch_optional(pool)
            .await?;
            // Released in the meantime: try again.
            let Some(existing) = existing else { continue };
            if existing.idempotency_key.is_some() && existing.idempotency_key == self.key {
                return Ok(Acquired::HeldBySameKey);
            }
            if existing.age_secs < stale_after.as_secs_f64() {
                return Ok(Acquired::Taken);
            }
            let user_exists = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM users WHERE city = $1 AND id = $2) AS "exists!""#,
                existing.city,
                existing.user_id
            )
            .fetch_one(pool)
            .await?;
            if user_exists {
                return Ok(Acquired::Taken);
            }
            tracing::warn!(region = %self.region, "taking over an orphaned email claim");
            Self::delete(pool, &self.region, &self.email, existing.user_id).await?;
        }
        Ok(Acquired::Taken)
    }

    /// Inserts the claim; false when the email is already claimed.
    async fn insert(&self, pool: &PgPool) -> Result<bool> {
        let claim = self.clone();
        db::transaction(pool, move |conn| {
            let c = claim.clone();
            Box::pin(async move {
                let inserted = sqlx::query!(
                    "INSERT INTO email_claims (region, email, user_id, city, idempotency_key) \
                     VALUES ($1, $2, $3, $4, $5)",
                    c.region,
                    c.email,
                    c.user_id,
                    c.city,
                    c.key
                )
                .execute(conn)
                .await;
                match inserted {
                    Ok(_) => Ok(true),
                    Err(e) if sqlstate(&e).as_deref() == Some("23505") => Ok(false),
                    Err(e) => Err(Error::Database(e)),
                }
            })
        })
        .await
    }

    /// Gives the email back (only our own claim: it names our user id).
    pub async fn release(&self, pool: &PgPool) -> Result<()> {
        Self::delete(pool, &self.region, &self.email, self.user_id).await
    }

    async fn delete(pool: &PgPool, region: &str, email: &str, user_id: Uuid) -> Result<()> {
        sqlx::query!(
            "DELETE FROM email_claims WHERE region = $1 AND email = $2 AND user_id = $3",
            region,
            email,
            user_id
        )
        .execute(pool)
        .await?;
        Ok(())
    }
}
