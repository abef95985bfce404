//! The job a ride started away from the rider's home calls for: tell the rider's home node
//! that this region now holds rides of theirs (`rider_regions`), so that `/me/rides` asks this
//! region too. Enqueued in the start-ride transaction on the ride's node and run by that
//! region's workers, so the start itself pays no round trip to the rider's home; until it has
//! run, the bookmark the start returned names this region (read-your-writes). The write is an
//! upsert, so a second run changes nothing.

use roam_shared::RegionMap;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::JobError;
use crate::storage::Nodes;

/// The `kind` of this job.
pub const KIND: &str = "rider_region";

/// Its payload (the job's city is the ride's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The rider.
    pub rider_id: Uuid,
    /// The rider's home city (where `rider_regions` keeps the row).
    pub rider_city: String,
}

/// Enqueues the job for a ride in `city` by a rider from `rider_city`, inside the transaction
/// that starts the ride.
pub async fn enqueue(
    conn: &mut PgConnection,
    city: &str,
    rider_id: Uuid,
    rider_city: &str,
) -> sqlx::Result<()> {
    let payload = Payload {
        rider_id,
        rider_city: rider_city.to_string(),
    };
    super::enqueue(conn, city, KIND, serde_json::json!(payload)).await
}

/// Records at the rider's home that the region of `city` holds rides of theirs.
pub async fn run(
    nodes: &Nodes,
    map: &RegionMap,
    city: &str,
    payload: serde_json::Value,
) -> Result<(), JobError> {
    let Payload {
        rider_id,
        rider_city,
    } = serde_json::from_value(payload)
        .map_err(|e| JobError::Permanent(format!("bad {KIND} payload: {e}")))?;
    let region = &map
        .city(city)
        .ok_or_else(|| JobError::Permanent(format!("city {city} is not in the region map")))?
        .region;
    let home = nodes
        .city(&rider_city)
        .map_err(|_| JobError::Permanent(format!("rider city {rider_city} is not in the map")))?;
    sqlx::query!(
        "INSERT INTO here.rider_regions (city, rider_id, region) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        rider_city,
        rider_id,
        region
    )
    .execute(home)
    .await?;
    Ok(())
}
