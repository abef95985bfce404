//! Rides: start (the vehicle becomes unavailable in the same transaction), end (only by the
//! rider, once), and the signed-in user's rides in every city they rode in.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use roam_shared::api::{self, EndRide, StartRide};
use roam_shared::headers::RECENT_WRITES;
use roam_shared::token::SessionClaims;
use roam_shared::RegionMap;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::extract::{Auth, CityIdPath, CityPath, IdempotencyKey, Json};
use crate::idempotency::{self, Guard};
use crate::jobs;

/// Most rides `/me/rides` returns.
const MY_RIDES_LIMIT: i64 = 200;

/// The ride routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cities/{city}/rides", post(start))
        .route("/api/v1/cities/{city}/rides/{id}/end", post(end))
        .route("/api/v1/me/rides", get(mine))
}

/// A `rides` row.
#[derive(Debug)]
struct RideRow {
    city: String,
    id: Uuid,
    rider_id: Uuid,
    rider_city: String,
    vehicle_id: Uuid,
    start_location: String,
    end_location: Option<String>,
    start_time: DateTime<Utc>,
    end_time: Option<DateTime<Utc>>,
    fare_cents: Option<i64>,
    fare_currency: Option<String>,
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
    let guard = Guard::new(&idem, &city);
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
    Ok(idempotency::run(&node, guard, StatusCode::CREATED, effect)
        .await?
        .response)
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
    .map_err(|e| Error::from_constraint(e, "ride"))?;
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
    let guard = Guard::new(&idem, &city);
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
    Ok(idempotency::run(&node, guard, StatusCode::OK, effect)
        .await?
        .response)
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

/// The signed-in user's rides, newest first. Rides live in the city where they were taken, so
/// this asks the rider's home region and only the regions that hold rides of theirs: those
/// the home has recorded (`rider_regions`) and those the client's bookmark names (a ride just
/// started elsewhere, before its region's job has told the home). Each region is one
/// statement straight to its node, all in parallel: a rider who never left home costs no
/// wide-area round trip, one who did costs one to the farthest region they rode in.
#[tracing::instrument(skip_all)]
async fn mine(
    State(state): State<AppState>,
    Auth(user): Auth,
    headers: HeaderMap,
) -> Result<Response> {
    let (nodes, map) = (&state.nodes, &state.config.map);
    let home = map
        .city(&user.city)
        .map_or(nodes.own_region(), |c| c.region.as_str());
    let recent = recent_writes(&headers, map);
    let asked_first: BTreeSet<&str> = recent.iter().copied().chain([home]).collect();
    let (first, recorded) = tokio::join!(
        try_join_all(asked_first.iter().map(|r| rides_in(&state, r, user.sub))),
        rider_regions(&state, &user)
    );
    let recorded = recorded?;
    let rest = recorded
        .iter()
        .map(String::as_str)
        .filter(|r| !asked_first.contains(r) && map.region(r).is_some());
    let later = try_join_all(rest.map(|r| rides_in(&state, r, user.sub))).await?;
    let mut rows: Vec<RideRow> = first?.into_iter().chain(later).flatten().collect();
    rows.sort_by(|a, b| b.start_time.cmp(&a.start_time).then(a.id.cmp(&b.id)));
    rows.truncate(MY_RIDES_LIMIT as usize);
    let rides = rows.into_iter().map(api::Ride::from).collect();
    Ok((
        [(header::CACHE_CONTROL, "private, no-store")],
        axum::Json(api::RideList { rides }),
    )
        .into_response())
}

/// The regions the edge says the client wrote to recently (every region when its bookmark
/// does not say which).
fn recent_writes<'m>(headers: &HeaderMap, map: &'m RegionMap) -> Vec<&'m str> {
    let Some(value) = headers.get(RECENT_WRITES).and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    map.regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|name| value.trim() == "*" || value.split(',').any(|v| v.trim() == *name))
        .collect()
}

/// One region's rides of a rider (the newest [`MY_RIDES_LIMIT`]), from that region's node.
async fn rides_in(state: &AppState, region: &str, rider: Uuid) -> Result<Vec<RideRow>> {
    let cities: Vec<String> = state
        .config
        .map
        .cities_in(region)
        .map(|c| c.slug.clone())
        .collect();
    Ok(sqlx::query_as!(
        RideRow,
        "SELECT city, id, rider_id, rider_city, vehicle_id, start_location, end_location, start_time, end_time, fare_cents, fare_currency \
         FROM rides WHERE city = ANY($1) AND rider_id = $2 ORDER BY start_time DESC, id LIMIT $3",
        &cities,
        rider,
        MY_RIDES_LIMIT
    )
    .fetch_all(state.nodes.region(region))
    .await?)
}

/// The regions other than home that hold rides of this rider, as their home node records.
async fn rider_regions(state: &AppState, user: &SessionClaims) -> Result<Vec<String>> {
    if state.config.map.city(&user.city).is_none() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar!(
        "SELECT region FROM rider_regions WHERE city = $1 AND rider_id = $2",
        user.city,
        user.sub
    )
    .fetch_all(state.nodes.city(&user.city)?)
    .await?)
}
