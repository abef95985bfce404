//! `POST /api/v1/users`: sign-up, with an email that is unique across every region.
//!
//! The email is claimed first on the node its keyed hash picks (one round trip, while the
//! password is hashed here); then the user and the idempotency record are written on the
//! user's home node in one statement. There is no transaction spanning the two nodes, so the
//! claim is given back only when the node rejected the user (see `claims` for why anything
//! ambiguous keeps it).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, SubsecRound, Utc};
use roam_shared::api::{self, SignUp};
use roam_shared::routes::Operation;
use roam_shared::routing::normalize_email;
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

use super::extract::{Geo, IdempotencyKey};
use super::json::Json;
use super::{ApiRoutes, AppState};
use crate::config::Config;
use crate::error::{sqlstate, Error, Result};
use crate::storage::claims::{Acquired, ClaimSet, Held};
use crate::storage::idempotency::{self, Guard};
use crate::storage::traced::OnNode;

/// The user routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().api(Operation::SignUp, sign_up)
}

/// A `users` row as the API shows it.
#[derive(Debug)]
pub struct UserRow {
    pub(crate) city: String,
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<UserRow> for api::User {
    fn from(r: UserRow) -> Self {
        Self {
            city: r.city,
            id: r.id,
            name: r.name,
            email: r.email,
            created_at: r.created_at,
        }
    }
}

#[tracing::instrument(skip_all, fields(city))]
async fn sign_up(
    State(state): State<AppState>,
    Geo(geo): Geo,
    idem: IdempotencyKey,
    Json(body): Json<SignUp>,
) -> Result<Response> {
    let config = &state.config;
    body.validate(&config.map)?;
    let city = home_city(&config.map, body.city.as_deref(), &geo.city)?;
    tracing::Span::current().record("city", city.as_str());
    let email = normalize_email(&body.email);
    if let Some(g) = idem.guard(&city) {
        if let Some(stored) = idempotency::lookup(state.nodes.city(&city)?, &g).await? {
            return idempotency::replay(&g, stored).map(super::written);
        }
    }
    let claims = claim_set(config, &email, Uuid::new_v4(), &city, &idem);
    // The claim's round trip and the password hash (the slow local work) overlap.
    let (acquired, hash) = tokio::join!(
        claims.acquire(&state.nodes, stale_after(config)),
        state.hasher.hash(body.password)
    );
    let (claims, city) = match acquired? {
        Acquired::Claimed => (claims, city),
        Acquired::Taken => return Err(email_taken()),
        Acquired::HeldBySameKey(held) => match adopt(&state, &email, held, &idem).await? {
            Adopted::Replay(response) => return Ok(response),
            Adopted::Claims(claims, city) => (claims, city),
        },
    };
    let user = api::User {
        id: claims.user_id(),
        city,
        name: body.name.trim().to_string(),
        email,
        // What the row stores (PostgreSQL keeps microseconds), so the answer matches it.
        created_at: Utc::now().trunc_subsecs(6),
    };
    let guard = idem.guard(&user.city);
    let home = state.nodes.city(&user.city)?;
    let response_body = idempotency::to_json(&user)?;
    match insert_user(home, &user, &hash?, guard.as_ref(), &response_body).await {
        Ok(()) => Ok(super::json_response(StatusCode::CREATED, response_body)),
        // A retry of this sign-up (same key, same user) committed first: answer as it did.
        Err(e) if sqlstate(&e).as_deref() == Some("23505") => match &guard {
            Some(g) => match idempotency::lookup(home, g).await? {
                Some(stored) => idempotency::replay(g, stored).map(super::written),
                None => Err(email_taken()),
            },
            None => Err(email_taken()),
        },
        Err(e) if is_rejection(&e) => {
            claims.release(&state.nodes).await;
            Err(Error::Database(e))
        }
        // Anything else may have written the user: the claim stays (see `claims`).
        Err(e) => Err(Error::Database(e)),
    }
}

/// The user's home city: the one given, else the detected one when the map serves it.
fn home_city(map: &RegionMap, given: Option<&str>, detected: &str) -> Result<String> {
    match given {
        Some(city) => Ok(city.to_string()),
        None => map
            .city_by_name(detected)
            .map(|c| c.slug.clone())
            .ok_or_else(|| {
                Error::invalid("city", "no city given and the detected one is not served")
            }),
    }
}

fn claim_set(
    config: &Config,
    email: &str,
    user_id: Uuid,
    city: &str,
    idem: &IdempotencyKey,
) -> ClaimSet {
    let key = idem.key.as_deref();
    ClaimSet::new(&config.claim_keys, &config.map, email, user_id, city, key)
}

/// Longer than any request can run: a claim this old whose user does not exist is an orphan
/// of a sign-up that stopped before creating the user.
fn stale_after(config: &Config) -> Duration {
    (config.request_timeout * 6).max(Duration::from_secs(60))
}

fn email_taken() -> Error {
    Error::Conflict("an account with this email already exists".into())
}

enum Adopted {
    Replay(Response),
    Claims(ClaimSet, String),
}

/// An earlier attempt of this very sign-up (same idempotency key) holds the claim. If it
/// finished, its answer is replayed; if it is still running or died before creating the
/// user, its claim is adopted (same user id and city): whichever attempt's insert lands first
/// creates the user, and the other replays its answer.
async fn adopt(
    state: &AppState,
    email: &str,
    held: Held,
    idem: &IdempotencyKey,
) -> Result<Adopted> {
    if let Some(g) = idem.guard(&held.city) {
        if let Some(stored) = idempotency::lookup(state.nodes.city(&held.city)?, &g).await? {
            return idempotency::replay(&g, stored).map(|w| Adopted::Replay(super::written(w)));
        }
    }
    let config = &state.config;
    let claims = claim_set(config, email, held.user_id, &held.city, idem);
    match claims.acquire(&state.nodes, stale_after(config)).await? {
        Acquired::Claimed => Ok(Adopted::Claims(claims, held.city)),
        _ => Err(email_taken()),
    }
}

/// Writes the user and, with a key, its idempotency record in one autocommit statement on
/// the user's home node: one round trip, and both or neither.
async fn insert_user(
    home: &PgPool,
    user: &api::User,
    password_hash: &str,
    guard: Option<&Guard>,
    response_body: &str,
) -> sqlx::Result<()> {
    match guard {
        Some(g) => sqlx::query!(
            "WITH new_user AS ( \
               INSERT INTO here.users (city, id, name, email, password_hash, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6)) \
             INSERT INTO here.idempotency (city, key, request_hash, status, body) \
             VALUES ($1, $7, $8, 201, $9)",
            user.city,
            user.id,
            user.name,
            user.email,
            password_hash,
            user.created_at,
            g.key,
            g.request_hash,
            response_body
        )
        .execute(home)
        .on_node(home)
        .await
        .map(drop),
        None => sqlx::query!(
            "INSERT INTO here.users (city, id, name, email, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            user.city,
            user.id,
            user.name,
            user.email,
            password_hash,
            user.created_at
        )
        .execute(home)
        .on_node(home)
        .await
        .map(drop),
    }
}

/// The node answered that it did not write the row, for a reason of the data itself (class
/// 22: data exception; 23: integrity violation other than a duplicate key), so the sign-up
/// provably created nothing and a retry would be refused the same way.
fn is_rejection(e: &sqlx::Error) -> bool {
    sqlstate(e)
        .is_some_and(|code| (code.starts_with("22") || code.starts_with("23")) && code != "23505")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_city_is_the_given_one_else_the_detected_one() {
        let map = RegionMap::builtin();
        assert_eq!(home_city(map, Some("boston"), "Rome").unwrap(), "boston");
        assert_eq!(home_city(map, None, "Rome").unwrap(), "rome");
        assert!(home_city(map, None, "Atlantis").is_err());
    }
}
