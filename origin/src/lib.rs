//! roam-origin: the regional origin service (axum + tokio + sqlx) over a geo-partitioned
//! PostgreSQL. [`app::Application`] is the one way to run it, for the binary and the tests.

pub mod app;
pub mod claims;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod fare;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod nodes;
pub mod partitions;
pub mod password;
pub mod reconcile;
pub mod rides;
pub mod seed;
pub mod sessions;
pub mod signing;
pub mod telemetry;
pub mod topology;
pub mod users;
pub mod vehicles;

pub use app::{app, AppState, Application};
pub use config::Config;
pub use error::{Error, Result};
