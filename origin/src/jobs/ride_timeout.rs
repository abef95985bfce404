//! The job every start leaves for later: a ride still open `ROAM_RIDE_MAX_MINUTES` after it
//! started ends by itself, where it started (the last place the vehicle is known to be), so a
//! vehicle cannot be held forever. Its fare is then that of the longest ride allowed. A ride
//! ended by its rider first is left alone.

use std::time::Duration;

use roam_shared::RegionMap;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ride_ended, JobError};
use crate::storage::{open_rides, rides};

/// The `kind` of this job.
pub const KIND: &str = "ride_timeout";

/// Its payload (the job's city is the ride's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The ride.
    pub ride_id: Uuid,
}

/// Enqueues the automatic end of `ride_id`, due `after` from now, in the start's transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
    after: Duration,
) -> sqlx::Result<()> {
    let payload = serde_json::json!(Payload { ride_id });
    super::enqueue_after(conn, city, KIND, payload, after).await
}

/// Ends the ride if it is still open, inside the worker's transaction on the ride's node.
pub async fn run(
    conn: &mut PgConnection,
    map: &RegionMap,
    city: &str,
    payload: serde_json::Value,
) -> Result<(), JobError> {
    let Payload { ride_id } = serde_json::from_value(payload)
        .map_err(|e| JobError::Permanent(format!("bad {KIND} payload: {e}")))?;
    let ride = rides::lock(conn, city, ride_id)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if ride.end_time.is_some() {
        return Ok(());
    }
    let start = ride.start_location.clone();
    rides::finish(conn, &ride, &start)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    ride_ended::enqueue(conn, city, ride_id).await?;
    let region = |c: &str| map.city(c).map(|c| c.region.clone());
    if region(&ride.rider_city) == region(city) {
        open_rides::unmark(conn, &ride.rider_city, ride.rider_id, ride_id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
    }
    tracing::info!(ride = %ride_id, city, "ended a ride open past the longest allowed");
    Ok(())
}
