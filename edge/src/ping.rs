//! What the edge answers about itself: `/ping` (no origin involved), `/ping/{region}` (one
//! origin round trip), `/api/v1/regions` (breaker states, origin by origin, and each region's
//! own health report) and `/api/v1/cities` (the map).

use roam_shared::api::{Pong, RegionList, RegionPing};
use roam_shared::headers::SERVED_BY;
use serde::Serialize;

use crate::cf::Geo;
use crate::config::Config;
use crate::error::{EdgeError, Result};
use crate::forward::{CallError, Outbound};
use crate::response::{Body, Response};
use crate::trace::{Attempt, Trace};
use crate::{failover, health, now_ms, pool, respond};

/// The committed OpenAPI document (`cargo xtask openapi` writes it from roam-shared's types;
/// the test command fails when it is stale).
const OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

/// How long browsers and shared caches may keep the city map: it changes only with a deploy.
const CITIES_CACHE_CONTROL: &str = "public, max-age=3600, s-maxage=86400";

/// `GET /ping`: who and where the user is, as the edge sees it.
pub fn pong(geo: &Geo, config: &Config) -> Result<Response> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // Only a point in range (Cloudflare's text, parsed and checked) goes on the page's map.
    let at = geo.location().coordinates;
    let body = Pong {
        pong: true,
        colo: text(&geo.colo),
        country: text(&geo.country),
        city: text(&geo.city),
        region: geo.nearest_region(&config.map).to_string(),
        latitude: at.map(|c| c.lat),
        longitude: at.map(|c| c.lon),
    };
    let mut response = respond::json(200, &body, "no-store")?;
    response.headers_mut().set(SERVED_BY, "edge")?;
    Ok(response)
}

/// `GET /ping/{region}`: the round trip to the `/ping` of an origin of that region's pool
/// (picked like any request, breakers aside; signed like any forwarded request); feeds that
/// origin's breaker like any other call.
pub async fn ping_region(
    region: &str,
    geo: &Geo,
    config: &Config,
    request_id: &str,
    trace: &Trace,
) -> Result<Response> {
    let pool = config.pool(region);
    let known = config.map.region(region).is_some();
    let Some(base) = pool::pick_any(pool).map(|i| &pool[i]).filter(|_| known) else {
        return Err(EdgeError::UnknownRegion(region.to_string()));
    };
    let out = Outbound::new(
        "GET",
        "/ping",
        &[],
        Vec::new(),
        &geo.tags(&config.map),
        request_id,
        None,
    );
    let (span_id, traceparent) = trace.child();
    let started = now_ms();
    let timeout = config.origin_timeout_ms;
    let (result, ended) = failover::call_counted(base, &out, config, timeout, &traceparent).await;
    let status = match &result {
        Ok(reply) if (200..300).contains(&reply.status) => "ok",
        Ok(_) | Err(CallError::Unreachable(_)) => "error",
        Err(CallError::Timeout) => "timeout",
    };
    trace.attempt(span_id, region, Attempt::First, started, ended, status);
    let origin_timing = result.as_ref().ok().and_then(|r| r.header("server-timing"));
    let body = RegionPing {
        region: region.to_string(),
        status: status.to_string(),
        origin_ms: ((ended - started) * 10.0).round() / 10.0,
    };
    let mut response = respond::json(200, &body, "no-store")?;
    let headers = response.headers_mut();
    headers.set(SERVED_BY, region)?;
    let timings = trace.timings(now_ms());
    headers.set(
        "server-timing",
        &respond::server_timing(&timings, origin_timing),
    )?;
    Ok(response)
}

/// `GET /api/v1/regions`: each region with the health this isolate believes (its breakers)
/// and the region's own report (see [`health`]).
pub async fn regions(
    geo: &Geo,
    config: &Config,
    request_id: &str,
    trace: &Trace,
) -> Result<Response> {
    let mut regions = failover::health(config, now_ms());
    health::attach_reports(config, &mut regions, request_id, trace).await;
    let body = RegionList {
        nearest: geo.nearest_region(&config.map).to_string(),
        regions,
    };
    respond::json(200, &body, "no-store")
}

#[derive(Serialize)]
struct CityMap<'a> {
    regions: &'a [roam_shared::Region],
    cities: &'a [roam_shared::City],
}

/// `GET /api/v1/cities`: the city → region map, from the map the edge routes with.
pub fn cities(config: &Config) -> Result<Response> {
    let body = CityMap {
        regions: &config.map.regions,
        cities: &config.map.cities,
    };
    respond::json(200, &body, CITIES_CACHE_CONTROL)
}

/// `GET /api/v1/openapi.json`: the API contract, for client generators and the docs page.
pub fn openapi() -> Result<Response> {
    let mut response = Response::new(200, Body::Text(OPENAPI_DOCUMENT.to_string()));
    let headers = response.headers_mut();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", CITIES_CACHE_CONTROL)?;
    Ok(response)
}
