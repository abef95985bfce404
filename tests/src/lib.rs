//! The end-to-end harness the tests in `tests/` share: a stack and an edge started once and
//! cleaned up however a test ends ([`world`]), users of the edge somewhere on Earth
//! ([`place`], [`client`]), a raw HTTP/1.1 client for bytes reqwest would normalise ([`raw`]),
//! a signer that talks to an origin as the edge does, or on purpose does not ([`signer`]), SQL
//! on the nodes ([`db`]), a well-behaved client's load and the audit of its writes ([`load`],
//! [`ledger`]), and an OTLP receiver ([`otlp`]).

pub mod client;
pub mod db;
pub mod ledger;
pub mod load;
pub mod otlp;
pub mod place;
pub mod raw;
pub mod signer;
pub mod world;
