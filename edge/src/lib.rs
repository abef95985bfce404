//! roam-edge: the Worker at the PoP nearest each user (Rust → Wasm, run by workerd).
//!
//! It answers pings and cached vehicle reads itself, and forwards every other data request,
//! signed and geo-tagged, to the origin of the region that owns the data, failing over when
//! that origin is down. `fetch` only routes; each concern lives in its own module:
//! [`route`] (which route), [`cf`] (where the user is), [`config`] (vars and secrets),
//! [`forward`] (signing and the origin call), [`failover`] (breakers, next region), [`cache`]
//! (the edge cache), [`data`] (a data request end to end), [`ping`] (the edge's own routes),
//! [`respond`] and [`error`] (responses and problem+json).

pub mod cache;
pub mod cf;
pub mod config;
pub mod data;
pub mod error;
pub mod failover;
pub mod forward;
pub mod ping;
pub mod respond;
pub mod route;

use roam_shared::headers::REQUEST_ID;
use worker::{console_error, event, Context, Env, Request, Response};

use crate::cf::Geo;
use crate::config::Config;
use crate::error::Result;
use crate::route::Route;

/// Milliseconds since the epoch, by the Worker's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Runs once per isolate. A panic cannot be caught in a Wasm Worker (it aborts the
/// instance, and worker-build's shim starts a fresh one for the next request), so the hook
/// makes sure it is at least logged with its message; the code is written not to panic
/// (clippy's `unwrap_used` is on and nothing indexes without a check).
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started = now_ms();
    let request_id = respond::request_id(&req);
    let mut response = match handle(req, &env, &ctx, &request_id, started).await {
        Ok(response) => response,
        Err(error) => {
            if error.is_server_fault() {
                console_error!("request {request_id}: {error}");
            }
            error.into_response(&request_id)?
        }
    };
    response.headers_mut().set(REQUEST_ID, &request_id)?;
    Ok(response)
}

async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    started: f64,
) -> Result<Response> {
    let url = req.inner().url();
    let route = route::resolve(&req.inner().method(), route::path_and_query(&url).0)?;
    let config = Config::load(env)?;
    match route {
        Route::Ping => ping::pong(&Geo::from_request(&req), &config),
        Route::PingRegion(region) => {
            ping::ping_region(&region, &Geo::from_request(&req), &config, request_id).await
        }
        Route::Regions => ping::regions(&Geo::from_request(&req), &config),
        Route::Cities => ping::cities(&config),
        Route::Data(data_route) => {
            data::handle(req, data_route, config, ctx, request_id, started).await
        }
    }
}
