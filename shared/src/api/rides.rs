//! Rides: start, end, and the ride as listed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validate::{validate_text, FieldError, LOCATION_CHARS};

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
    /// What the ride cost, in minor units of `fare_currency` (cents): computed by a background
    /// job shortly after the ride ends, absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fare_cents: Option<i64>,
    /// ISO 4217 code of the fare (the city's currency), present with `fare_cents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fare_currency: Option<String>,
}

/// Response of `GET /api/v1/me/rides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RideList {
    /// The user's rides in every city, newest first.
    pub rides: Vec<Ride>,
}
