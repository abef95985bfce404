//! The job an ended ride calls for: compute its fare and append the vehicle's location to
//! `vehicle_location_history`. Both statements are idempotent (`WHERE fare_cents IS NULL`,
//! history keyed by the ride), so a second run changes nothing.

use chrono::{DateTime, Utc};
use roam_shared::api::VehicleType;
use roam_shared::RegionMap;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::fare::{Fare, PriceTable};
use super::JobError;
use crate::storage::{open_rides, Nodes};

/// The `kind` of this job.
pub const KIND: &str = "ride_ended";

/// Its payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The ride (in the job's city).
    pub ride_id: Uuid,
}

/// Enqueues the job for `ride_id`, inside the transaction that ends the ride (on the ride's
/// node, whichever origin ended it).
pub async fn enqueue(conn: &mut PgConnection, city: &str, ride_id: Uuid) -> sqlx::Result<()> {
    super::enqueue(conn, city, KIND, serde_json::json!(Payload { ride_id })).await
}

/// Runs the job for a ride of `city` (this node's) inside the worker's transaction.
pub async fn run(
    conn: &mut PgConnection,
    nodes: &Nodes,
    map: &RegionMap,
    prices: &PriceTable,
    city: &str,
    payload: serde_json::Value,
) -> Result<(), JobError> {
    let Payload { ride_id } = serde_json::from_value(payload)
        .map_err(|e| JobError::Permanent(format!("bad {KIND} payload: {e}")))?;
    let currency = &map
        .city(city)
        .ok_or_else(|| JobError::Permanent(format!("city {city} is not in the region map")))?
        .currency;
    let ride = fetch_ended_ride(conn, city, ride_id).await?;
    let fare = prices
        .fare(currency, ride.kind, ride.start_time, ride.end_time)
        .ok_or_else(|| {
            JobError::Permanent(format!("no price for {} in {currency}", ride.kind.as_str()))
        })?;
    record_fare(conn, city, ride_id, &fare).await?;
    append_location_history(conn, city, ride_id, &ride).await?;
    clear_foreign_open_ride(nodes, map, city, ride_id, &ride).await
}

/// What the job needs of an ended ride.
struct EndedRide {
    vehicle_id: Uuid,
    rider_id: Uuid,
    rider_city: String,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    end_location: String,
    kind: VehicleType,
}

/// Reads the ride and its vehicle's type; a ride not (yet) there, not ended, or whose vehicle
/// is missing is retried.
async fn fetch_ended_ride(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
) -> Result<EndedRide, JobError> {
    let ride = sqlx::query!(
        r#"SELECT r.vehicle_id AS "vehicle_id!", r.rider_id AS "rider_id!", r.rider_city AS "rider_city!",
                  r.start_time AS "start_time!", r.end_time, r.end_location,
                  v.type AS "vehicle_type?"
           FROM here.rides r LEFT JOIN here.vehicles v ON v.city = r.city AND v.id = r.vehicle_id
           WHERE r.city = $1 AND r.id = $2"#,
        city,
        ride_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| JobError::Retry(format!("no ride {ride_id} in {city}")))?;
    let (Some(end_time), Some(end_location)) = (ride.end_time, ride.end_location) else {
        return Err(JobError::Retry(format!("ride {ride_id} has not ended")));
    };
    let kind = ride
        .vehicle_type
        .as_deref()
        .and_then(VehicleType::parse)
        .ok_or_else(|| JobError::Retry(format!("no vehicle {} in {city}", ride.vehicle_id)))?;
    Ok(EndedRide {
        vehicle_id: ride.vehicle_id,
        rider_id: ride.rider_id,
        rider_city: ride.rider_city,
        start_time: ride.start_time,
        end_time,
        end_location,
        kind,
    })
}

/// Sets the ride's fare unless it already has one.
async fn record_fare(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
    fare: &Fare,
) -> Result<(), JobError> {
    sqlx::query!(
        "UPDATE here.rides SET fare_cents = $3, fare_currency = $4 \
         WHERE city = $1 AND id = $2 AND fare_cents IS NULL",
        city,
        ride_id,
        fare.cents,
        fare.currency
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends where the vehicle was left to its history (once per ride).
async fn append_location_history(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
    ride: &EndedRide,
) -> Result<(), JobError> {
    sqlx::query!(
        r#"INSERT INTO here.vehicle_location_history (city, ride_id, vehicle_id, "timestamp", location)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"#,
        city,
        ride_id,
        ride.vehicle_id,
        ride.end_time,
        ride.end_location
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A rider from another region: their home's open-ride marker goes now (a ride at home
/// cleared it in its end's transaction). An upsert-like delete: running twice is harmless.
async fn clear_foreign_open_ride(
    nodes: &Nodes,
    map: &RegionMap,
    city: &str,
    ride_id: Uuid,
    ride: &EndedRide,
) -> Result<(), JobError> {
    let region = |c: &str| map.city(c).map(|c| c.region.clone());
    if region(&ride.rider_city) != region(city) {
        let home = nodes
            .city(&ride.rider_city)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        open_rides::unmark_on(home, &ride.rider_city, ride.rider_id, ride_id)
            .await
            .map_err(|e| JobError::Retry(format!("clearing the open-ride marker: {e}")))?;
    }
    Ok(())
}
