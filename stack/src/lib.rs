//! roam-stack: brings roam's parts up on one machine and takes them down again.
//!
//! Used by `cargo xtask dev` (the whole stack for a developer), the end-to-end tests and the
//! bench, so all three start things the same way: PostgreSQL nodes ([`pg`]) or, per region, a
//! primary and a standby under pg_auto_failover ([`ha`]), origins and the edge (under
//! `wrangler dev`, [`edge`], or alone in workerd as production runs it, [`workerd_edge`]), each
//! as a real process on loopback with its own log file.

pub mod databases;
pub mod edge;
pub mod endpoints;
pub mod front;
pub mod ha;
pub mod options;
pub mod origin;
pub mod pg;
pub mod process;
pub mod stack;
pub mod topology;
pub mod wan;
pub mod workerd_edge;

pub use endpoints::Endpoints;
pub use ha::{FailoverSettings, HaOptions};
pub use options::StackOptions;
pub use stack::Stack;
pub use topology::Topology;
pub use wan::{Wan, WanOptions};
