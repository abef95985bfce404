//! `roam-wan`: the latency-injecting proxy and the RTT model, for manual use.
//!
//! ```text
//! roam-wan link --target 127.0.0.1:5432 --listen 127.0.0.1:15432 --between rome --and us-east
//! roam-wan rtt FCO us-east
//! roam-wan plan rome
//! ```
//!
//! While `link` runs, lines on stdin change it: `rtt <ms>`, `jitter <ms>`, `cut`, `blackhole`,
//! `restore`, `stats`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use roam_shared::geo::{distance_km, Coordinates};
use roam_shared::RegionMap;
use roam_wan::model::{colo_by_code, region_rtt, RttModel, UserPath};
use roam_wan::{Fault, Link, LinkHandle};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Parser)]
#[command(
    name = "roam-wan",
    about = "Latency-injecting TCP proxy and great-circle RTT model"
)]
struct Cli {
    #[command(flatten)]
    model: ModelArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ModelArgs {
    /// Real path latency ÷ great-circle fibre latency.
    #[arg(long, global = true, default_value_t = roam_wan::model::DEFAULT_INFLATION)]
    inflation: f64,
    /// Smallest RTT of any hop, in ms.
    #[arg(long, global = true, default_value_t = 1.0)]
    floor_ms: f64,
}

#[derive(Subcommand)]
enum Command {
    /// Forward a port to a target with a round-trip time (stdin changes it while it runs).
    Link {
        /// Where to forward to.
        #[arg(long)]
        target: SocketAddr,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Round-trip time in ms (or use --between/--and).
        #[arg(long, conflicts_with = "between")]
        rtt_ms: Option<f64>,
        /// One end of the link (city slug, region, colo code or `lat,lon`): the model gives
        /// the RTT.
        #[arg(long, requires = "and")]
        between: Option<String>,
        /// The other end.
        #[arg(long)]
        and: Option<String>,
        /// Up to this much extra RTT per chunk, in ms.
        #[arg(long, default_value_t = 0.0)]
        jitter_ms: f64,
        /// Cap on bytes held back per connection and direction.
        #[arg(long, default_value_t = roam_wan::DEFAULT_BUFFER_BYTES)]
        buffer_bytes: usize,
    },
    /// The modelled RTT between two places (city slug, region, colo code or `lat,lon`).
    Rtt { from: String, to: String },
    /// A user's legs: city → PoP → each region, and region ↔ region.
    Plan { city: String },
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let model = RttModel {
        inflation: cli.model.inflation,
        floor: Duration::from_secs_f64(cli.model.floor_ms.max(0.0) / 1000.0),
    };
    let map = RegionMap::builtin();
    match cli.command {
        Command::Rtt { from, to } => {
            let (a, b) = (place(map, &from)?, place(map, &to)?);
            println!(
                "{from} → {to}: {:.0} km, light in fibre {}, modelled RTT {}",
                distance_km(a, b),
                ms(RttModel::fibre_rtt(a, b)),
                ms(model.rtt(a, b))
            );
        }
        Command::Plan { city } => plan(&model, map, &city)?,
        Command::Link {
            target,
            listen,
            rtt_ms,
            between,
            and,
            jitter_ms,
            buffer_bytes,
        } => {
            let rtt = match (rtt_ms, between, and) {
                (Some(ms), _, _) => Duration::from_secs_f64(ms.max(0.0) / 1000.0),
                (None, Some(a), Some(b)) => model.rtt(place(map, &a)?, place(map, &b)?),
                _ => Duration::ZERO,
            };
            let link = Link::new(target)
                .listen(listen)
                .rtt(rtt)
                .jitter(Duration::from_secs_f64(jitter_ms.max(0.0) / 1000.0))
                .buffer_bytes(buffer_bytes)
                .start()
                .await
                .with_context(|| format!("listening on {listen}"))?;
            println!("{} → {target}, RTT {}", link.addr(), ms(rtt));
            control(&link).await?;
            link.stop().await;
        }
    }
    Ok(())
}

fn plan(model: &RttModel, map: &RegionMap, city: &str) -> Result<()> {
    let path =
        UserPath::for_city(model, map, city).with_context(|| format!("unknown city {city:?}"))?;
    println!(
        "{city} → PoP {} ({}): {}",
        path.colo.code,
        path.colo.metro,
        ms(path.user_to_pop)
    );
    for region in &map.regions {
        let rtt = path
            .pop_to_region(model, map, &region.name)
            .unwrap_or_default();
        println!("PoP {} → {}: {}", path.colo.code, region.name, ms(rtt));
    }
    for (i, a) in map.regions.iter().enumerate() {
        for b in &map.regions[i + 1..] {
            let rtt = region_rtt(model, map, &a.name, &b.name).unwrap_or_default();
            println!("{} ↔ {}: {}", a.name, b.name, ms(rtt));
        }
    }
    Ok(())
}

/// Applies commands read from stdin until it closes or Ctrl-C.
async fn control(link: &LinkHandle) -> Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            line = lines.next_line() => line?,
        };
        let Some(line) = line else {
            // stdin closed (e.g. started in the background): keep forwarding until Ctrl-C.
            tokio::signal::ctrl_c().await?;
            return Ok(());
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let millis = |w: Option<&&str>| -> Option<Duration> {
            let ms: f64 = w?.parse().ok()?;
            (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
        };
        match words.first().copied() {
            Some("rtt") => match millis(words.get(1)) {
                Some(rtt) => link.set_rtt(rtt),
                None => eprintln!("usage: rtt <ms>"),
            },
            Some("jitter") => match millis(words.get(1)) {
                Some(jitter) => link.set_jitter(jitter),
                None => eprintln!("usage: jitter <ms>"),
            },
            Some("cut") => link.cut(),
            Some("blackhole") => link.set_fault(Fault::Blackhole),
            Some("restore") => link.restore(),
            Some("stats") | None => {}
            Some(other) => eprintln!("unknown command {other:?}"),
        }
        println!("{:?} {:?}", link.conditions(), link.stats());
    }
}

/// A place by name: a city slug, a region, a colo's IATA code, or `lat,lon`.
fn place(map: &RegionMap, name: &str) -> Result<Coordinates> {
    if let Some(city) = map.city(name) {
        return Ok(Coordinates::new(city.lat, city.lon));
    }
    if let Some(at) = map.region_coordinates(name) {
        return Ok(at);
    }
    if let Some(colo) = colo_by_code(name) {
        return Ok(colo.at);
    }
    if let Some((lat, lon)) = name.split_once(',') {
        if let Some(at) = Coordinates::parse(lat, lon) {
            return Ok(at);
        }
    }
    bail!("{name:?} is not a city, region, colo code or lat,lon")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
