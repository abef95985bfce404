//! The journeys as users in each city, against the edge in each runtime: the edge plays the
//! PoP nearest the city (its links to the regions take that PoP's modelled RTTs), a user → PoP
//! link goes in front of it, one journey warms up, then `iterations` are timed; and Rome's
//! users logging in from New York.

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_stack::front::find_place;
use roam_stack::Stack;
use roam_wan::model::nearest_colo;
use roam_wan::{Link, RttModel};

use super::edges::{Edge, Runtime};
use super::journey::{Sample, Step, User};
use super::{cross_region, BenchArgs, Measured};

/// The MovR journeys as users in every city, against the edge in each runtime
/// (`iterations` in plain workerd, fewer under wrangler dev); `tag` makes emails unique.
pub(super) async fn journeys(
    args: &BenchArgs,
    stack: &mut Stack,
    edges: &[(Runtime, Edge)],
    (iterations, tag): (usize, &str),
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let name = stack.options.topology.name();
    let dev_iterations = if args.short {
        1
    } else {
        args.dev_iterations.max(1)
    };
    for city in &args.cities {
        for (runtime, edge) in edges {
            let n = match runtime {
                Runtime::Workerd => iterations,
                Runtime::WranglerDev => dev_iterations,
            };
            // Short: the tag goes into an email's local part (64 characters at most).
            let tag = format!("{tag}-{}", runtime.letter());
            let label = format!("{name}, edge in {}", runtime.label());
            let samples = city_journeys(stack, edge, city, n, model, (&label, &tag)).await?;
            let key = (name.clone(), city.clone());
            match runtime {
                Runtime::Workerd => measured.samples.insert(key, samples),
                Runtime::WranglerDev => measured.dev_samples.insert(key, samples),
            };
        }
    }
    Ok(())
}

/// Rome's users (those the journeys signed up) logging in from New York, through the edge in
/// plain workerd.
pub(super) async fn travellers(
    args: &BenchArgs,
    stack: &mut Stack,
    edges: &[(Runtime, Edge)],
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let name = stack.options.topology.name();
    let emails: Vec<String> = measured
        .samples
        .get(&(name.clone(), "rome".to_string()))
        .into_iter()
        .flatten()
        .filter(|s| s.step == Step::SignUp)
        .map(|s| s.email.clone())
        .collect();
    let workerd = edges.iter().find(|(r, _)| *r == Runtime::Workerd);
    let (true, false, Some((_, edge))) = (
        args.cities.iter().any(|c| c == "new-york"),
        emails.is_empty(),
        workerd,
    ) else {
        return Ok(());
    };
    eprintln!("bench: {name}, users of Rome logging in from New York");
    let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
    let travels = cross_region::travellers(stack, edge_addr, model, &emails).await?;
    measured.travellers.insert(name, travels);
    Ok(())
}

/// Runs the journeys; `label` says what runs (for the progress line), `tag` makes every
/// user's email unique.
pub(super) async fn city_journeys(
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
