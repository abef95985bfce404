//! `POST /api/v1/sessions` (log in), `DELETE /api/v1/sessions` (log out) and
//! `DELETE /api/v1/me/sessions` (log out everywhere).
//!
//! Log-in looks the email up in this region first, and only when the user lives elsewhere
//! reads the email's claim (on the node its hash picks) and then the user on their home node.
//! Tokens are signed and expiring, verified without a database read; ending one early writes
//! its session id (or, for every session, the user and a time) to every node, which every
//! request acting for a user checks.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{self, LogIn};
use roam_shared::routes::Operation;
use roam_shared::routing::normalize_email;
use roam_shared::token::{self, SessionClaims, SESSION_TTL_SECS};
use uuid::Uuid;

use super::extract::Auth;
use super::json::Json;
use super::{ApiRoutes, AppState};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::jobs;
use crate::storage::accounts::{self, Credentials};
use crate::storage::revocations::{self, Revocation};

/// The session routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .api(Operation::LogIn, log_in)
        .api(Operation::LogOut, log_out)
        .api(Operation::LogOutEverywhere, log_out_everywhere)
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
        // Version 7: the id carries the moment the session began to the millisecond, which
        // "log out everywhere" compares (iat has whole seconds only).
        sid: Uuid::now_v7(),
        iat: now,
        exp: now + SESSION_TTL_SECS,
    };
    let token = token::issue(config.keys.current(), &claims);
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

/// Log out: ends the session of the token presented (everywhere: see `revocations`) and
/// clears the browser's cookie. Without a valid token there is nothing to end: still 204.
#[tracing::instrument(skip_all)]
async fn log_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let now = Utc::now().timestamp();
    let claims = super::extract::token_in(&headers)
        .and_then(|t| token::verify(&state.config.keys, t, now).ok());
    if let Some(claims) = claims {
        let revocation = Revocation::Session {
            sid: claims.sid,
            user_id: claims.sub,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now),
        };
        revoke(&state, &claims.city, &revocation).await?;
    }
    Ok(logged_out())
}

/// Log out everywhere: ends every session of the signed-in user issued until now.
#[tracing::instrument(skip_all)]
async fn log_out_everywhere(State(state): State<AppState>, Auth(claims): Auth) -> Result<Response> {
    let now = Utc::now();
    let revocation = Revocation::User {
        user_id: claims.sub,
        before: now,
        expires_at: now + chrono::Duration::seconds(SESSION_TTL_SECS),
    };
    revoke(&state, &claims.city, &revocation).await?;
    Ok(logged_out())
}

/// Writes a revocation to every node; the ones that cannot take it now get it from a job on
/// the user's home node (if even that fails: 503, and the client logs out again).
async fn revoke(state: &AppState, home_city: &str, revocation: &Revocation) -> Result<()> {
    let missed = revocations::write_everywhere(&state.nodes, revocation).await;
    if missed.is_empty() {
        return Ok(());
    }
    let mut conn = state.nodes.city(home_city)?.acquire().await?;
    for region in &missed {
        jobs::revocation::enqueue(&mut conn, home_city, region, revocation).await?;
    }
    Ok(())
}

/// 204, clearing the session cookie.
fn logged_out() -> Response {
    let cookie = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        roam_shared::headers::SESSION_COOKIE
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
