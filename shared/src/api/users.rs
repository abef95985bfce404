//! Accounts and sessions: sign-up, log-in, and the user as the API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validate::{validate_email, validate_text, FieldError, NAME_CHARS, PASSWORD_CHARS};
use crate::map::RegionMap;

/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// Unique across all regions (case-insensitive).
    #[cfg_attr(
        feature = "openapi",
        schema(format = "email", max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
    /// Display name.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, example = "Ada Lovelace")
    )]
    pub name: String,
    /// Plain-text password; hashed by the origin, never stored or returned.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 8, max_length = 128, example = "correct horse battery")
    )]
    pub password: String,
    /// Home city slug; defaults to the detected city when that is a known one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "rome"))]
    pub city: Option<String>,
}

impl SignUp {
    /// Checks every field; `city` only when given (defaulting happens at the origin).
    pub fn validate(&self, map: &RegionMap) -> Result<(), FieldError> {
        validate_email(&self.email)?;
        validate_text("name", &self.name, NAME_CHARS)?;
        let chars = self.password.chars().count();
        if !PASSWORD_CHARS.contains(&chars) {
            return Err(FieldError::new(
                "password",
                format!(
                    "must be {} to {} characters long",
                    PASSWORD_CHARS.start(),
                    PASSWORD_CHARS.end()
                ),
            ));
        }
        if let Some(city) = &self.city {
            if map.city(city).is_none() {
                return Err(FieldError::new(
                    "city",
                    format!("`{city}` is not a city roam serves"),
                ));
            }
        }
        Ok(())
    }
}

/// `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogIn {
    /// The sign-up email (any case).
    pub email: String,
    /// The password.
    pub password: String,
}

impl LogIn {
    /// Shape checks only; a wrong password is a 401, not a 422.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_email(&self.email)?;
        if self.password.is_empty() || self.password.chars().count() > *PASSWORD_CHARS.end() {
            return Err(FieldError::new(
                "password",
                "must not be empty or over 128 characters",
            ));
        }
        Ok(())
    }
}

/// A user as the API shows it (never the password or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Home city slug (the partition the row lives in).
    pub city: String,
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Normalised (lowercase) email.
    pub email: String,
    /// When the account was created (RFC 3339 UTC).
    pub created_at: DateTime<Utc>,
}

/// Response of `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}
