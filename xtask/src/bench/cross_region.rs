//! The cross-region paths: Rome's users logging in from New York (travellers), one
//! cross-region statement through postgres_fdw against straight to the node (why the origin
//! keeps a pool per region), and the targets for sign-up, log-in and ride history in every
//! user city.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_stack::front::find_place;
use roam_stack::{Stack, Wan};
use roam_wan::model::nearest_colo;
use roam_wan::{Link, RttModel};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::journey::{User, PASSWORD};
use super::line::Line;
use super::report::{ms, Summary};

mod targets;
pub(super) use targets::targets;

/// One of Rome's users logging in from New York.
#[derive(Debug, Clone)]
pub(crate) struct Travel {
    /// Whether the edge's home cookie (`roam_home=rome`) came with it.
    pub with_cookie: bool,
    /// Time at the client.
    pub took: Duration,
}

/// Logs each of `emails` (users of Rome) in from New York's PoP, with the home cookie and
/// without it.
pub(super) async fn travellers(
    stack: &mut Stack,
    edge: SocketAddr,
    model: &RttModel,
    emails: &[String],
) -> Result<Vec<Travel>> {
    let place = find_place(RegionMap::builtin(), "new-york").context("no new-york")?;
    let colo = nearest_colo(place.at);
    if let Some(wan) = stack.wan.as_mut() {
        wan.set_pop(colo.code)?;
    }
    let link = Link::new(edge)
        .rtt(model.rtt(place.at, colo.at))
        .start()
        .await?;
    let user = User::new(format!("http://{}", link.addr()), place)?;
    let mut travels = Vec::new();
    for email in emails {
        for with_cookie in [true, false] {
            let home = with_cookie.then_some("rome");
            let (took, _) = user.log_in_as(email, PASSWORD, home).await?;
            travels.push(Travel { with_cookie, took });
        }
    }
    link.stop().await;
    Ok(travels)
}

/// The same claim look-up and the same ride history, from eu-west's node through its
/// postgres_fdw servers and from an origin's pools straight to each node, over the same links.
pub(super) async fn mechanism(stack: &Stack) -> Result<Vec<Line>> {
    let wan = stack.wan.as_ref().context("the mechanism needs --wan")?;
    let node = |region: &str| stack.cluster.node(region).context("no such node");
    let eu_west = PgPool::connect(&node("eu-west")?.url(roam_stack::stack::DATABASE)).await?;
    let direct = direct_pools(wan).await?;
    let rtt = |to: &str| wan.fdw_link("eu-west", to).map(|l| l.conditions().rtt);
    let (to_east, to_west) = (
        rtt("us-east").unwrap_or_default(),
        rtt("us-west").unwrap_or_default(),
    );
    let (fdw, one) = time_claim_look_up(&eu_west, &direct[0]).await?;
    let (fdw_all, parallel) = time_ride_history(&eu_west, &direct).await?;
    Ok(vec![
        Line {
            what: format!(
                "one claim look-up on us-east's node from eu-west (RTT {:.1} ms)",
                ms(to_east)
            ),
            value: format!(
                "postgres_fdw {:.1} ms ({:.1} RTTs); direct pool {:.1} ms ({:.1} RTTs)",
                ms(fdw),
                in_rtts(fdw, to_east),
                ms(one),
                in_rtts(one, to_east)
            ),
            how: MECHANISM_HOW.into(),
            ..Line::default()
        },
        Line {
            what: format!(
                "one rider's rides in all three regions, from eu-west (RTTs {:.1} and {:.1} ms)",
                ms(to_east),
                ms(to_west)
            ),
            value: format!(
                "postgres_fdw {:.1} ms; three direct statements in parallel {:.1} ms",
                ms(fdw_all),
                ms(parallel)
            ),
            how: MECHANISM_HOW.into(),
            ..Line::default()
        },
    ])
}

/// How to measure the mechanism again.
const MECHANISM_HOW: &str = "`cargo xtask bench` (xtask/src/bench/cross_region.rs)";

/// One connection each from eu-west straight to us-east's and us-west's nodes, over the same
/// modelled links as its postgres_fdw servers (in that order).
async fn direct_pools(wan: &Wan) -> Result<Vec<PgPool>> {
    let url = |port: u16| {
        format!(
            "postgres://postgres@127.0.0.1:{port}/{}",
            roam_stack::stack::DATABASE
        )
    };
    let mut direct = Vec::new();
    for region in ["us-east", "us-west"] {
        let port = *wan
            .fdw_ports("eu-west", region)
            .first()
            .context("no link")?;
        direct.push(
            PgPoolOptions::new()
                .max_connections(1)
                .connect(&url(port))
                .await?,
        );
    }
    Ok(direct)
}

/// us-east's claim look-up (p50): through eu-west's postgres_fdw, then over the direct pool.
async fn time_claim_look_up(eu_west: &PgPool, east: &PgPool) -> Result<(Duration, Duration)> {
    let claim = "SELECT user_id FROM email_claims WHERE region = 'us-east' AND email_hash = 'x'";
    let fdw =
        p50_of(|| async { sqlx::query(claim).fetch_optional(eu_west).await.map(drop) }).await?;
    let one = p50_of(|| async { sqlx::query(claim).fetch_optional(east).await.map(drop) }).await?;
    Ok((fdw, one))
}

/// One rider's rides in every region (p50): through eu-west's postgres_fdw, then as three
/// statements in parallel, eu-west's own and one over each direct pool.
async fn time_ride_history(eu_west: &PgPool, direct: &[PgPool]) -> Result<(Duration, Duration)> {
    let everywhere = rides_of(None);
    let fdw_all =
        p50_of(|| async { sqlx::query(&everywhere).fetch_all(eu_west).await.map(drop) }).await?;
    let (own, east, west) = (
        rides_of(Some("eu-west")),
        rides_of(Some("us-east")),
        rides_of(Some("us-west")),
    );
    let parallel = p50_of(|| async {
        let (a, b, c) = tokio::join!(
            sqlx::query(&own).fetch_all(eu_west),
            sqlx::query(&east).fetch_all(&direct[0]),
            sqlx::query(&west).fetch_all(&direct[1]),
        );
        a.and(b).and(c).map(drop)
    })
    .await?;
    Ok((fdw_all, parallel))
}

/// `d` in round trips of `rtt`.
fn in_rtts(d: Duration, rtt: Duration) -> f64 {
    ms(d) / ms(rtt).max(0.001)
}

/// One rider's rides: in every region (no city: postgres_fdw scans the foreign partitions),
/// or in one region's cities only (pruned to that node's own partition).
fn rides_of(region: Option<&str>) -> String {
    let cities = region.map(|r| {
        let slugs: Vec<String> = RegionMap::builtin()
            .cities_in(r)
            .map(|c| format!("'{}'", c.slug))
            .collect();
        format!("city IN ({}) AND ", slugs.join(", "))
    });
    format!(
        "SELECT id FROM rides WHERE {}rider_id = '00000000-0000-4000-8000-000000000000' \
         ORDER BY start_time DESC LIMIT 200",
        cities.unwrap_or_default()
    )
}

/// The median of 20 timed runs, after 2 to warm connections and prepared statements.
async fn p50_of<F, Fut>(run: F) -> Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<()>>,
{
    for _ in 0..2 {
        run().await?;
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        run().await?;
        times.push(started.elapsed());
    }
    Ok(Summary::of(&times).map(|s| s.p50).unwrap_or_default())
}
