//! `POST /api/v1/sessions` (log in) and `DELETE /api/v1/sessions` (log out).
//!
//! Log-in looks the email up in this region first, and only when the user lives elsewhere
//! reads the email's claim (on the node its hash picks) and then the user on their home node.
//! Tokens are stateless (HMAC-signed, expiring), so log-out has nothing to delete: the client
//! drops the token; the response clears the browser cookie.

use std::time::{Duration, Instant};

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
use super::AppState;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::accounts::{self, Credentials};

/// The session routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sessions", post(log_in).delete(log_out))
}

#[tracing::instrument(skip_all)]
async fn log_in(State(state): State<AppState>, Json(body): Json<LogIn>) -> Result<Response> {
    let arrived = Instant::now();
    body.validate()?;
    let config = &state.config;
    let email = normalize_email(&body.email);
    let found = accounts::find(&state.nodes, &config.claim_keys, &config.map, &email).await?;
    if let Some(locked) = found.as_ref().and_then(|f| f.locked_for(Utc::now())) {
        return Err(locked_out(locked));
    }
    let hash = found.as_ref().map(|f| f.password_hash.clone());
    let ok = state.hasher.verify(body.password, hash).await?;
    let account = match (ok, found) {
        (true, Some(account)) => account,
        (_, found) => {
            let locked = match found {
                Some(account) => {
                    let home = state.nodes.city(&account.city)?;
                    accounts::record_failure(home, &account, config.login_lock).await?
                }
                None => None,
            };
            // However the answer was found (here, through the claim's node, at a far home),
            // it leaves no sooner than the floor: its timing tells nothing.
            tokio::time::sleep_until((arrived + config.login_failure_floor).into()).await;
            return Err(match locked {
                Some(locked) => locked_out(locked),
                None => Error::Unauthenticated("wrong email or password".into()),
            });
        }
    };
    if account.failures > 0 {
        accounts::clear_failures(state.nodes.city(&account.city)?, &account).await?;
    }
    Ok(session(config, account))
}

/// 429 while an account is locked by failed log-ins.
fn locked_out(locked: Duration) -> Error {
    Error::TooManyRequests {
        detail: "too many failed log-ins for this account; wait before trying again".into(),
        retry_after: u32::try_from(locked.as_secs().max(1)).unwrap_or(u32::MAX),
    }
}

/// A new session for a user who proved their password: the token and the user.
fn session(config: &Config, account: Credentials) -> Response {
    let user = api::User {
        city: account.city,
        id: account.id,
        name: account.name,
        email: account.email,
        created_at: account.created_at,
    };
    let now = Utc::now().timestamp();
    let claims = SessionClaims {
        sub: user.id,
        city: user.city.clone(),
        sid: Uuid::new_v4(),
        iat: now,
        exp: now + SESSION_TTL_SECS,
    };
    let token = token::issue(&config.secret, &claims);
    let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    let session = api::Session {
        token,
        expires_at,
        user,
    };
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "private, no-store")],
        axum::Json(session),
    )
        .into_response()
}

async fn log_out() -> Response {
    let cookie = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        roam_shared::headers::SESSION_COOKIE
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
