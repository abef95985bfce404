//! Ended sessions: written to every node (one round trip, all regions in parallel) so that any
//! origin checks a token against its own node, whichever region the request is about.
//!
//! A node that cannot be reached when a session ends gets the revocation later, from a
//! `revocation` job at the user's home (retried with backoff until delivered). Until then that
//! region alone still accepts the token, and only while it is unreachable for the job too.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use roam_shared::token::SessionClaims;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::storage::traced::OnNode;
use crate::storage::Nodes;

/// What to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case", deny_unknown_fields)]
pub enum Revocation {
    /// One session (log-out).
    Session {
        /// The session id.
        sid: Uuid,
        /// Its user.
        user_id: Uuid,
        /// When its token expires (the row is kept until then).
        expires_at: DateTime<Utc>,
    },
    /// Every session of a user issued before a moment (log out everywhere).
    User {
        /// The user.
        user_id: Uuid,
        /// Tokens issued before this are ended.
        before: DateTime<Utc>,
        /// When the last of those tokens expires.
        expires_at: DateTime<Utc>,
    },
}

/// Writes `revocation` to one node (an upsert: delivering it twice changes nothing).
pub async fn write(pool: &PgPool, revocation: &Revocation) -> sqlx::Result<()> {
    match revocation {
        Revocation::Session {
            sid,
            user_id,
            expires_at,
        } => sqlx::query!(
            "INSERT INTO revoked_sessions (sid, user_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (sid) DO NOTHING",
            sid,
            user_id,
            expires_at
        )
        .execute(pool)
        .on_node(pool)
        .await
        .map(drop),
        Revocation::User {
            user_id,
            before,
            expires_at,
        } => sqlx::query!(
            "INSERT INTO revoked_users (user_id, revoked_before, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET \
               revoked_before = greatest(revoked_users.revoked_before, EXCLUDED.revoked_before), \
               expires_at = greatest(revoked_users.expires_at, EXCLUDED.expires_at)",
            user_id,
            before,
            expires_at
        )
        .execute(pool)
        .on_node(pool)
        .await
        .map(drop),
    }
}

/// Writes `revocation` to every node in parallel; returns the regions it could not reach
/// (for the caller to deliver later).
pub async fn write_everywhere(nodes: &Nodes, revocation: &Revocation) -> Vec<String> {
    let writes = nodes.all().map(|(region, pool)| async move {
        let written = write(pool, revocation).await;
        if let Err(e) = &written {
            tracing::warn!(region, error = %e, "could not write a revocation; delivering later");
        }
        (region.to_string(), written.is_ok())
    });
    join_all(writes)
        .await
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(region, _)| region)
        .collect()
}

/// When the session of `claims` began: to the millisecond from its id (a UUIDv7), else the
/// token's whole second. A session begun just after "log out everywhere", in the same second,
/// must not count as begun before it.
fn began_at(claims: &SessionClaims) -> DateTime<Utc> {
    let precise = claims.sid.get_timestamp().and_then(|t| {
        let (secs, nanos) = t.to_unix();
        DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
    });
    precise
        .or_else(|| DateTime::from_timestamp(claims.iat, 0))
        .unwrap_or_default()
}

/// Whether this node has a revocation for the session `claims` stand for.
pub async fn is_revoked(pool: &PgPool, claims: &SessionClaims) -> Result<bool> {
    let issued = began_at(claims);
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE sid = $1)
               OR EXISTS (SELECT 1 FROM revoked_users WHERE user_id = $2 AND revoked_before > $3)
           AS "revoked!""#,
        claims.sid,
        claims.sub,
        issued
    )
    .fetch_one(pool)
    .on_node(pool)
    .await?)
}

/// Deletes this node's revocations of tokens that have expired anyway. Returns how many went.
pub async fn prune(pool: &PgPool) -> Result<u64> {
    let sessions = sqlx::query!("DELETE FROM revoked_sessions WHERE expires_at < now()")
        .execute(pool)
        .on_node(pool)
        .await?
        .rows_affected();
    let users = sqlx::query!("DELETE FROM revoked_users WHERE expires_at < now()")
        .execute(pool)
        .on_node(pool)
        .await?
        .rows_affected();
    Ok(sessions + users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_begins_to_the_millisecond_when_its_id_says_so() {
        let at = |sid: Uuid| SessionClaims {
            sub: Uuid::nil(),
            city: "rome".into(),
            sid,
            iat: 1_700_000_000,
            exp: 1_700_043_200,
        };
        let v7 = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_700_000_000,
            750_000_000,
        ));
        assert_eq!(began_at(&at(v7)).timestamp_millis(), 1_700_000_000_750);
        // Tokens from before version-7 ids: the whole second.
        let v4 = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
        assert_eq!(began_at(&at(v4)).timestamp_millis(), 1_700_000_000_000);
    }
}
