//! One stack and one edge in front of it, started once per test or once per test binary, and
//! stopped however the test ends.
//!
//! Cleanup is roam-stack's: `Stack::start` registers its reapers (nodes and origins) before it
//! returns, and `start_edge` registers the edge's as soon as wrangler runs, so a binary that
//! panics, is killed, or keeps its world in a static (never dropped) leaves nothing behind;
//! dropping a [`Stack`] or an [`EdgeProcess`] stops it at once. Every test starts its stack and
//! edge through here, so every path gets both.

use roam_stack::edge::{start_edge, EdgeOptions, EdgeProcess};
use roam_stack::pg::PgNode;
use roam_stack::{Stack, StackOptions};
use tokio::sync::OnceCell;

use crate::client::User;
use crate::place::Place;
use crate::signer::Signer;

/// The origins' cache lifetimes for outage tests: 1 s fresh, 1 s stale-while-revalidate,
/// 300 s stale-if-error, so a list goes stale during an outage without the test waiting for
/// the defaults.
pub const SHORT_CACHE: [(&str, &str); 3] = [
    ("ROAM_CACHE_S_MAXAGE", "1"),
    ("ROAM_CACHE_SWR", "1"),
    ("ROAM_CACHE_SIE", "300"),
];

/// Starts a test stack (PostgreSQL nodes + origins, with sample data) named `name`.
pub async fn start_stack(name: &str) -> Stack {
    start_stack_with(StackOptions::for_tests(name)).await
}

/// Starts a stack as `options` say, or panics with why.
pub async fn start_stack_with(options: StackOptions) -> Stack {
    assert!(
        options.reap_on_exit,
        "a test stack is reaped when the test binary exits"
    );
    match Stack::start(options).await {
        Ok(stack) => stack,
        Err(e) => panic!("could not start the stack: {e:#}"),
    }
}

/// Starts an edge (one PoP under `wrangler dev`) in front of `stack`'s origins.
pub async fn start_edge_for(name: &str, stack: &Stack) -> EdgeProcess {
    let options = EdgeOptions::new(name, stack.origin_urls(), &stack.options.secret);
    start_edge_with(options).await
}

/// Starts an edge as `options` say, or panics with why.
pub async fn start_edge_with(options: EdgeOptions) -> EdgeProcess {
    match start_edge(options).await {
        Ok(edge) => edge,
        Err(e) => panic!("could not start the edge: {e:#}"),
    }
}

/// A stack and one edge in front of it: what most end-to-end tests talk to.
#[derive(Debug)]
pub struct World {
    /// The edge (declared first: dropped, so stopped, before the origins behind it).
    pub edge: EdgeProcess,
    /// The stack.
    pub stack: Stack,
}

impl World {
    /// A test stack named `name` and an edge in front of it.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, |_| {}).await
    }

    /// Like [`World::start`], with the stack's options changed by `adjust` first.
    pub async fn start_with(name: &str, adjust: impl FnOnce(&mut StackOptions)) -> Self {
        let mut options = StackOptions::for_tests(name);
        adjust(&mut options);
        let stack = start_stack_with(options).await;
        let edge = start_edge_for(name, &stack).await;
        Self { edge, stack }
    }

    /// The world every test of a binary shares, started by the first that asks. A static is
    /// never dropped: the reapers stop it when the binary exits.
    pub async fn shared(cell: &'static OnceCell<World>, name: &str) -> &'static World {
        cell.get_or_init(|| Self::start(name)).await
    }

    /// An anonymous user at `place`, talking to the edge.
    pub fn user(&self, place: Place) -> User {
        User::new(&self.edge.url(), place)
    }

    /// A fresh account at `place` (a unique email made from `who`), signed up and logged in
    /// through the edge.
    pub async fn signed_in(&self, place: Place, who: &str, password: &str) -> User {
        User::signed_in(&self.edge.url(), place, who, password).await
    }

    /// `region`'s PostgreSQL node, for a test to stop and start.
    pub fn node(&self, region: &str) -> PgNode {
        self.stack
            .cluster
            .node(region)
            .unwrap_or_else(|| panic!("the stack has no {region} node"))
            .clone()
    }

    /// A signer for `region`'s origin, with the stack's secret.
    pub fn signer(&self, region: &str) -> Signer {
        Signer::for_origin(&self.stack, region)
    }
}
