//! roam-origin: the regional origin service (axum + tokio + sqlx) over a geo-partitioned
//! PostgreSQL. [`Application`] is the one way to run it, for the binary and the tests.
//!
//! The layers, from the outside in:
//! - [`http`]: the router, its state, middleware, extractors, one module per resource;
//! - [`storage`]: a pool per region's node, retried transactions, exactly-once writes
//!   (idempotency), the global email claims;
//! - [`schema`]: what `migrate`, `seed` and `reconcile-claims` do to the nodes;
//! - [`jobs`]: the background queue in the database and its jobs;
//!
//! beside them the configuration, the one error type, password hashing and telemetry.

pub mod config;
pub mod error;
pub mod http;
pub mod jobs;
pub mod libpq_url;
pub mod password;
pub mod schema;
pub mod server;
pub mod startup;
pub mod storage;
pub mod telemetry;

pub use config::Config;
pub use error::{Error, Result};
pub use http::{app, AppState};
pub use startup::Application;
