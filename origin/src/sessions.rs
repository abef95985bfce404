//! `POST /api/v1/sessions` (log in) and `DELETE /api/v1/sessions` (log out).
//!
//! Log-in reads the email's claim (one node, chosen by the email), then the user on its home
//! city's node. Tokens are stateless (HMAC-signed, expiring), so log-out has nothing to
//! delete: the client drops the token; the response clears the browser cookie.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use roam_shared::api::{self, LogIn};
use roam_shared::routing::{claim_region, normalize_email};
use roam_shared::token::{self, SessionClaims, SESSION_TTL_SECS};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::extract::Json;
use crate::password;
use crate::users::UserRow;

/// The session routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sessions", post(log_in).delete(log_out))
}

#[tracing::instrument(skip_all)]
async fn log_in(State(state): State<AppState>, Json(body): Json<LogIn>) -> Result<Response> {
    body.validate()?;
    let map = &state.config.map;
    let email = normalize_email(&body.email);
    let claim = sqlx::query!(
        "SELECT user_id, city FROM email_claims WHERE region = $1 AND email = $2",
        claim_region(map, &email).name,
        email
    )
    .fetch_optional(&state.db)
    .await?;
    let found = match claim {
        Some(claim) if map.city(&claim.city).is_some() => {
            sqlx::query!(
                "SELECT city, id, name, email, created_at, password_hash FROM users \
                 WHERE city = $1 AND id = $2",
                claim.city,
                claim.user_id
            )
            .fetch_optional(&state.db)
            .await?
        }
        _ => None,
    };
    let (user, hash) = match found {
        Some(f) => {
            let user = UserRow {
                city: f.city,
                id: f.id,
                name: f.name,
                email: f.email,
                created_at: f.created_at,
            };
            (Some(user), Some(f.password_hash))
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

async fn log_out() -> Response {
    let cookie = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
        roam_shared::headers::SESSION_COOKIE
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
