//! Request and response bodies of every route, with the validation both sides apply.
//!
//! Field names are the JSON names and MovR's column names. Request types reject unknown
//! fields, so a typo is a 422 rather than a silently ignored value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::map::{City, RegionMap};
use crate::problem::Problem;

/// A field that failed validation, and why: becomes a 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field name.
    pub field: &'static str,
    /// What is wrong with it, for people.
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Problem::invalid_field(e.field, e.to_string())
    }
}

/// Name length bounds, in characters.
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// Password length bounds, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;
/// Longest email accepted (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Longest location text.
pub const LOCATION_CHARS: std::ops::RangeInclusive<usize> = 1..=200;
/// Longest color or brand.
pub const LABEL_MAX_CHARS: usize = 40;

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
    pub name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, example = "Ada Lovelace")
    )]
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

/// Kinds of vehicle (MovR's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VehicleType {
    /// A bicycle.
    Bike,
    /// A kick scooter.
    Scooter,
    /// A skateboard.
    Skateboard,
}

impl VehicleType {
    /// The JSON/SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bike => "bike",
            Self::Scooter => "scooter",
            Self::Skateboard => "skateboard",
        }
    }

    /// Parses the JSON/SQL spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Bike, Self::Scooter, Self::Skateboard]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Whether a vehicle can be ridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VehicleStatus {
    /// Free to ride.
    Available,
    /// In a ride (or otherwise out of service).
    Unavailable,
}

impl VehicleStatus {
    /// The JSON/SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Unavailable => "unavailable",
        }
    }

    /// Parses the JSON/SQL/query spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "available" => Some(Self::Available),
            "unavailable" => Some(Self::Unavailable),
            _ => None,
        }
    }
}

/// `POST /api/v1/cities/{city}/vehicles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewVehicle {
    /// Kind of vehicle.
    #[serde(rename = "type")]
    pub vehicle_type: VehicleType,
    /// Where it is now (free text, e.g. an address).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, example = "Piazza Navona")
    )]
    pub last_location: String,
    /// Optional color.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 40, example = "red")
    )]
    pub color: Option<String>,
    /// Optional brand.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 40, example = "Vespa")
    )]
    pub brand: Option<String>,
}

impl NewVehicle {
    /// Checks lengths and characters.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_text("last_location", &self.last_location, LOCATION_CHARS)?;
        for (field, value) in [("color", &self.color), ("brand", &self.brand)] {
            if let Some(v) = value {
                validate_text(field, v, 1..=LABEL_MAX_CHARS)?;
            }
        }
        Ok(())
    }
}

/// A vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vehicle {
    /// City slug (partition).
    pub city: String,
    /// Id.
    pub id: Uuid,
    /// Kind of vehicle.
    #[serde(rename = "type")]
    pub vehicle_type: VehicleType,
    /// The user who added it.
    pub owner_id: Uuid,
    /// When it was added.
    pub date_added: DateTime<Utc>,
    /// Whether it can be ridden now.
    pub status: VehicleStatus,
    /// Where it was last left.
    pub last_location: String,
    /// Color, if known.
    pub color: Option<String>,
    /// Brand, if known.
    pub brand: Option<String>,
}

/// Response of `GET /api/v1/cities/{city}/vehicles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VehicleList {
    /// The city listed.
    pub city: String,
    /// At most [`VEHICLE_LIST_LIMIT`] vehicles, newest first.
    pub vehicles: Vec<Vehicle>,
}

/// The most vehicles one list returns.
pub const VEHICLE_LIST_LIMIT: i64 = 200;

/// `POST /api/v1/cities/{city}/rides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRide {
    /// The vehicle to ride (in the same city).
    pub vehicle_id: Uuid,
}

/// `POST /api/v1/cities/{city}/rides/{id}/end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndRide {
    /// Where the vehicle was left.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, example = "Campo de' Fiori")
    )]
    pub location: String,
}

impl EndRide {
    /// Checks the location text.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_text("location", &self.location, LOCATION_CHARS)
    }
}

/// A ride.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ride {
    /// City of the vehicle (partition).
    pub city: String,
    /// Id.
    pub id: Uuid,
    /// The rider.
    pub rider_id: Uuid,
    /// The rider's home city.
    pub rider_city: String,
    /// The vehicle ridden.
    pub vehicle_id: Uuid,
    /// Where the ride started (the vehicle's location then).
    pub start_location: String,
    /// Where it ended, once ended.
    pub end_location: Option<String>,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it ended, once ended.
    pub end_time: Option<DateTime<Utc>>,
}

/// Response of `GET /api/v1/me/rides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RideList {
    /// The user's rides in every city, newest first.
    pub rides: Vec<Ride>,
}

/// Response of `GET /ping` (edge) and `GET /ping` (origin, where `colo` etc. are empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pong {
    /// Always true.
    pub pong: bool,
    /// The PoP that answered (empty at an origin).
    pub colo: String,
    /// The user's country as detected.
    pub country: String,
    /// The user's city as detected.
    pub city: String,
    /// The region nearest the user (at an origin: the origin's own region).
    pub region: String,
}

/// Response of `GET /ping/{region}` at the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionPing {
    /// The region pinged.
    pub region: String,
    /// `ok`, `error` or `timeout`.
    pub status: String,
    /// Round trip edge→origin→edge in ms.
    pub origin_ms: f64,
}

/// One region's health as the edge believes it (`GET /api/v1/regions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionHealth {
    /// Region name.
    pub name: String,
    /// Where it is.
    pub label: String,
    /// Circuit breaker state: `closed` (healthy), `open` (not used) or `half-open` (probing).
    pub breaker: String,
    /// Consecutive failures seen.
    pub consecutive_failures: u32,
    /// Cities whose home it is.
    pub cities: Vec<String>,
}

/// `GET /api/v1/regions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionList {
    /// The region nearest the caller.
    pub nearest: String,
    /// Every region.
    pub regions: Vec<RegionHealth>,
}

/// `GET /api/v1/cities`: every city and its home region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityList {
    /// The cities of the region map.
    pub cities: Vec<City>,
}

/// Checks an email's shape: `local@domain.tld`, no spaces, within length limits.
pub fn validate_email(email: &str) -> Result<(), FieldError> {
    let bad = |why: &str| Err(FieldError::new("email", why.to_string()));
    let email = email.trim();
    if email.is_empty() || email.len() > EMAIL_MAX {
        return bad("must be 1 to 254 characters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return bad("must look like name@example.com");
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"');
    let labels: Vec<&str> = domain.split('.').collect();
    if !local_ok || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return bad("must look like name@example.com");
    }
    Ok(())
}

/// Checks free text: trimmed length within `chars`, no control characters.
pub fn validate_text(
    field: &'static str,
    value: &str,
    chars: std::ops::RangeInclusive<usize>,
) -> Result<(), FieldError> {
    let count = value.trim().chars().count();
    if !chars.contains(&count) {
        return Err(FieldError::new(
            field,
            format!(
                "must be {} to {} characters long",
                chars.start(),
                chars.end()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signup(email: &str, name: &str, password: &str, city: Option<&str>) -> SignUp {
        SignUp {
            email: email.into(),
            name: name.into(),
            password: password.into(),
            city: city.map(String::from),
        }
    }

    #[test]
    fn sign_up_names_the_bad_field() {
        let map = RegionMap::builtin();
        assert_eq!(
            signup("a@b.co", "Ada", "correct horse", Some("rome")).validate(map),
            Ok(())
        );
        let field = |s: SignUp| s.validate(map).unwrap_err().field;
        assert_eq!(
            field(signup("not-an-email", "Ada", "longenough", None)),
            "email"
        );
        assert_eq!(field(signup("a@b", "Ada", "longenough", None)), "email");
        assert_eq!(
            field(signup("a b@c.de", "Ada", "longenough", None)),
            "email"
        );
        assert_eq!(field(signup("a@b.co", "  ", "longenough", None)), "name");
        assert_eq!(
            field(signup("a@b.co", &"x".repeat(101), "longenough", None)),
            "name"
        );
        assert_eq!(
            field(signup("a@b.co", "Ada\u{0}", "longenough", None)),
            "name"
        );
        assert_eq!(field(signup("a@b.co", "Ada", "short", None)), "password");
        assert_eq!(
            field(signup("a@b.co", "Ada", "longenough", Some("tokyo"))),
            "city"
        );
    }

    #[test]
    fn json_shapes_match_movr() {
        let v: NewVehicle = serde_json::from_str(
            r#"{"type":"scooter","last_location":"Via del Corso 1","color":"red"}"#,
        )
        .unwrap();
        assert_eq!(v.vehicle_type, VehicleType::Scooter);
        assert!(
            serde_json::from_str::<NewVehicle>(r#"{"type":"car","last_location":"x"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<StartRide>(r#"{"vehicle_id":"x","extra":1}"#).is_err(),
            "unknown fields and bad uuids are refused"
        );
        assert_eq!(VehicleType::parse("bike"), Some(VehicleType::Bike));
        assert_eq!(
            VehicleStatus::parse("available").map(VehicleStatus::as_str),
            Some("available")
        );
        let problem: Problem = FieldError::new("email", "bad").into();
        assert_eq!(
            (problem.status, problem.field.as_deref()),
            (422, Some("email"))
        );
    }

    proptest! {
        #[test]
        fn validation_never_panics(email in "\\PC{0,300}", name in "\\PC{0,120}", pw in "\\PC{0,140}") {
            let _ = signup(&email, &name, &pw, Some(&name)).validate(RegionMap::builtin());
            let _ = LogIn { email, password: pw }.validate();
        }
    }
}
