//! At most one open ride per user, whichever region it is in (no hoarding the fleet): a
//! marker at the rider's home node, `open_rides`, whose primary key is the rule.
//!
//! At home the marker is written in the start's own transaction and removed in the end's, so
//! it is exact. A start away from home writes it first, straight to the home node (one round
//! trip: a global rule must reach its arbiter), and gives it back when the start is refused;
//! the ride's `ride_ended` job removes it after the end. A marker can so outlive its ride (the
//! job has not run yet, or a start died between the marker and the ride): the rider's next
//! start looks the marked ride up and takes the marker over when that ride has ended, or never
//! came to be and the marker is older than any start can take.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::storage::Nodes;

/// A marker older than this whose ride does not exist is left by a start that died.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// The ride a rider starts.
#[derive(Debug, Clone)]
pub struct Start {
    /// The rider's home city (the marker's partition).
    pub rider_city: String,
    /// The rider.
    pub rider_id: Uuid,
    /// Where the ride is.
    pub ride_city: String,
    /// The ride about to be created.
    pub ride_id: Uuid,
}

struct Marker {
    ride_city: String,
    ride_id: Uuid,
    started_at: DateTime<Utc>,
}

/// Marks the ride open on `home` (a connection to the rider's home node: inside the start's
/// transaction when the ride is at home, or on its own before a start away). 409 when another
/// ride of the rider is open.
pub async fn mark(home: &mut PgConnection, nodes: &Nodes, start: &Start) -> Result<()> {
    for _ in 0..3 {
        let inserted = sqlx::query_scalar!(
            r#"INSERT INTO here.open_rides (city, rider_id, ride_city, ride_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING 1 AS "one!""#,
            start.rider_city,
            start.rider_id,
            start.ride_city,
            start.ride_id
        )
        .fetch_optional(&mut *home)
        .await?;
        if inserted.is_some() {
            return Ok(());
        }
        let marker = sqlx::query_as!(
            Marker,
            "SELECT ride_city AS \"ride_city!\", ride_id AS \"ride_id!\", started_at AS \"started_at!\" FROM here.open_rides WHERE city = $1 AND rider_id = $2",
            start.rider_city,
            start.rider_id
        )
        .fetch_optional(&mut *home)
        .await?;
        let Some(marker) = marker else { continue };
        if marker.ride_id == start.ride_id {
            // Written by an earlier try of this very start (the ride id is a function of its
            // idempotency key): the start goes on, and its idempotency record decides.
            return Ok(());
        }
        if still_open(home, nodes, start, &marker).await? {
            return Err(Error::Conflict(format!(
                "you already have an open ride ({} in {}); end it first",
                marker.ride_id, marker.ride_city
            )));
        }
        // Its ride is over (the job that removes the marker has not run yet): the marker is
        // ours, if it is still the one that was checked.
        let taken_over = sqlx::query!(
            "UPDATE here.open_rides SET ride_city = $3, ride_id = $4, started_at = now() \
             WHERE city = $1 AND rider_id = $2 AND ride_id = $5",
            start.rider_city,
            start.rider_id,
            start.ride_city,
            start.ride_id,
            marker.ride_id
        )
        .execute(&mut *home)
        .await?;
        if taken_over.rows_affected() == 1 {
            return Ok(());
        }
    }
    Err(Error::Conflict(
        "another ride is being started; retry".into(),
    ))
}

/// Whether the marked ride may still be open: it is, or it does not exist (yet) and the
/// marker is young enough for its start to be in flight. A ride at the rider's home is read on
/// `home` itself (a second connection from the pool, while this one waits in a transaction,
/// could wait for a connection forever under load).
async fn still_open(
    home: &mut PgConnection,
    nodes: &Nodes,
    start: &Start,
    marker: &Marker,
) -> Result<bool> {
    let sql = sqlx::query_scalar!(
        r#"SELECT end_time IS NOT NULL AS "ended!" FROM here.rides WHERE city = $1 AND id = $2"#,
        marker.ride_city,
        marker.ride_id
    );
    let ended = if nodes.same_region(&marker.ride_city, &start.rider_city) {
        sql.fetch_optional(&mut *home).await?
    } else {
        sql.fetch_optional(nodes.city(&marker.ride_city)?).await?
    };
    Ok(match ended {
        Some(ended) => !ended,
        None => {
            (Utc::now() - marker.started_at)
                .to_std()
                .unwrap_or_default()
                < STALE_AFTER
        }
    })
}

/// Removes the marker of `ride_id` (its ride ended, or its start was refused): on `home`,
/// inside a transaction or not. Another ride's marker is left alone.
pub async fn unmark(
    home: &mut PgConnection,
    rider_city: &str,
    rider_id: Uuid,
    ride_id: Uuid,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM here.open_rides WHERE city = $1 AND rider_id = $2 AND ride_id = $3",
        rider_city,
        rider_id,
        ride_id
    )
    .execute(home)
    .await?;
    Ok(())
}

/// [`unmark`] on its own connection of `pool` (the home node, from another region).
pub async fn unmark_on(
    pool: &PgPool,
    rider_city: &str,
    rider_id: Uuid,
    ride_id: Uuid,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    unmark(&mut conn, rider_city, rider_id, ride_id).await
}
