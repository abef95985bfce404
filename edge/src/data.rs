//! A data request end to end: check the body, pick the home region, answer from the cache or
//! forward with failover, then soft-purge and bookmark after a write.
//! (Long because it is one request's path, in the order it runs: reading, routing, the cache,
//! the origins, after a write.)

use std::rc::Rc;

use roam_shared::bookmark::Bookmark;
use roam_shared::headers::{
    is_valid_token_id, GeoTags, BOOKMARK, BOOKMARK_COOKIE, CACHE, HOME_COOKIE, IDEMPOTENCY_KEY,
    SERVED_BY,
};
use roam_shared::request;
use roam_shared::routes::{Home, Operation};
use roam_shared::routing::{route, RouteError};
use roam_shared::{token, Region};
use worker::worker_sys::web_sys;
use worker::Context;

use crate::cache;
use crate::cf::Geo;
use crate::config::Config;
use crate::error::{EdgeError, Result};
use crate::failover::{self, Served};
use crate::forward::Outbound;
use crate::glue::{self, RequestFacts};
use crate::response::Response;
use crate::route::DataRoute;
use crate::trace::Trace;
use crate::{body, home, now_ms, read_your_writes, respond};

/// Client headers a cacheable (public) read does not forward: its answer is shared.
const PRIVATE_HEADERS: [&str; 2] = ["authorization", "cookie"];

/// What the handler needs from the incoming request.
struct Incoming {
    method: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    geo: Geo,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie").and_then(|c| request::cookie(c, name))
    }
}

/// Handles a data route: read the body and the idempotency key, pick the home region, then
/// answer a cacheable read through the cache and anything else from the origins.
pub async fn handle(
    req: web_sys::Request,
    facts: RequestFacts,
    data_route: DataRoute,
    config: Rc<Config>,
    ctx: &Context,
    request_id: &str,
    trace: &Trace,
) -> Result<Response> {
    let (path, query) = crate::route::path_and_query(&facts.url);
    let incoming = Incoming {
        method: facts.method.clone(),
        query: query.map(str::to_string),
        headers: glue::request_headers(&req),
        geo: facts.geo.clone(),
    };
    let body = if data_route.api.json_body {
        body::read_json(
            req,
            incoming.header("content-type"),
            incoming.header("content-length"),
        )
        .await?
    } else {
        Vec::new()
    };
    let idempotency_key = idempotency_key(&data_route, &incoming)?;
    let home = home_region(&config, path, &incoming, &data_route, &body)?;
    let read = Read {
        incoming: &incoming,
        tags: incoming.geo.tags(&config.map),
        presented: read_your_writes::presented(
            &config.keys,
            incoming.header(BOOKMARK),
            incoming.cookie(BOOKMARK_COOKIE),
            now_ms() as i64,
        ),
        request_id,
        ctx,
        trace,
    };
    if data_route.is_cacheable() {
        if let Some(cached) = cache::key_for(&data_route, incoming.query.as_deref()) {
            return through_cache(&config, home, cached, &read).await;
        }
    }
    through_origins(
        &config,
        home,
        &data_route,
        path,
        body,
        idempotency_key,
        &read,
    )
    .await
}

/// Anything not answered by the cache: forwarded with failover; after a successful write, the
/// soft purge, the bookmark and the home cookie.
async fn through_origins(
    config: &Config,
    home: &Region,
    data_route: &DataRoute,
    path: &str,
    body: Vec<u8>,
    idempotency_key: Option<String>,
    read: &Read<'_>,
) -> Result<Response> {
    let incoming = read.incoming;
    let path_and_query = match &incoming.query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut out = Outbound::new(
        &incoming.method,
        &path_and_query,
        &incoming.headers,
        body.clone(),
        &read.tags,
        read.request_id,
        idempotency_key.as_deref(),
    );
    if let (Operation::MyRides, Some(bookmark)) = (data_route.op(), &read.presented) {
        let (name, value) = read_your_writes::recent_writes_header(bookmark);
        out.headers.push((name.to_string(), value));
    }
    let served = failover::send(config, home, &out, read.trace).await?;
    let mut response = respond::reply(&served.reply)?;
    if data_route.is_write() && (200..300).contains(&served.reply.status) {
        let wrote = Wrote {
            route: data_route,
            region: &home.name,
            request_body: &body,
            presented: read.presented.as_ref(),
        };
        after_write(config, &wrote, &served, read.ctx, &mut response).await?;
    }
    let timing = served.reply.header("server-timing");
    decorate(&mut response, &served.region, "bypass", read.trace, timing)?;
    Ok(response)
}

/// What a request brings, as read, that answering it needs.
struct Read<'a> {
    incoming: &'a Incoming,
    tags: GeoTags,
    /// The bookmark the client presented, if valid.
    presented: Option<Bookmark>,
    request_id: &'a str,
    ctx: &'a Context,
    trace: &'a Trace,
}

/// A write's idempotency key: the client's if well formed (400 if not), else a new one; a read
/// has none.
fn idempotency_key(route: &DataRoute, incoming: &Incoming) -> Result<Option<String>> {
    if !route.is_write() {
        return Ok(None);
    }
    match incoming.header(IDEMPOTENCY_KEY) {
        Some(key) if is_valid_token_id(key) => Ok(Some(key.to_string())),
        Some(_) => Err(EdgeError::BadIdempotencyKey),
        None => Ok(Some(uuid::Uuid::new_v4().to_string())),
    }
}

/// A cacheable read through this PoP's cache under `key`; the origin, when asked, gets
/// `path_and_query` and the public headers only (the answer is shared with everyone).
async fn through_cache(
    config: &Rc<Config>,
    home: &Region,
    (key, path_and_query): (String, String),
    read: &Read<'_>,
) -> Result<Response> {
    let public_headers: Vec<(String, String)> = read
        .incoming
        .headers
        .iter()
        .filter(|(n, _)| !PRIVATE_HEADERS.contains(&n.as_str()))
        .cloned()
        .collect();
    let out = Outbound::new(
        "GET",
        &path_and_query,
        &public_headers,
        Vec::new(),
        &read.tags,
        read.request_id,
        None,
    );
    let written_at = read.presented.as_ref().map(|b| b.written_at_ms as f64);
    let answer = cache::read_through(
        config.clone(),
        home,
        key,
        out,
        written_at,
        read.ctx,
        read.trace,
    )
    .await?;
    let mut response = respond::reply(&answer.reply)?;
    // An entry's stored timings are an old request's: only a fresh answer's count.
    let origin_timing = (answer.origin_ms > 0.0)
        .then(|| answer.reply.header("server-timing"))
        .flatten();
    let (served_by, label) = (&answer.served_by, answer.label);
    decorate(&mut response, served_by, label, read.trace, origin_timing)?;
    Ok(response)
}

/// The region that must serve the request, as the route table's [`Home`] says: the city's in
/// the path, else the user's home city's (the signed-in user's; for a log-in the one the home
/// cookie remembers; for a sign-up the one its body names), else the nearest to the user.
fn home_region<'a>(
    config: &'a Config,
    path: &str,
    incoming: &Incoming,
    data_route: &DataRoute,
    body: &[u8],
) -> Result<&'a Region> {
    let home_city = match data_route.api.home {
        // The path's city decides alone: no token to verify.
        Home::PathCity => None,
        home => {
            let now_secs = (now_ms() / 1000.0) as i64;
            request::session_token(incoming.header("authorization"), incoming.header("cookie"))
                .and_then(|t| token::verify(&config.keys, t, now_secs).ok())
                .map(|claims| claims.city)
                .or_else(|| match home {
                    Home::UserOrHomeCookie => incoming.cookie(HOME_COOKIE).map(str::to_string),
                    Home::UserOrBodyCity => home::sign_up_city(body),
                    _ => None,
                })
        }
    };
    let location = incoming.geo.location();
    match route(&config.map, path, &location, home_city.as_deref()) {
        Ok(decision) => Ok(decision.region),
        Err(RouteError::UnknownCity(city)) => Err(EdgeError::UnknownCity(city)),
    }
}

/// What a successful write did, as the edge saw it.
struct Wrote<'a> {
    route: &'a DataRoute,
    /// The region whose data it changed.
    region: &'a str,
    request_body: &'a [u8],
    /// The bookmark the client presented with it.
    presented: Option<&'a Bookmark>,
}

/// After a successful write: mark what it made stale (this PoP; a soft purge, the entries stay
/// for stale-if-error), hand out a bookmark of the same moment naming its region, and after a
/// sign-up or log-in remember the user's home city.
async fn after_write(
    config: &Config,
    wrote: &Wrote<'_>,
    served: &Served,
    ctx: &Context,
    response: &mut Response,
) -> Result<()> {
    let written_at = now_ms();
    if let Some(city) = wrote.route.city() {
        let vehicle = affected_vehicle(wrote.route, wrote.request_body, &served.reply.body);
        let keys = cache::keys_to_purge(city, vehicle.as_deref());
        let purged = keys.clone();
        cache::write_behind::after_answer(ctx, keys, async move {
            cache::mark_superseded(&purged, written_at).await;
        });
    }
    let (mark, cookie) = read_your_writes::after_write(
        config.keys.current(),
        wrote.presented,
        wrote.region,
        written_at as i64,
    );
    let headers = response.headers_mut();
    headers.set(BOOKMARK, &mark)?;
    headers.append("set-cookie", &cookie)?;
    if matches!(wrote.route.op(), Operation::SignUp | Operation::LogIn) {
        if let Some(home) = home::remember(&served.reply.body) {
            headers.append("set-cookie", &home)?;
        }
    }
    Ok(())
}

/// The vehicle a write changed: the new vehicle's `id`, or the ride's `vehicle_id` (from the
/// answer, else from the request).
fn affected_vehicle(data_route: &DataRoute, request: &[u8], answer: &[u8]) -> Option<String> {
    let field = |bytes: &[u8], name: &str| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()?
            .get(name)?
            .as_str()
            .map(str::to_string)
    };
    match data_route.op() {
        Operation::AddVehicle => field(answer, "id"),
        Operation::StartRide | Operation::EndRide => {
            field(answer, "vehicle_id").or_else(|| field(request, "vehicle_id"))
        }
        _ => None,
    }
}

/// Adds the edge's headers to a data response: who served it, how the cache answered, and
/// `server-timing` with the edge's spans followed by the answering origin's own entries.
fn decorate(
    response: &mut Response,
    served_by: &str,
    cache_label: &str,
    trace: &Trace,
    origin_timing: Option<&str>,
) -> Result<()> {
    let headers = response.headers_mut();
    headers.set(SERVED_BY, served_by)?;
    headers.set(CACHE, cache_label)?;
    headers.set(
        "server-timing",
        &respond::server_timing(&trace.timings(now_ms()), origin_timing),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_affected_vehicle_is_found_in_answer_or_request() {
        let route = |method, path| DataRoute::of(method, path).unwrap();
        let v = "6a0f8c2e-1b1e-4f7b-9d55-0c1d2e3f4a5b";
        let added = format!(r#"{{"id":"{v}","city":"rome"}}"#);
        let add = route("POST", "/api/v1/cities/rome/vehicles");
        assert_eq!(
            affected_vehicle(&add, b"{}", added.as_bytes()).as_deref(),
            Some(v)
        );
        let ride = format!(r#"{{"id":"r","vehicle_id":"{v}"}}"#);
        let end = route("POST", "/api/v1/cities/rome/rides/r/end");
        assert_eq!(
            affected_vehicle(&end, b"", ride.as_bytes()).as_deref(),
            Some(v)
        );
        let start = format!(r#"{{"vehicle_id":"{v}"}}"#);
        let started = route("POST", "/api/v1/cities/rome/rides");
        assert_eq!(
            affected_vehicle(&started, start.as_bytes(), b"nope").as_deref(),
            Some(v)
        );
        let sign_up = route("POST", "/api/v1/users");
        assert_eq!(affected_vehicle(&sign_up, b"{}", b"{}"), None);
    }
}
