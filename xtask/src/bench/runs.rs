//! The journeys as users in each city, against the edge in each runtime: the edge plays the
//! PoP nearest the city (its links to the regions take that PoP's modelled RTTs), a user → PoP
//! link goes in front of it, `--warm-up` journeys warm up, then `iterations` are timed; and Rome's
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

/// One topology's stack with its edges (one per runtime), as the journeys use it.
pub(super) struct Deployment {
    pub stack: Stack,
    pub edges: Vec<(Runtime, Edge)>,
}

/// The MovR journeys as users in every city, against the edge in each runtime
/// (`iterations` in plain workerd, fewer under wrangler dev), each journey of one deployment
/// followed by one of the other (the order swapping each time); `tag` makes emails unique.
pub(super) async fn journeys(
    args: &BenchArgs,
    deployments: &mut [Deployment],
    (iterations, tag): &(usize, String),
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let dev_iterations = if args.short {
        1
    } else {
        args.dev_iterations.max(1)
    };
    for city in &args.cities {
        for runtime in Runtime::ALL {
            let n = match runtime {
                Runtime::Workerd => *iterations,
                Runtime::WranglerDev => dev_iterations,
            };
            let mut users = Vec::new();
            for deployment in deployments.iter_mut() {
                let name = deployment.stack.options.topology.name();
                // Short: the tag goes into an email's local part (64 characters at most).
                let tag = format!("{tag}-{}-{}", &name[..1], runtime.letter());
                let label = format!("{name}, edge in {}", runtime.label());
                let edge = edge_in(&deployment.edges, runtime)?;
                let user = CityUser::start(&mut deployment.stack, edge, city, model).await?;
                eprintln!(
                    "bench: {label}, a user in {city} (PoP {}): {n} journeys",
                    user.pop
                );
                for round in 0..super::warm_ups(args) {
                    user.warm_up(edge, city, &format!("{tag}{round}")).await?;
                }
                users.push((name, tag, user, Vec::new()));
            }
            for i in 0..n {
                let mut order: Vec<usize> = (0..users.len()).collect();
                if i % 2 == 1 {
                    order.reverse();
                }
                for at in order {
                    let (_, tag, user, samples) = &mut users[at];
                    let journey = format!("{tag}-{city}-{i}");
                    samples.extend(journey_with_retry(&user.user, &journey).await?);
                }
            }
            for (name, _, user, samples) in users {
                user.link.stop().await;
                let key = (name, city.clone());
                match runtime {
                    Runtime::Workerd => measured.samples.insert(key, samples),
                    Runtime::WranglerDev => measured.dev_samples.insert(key, samples),
                };
            }
        }
    }
    Ok(())
}

/// The edge of `edges` in `runtime`.
fn edge_in(edges: &[(Runtime, Edge)], runtime: Runtime) -> Result<&Edge> {
    edges
        .iter()
        .find(|(r, _)| *r == runtime)
        .map(|(_, edge)| edge)
        .context("no edge in that runtime")
}

/// Rome's users (those the journeys signed up) logging in from New York, through the edge in
/// plain workerd.
pub(super) async fn travellers(
    args: &BenchArgs,
    deployment: &mut Deployment,
    model: &RttModel,
    measured: &mut Measured,
) -> Result<()> {
    let name = deployment.stack.options.topology.name();
    let emails: Vec<String> = measured
        .samples
        .get(&(name.clone(), "rome".to_string()))
        .into_iter()
        .flatten()
        .filter(|s| s.step == Step::SignUp)
        .map(|s| s.email.clone())
        .collect();
    let (true, false, Ok(edge)) = (
        args.cities.iter().any(|c| c == "new-york"),
        emails.is_empty(),
        edge_in(&deployment.edges, Runtime::Workerd),
    ) else {
        return Ok(());
    };
    eprintln!("bench: {name}, users of Rome logging in from New York");
    let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
    let travels =
        cross_region::travellers(&mut deployment.stack, edge_addr, model, &emails).await?;
    measured.travellers.insert(name, travels);
    Ok(())
}

/// A user in a city in front of an edge playing the city's PoP: the user → PoP link.
struct CityUser {
    user: User,
    link: roam_wan::LinkHandle,
    pop: &'static str,
}

impl CityUser {
    async fn start(stack: &mut Stack, edge: &Edge, city: &str, model: &RttModel) -> Result<Self> {
        let place = find_place(RegionMap::builtin(), city)
            .with_context(|| format!("unknown city {city}"))?;
        let colo = nearest_colo(place.at);
        if let Some(wan) = stack.wan.as_mut() {
            wan.set_pop(colo.code)?;
        }
        let edge_addr = std::net::SocketAddr::from(([127, 0, 0, 1], edge.port()));
        let link = Link::new(edge_addr)
            .rtt(model.rtt(place.at, colo.at))
            .start()
            .await?;
        let user = User::new(format!("http://{}", link.addr()), place)?;
        Ok(Self {
            user,
            link,
            pop: colo.code,
        })
    }

    /// One journey, not timed.
    async fn warm_up(&self, edge: &Edge, city: &str, tag: &str) -> Result<()> {
        self.user
            .journey(&format!("{tag}-{city}-warmup"))
            .await
            .with_context(|| format!("edge log:\n{}", edge.log_tail(20)))?;
        Ok(())
    }
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
