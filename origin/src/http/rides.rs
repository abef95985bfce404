//! Rides: start (the vehicle becomes unavailable in the same transaction) and end (only by the
//! rider, once). The rider's history is `ride_history`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{self, EndRide, StartRide};
use roam_shared::token::SessionClaims;
use sqlx::PgConnection;
use uuid::Uuid;

use super::extract::{Auth, CityIdPath, CityPath, IdempotencyKey};
use super::json::Json;
use super::AppState;
use crate::error::{Error, Result};
use crate::jobs;
use crate::storage::idempotency;

/// The ride routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cities/{city}/rides", post(start))
        .route("/api/v1/cities/{city}/rides/{id}/end", post(end))
}

/// A `rides` row.
#[derive(Debug)]
pub(super) struct RideRow {
    pub(super) city: String,
    pub(super) id: Uuid,
    pub(super) rider_id: Uuid,
    pub(super) rider_city: String,
    pub(super) vehicle_id: Uuid,
    pub(super) start_location: String,
    pub(super) end_location: Option<String>,
    pub(super) start_time: DateTime<Utc>,
    pub(super) end_time: Option<DateTime<Utc>>,
    pub(super) fare_cents: Option<i64>,
    pub(super) fare_currency: Option<String>,
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

#[tracing::instrument(skip_all, fields(city = %city))]
async fn start(
    State(state): State<AppState>,
    CityPath(city): CityPath,
    Auth(user): Auth,
    idem: IdempotencyKey,
    Json(body): Json<StartRide>,
) -> Result<Response> {
    let guard = idem.guard(&city);
    let node = state.nodes.city(&city)?.clone();
    // A rider from another region: their home learns of this region through the job queue.
    let away = state.config.map.city(&user.city).map(|c| &c.region)
        != state.config.map.city(&city).map(|c| &c.region);
    let args = Arc::new((city, Uuid::new_v4(), user, body.vehicle_id));
    let effect: idempotency::Effect = Arc::new(move |conn| {
        let args = args.clone();
        Box::pin(async move {
            let (city, ride_id, user, vehicle_id) = &*args;
            let ride = start_ride(conn, city, *ride_id, user, *vehicle_id).await?;
            if away {
                jobs::rider_region::enqueue(conn, city, user.sub, &user.city).await?;
            }
            idempotency::to_json(&api::Ride::from(ride))
        })
    });
    Ok(super::written(
        idempotency::run(&node, guard, StatusCode::CREATED, effect).await?,
    ))
}

async fn start_ride(
    conn: &mut PgConnection,
    city: &str,
    ride_id: Uuid,
    user: &SessionClaims,
    vehicle_id: Uuid,
) -> Result<RideRow> {
    // The status check and the change are one statement: of many concurrent starts exactly one
    // updates the row; the others wait for its lock and then see `unavailable` (or, through
    // postgres_fdw's REPEATABLE READ, fail with 40001 and are retried into the same answer).
    let location = sqlx::query_scalar!(
        "UPDATE vehicles SET status = 'unavailable' \
         WHERE city = $1 AND id = $2 AND status = 'available' RETURNING last_location",
        city,
        vehicle_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(location) = location else {
        let exists = sqlx::query_scalar!(
            r#"SELECT 1 AS "one!" FROM vehicles WHERE city = $1 AND id = $2"#,
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
    let ride = sqlx::query_as!(
        RideRow,
        "INSERT INTO rides (city, id, rider_id, rider_city, vehicle_id, start_location) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING city, id, rider_id, rider_city, vehicle_id, start_location, end_location, start_time, end_time, fare_cents, fare_currency",
        city,
        ride_id,
        user.sub,
        user.city,
        vehicle_id,
        location
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(Error::from_db)?;
    Ok(ride)
}

#[tracing::instrument(skip_all, fields(city = %city, ride = %id))]
async fn end(
    State(state): State<AppState>,
    CityIdPath(city, id): CityIdPath,
    Auth(user): Auth,
    idem: IdempotencyKey,
    Json(body): Json<EndRide>,
) -> Result<Response> {
    body.validate()?;
    let guard = idem.guard(&city);
    let node = state.nodes.city(&city)?.clone();
    let args = Arc::new((city, id, user.sub, body.location.trim().to_string()));
    let effect: idempotency::Effect = Arc::new(move |conn| {
        let args = args.clone();
        Box::pin(async move {
            let (city, id, rider, location) = &*args;
            let ride = end_ride(conn, city, *id, *rider, location).await?;
            idempotency::to_json(&api::Ride::from(ride))
        })
    });
    Ok(super::written(
        idempotency::run(&node, guard, StatusCode::OK, effect).await?,
    ))
}

async fn end_ride(
    conn: &mut PgConnection,
    city: &str,
    id: Uuid,
    rider: Uuid,
    location: &str,
) -> Result<RideRow> {
    let ride = sqlx::query_as!(
        RideRow,
        "SELECT city, id, rider_id, rider_city, vehicle_id, start_location, end_location, start_time, end_time, fare_cents, fare_currency \
         FROM rides WHERE city = $1 AND id = $2 FOR UPDATE",
        city,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let ride = ride.ok_or_else(|| Error::NotFound(format!("no ride {id} in {city}")))?;
    if ride.rider_id != rider {
        return Err(Error::Forbidden("only the rider can end a ride".into()));
    }
    if ride.end_time.is_some() {
        return Err(Error::Conflict("this ride has already ended".into()));
    }
    let ended = sqlx::query_as!(
        RideRow,
        "UPDATE rides SET end_location = $3, end_time = now() WHERE city = $1 AND id = $2 \
         RETURNING city, id, rider_id, rider_city, vehicle_id, start_location, end_location, start_time, end_time, fare_cents, fare_currency",
        city,
        id,
        location
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE vehicles SET last_location = $3, status = 'available' WHERE city = $1 AND id = $2",
        city,
        ride.vehicle_id,
        location
    )
    .execute(&mut *conn)
    .await?;
    // The fare and the location history are a background job's, enqueued in this transaction
    // on the ride's home node: it exists exactly when the ride has ended.
    jobs::ride_ended::enqueue(conn, city, id).await?;
    Ok(ended)
}
