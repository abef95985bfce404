//! `/api/v1/cities/{city}/vehicles`: list, read one (both edge-cacheable), add one.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{
    self, NewVehicle, PageCursor, VehicleStatus, VehicleType, VEHICLE_PAGE_DEFAULT,
    VEHICLE_PAGE_MAX,
};
use roam_shared::routes::Operation;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Auth, CityIdPath, CityPath, IdempotencyKey};
use super::json::Json;
use super::{ApiRoutes, AppState};
use crate::error::{Error, Result};
use crate::storage::idempotency;
use crate::storage::traced::OnNode;

/// The vehicle routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .api(Operation::ListVehicles, list)
        .api(Operation::AddVehicle, create)
        .api(Operation::GetVehicle, read)
}

/// A `vehicles` row.
#[derive(Debug)]
pub struct VehicleRow {
    city: String,
    id: Uuid,
    vehicle_type: String,
    owner_id: Uuid,
    date_added: DateTime<Utc>,
    status: String,
    last_location: String,
    color: Option<String>,
    brand: Option<String>,
}

impl TryFrom<VehicleRow> for api::Vehicle {
    type Error = Error;

    fn try_from(r: VehicleRow) -> Result<Self> {
        let bad =
            |what: &str| Error::Internal(anyhow::anyhow!("vehicle {} has a bad {what}", r.id));
        Ok(Self {
            vehicle_type: VehicleType::parse(&r.vehicle_type).ok_or_else(|| bad("type"))?,
            status: VehicleStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
            city: r.city,
            id: r.id,
            owner_id: r.owner_id,
            date_added: r.date_added,
            last_location: r.last_location,
            color: r.color,
            brand: r.brand,
        })
    }
}

/// Query of the list.
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

/// A cacheable JSON response: the edge may keep it `s-maxage`, serve it stale while it
/// revalidates, and serve it stale when the origin fails.
fn cacheable<T: serde::Serialize>(state: &AppState, body: &T) -> Response {
    let mut response = axum::Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&state.config.cache_control) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

#[tracing::instrument(skip_all, fields(city = %city))]
async fn list(
    State(state): State<AppState>,
    CityPath(city): CityPath,
    query: std::result::Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let Query(query) = query.map_err(|e| Error::invalid("query", e.body_text()))?;
    let page = Page::from_query(&query)?;
    let rows = page_of(state.nodes.city(&city)?, &city, &page).await?;
    let mut vehicles: Vec<api::Vehicle> = rows
        .into_iter()
        .map(api::Vehicle::try_from)
        .collect::<Result<_>>()?;
    // One row more than the page was read: if it came, there is a next page.
    let next = (vehicles.len() > page.limit as usize).then(|| {
        vehicles.truncate(page.limit as usize);
        vehicles.last().map(|v| {
            PageCursor {
                date_added_us: v.date_added.timestamp_micros(),
                id: v.id,
            }
            .encode()
        })
    });
    let list = api::VehicleList {
        city,
        vehicles,
        next: next.flatten(),
    };
    Ok(cacheable(&state, &list))
}

/// One page of a list: which status, how many, after which vehicle.
struct Page {
    status: Option<VehicleStatus>,
    limit: u32,
    after: PageCursor,
}

impl Page {
    fn from_query(query: &ListQuery) -> Result<Self> {
        let status =
            match query.status.as_deref() {
                None => None,
                Some(s) => Some(VehicleStatus::parse(s).ok_or_else(|| {
                    Error::invalid("status", "must be `available` or `unavailable`")
                })?),
            };
        let limit = query.limit.unwrap_or(VEHICLE_PAGE_DEFAULT);
        if !(1..=VEHICLE_PAGE_MAX).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {VEHICLE_PAGE_MAX}"),
            ));
        }
        let after = match query.after.as_deref() {
            // Before the first vehicle: later than any date, after the greatest id.
            None => PageCursor {
                date_added_us: i64::MAX,
                id: Uuid::max(),
            },
            Some(text) => PageCursor::decode(text)
                .ok_or_else(|| Error::invalid("after", "is not a cursor this list gave"))?,
        };
        Ok(Self {
            status,
            limit,
            after,
        })
    }
}

/// A page of the city's vehicles, newest first (ties by id), plus one row to tell whether a
/// next page exists. Two statements rather than `$2 IS NULL OR status = $2`, so each has a
/// plan that walks its index in order from the cursor.
async fn page_of(node: &sqlx::PgPool, city: &str, page: &Page) -> Result<Vec<VehicleRow>> {
    let after_date = DateTime::from_timestamp_micros(page.after.date_added_us)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let rows = i64::from(page.limit) + 1;
    Ok(match page.status {
        None => {
            sqlx::query_as!(
                VehicleRow,
                "SELECT city AS \"city!\", id AS \"id!\", type AS \"vehicle_type!\", owner_id AS \"owner_id!\", date_added AS \"date_added!\", status AS \"status!\", last_location AS \"last_location!\", color, brand \
                 FROM here.vehicles WHERE city = $1 AND (date_added, id) < ($2, $3) \
                 ORDER BY date_added DESC, id DESC LIMIT $4",
                city,
                after_date,
                page.after.id,
                rows
            )
            .fetch_all(node)
            .on_node(node)
            .await?
        }
        Some(status) => {
            sqlx::query_as!(
                VehicleRow,
                "SELECT city AS \"city!\", id AS \"id!\", type AS \"vehicle_type!\", owner_id AS \"owner_id!\", date_added AS \"date_added!\", status AS \"status!\", last_location AS \"last_location!\", color, brand \
                 FROM here.vehicles WHERE city = $1 AND status = $2 AND (date_added, id) < ($3, $4) \
                 ORDER BY date_added DESC, id DESC LIMIT $5",
                city,
                status.as_str(),
                after_date,
                page.after.id,
                rows
            )
            .fetch_all(node)
            .on_node(node)
            .await?
        }
    })
}

#[tracing::instrument(skip_all, fields(city = %city, id = %id))]
async fn read(State(state): State<AppState>, CityIdPath(city, id): CityIdPath) -> Result<Response> {
    let row = sqlx::query_as!(
        VehicleRow,
        "SELECT city AS \"city!\", id AS \"id!\", type AS \"vehicle_type!\", owner_id AS \"owner_id!\", date_added AS \"date_added!\", status AS \"status!\", last_location AS \"last_location!\", color, brand \
         FROM here.vehicles WHERE city = $1 AND id = $2",
        city,
        id
    )
    .fetch_optional(state.nodes.city(&city)?)
    .on_node(state.nodes.city(&city)?)
    .await?;
    let vehicle = row.ok_or_else(|| Error::NotFound(format!("no vehicle {id} in {city}")))?;
    Ok(cacheable(&state, &api::Vehicle::try_from(vehicle)?))
}

#[tracing::instrument(skip_all, fields(city = %city))]
async fn create(
    State(state): State<AppState>,
    CityPath(city): CityPath,
    Auth(user): Auth,
    idem: IdempotencyKey,
    Json(body): Json<NewVehicle>,
) -> Result<Response> {
    body.validate()?;
    let guard = idem.guard(&city);
    let node = state.nodes.city(&city)?.clone();
    let per_hour = i64::from(state.config.vehicles_per_hour);
    let args = Arc::new((city, Uuid::new_v4(), user.sub, body));
    let effect: idempotency::Effect = Arc::new(move |conn| {
        let args = args.clone();
        Box::pin(async move {
            let (city, id, owner, v) = &*args;
            within_hourly_limit(conn, *owner, per_hour).await?;
            let row = sqlx::query_as!(
                VehicleRow,
                "INSERT INTO here.vehicles (city, id, type, owner_id, status, last_location, color, brand) \
                 VALUES ($1, $2, $3, $4, 'available', $5, $6, $7) \
                 RETURNING city AS \"city!\", id AS \"id!\", type AS \"vehicle_type!\", owner_id AS \"owner_id!\", date_added AS \"date_added!\", status AS \"status!\", last_location AS \"last_location!\", color, brand",
                city,
                id,
                v.vehicle_type.as_str(),
                owner,
                v.last_location.trim(),
                v.color.as_deref().map(str::trim),
                v.brand.as_deref().map(str::trim)
            )
            .fetch_one(conn)
            .await
            .map_err(Error::from_db)?;
            idempotency::to_json(&api::Vehicle::try_from(row)?)
        })
    });
    Ok(super::written(
        idempotency::run(&node, guard, StatusCode::CREATED, effect).await?,
    ))
}

/// 429 when the owner has added `per_hour` vehicles in this region (`conn`: its node, whose
/// `here.vehicles` are the region's) within the last hour (so no one can bury a city's real
/// vehicles under their own); the wait is until the oldest of those is an hour old.
async fn within_hourly_limit(
    conn: &mut sqlx::PgConnection,
    owner: Uuid,
    per_hour: i64,
) -> Result<()> {
    let recent = sqlx::query!(
        r#"SELECT count(*) AS "added!",
                  extract(epoch FROM min(date_added) + interval '1 hour' - now())::float8 AS wait
           FROM here.vehicles
           WHERE owner_id = $1 AND date_added > now() - interval '1 hour'"#,
        owner
    )
    .fetch_one(&mut *conn)
    .await?;
    if recent.added < per_hour {
        return Ok(());
    }
    let wait = recent.wait.unwrap_or(3600.0).ceil().max(1.0);
    Err(Error::TooManyRequests {
        detail: format!("you have added {per_hour} vehicles here within the hour; wait"),
        retry_after: wait as u32,
    })
}
