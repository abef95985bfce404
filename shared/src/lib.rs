#![warn(missing_docs)]
//! roam-shared: what the edge (wasm32) and the origins (native) must agree on.
//!
//! Pure functions and types only, no I/O: the region map and geo routing, the API's
//! request/response bodies and their validation, the problem+json error body, and the
//! cryptographic formats that cross the edge↔origin boundary (request signature, session
//! token, read-your-writes bookmark), and W3C trace context; the route table of the public
//! API and the request-shape rules both sides apply.

pub mod api;
pub mod bookmark;
pub mod coordinates;
pub mod email_claim;
pub mod geo;
pub mod headers;
pub mod keyring;
pub mod map;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod problem;
pub mod request;
pub mod routes;
pub mod routing;
pub mod secret;
pub mod signature;
pub mod token;
pub mod trace;

pub use coordinates::Coordinates;
pub use geo::UserLocation;
pub use keyring::Keyring;
pub use map::{City, Region, RegionMap};
pub use problem::Problem;
pub use secret::SharedSecret;
