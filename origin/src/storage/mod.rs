//! The storage rules: a pool per region's node, the retrying transaction every write runs in,
//! exactly-once writes (idempotency records beside their effects), and the global email claims.

pub mod accounts;
pub mod claims;
pub mod health;
pub mod idempotency;
mod nodes;
pub mod open_rides;
pub mod pool;
pub mod primary;
pub mod revocations;
pub mod rides;
pub mod traced;
pub mod transaction;
pub mod upkeep;

pub use nodes::{NodeSettings, Nodes};
