//! `GET /api/v1/me/rides`: the signed-in user's rides in every city they rode in, asking
//! only the regions that hold some.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::try_join_all;
use roam_shared::api;
use roam_shared::headers::RECENT_WRITES;
use roam_shared::routes::Operation;
use roam_shared::token::SessionClaims;
use roam_shared::RegionMap;
use uuid::Uuid;

use super::extract::Auth;
use super::{ApiRoutes, AppState};
use crate::error::Result;
use crate::storage::rides::RideRow;
use crate::storage::traced::OnNode;

/// Most rides `/me/rides` returns.
const MY_RIDES_LIMIT: i64 = 200;

/// The ride history route.
pub(super) fn router() -> Router<AppState> {
    Router::new().api(Operation::MyRides, mine)
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
    Ok(sqlx::query_as!(
        RideRow,
        "SELECT city AS \"city!\", id AS \"id!\", rider_id AS \"rider_id!\", rider_city AS \"rider_city!\", vehicle_id AS \"vehicle_id!\", start_location AS \"start_location!\", end_location, start_time AS \"start_time!\", end_time, fare_cents, fare_currency \
         FROM here.rides WHERE rider_id = $1 ORDER BY start_time DESC, id LIMIT $2",
        rider,
        MY_RIDES_LIMIT
    )
    .fetch_all(state.nodes.home(region)?)
    .on_node(state.nodes.home(region)?)
    .await?)
}

/// The regions other than home that hold rides of this rider, as their home node records.
async fn rider_regions(state: &AppState, user: &SessionClaims) -> Result<Vec<String>> {
    if state.config.map.city(&user.city).is_none() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar!(
        "SELECT region AS \"region!\" FROM here.rider_regions WHERE city = $1 AND rider_id = $2",
        user.city,
        user.sub
    )
    .fetch_all(state.nodes.city(&user.city)?)
    .on_node(state.nodes.city(&user.city)?)
    .await?)
}
