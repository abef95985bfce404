//! Accounts as log-in sees them: the user with the password hash, found locally first, and the
//! failed log-ins counted at the account's home.

use std::time::Duration;

use chrono::{DateTime, Utc};
use roam_shared::email_claim::ClaimKeys;
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::storage::claims;
use crate::storage::traced::OnNode;
use crate::storage::Nodes;

/// A user with the password hash and the state of their failed log-ins.
#[derive(Debug)]
pub struct Credentials {
    /// Home city.
    pub city: String,
    /// The user's id.
    pub id: Uuid,
    /// Their name.
    pub name: String,
    /// Their (normalised) email.
    pub email: String,
    /// When they signed up.
    pub created_at: DateTime<Utc>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Failed log-ins in a row (0 when none).
    pub failures: i32,
    /// Log-ins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Credentials {
    /// How long log-ins of this account are still refused, if they are.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .and_then(|until| (until - now).to_std().ok())
            .filter(|left| !left.is_zero())
    }
}

/// The user with this (normalised) email. This region's users are looked up first, and when
/// the user lives here no other region is asked (locality-optimised search). Otherwise the
/// email's claim says where the user lives, and that home node is asked by id: one round trip
/// to the claim's node (none when it is this one), one to the home node.
pub async fn find(
    nodes: &Nodes,
    keys: &ClaimKeys,
    map: &RegionMap,
    email: &str,
) -> Result<Option<Credentials>> {
    // `here.*`: this node's own users only (every city of this region), by the email index.
    let local = sqlx::query_as!(
        Credentials,
        r#"SELECT u.city AS "city!", u.id AS "id!", u.name AS "name!", u.email AS "email!",
                  u.created_at AS "created_at!", u.password_hash AS "password_hash!",
                  COALESCE(f.failures, 0) AS "failures!", f.locked_until AS "locked_until?"
           FROM here.users u LEFT JOIN here.login_failures f
             ON f.city = u.city AND f.user_id = u.id
           WHERE u.email = $1"#,
        email
    )
    .fetch_optional(nodes.local())
    .on_node(nodes.local())
    .await?;
    if local.is_some() {
        return Ok(local);
    }
    let claimed = claims::lookup(nodes, keys, map, email).await?;
    let Some((id, city)) = claimed.filter(|(_, city)| map.city(city).is_some()) else {
        return Ok(None);
    };
    Ok(sqlx::query_as!(
        Credentials,
        r#"SELECT u.city AS "city!", u.id AS "id!", u.name AS "name!", u.email AS "email!",
                  u.created_at AS "created_at!", u.password_hash AS "password_hash!",
                  COALESCE(f.failures, 0) AS "failures!", f.locked_until AS "locked_until?"
           FROM here.users u LEFT JOIN here.login_failures f
             ON f.city = u.city AND f.user_id = u.id AND f.city = $1
           WHERE u.city = $1 AND u.id = $2"#,
        city,
        id
    )
    .fetch_optional(nodes.city(&city)?)
    .on_node(nodes.city(&city)?)
    .await?)
}

/// When repeated failures lock an account.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    /// Failures in a row that cost nothing.
    pub free_failures: u32,
    /// The first lock; each further failure doubles it.
    pub first_lock: Duration,
    /// The longest lock.
    pub longest_lock: Duration,
}

/// Counts a failed log-in at the account's home (`home`: its node) in one statement, and
/// locks the account when the policy says so. Returns how long it is locked now.
pub async fn record_failure(
    home: &PgPool,
    account: &Credentials,
    policy: LockPolicy,
) -> Result<Option<Duration>> {
    let locked_until: Option<DateTime<Utc>> = sqlx::query_scalar!(
        r#"WITH counted AS (
             UPDATE here.login_failures SET failures = failures + 1, updated_at = now(),
               locked_until = CASE WHEN failures + 1 > $3 THEN now() + make_interval(secs =>
                 least($5, $4 * power(2, failures + 1 - $3 - 1))) END
             WHERE city = $1 AND user_id = $2
             RETURNING locked_until),
           first AS (
             INSERT INTO here.login_failures (city, user_id, failures, locked_until)
             SELECT $1, $2, 1, CASE WHEN 1 > $3 THEN now() + make_interval(secs => $4) END
             WHERE NOT EXISTS (SELECT 1 FROM counted)
             ON CONFLICT DO NOTHING
             RETURNING locked_until)
           SELECT locked_until FROM counted UNION ALL SELECT locked_until FROM first"#,
        account.city,
        account.id,
        i32::try_from(policy.free_failures).unwrap_or(i32::MAX),
        policy.first_lock.as_secs_f64(),
        policy.longest_lock.as_secs_f64()
    )
    .fetch_optional(home)
    .on_node(home)
    .await?
    .flatten();
    Ok(locked_until.and_then(|until| (until - Utc::now()).to_std().ok()))
}

/// Forgets an account's failed log-ins (after a successful one).
pub async fn clear_failures(home: &PgPool, account: &Credentials) -> Result<()> {
    sqlx::query!(
        "DELETE FROM here.login_failures WHERE city = $1 AND user_id = $2",
        account.city,
        account.id
    )
    .execute(home)
    .on_node(home)
    .await?;
    Ok(())
}
