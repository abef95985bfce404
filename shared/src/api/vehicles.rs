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

/// Response of `GET /api/v1/cities/{city}/vehicles`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VehicleList {
    /// The city listed.
    pub city: String,
    /// At most `limit` vehicles (default [`VEHICLE_PAGE_DEFAULT`]), newest first.
    pub vehicles: Vec<Vehicle>,
    /// The next page's `after`, when there are more vehicles.
    pub next: Option<String>,
}

/// The vehicles one page returns unless `limit` says otherwise.
pub const VEHICLE_PAGE_DEFAULT: u32 = 50;
/// The most vehicles one page returns.
pub const VEHICLE_PAGE_MAX: u32 = 200;

/// A position in a city's vehicle list (after the vehicle added at `date_added_us` with
/// `id`), as the opaque `after` a client passes back. Validated at the edge too, so junk
/// cursors never reach the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    /// The vehicle's `date_added`, microseconds since the epoch.
    pub date_added_us: i64,
    /// The vehicle's id.
    pub id: Uuid,
}

impl PageCursor {
    /// The cursor's text: base64url of `<microseconds>_<id>`.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let raw = format!("{}_{}", self.date_added_us, self.id.simple());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor [`PageCursor::encode`] made; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        use base64::Engine;
        if text.is_empty() || text.len() > 96 {
            return None;
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let raw = std::str::from_utf8(&raw).ok()?;
        let (micros, id) = raw.split_once('_')?;
        let cursor = Self {
            date_added_us: micros.parse().ok()?,
            id: Uuid::try_parse(id).ok()?,
        };
        (cursor.encode() == text).then_some(cursor)
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let cursor = PageCursor {
            date_added_us: 1_700_000_000_123_456,
            id: Uuid::from_u128(42),
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Some(cursor));
        for junk in ["", "x", "!!!", &"a".repeat(200), "MTIzX3g"] {
            assert_eq!(PageCursor::decode(junk), None, "{junk}");
        }
    }
}
