//! Per-address limits on the two routes a password guesser or a sign-up script hammers, with
//! Cloudflare's rate-limiting binding (`[[ratelimits]]` in wrangler.toml: the limits live
//! there, counted at each PoP; `wrangler dev` simulates them).
//!
//! This is the first of two lines: it stops one address early and cheaply, before anything
//! reaches an origin. A guesser spread over many addresses meets the second, the origin's
//! per-account lock counted in the user's home region (`origin/src/storage/accounts.rs`).

use roam_shared::routes::Operation;
use worker::worker_sys::web_sys;
use worker::{console_error, Env};

use crate::config::Config;
use crate::error::{EdgeError, Result};
use crate::route::DataRoute;

/// The binding that limits sign-ups per client address.
pub const SIGN_UP_LIMITER: &str = "SIGN_UP_LIMITER";
/// The binding that limits log-ins per client address.
pub const LOG_IN_LIMITER: &str = "LOG_IN_LIMITER";

/// `retry-after` of a limited request: the longest period the binding allows (10 or 60 s), so
/// the window has turned whichever wrangler.toml chose.
pub const RETRY_AFTER_SECS: u32 = 60;

/// The header Cloudflare sets to the client's address (a client cannot set it: the platform
/// overwrites it).
const CLIENT_ADDRESS: &str = "cf-connecting-ip";

/// Counts this request against its route's limit, if it has one; `Err(TooManyRequests)` once
/// the address has used up its allowance. The address is read only for a limited route, so
/// every other request (a cached read above all) pays no crossing into JavaScript for it.
///
/// Without the binding the edge refuses the route outside development (a limit that silently
/// vanished is worse than an error someone sees) and lets it through in development, where
/// plain `workerd serve` has no such binding. A limiter that fails at run time lets the
/// request through: the origin's per-account lock still stands behind it.
pub async fn check(
    env: &Env,
    config: &Config,
    route: &DataRoute,
    request: &web_sys::Request,
) -> Result<()> {
    let binding = match route.op() {
        Operation::SignUp => SIGN_UP_LIMITER,
        Operation::LogIn => LOG_IN_LIMITER,
        _ => return Ok(()),
    };
    let Ok(limiter) = env.rate_limiter(binding) else {
        if config.environment == "development" {
            return Ok(());
        }
        return Err(EdgeError::Config(format!(
            "the rate-limiting binding {binding} is missing (wrangler.toml [[ratelimits]])"
        )));
    };
    let key = client_address(request).unwrap_or_else(|| "unknown".to_string());
    match limiter.limit(key).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(EdgeError::TooManyRequests {
            retry_after_secs: RETRY_AFTER_SECS,
        }),
        Err(e) => {
            console_error!("{binding} failed, request let through: {e}");
            Ok(())
        }
    }
}

/// The client's address, as the platform reports it.
pub fn client_address(request: &web_sys::Request) -> Option<String> {
    request.headers().get(CLIENT_ADDRESS).ok().flatten()
}
