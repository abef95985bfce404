//! The origin against real PostgreSQL nodes: one test binary, each test on its own databases.

// Test helpers panic on purpose: a failed step is a failed test.
#![allow(clippy::unwrap_used)]

mod client;
mod helpers;

mod abuse;
mod claims;
mod concurrency;
mod errors;
mod jobs;
mod jobs_throughput;
mod lifecycle;
mod locality;
mod partitioning;
mod readiness;
mod regions;
mod residency;
mod routes;
mod secure_links;
mod sessions;
mod signatures;
mod sqlx_data;
mod users;
