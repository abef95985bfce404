//! `--as <city>`: a local front that makes a browser on this machine look like a user in a
//! named city. It forwards every request to the edge (`wrangler dev`) and adds `MF-CF-Blob`,
//! the header workerd's local dev reads as `request.cf`.
//!
//! The city comes from, in order: a `?as=<city>` query parameter (which also sets the
//! `roam_as` cookie, and is removed before forwarding), the `roam_as` cookie, the front's
//! default. Responses carry `x-roam-as` (the city used) and `x-roam-as-choices` (every city
//! the front knows) so the web UI can offer a selector only when it runs behind a front.

mod forward;
pub mod places;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::HeaderValue;
use axum::Router;
use roam_shared::RegionMap;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use forward::{forward, FrontState};
pub use places::{cf_blob, find_place, places, Place};

/// The header workerd's local dev turns into `request.cf`.
pub const CF_BLOB: &str = "mf-cf-blob";
/// The header Cloudflare sets to the client's address: the key of the edge's per-address
/// limits. Local clients that stand for many users send one each (see
/// [`simulated_client_address`]); a real edge overwrites whatever a client sends.
pub const CLIENT_ADDRESS: &str = "cf-connecting-ip";

/// A client address no other simulated user of this process has (`10.x.y.z`), so that load
/// and test clients that stand for many people are counted as many people by the edge's
/// per-address limits, as they would be in production.
pub fn simulated_client_address() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff)
}

/// Query parameter that picks the city for one request (and sets the cookie).
pub const AS_PARAM: &str = "as";
/// Cookie that remembers the chosen city.
pub const AS_COOKIE: &str = "roam_as";
/// Response header: the city this response was fetched as.
pub const AS_HEADER: &str = "x-roam-as";
/// Response header: every city the front can be (comma-separated slugs).
pub const AS_CHOICES_HEADER: &str = "x-roam-as-choices";
/// How to run a front.
#[derive(Debug, Clone)]
pub struct FrontOptions {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The edge's base URL, e.g. `http://127.0.0.1:8787`.
    pub edge_url: String,
    /// The city used when a request names none.
    pub default_city: String,
}

/// A running front; dropping it stops it.
#[derive(Debug)]
pub struct Front {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Front {
    /// Binds and starts serving; fails when the default city is unknown.
    pub async fn start(options: FrontOptions) -> Result<Front> {
        let map = RegionMap::builtin();
        let places = places(map);
        let default = find_place(map, &options.default_city).with_context(|| {
            let known: Vec<&str> = places.iter().map(|p| p.slug.as_str()).collect();
            format!(
                "--as {}: unknown city; known: {}",
                options.default_city,
                known.join(", ")
            )
        })?;
        let choices: Vec<&str> = places.iter().map(|p| p.slug.as_str()).collect();
        let state = FrontState {
            edge_url: options.edge_url.trim_end_matches('/').to_string(),
            default,
            choices: HeaderValue::from_str(&choices.join(","))?,
            places,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .pool_idle_timeout(crate::edge::CLIENT_IDLE_REUSE)
                .build()?,
        };
        let listener = TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("front: binding {}", options.listen))?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(forward).with_state(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "front stopped");
            }
        });
        Ok(Front {
            addr,
            shutdown: Some(tx),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
