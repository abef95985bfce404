//! The journeys as users in one city, against one edge: the edge plays the PoP nearest the
//! city (its links to the regions take that PoP's modelled RTTs), a user → PoP link goes in
//! front of it, one journey warms up, then `iterations` are timed.

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_stack::front::find_place;
use roam_stack::Stack;
use roam_wan::model::nearest_colo;
use roam_wan::{Link, RttModel};

use super::edges::Edge;
use super::journey::{Sample, User};

/// Runs the journeys; `label` says what runs (for the progress line), `tag` makes every
/// user's email unique.
pub async fn city_journeys(
    stack: &mut Stack,
    edge: &Edge,
    city: &str,
    iterations: usize,
    model: &RttModel,
    (label, tag): (&str, &str),
) -> Result<Vec<Sample>> {
    let place =
        find_place(RegionMap::builtin(), city).with_context(|| format!("unknown city {city}"))?;
    let colo = nearest_colo(place.at);
    if let Some(wan) = stack.wan.as_mut() {
        wan.set_pop(colo.code)?;
    }
    let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
    let user_link = Link::new(edge_addr)
        .rtt(model.rtt(place.at, colo.at))
        .start()
        .await?;
    let user = User::new(format!("http://{}", user_link.addr()), place)?;
    eprintln!(
        "bench: {label}, a user in {city} (PoP {}): {iterations} journeys",
        colo.code
    );
    user.journey(&format!("{tag}-{city}-warmup"))
        .await
        .with_context(|| format!("edge log:\n{}", edge.log_tail(20)))?;
    let mut samples = Vec::new();
    for i in 0..iterations {
        samples.extend(journey_with_retry(&user, &format!("{tag}-{city}-{i}")).await?);
    }
    user_link.stop().await;
    Ok(samples)
}

/// One journey; a failed one is discarded and run again (twice at most) with a fresh user.
/// `wrangler dev` reloads the worker when `build/` changes under it (another build in the
/// same tree), and a reload answers requests in flight with 503.
async fn journey_with_retry(user: &User, tag: &str) -> Result<Vec<Sample>> {
    let mut attempt = 0;
    loop {
        match user.journey(&format!("{tag}-{attempt}")).await {
            Ok(samples) => return Ok(samples),
            Err(e) if attempt < 2 => eprintln!("bench: journey {tag} failed, again: {e:#}"),
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}
