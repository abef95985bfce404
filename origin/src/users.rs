//! `POST /api/v1/users`: sign-up, with an email that is unique across every region.
//!
//! The email is claimed first on the node `claim_region(email)` picks (a single-row insert
//! whose primary key makes one of two racing sign-ups fail, whichever origins they came
//! through); then the user is inserted on its home node together with the idempotency record.
//! postgres_fdw has no two-phase commit, so when that second step fails the claim is released.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{self, SignUp};
use roam_shared::routing::{claim_region, normalize_email};
use uuid::Uuid;

use crate::app::AppState;
use crate::claims::{Acquired, Claim};
use crate::error::{Error, Result};
use crate::extract::{Geo, IdempotencyKey, Json};
use crate::idempotency::{self, Guard};
use crate::password;

/// The user routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/users", post(sign_up))
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
    let map = &state.config.map;
    body.validate(map)?;
    let city = match &body.city {
        Some(city) => city.clone(),
        None => map
            .city_by_name(&geo.city)
            .map(|c| c.slug.clone())
            .ok_or_else(|| {
                Error::invalid("city", "no city given and the detected one is not served")
            })?,
    };
    tracing::Span::current().record("city", city.as_str());
    let email = normalize_email(&body.email);
    let guard = Guard::new(&idem, &city);
    if let Some(g) = &guard {
        if let Some(stored) = idempotency::lookup(&state.db, g).await? {
            return idempotency::replay(g, stored);
        }
    }
    let claim = Claim {
        region: claim_region(map, &email).name.clone(),
        email: email.clone(),
        user_id: Uuid::new_v4(),
        city: city.clone(),
        key: guard.as_ref().map(|g| g.key.clone()),
    };
    // Longer than any request can run: a claim this old whose user does not exist is an
    // orphan of a sign-up that failed and could not release it.
    let stale_after = (state.config.request_timeout * 6).max(Duration::from_secs(60));
    match (claim.acquire(&state.db, stale_after).await?, &guard) {
        (Acquired::Claimed, _) => {}
        (Acquired::HeldBySameKey, Some(g)) => {
            // A concurrent retry of this very sign-up holds the claim: answer as it does.
            return match idempotency::wait_for(&state.db, g, Duration::from_secs(5)).await? {
                Some(stored) => idempotency::replay(g, stored),
                None => Err(Error::Conflict(
                    "this sign-up is still being processed".into(),
                )),
            };
        }
        _ => {
            return Err(Error::Conflict(
                "an account with this email already exists".into(),
            ))
        }
    }
    let hash = password::hash(body.password, state.config.argon2_memory_kib).await;
    let outcome = match hash {
        Ok(hash) => {
            let row = (
                city,
                claim.user_id,
                body.name.trim().to_string(),
                email,
                hash,
            );
            let effect: idempotency::Effect = Arc::new(move |conn| {
                let (city, id, name, email, hash) = row.clone();
                Box::pin(async move {
                    let user = sqlx::query_as!(
                        UserRow,
                        "INSERT INTO users (city, id, name, email, password_hash) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING city, id, name, email, created_at",
                        city,
                        id,
                        name,
                        email,
                        hash
                    )
                    .fetch_one(conn)
                    .await
                    .map_err(|e| Error::from_constraint(e, "user"))?;
                    idempotency::to_json(&api::User::from(user))
                })
            });
            idempotency::run(&state, guard, StatusCode::CREATED, effect).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) if !o.replayed => Ok(o.response),
        other => {
            // Our user was not created (error, or another request's record answered): free the
            // email again. If even that fails the email stays blocked, never doubly used.
            if let Err(e) = claim.release(&state.db).await {
                tracing::error!(error = %e, "could not release an email claim");
            }
            other.map(|o| o.response)
        }
    }
}
