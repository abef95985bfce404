//! The ride rows: starting one (the vehicle becomes unavailable in the same transaction) and
//! finishing one (the vehicle is available again where the ride ended). Who may do it, and the
//! jobs a change calls for, are the callers' (`http::rides`, the `ride_timeout` job).

use chrono::{DateTime, Utc};
use roam_shared::api;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A `rides` row.
#[derive(Debug)]
pub struct RideRow {
    /// The ride's (the vehicle's) city.
    pub city: String,
    /// The ride's id.
    pub id: Uuid,
    /// The rider.
    pub rider_id: Uuid,
    /// The rider's home city.
    pub rider_city: String,
    /// The vehicle.
    pub vehicle_id: Uuid,
    /// Where it started.
    pub start_location: String,
    /// Where it ended.
    pub end_location: Option<String>,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Its fare, once the `ride_ended` job has priced it.
    pub fare_cents: Option<i64>,
    /// The fare's currency.
    pub fare_currency: Option<String>,
}

impl From<RideRow> for api::Ride {
    fn from(r: RideRow) -> Self {
        Self {
            city: r.city,
            id: r.id,
            rider_id: r.rider_id,
            rider_city: r.rider_city,
            vehicle_id: r.vehicle_id,
            start_location: r.start_location,
            end_location: r.end_location,
            start_time: r.start_time,
            end_time: r.end_time,
            fare_cents: r.fare_cents,
            fare_currency: r.fare_currency,
        }
    }
}

/// Takes the vehicle and starts the ride, in the caller's transaction on the city's node.
pub async fn start(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
    rider: (Uuid, &str),
    vehicle_id: Uuid,
) -> Result<RideRow> {
    // The status check and the change are one statement: of many concurrent starts exactly one
    // updates the row; the others wait for its lock and then see `unavailable`.
    let location = sqlx::query_scalar!(
        "UPDATE here.vehicles SET status = 'unavailable' \
         WHERE city = $1 AND id = $2 AND status = 'available' RETURNING last_location AS \"last_location!\"",
        city,
        vehicle_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(location) = location else {
        let exists = sqlx::query_scalar!(
            r#"SELECT 1 AS "one!" FROM here.vehicles WHERE city = $1 AND id = $2"#,
            city,
            vehicle_id
        )
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match exists {
            Some(_) => Error::Conflict(format!("vehicle {vehicle_id} is not available")),
            None => Error::NotFound(format!("no vehicle {vehicle_id} in {city}")),
        });
    };
    sqlx::query_as!(
        RideRow,
        "INSERT INTO here.rides (city, id, rider_id, rider_city, vehicle_id, start_location) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING city AS \"city!\", id AS \"id!\", rider_id AS \"rider_id!\", rider_city AS \"rider_city!\", vehicle_id AS \"vehicle_id!\", start_location AS \"start_location!\", end_location, start_time AS \"start_time!\", end_time, fare_cents, fare_currency",
        city,
        ride_id,
        rider.0,
        rider.1,
        vehicle_id,
        location
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(Error::from_db)
}

/// The ride, locked for the caller's transaction (404 when there is none).
pub async fn lock(conn: &mut PgConnection, city: &str, id: Uuid) -> Result<RideRow> {
    sqlx::query_as!(
        RideRow,
        "SELECT city AS \"city!\", id AS \"id!\", rider_id AS \"rider_id!\", rider_city AS \"rider_city!\", vehicle_id AS \"vehicle_id!\", start_location AS \"start_location!\", end_location, start_time AS \"start_time!\", end_time, fare_cents, fare_currency \
         FROM here.rides WHERE city = $1 AND id = $2 FOR UPDATE",
        city,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("no ride {id} in {city}")))
}

/// Ends a locked, open ride at `location` and makes its vehicle available there.
pub async fn finish(conn: &mut PgConnection, ride: &RideRow, location: &str) -> Result<RideRow> {
    let ended = sqlx::query_as!(
        RideRow,
        "UPDATE here.rides SET end_location = $3, end_time = now() WHERE city = $1 AND id = $2 \
         RETURNING city AS \"city!\", id AS \"id!\", rider_id AS \"rider_id!\", rider_city AS \"rider_city!\", vehicle_id AS \"vehicle_id!\", start_location AS \"start_location!\", end_location, start_time AS \"start_time!\", end_time, fare_cents, fare_currency",
        ride.city,
        ride.id,
        location
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE here.vehicles SET last_location = $3, status = 'available' WHERE city = $1 AND id = $2",
        ride.city,
        ride.vehicle_id,
        location
    )
    .execute(&mut *conn)
    .await?;
    Ok(ended)
}
