//! `cargo xtask dev`: the whole stack on this machine until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use roam_shared::RegionMap;
use roam_stack::edge::{build_edge_as, start_edge, EdgeOptions, EdgeProcess, EdgeProfile};
use roam_stack::front::{find_place, Front, FrontOptions};
use roam_stack::ha::HaGroup;
use roam_stack::process::signal_group;
use roam_stack::stack::DATABASE;
use roam_stack::{HaOptions, Stack, StackOptions, Topology, WanOptions};

use crate::bootstrap;
use crate::util::cmd;

/// Options of `cargo xtask dev`.
#[derive(clap::Args)]
pub(crate) struct DevArgs {
    /// Wipe the databases first (fresh schema and sample data).
    #[arg(long)]
    pub fresh: bool,
    /// Be a user in this city: also start a local front on --as-port that tells the edge so
    /// (any city of the map, or tokyo, sydney, sao-paulo; `?as=<city>` switches per request).
    #[arg(long = "as", value_name = "CITY")]
    pub as_city: Option<String>,
    /// First PostgreSQL port (one per region, consecutive; three per region with --ha).
    #[arg(long, default_value_t = 5501)]
    pub pg_port: u16,
    /// First origin port (one per origin, consecutive, region by region).
    #[arg(long, default_value_t = 8101)]
    pub origin_port: u16,
    /// Origins per region, sharing the region's database node; the edge balances across them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub origins_per_region: u16,
    /// The edge's port (wrangler dev).
    #[arg(long, default_value_t = 8787)]
    pub edge_port: u16,
    /// The --as front's port.
    #[arg(long, default_value_t = 8080)]
    pub as_port: u16,
    /// Put modelled wide-area round trips on the edge→origin and node→node links.
    #[arg(long)]
    pub wan: bool,
    /// `multi-region` (the design) or `single-region` (everything in us-east, the baseline).
    #[arg(long, default_value = "multi-region")]
    pub topology: String,
    /// Vehicles seeded per city.
    #[arg(long, default_value_t = 50)]
    pub vehicles_per_city: u32,
    /// A primary and a synchronous standby per region under pg_auto_failover (a monitor and
    /// two nodes each: three times the PostgreSQL servers, ~20 s more to start; off by default
    /// so the everyday stack stays light). Its data lives apart from the single-node stack's.
    #[arg(long)]
    pub ha: bool,
}

/// Brings the stack up, prints where everything runs, waits for Ctrl-C, takes it down.
pub(crate) fn run(root: &Path, args: &DevArgs) -> Result<()> {
    let started = Instant::now();
    build(root)?;
    let options = stack_options(root, args)?;
    let data = options.root.clone();
    stop_leftovers(&data);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(args, options, &data, started))
}

/// Installs what is missing, builds the origin and the edge's development build.
fn build(root: &Path) -> Result<()> {
    bootstrap::run(root, false)?;
    cmd(Command::new("cargo")
        .args(["build", "-p", "roam-origin"])
        .current_dir(root))?;
    // The development build: no wasm-opt, a light optimisation level, incremental (the bench,
    // the bundle gate and deploy build the release one).
    build_edge_as(EdgeProfile::Dev)
}

/// The stack the arguments ask for: ports, data folder (one per topology, and apart with
/// --ha), seeding and the modelled links.
fn stack_options(root: &Path, args: &DevArgs) -> Result<StackOptions> {
    let topology = Topology::parse(&args.topology)?;
    let regions = topology.map()?.regions.len() as u16;
    let ports = |first: u16, count: u16| (0..count).map(|i| first + i).collect::<Vec<_>>();
    let pg_ports_per_region = if args.ha { 3 } else { 1 };
    // Its own folder: a single node's data directory cannot become a pg_auto_failover node.
    let ha_suffix = if args.ha { "-ha" } else { "" };
    let data = root
        .join(".roam")
        .join(format!("{}{ha_suffix}", topology.name().replace(':', "-")));
    Ok(StackOptions {
        root: data,
        pg_ports: Some(ports(args.pg_port, regions * pg_ports_per_region)),
        origin_ports: Some(ports(args.origin_port, regions * args.origins_per_region)),
        origins_per_region: usize::from(args.origins_per_region),
        seed: Some((args.vehicles_per_city, 5)),
        fresh: args.fresh,
        reap_on_exit: false,
        topology,
        ha: args.ha.then(HaOptions::every_region),
        wan: args.wan.then(|| WanOptions {
            // The edge plays the PoP nearest the --as city, so its links to the regions are
            // the ones that user's requests would take.
            pop: args
                .as_city
                .as_deref()
                .and_then(|city| find_place(RegionMap::builtin(), city))
                .map(|place| place.colo.to_string()),
            ..WanOptions::default()
        }),
        ..StackOptions::for_tests("dev")
    })
}

/// Starts the stack, the edge and the --as front; runs until Ctrl-C, then stops them.
async fn serve(args: &DevArgs, options: StackOptions, data: &Path, started: Instant) -> Result<()> {
    let stack = Stack::start(options).await.context("starting the stack")?;
    let edge = start_edge(EdgeOptions {
        port: Some(args.edge_port),
        root: data.join("edge"),
        remove_root_on_exit: false,
        rebuild_on_change: true,
        profile: EdgeProfile::Dev,
        ..EdgeOptions::with_pools("dev", stack.origin_pools(), &stack.options.secret)
    })
    .await
    .context("starting the edge")?;
    let front = start_front(args, &edge).await?;
    let mut groups: Vec<u32> = stack.origins.iter().filter_map(|o| o.pid()).collect();
    groups.extend(stack.ha.groups.iter().flat_map(|g| g.pids()));
    groups.push(edge.pid());
    record_groups(data, &groups);
    print_table(&stack, &edge, front.as_ref(), args.as_city.as_deref());
    eprintln!(
        "\nroam is up ({:.1} s). Ctrl-C stops everything.",
        started.elapsed().as_secs_f64()
    );
    tokio::signal::ctrl_c().await?;
    eprintln!("\nstopping…");
    if let Some(front) = front {
        front.stop().await;
    }
    drop(edge);
    drop(stack);
    Ok(())
}

/// With --as, a front on --as-port that tells the edge the user is in that city.
async fn start_front(args: &DevArgs, edge: &EdgeProcess) -> Result<Option<Front>> {
    let Some(city) = &args.as_city else {
        return Ok(None);
    };
    let front = Front::start(FrontOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], args.as_port)),
        edge_url: edge.url(),
        default_city: city.clone(),
    })
    .await?;
    Ok(Some(front))
}

/// Where each part runs, a row per PostgreSQL server, origin and the edge (and the front).
fn print_table(stack: &Stack, edge: &EdgeProcess, front: Option<&Front>, as_city: Option<&str>) {
    println!();
    print_row("part", "region", "url", "data / log");
    for node in &stack.cluster.nodes {
        print_row(
            "postgres",
            &node.region,
            &format!("127.0.0.1:{}", node.port),
            &format!("{} / {}", node.data_dir.display(), node.log_file.display()),
        );
    }
    for group in &stack.ha.groups {
        print_ha_group(stack, group);
    }
    for origin in &stack.origins {
        print_row(
            "origin",
            &origin.options.region,
            &origin.url(),
            &format!(
                "{} (admin: {}/readyz, /metrics)",
                origin.options.log_file.display(),
                origin.admin_url()
            ),
        );
    }
    print_row(
        "edge",
        "(PoP)",
        &edge.url(),
        &edge.options.log_file().display().to_string(),
    );
    if let (Some(front), Some(city)) = (front, as_city) {
        print_row("as-front", city, &front.url(), "open this one in a browser");
    }
}

/// One row of the table, in aligned columns.
fn print_row(part: &str, region: &str, url: &str, files: &str) {
    println!("{part:<9} {region:<10} {url:<26} {files}");
}

/// A region's pg_auto_failover group: its monitor, each node by its current role, and the
/// multi-host URL that finds the primary.
fn print_ha_group(stack: &Stack, group: &HaGroup) {
    let primary = stack
        .endpoints
        .region(group.region())
        .map(|r| r.primary_port);
    print_row(
        "monitor",
        group.region(),
        &format!("127.0.0.1:{}", group.monitor_port()),
        &format!(
            "{} / {}",
            group.monitor_dir.display(),
            group.monitor_log.display()
        ),
    );
    for node in &group.nodes {
        let role = if primary.as_ref().is_ok_and(|p| *p == node.port) {
            "primary"
        } else {
            "standby"
        };
        print_row(
            role,
            &node.name,
            &format!("127.0.0.1:{}", node.port),
            &format!("{} / {}", node.data_dir.display(), node.log_file.display()),
        );
    }
    print_row(
        "",
        "",
        &group.multi_host_url(DATABASE),
        "libpq: the primary, whichever",
    );
}

/// Where a dev run lists the process groups it started (origins, wrangler + workerd), so the
/// next run can stop them when this one was killed without its Ctrl-C clean-up (`kill -9`).
fn groups_file(data: &Path) -> PathBuf {
    data.join("dev-process-groups")
}

fn record_groups(data: &Path, groups: &[u32]) {
    let text: Vec<String> = groups.iter().map(u32::to_string).collect();
    if let Err(e) = std::fs::write(groups_file(data), text.join("\n")) {
        eprintln!("could not record the dev processes: {e}");
    }
}

/// Kills the process groups a killed earlier run left behind, if they still run our
/// programs (a recycled pid belonging to something else is left alone). Single PostgreSQL
/// nodes need nothing here: starting a node stops a server still running on its data
/// directory; pg_auto_failover's servers die with their `pg_autoctl` groups.
fn stop_leftovers(data: &Path) {
    let Ok(text) = std::fs::read_to_string(groups_file(data)) else {
        return;
    };
    for pgid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        let cmdline = std::fs::read(format!("/proc/{pgid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if ["roam-origin", "wrangler", "workerd", "pg_autoctl"]
            .iter()
            .any(|ours| cmdline.contains(ours))
        {
            eprintln!("stopping process group {pgid} left by an earlier run");
            signal_group(pgid, "KILL");
        }
    }
    let _ = std::fs::remove_file(groups_file(data));
}
