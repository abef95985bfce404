//! What the edge answers by itself: pings, region health, the city map.

use serde::{Deserialize, Serialize};

use crate::map::{City, Region};

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
    /// The region as a whole: `closed` while any of its origins' breakers is closed, `open`
    /// when every one is open (requests fail over to another region), else `half-open`.
    pub breaker: String,
    /// Consecutive failures of its healthiest origin.
    pub consecutive_failures: u32,
    /// Cities whose home it is.
    pub cities: Vec<String>,
    /// Each origin of the region's pool, in the order of the edge's `ORIGINS` list.
    pub origins: Vec<OriginHealth>,
}

/// One origin of a region's pool as the edge believes it (URLs are deployment config and are
/// not shown; `index` is the origin's position in the region's `ORIGINS` list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OriginHealth {
    /// Position in the region's `ORIGINS` list, from 0.
    pub index: u32,
    /// Its circuit breaker: `closed`, `open` or `half-open`.
    pub breaker: String,
    /// Consecutive timeouts or connection errors.
    pub consecutive_failures: u32,
    /// Requests this edge isolate has in flight to it.
    pub in_flight: u32,
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

/// `GET /api/v1/cities`: every region, and every city with its home region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityList {
    /// The regions of the region map.
    pub regions: Vec<Region>,
    /// The cities of the region map.
    pub cities: Vec<City>,
}
