//! Vehicles: kinds, status, the add request and the vehicle as listed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validate::{validate_text, FieldError, LABEL_MAX_CHARS, LOCATION_CHARS};

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
