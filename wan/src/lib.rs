//! roam-wan: geography on one machine.
//!
//! This kernel has no netem, so roam puts distance on its loopback links with a small TCP
//! proxy: a [`Link`] listens on a port, forwards every connection to a target and holds each
//! direction back by half a round-trip time, preserving byte order and backpressure. The RTT
//! of a link comes from the [`model`]: great-circle distance between the places it joins, at
//! the speed of light in fibre, times an inflation factor taken from published measurements
//! (the README cites them).
//!
//! ```no_run
//! # async fn demo(target: std::net::SocketAddr) -> std::io::Result<()> {
//! use std::time::Duration;
//! let link = roam_wan::Link::new(target).rtt(Duration::from_millis(40)).start().await?;
//! let proxy = link.addr(); // connect here instead of `target`
//! link.set_rtt(Duration::from_millis(80)); // worse weather
//! link.cut(); // fault test: connections reset
//! link.stop().await;
//! # let _ = proxy; Ok(()) }
//! ```

mod conditions;
mod handle;
mod link;
pub mod model;
mod pipe;
mod stats;

pub use conditions::{Conditions, Fault};
pub use handle::LinkHandle;
pub use link::{Link, DEFAULT_BUFFER_BYTES};
pub use model::{RttModel, UserPath};
pub use stats::LinkStats;
