//! What the edge answers by itself: pings, region health, the city map.

use serde::{Deserialize, Serialize};

use crate::map::{City, Region};

/// Response of `GET /ping` (edge) and `GET /ping` (origin, where `colo` etc. are empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The user's latitude as detected, degrees (absent when unknown, and at an origin):
    /// where the diagnostic page's map puts the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// The user's longitude as detected, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
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
    /// The region's own report (its origin's `GET /api/v1/health`), as the edge last fetched
    /// it; absent when the edge has none yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<RegionReport>,
}

/// A region's own report of its health, from its origin: which database host takes writes,
/// how far its standbys lag, the job backlog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionReport {
    /// `ok`; `degraded` (working, but a standby lags or is missing, or jobs wait too long);
    /// `down` (its database does not answer); `unreachable` (its origin did not answer the
    /// edge, or its breaker is open).
    pub status: String,
    /// Why it is not `ok`.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// `host:port` of the database host that takes writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The primary's standbys.
    #[serde(default)]
    pub standbys: Vec<StandbyReport>,
    /// The region's job queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobBacklog>,
    /// How old the edge's copy of the report is, ms.
    pub age_ms: f64,
}

/// One standby of a region's primary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandbyReport {
    /// Its name (pg_auto_failover names it after the node).
    pub name: String,
    /// `streaming`, `catchup`, …
    pub state: String,
    /// `sync`, `quorum`, `async`, …
    pub sync_state: String,
    /// WAL it has yet to replay, bytes.
    #[serde(default)]
    pub lag_bytes: Option<i64>,
    /// How far behind its replay is, seconds.
    #[serde(default)]
    pub lag_secs: Option<f64>,
}

/// A region's job queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobBacklog {
    /// Jobs due or waiting to be due.
    pub pending: i64,
    /// Jobs set aside after failing for good.
    pub dead: i64,
    /// How long the oldest due job has waited, seconds.
    pub oldest_due_secs: f64,
}

/// The origin's readiness body (`/readyz`, `/api/v1/health`), as far as the edge reads it.
#[derive(Deserialize)]
struct Readiness {
    #[serde(default)]
    health: Option<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    status: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    primary: Option<String>,
    #[serde(default)]
    standbys: Vec<StandbyReport>,
    #[serde(default)]
    jobs: Option<JobBacklog>,
}

impl RegionReport {
    /// Reads an origin's readiness body; one without its region's detail (no checks yet, or
    /// its node down from the start) is `down`. `None` when it is not a readiness body.
    pub fn from_readiness(body: &[u8]) -> Option<Self> {
        let readiness: Readiness = serde_json::from_slice(body).ok()?;
        Some(match readiness.health {
            Some(d) => Self {
                status: d.status,
                reasons: d.reasons,
                primary: d.primary,
                standbys: d.standbys,
                jobs: d.jobs,
                age_ms: 0.0,
            },
            None => Self::unreachable("down", "the region has not checked its database yet"),
        })
    }

    /// A report the edge makes up when the origin cannot give one.
    pub fn unreachable(status: &str, reason: &str) -> Self {
        Self {
            status: status.to_string(),
            reasons: vec![reason.to_string()],
            primary: None,
            standbys: Vec::new(),
            jobs: None,
            age_ms: 0.0,
        }
    }
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
