//! `POST /api/v1/sessions` (log in) and `DELETE /api/v1/sessions` (log out).
//!
//! Log-in looks the email up in this region first, and only when the user lives elsewhere
//! reads the email's claim (on the node its hash picks) and then the user on their home node.
//! Tokens are stateless (HMAC-signed, expiring), so log-out has nothing to delete: the client
//! drops the token; the response clears the browser cookie.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{self, LogIn};
use roam_shared::routing::normalize_email;
use roam_shared::token::{self, SessionClaims, SESSION_TTL_SECS};
use uuid::Uuid;

use super::json::Json;
use super::users::UserRow;
use super::AppState;
use crate::error::{Error, Result};
use crate::password;
use crate::storage::claims;

/// The session routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sessions", post(log_in).delete(log_out))
}

#[tracing::instrument(skip_all)]
async fn log_in(State(state): State<AppState>, Json(body): Json<LogIn>) -> Result<Response> {
    body.validate()?;
    let email = normalize_email(&body.email);
    let (user, hash) = match find_user(&state, &email).await? {
        Some(found) => {
            let user = UserRow {
                city: found.city,
                id: found.id,
                name: found.name,
                email: found.email,
                created_at: found.created_at,
            };
            (Some(user), Some(found.password_hash))
        }
        None => (None, None),
    };
    let ok = password::verify(body.password, hash, state.config.argon2_memory_kib).await?;
    let user = match (ok, user) {
        (true, Some(user)) => api::User::from(user),
        _ => return Err(Error::Unauthenticated("wrong email or password".into())),
    };
    let now = Utc::now().timestamp();
    let claims = SessionClaims {
        sub: user.id,
        city: user.city.clone(),
        sid: Uuid::new_v4(),
        iat: now,
        exp: now + SESSION_TTL_SECS,
    };
    let token = token::issue(&state.config.secret, &claims);
    let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    let session = api::Session {
        token,
        expires_at,
        user,
    };
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "private, no-store")],
        axum::Json(session),
    )
        .into_response())
}

/// A user with the password hash, as log-in needs it.
struct Credentials {
    city: String,
    id: Uuid,
    name: String,
    email: String,
    created_at: DateTime<Utc>,
    password_hash: String,
}

/// The user with this (normalised) email. This region's users are looked up first, and when
/// the user lives here no other region is asked (locality-optimised search). Otherwise the
/// email's claim says where the user lives, and that home node is asked by id: one round trip
/// to the claim's node (none when it is this one), one to the home node.
async fn find_user(state: &AppState, email: &str) -> Result<Option<Credentials>> {
    let (nodes, map) = (&state.nodes, &state.config.map);
    let local_cities: Vec<String> = map
        .cities_in(nodes.own_region())
        .map(|c| c.slug.clone())
        .collect();
    let local = sqlx::query_as!(
        Credentials,
        "SELECT city, id, name, email, created_at, password_hash FROM users \
         WHERE city = ANY($1) AND email = $2",
        &local_cities,
        email
    )
    .fetch_optional(nodes.local())
    .await?;
    if local.is_some() {
        return Ok(local);
    }
    let claimed = claims::lookup(nodes, &state.config.claim_keys, map, email).await?;
    let Some((id, city)) = claimed.filter(|(_, city)| map.city(city).is_some()) else {
        return Ok(None);
    };
    Ok(sqlx::query_as!(
        Credentials,
        "SELECT city, id, name, email, created_at, password_hash FROM users \
         WHERE city = $1 AND id = $2",
        city,
        id
    )
    .fetch_optional(nodes.city(&city)?)
    .await?)
}

async fn log_out() -> Response {
    let cookie = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        roam_shared::headers::SESSION_COOKIE
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
