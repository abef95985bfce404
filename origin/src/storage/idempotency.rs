//! Exactly-once writes: the idempotency record commits in the same transaction, on the same
//! node, as the effect it guards.
//!
//! The key is claimed by the *first* statement of the write's transaction. A concurrent
//! duplicate's insert then waits on the key's unique index instead of racing the effect (a
//! duplicate `start ride` would otherwise wait on the vehicle's row lock and answer 409); when
//! the first transaction commits, the duplicate fails with 23505, rolls back, and replays the
//! committed record. If the first transaction rolls back, the duplicate simply proceeds.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::error::{sqlstate, Error, Result};
use crate::storage::traced::OnNode;
use crate::storage::transaction;

/// An idempotency key scoped to the city whose node stores the record.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Partition of the record (the city of the effect).
    pub city: String,
    /// The client's key.
    pub key: String,
    /// Hash of the request that first used the key.
    pub request_hash: String,
}

impl Guard {
    /// The guard for a write in `city`, when the request carried a key.
    pub fn new(key: Option<&str>, request_hash: &str, city: &str) -> Option<Self> {
        key.map(|key| Self {
            city: city.to_string(),
            key: key.to_string(),
            request_hash: request_hash.to_string(),
        })
    }
}

/// A write's answer: what to send, and whether it was replayed (the effect did not run now).
#[derive(Debug, Clone)]
pub struct Written {
    /// HTTP status.
    pub status: StatusCode,
    /// The exact body (byte-identical on a replay).
    pub body: String,
    /// Answered from the record of an earlier request with the key.
    pub replayed: bool,
}

/// A committed response.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its request's hash.
    pub request_hash: String,
    /// HTTP status.
    pub status: i16,
    /// The exact body.
    pub body: String,
}

/// The committed record for a key, if there is one.
pub async fn lookup(pool: &PgPool, guard: &Guard) -> Result<Option<Stored>> {
    Ok(sqlx::query_as!(
        Stored,
        "SELECT request_hash AS \"request_hash!\", status AS \"status!\", body AS \"body!\" FROM here.idempotency WHERE city = $1 AND key = $2",
        guard.city,
        guard.key
    )
    .fetch_optional(pool)
    .on_node(pool)
    .await?)
}

/// The stored answer, or 422 when the key came with another request.
pub fn replay(guard: &Guard, stored: Stored) -> Result<Written> {
    if stored.request_hash != guard.request_hash {
        return Err(Error::invalid(
            roam_shared::headers::IDEMPOTENCY_KEY,
            "this key was already used for a different request",
        ));
    }
    let status = u16::try_from(stored.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    Ok(Written {
        status,
        body: stored.body,
        replayed: true,
    })
}

/// JSON text of a response body.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.into()))
}

/// A write's effect: runs inside the transaction and returns the response body.
pub type Effect =
    Arc<dyn for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<String>> + Send + Sync>;

/// Runs a write exactly once per key on `pool` (the node of the write's city): a replay when
/// the key is known, else the effect and the record in one retried transaction.
pub async fn run(
    pool: &PgPool,
    guard: Option<Guard>,
    status: StatusCode,
    effect: Effect,
) -> Result<Written> {
    if let Some(g) = &guard {
        if let Some(stored) = lookup(pool, g).await? {
            return replay(g, stored);
        }
    }
    let attempt_guard = guard.clone();
    let result = transaction::transaction(pool, move |conn| {
        let guard = attempt_guard.clone();
        let effect = effect.clone();
        Box::pin(async move {
            if let Some(g) = &guard {
                claim(conn, g).await?;
            }
            let body = effect(&mut *conn).await?;
            if let Some(g) = &guard {
                sqlx::query!(
                    "UPDATE here.idempotency SET status = $3, body = $4 WHERE city = $1 AND key = $2",
                    g.city,
                    g.key,
                    status.as_u16() as i16,
                    body
                )
                .execute(&mut *conn)
                .await?;
            }
            Ok(body)
        })
    })
    .await;
    match (result, &guard) {
        (Ok(body), _) => Ok(Written {
            status,
            body,
            replayed: false,
        }),
        (Err(Error::KeyTaken), Some(g)) => match lookup(pool, g).await? {
            Some(stored) => replay(g, stored),
            None => Err(Error::Conflict(
                "a request with this idempotency key is still running".into(),
            )),
        },
        (Err(e), _) => Err(e),
    }
}

async fn claim(conn: &mut PgConnection, g: &Guard) -> Result<()> {
    let inserted = sqlx::query!(
        "INSERT INTO here.idempotency (city, key, request_hash, status, body) VALUES ($1, $2, $3, 0, '')",
        g.city,
        g.key,
        g.request_hash
    )
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if sqlstate(&e).as_deref() == Some("23505") => Err(Error::KeyTaken),
        Err(e) => Err(e.into()),
    }
}

/// Deletes this node's idempotency records older than `ttl` (only the local partition: every
/// origin prunes its own node). Returns how many went.
pub async fn prune(pool: &PgPool, region: &str, ttl: Duration) -> Result<u64> {
    let table = crate::schema::names::local_table("idempotency", region);
    let deleted = sqlx::query(&format!(
        "DELETE FROM ONLY \"{table}\" WHERE created_at < now() - make_interval(secs => $1)"
    ))
    .bind(ttl.as_secs_f64())
    .execute(pool)
    .on_node(pool)
    .await?;
    Ok(deleted.rows_affected())
}
