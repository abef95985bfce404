//! Rides: start (the vehicle becomes unavailable in the same transaction; at most one open ride
//! per rider; ended automatically after `ROAM_RIDE_MAX_MINUTES`) and end (only by the rider,
//! once). The rider's history is `ride_history`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use roam_shared::api::{self, EndRide, StartRide};
use roam_shared::routes::Operation;
use roam_shared::token::SessionClaims;
use uuid::Uuid;

use super::extract::{Auth, CityIdPath, CityPath, IdempotencyKey};
use super::json::Json;
use super::{ApiRoutes, AppState};
use crate::error::{Error, Result};
use crate::jobs;
use crate::storage::open_rides::{self, Start};
use crate::storage::{idempotency, rides};

/// The ride routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .api(Operation::StartRide, start)
        .api(Operation::EndRide, end)
}

/// The id of the ride a start creates: a function of its idempotency key, so that a retry of
/// a start that died half-way (its open-ride marker written, its ride maybe not) is the same
/// ride, not a second one.
fn ride_id(idem: &IdempotencyKey, user: &SessionClaims, city: &str) -> Uuid {
    match &idem.key {
        Some(key) => Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("roam/ride/{}/{city}/{key}", user.sub).as_bytes(),
        ),
        None => Uuid::new_v4(),
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
    if let Some(g) = &guard {
        if let Some(stored) = idempotency::lookup(&node, g).await? {
            return idempotency::replay(g, stored).map(super::written);
        }
    }
    let map = &state.config.map;
    let at_home = map.city(&user.city).map(|c| &c.region) == map.city(&city).map(|c| &c.region);
    let marker = Start {
        rider_city: user.city.clone(),
        rider_id: user.sub,
        ride_city: city.clone(),
        ride_id: ride_id(&idem, &user, &city),
    };
    if !at_home {
        // The rule "one open ride" lives at the rider's home: one round trip there first.
        let mut home = state.nodes.city(&user.city)?.acquire().await?;
        open_rides::mark(&mut home, &state.nodes, &marker).await?;
    }
    let started = run_start(
        &state,
        node,
        guard,
        &marker,
        at_home,
        &user,
        body.vehicle_id,
    )
    .await;
    if let (false, Err(refused)) = (at_home, &started) {
        if refused.status().is_client_error() {
            let home = state.nodes.city(&user.city)?;
            open_rides::unmark_on(home, &user.city, user.sub, marker.ride_id).await?;
        }
    }
    started.map(super::written)
}

/// The start's transaction on the ride's node: the vehicle, the ride, the open-ride marker
/// when the ride is at home, and its jobs (the automatic end; telling an away rider's home).
async fn run_start(
    state: &AppState,
    node: sqlx::PgPool,
    guard: Option<idempotency::Guard>,
    marker: &Start,
    at_home: bool,
    user: &SessionClaims,
    vehicle_id: Uuid,
) -> Result<idempotency::Written> {
    let max_ride = state.config.max_ride;
    let args = Arc::new((marker.clone(), user.clone(), state.nodes.clone()));
    let effect: idempotency::Effect = Arc::new(move |conn| {
        let args = args.clone();
        Box::pin(async move {
            let (marker, user, nodes) = &*args;
            let (city, ride_id) = (&marker.ride_city, marker.ride_id);
            if at_home {
                open_rides::mark(conn, nodes, marker).await?;
            }
            let ride =
                rides::start(conn, city, ride_id, (user.sub, &user.city), vehicle_id).await?;
            jobs::ride_timeout::enqueue(conn, city, ride_id, max_ride).await?;
            if !at_home {
                jobs::rider_region::enqueue(conn, city, user.sub, &user.city).await?;
            }
            idempotency::to_json(&api::Ride::from(ride))
        })
    });
    idempotency::run(&node, guard, StatusCode::CREATED, effect).await
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
    let map = &state.config.map;
    let at_home = map.city(&user.city).map(|c| &c.region) == map.city(&city).map(|c| &c.region);
    let args = Arc::new((city, id, user.sub, body.location.trim().to_string()));
    let effect: idempotency::Effect = Arc::new(move |conn| {
        let args = args.clone();
        Box::pin(async move {
            let (city, id, rider, location) = &*args;
            let ride = rides::lock(conn, city, *id).await?;
            if ride.rider_id != *rider {
                return Err(Error::Forbidden("only the rider can end a ride".into()));
            }
            if ride.end_time.is_some() {
                return Err(Error::Conflict("this ride has already ended".into()));
            }
            let ended = rides::finish(conn, &ride, location).await?;
            // The fare and the location history (and, for an away rider, clearing the marker
            // at home) are a job's, enqueued here: it exists exactly when the ride has ended.
            jobs::ride_ended::enqueue(conn, city, *id).await?;
            if at_home {
                open_rides::unmark(conn, &ride.rider_city, *rider, *id).await?;
            }
            idempotency::to_json(&api::Ride::from(ended))
        })
    });
    Ok(super::written(
        idempotency::run(&node, guard, StatusCode::OK, effect).await?,
    ))
}
