//! The cross-region targets, judged from the journeys: every step but sign-up at least as fast
//! as single-region (and, where it is not, where the difference lies), log-in and ride history
//! at home, sign-up per claim region, and Rome's travellers.
//! (Long because every target reads the same samples, tables and modelled distances.)

use std::fmt::Write as _;
use std::time::Duration;

use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::{Coordinates, RegionMap};
use roam_wan::model::{nearest_colo, region_rtt};
use roam_wan::RttModel;

use crate::bench::journey::{Sample, Step};
use crate::bench::noise::ratio_interval;
use crate::bench::report::{met, ms, CityTable, Summary};
use crate::bench::Measured;

/// The median of the edge's origin time of one step's samples, when the edge said.
fn origin_p50(samples: &[Sample], step: Step) -> Option<Duration> {
    step_p50(samples, step, |s| s.origin_ms)
}

/// The median of one `server-timing` duration (ms) over one step's samples.
fn step_p50(
    samples: &[Sample],
    step: Step,
    field: impl Fn(&Sample) -> Option<f64>,
) -> Option<Duration> {
    let times: Vec<Duration> = samples
        .iter()
        .filter(|s| s.step == step)
        .filter_map(field)
        .map(|v| Duration::from_secs_f64(v / 1000.0))
        .collect();
    Summary::of(&times).map(|s| s.p50)
}

/// The client-side times of one step's samples.
fn took(samples: &[Sample], step: Step) -> Vec<Duration> {
    samples
        .iter()
        .filter(|s| s.step == step)
        .map(|s| s.took)
        .collect()
}

/// For the steps slower multi-region, the edge's wait on the origin (network and origin, and
/// of it the origin's own time by its clock) and the rest (the edge itself and the client
/// side), p50 single → multi, from `server-timing`.
fn split_of_slower(table: &CityTable, single: &[Sample], multi: &[Sample]) -> String {
    let rest = |samples: &[Sample], step: Step| {
        let total = Summary::of(&took(samples, step))?;
        Some(total.p50.saturating_sub(origin_p50(samples, step)?))
    };
    let app = |samples: &[Sample], step| step_p50(samples, step, |s| s.app_ms);
    let parts: Vec<String> = table
        .rows
        .iter()
        .filter(|r| r.step != Step::SignUp && r.ratio() < 1.0)
        .filter_map(|r| {
            let (o1, o2) = (origin_p50(single, r.step)?, origin_p50(multi, r.step)?);
            let (a1, a2) = (app(single, r.step)?, app(multi, r.step)?);
            let (e1, e2) = (rest(single, r.step)?, rest(multi, r.step)?);
            Some(format!(
                "{} origin {:.1} → {:.1} ms (its own {:.2} → {:.2} ms), rest {:.1} → {:.1} ms",
                r.step.label(),
                ms(o1),
                ms(o2),
                ms(a1),
                ms(a2),
                ms(e1),
                ms(e2)
            ))
        })
        .collect();
    parts.join("; ")
}

/// The verdict on "every step but sign-up at least as fast": `met`; met within noise when
/// every slower step's 95 % interval reaches 1.0× (the difference is not told apart from
/// chance in this run); else missed. Slower steps come with their interval and where the
/// difference lies.
fn at_least_as_fast(table: &CityTable, single: &[Sample], multi: &[Sample]) -> String {
    let slower: Vec<(String, bool)> = table
        .rows
        .iter()
        .filter(|r| r.step != Step::SignUp && r.ratio() < 1.0)
        .map(|r| {
            let interval = ratio_interval(&took(single, r.step), &took(multi, r.step));
            let noise = interval.is_some_and(|(_, high)| high >= 1.0);
            let (low, high) = interval.unwrap_or((r.ratio(), r.ratio()));
            let text = format!(
                "{} {:.2}× (95 % interval {low:.2}–{high:.2}×)",
                r.step.label(),
                r.ratio()
            );
            (text, noise)
        })
        .collect();
    if slower.is_empty() {
        return "met.".to_string();
    }
    let listed: Vec<&str> = slower.iter().map(|(t, _)| t.as_str()).collect();
    let split = split_of_slower(table, single, multi);
    if slower.iter().all(|(_, noise)| *noise) {
        format!(
            "met within this run's noise: {} slower by less than chance moves a median here \
             (a bootstrap of this run's samples); where the difference lies: {split}.",
            listed.join(", ")
        )
    } else {
        format!(
            "**missed** ({}); where the difference lies: {split}.",
            listed.join(", ")
        )
    }
}

/// How the targets below measure "service": a step's origin time in the single-region run
/// (everything local there) less the modelled PoP → us-east round trip.
const SERVICE: &str = "*Service* is the same step's origin time (the edge's `server-timing`) in \
the single-region run, where every statement is local, less the modelled PoP → us-east round \
trip: what the origin's own work costs, measured apart from the distances multi-region adds.";

/// The cross-region targets, for every user city.
pub(in crate::bench) fn targets(
    model: &RttModel,
    tables: &[CityTable],
    measured: &Measured,
) -> String {
    let map = RegionMap::builtin();
    let at = |region: &str| {
        map.region_coordinates(region)
            .unwrap_or(Coordinates::new(0.0, 0.0))
    };
    let mut out = format!("\n## Cross-region targets\n\n{SERVICE}\n\n");
    for table in tables {
        let Some(city) = map.city(&table.city) else {
            continue;
        };
        let colo = nearest_colo(Coordinates::new(city.lat, city.lon));
        let pop_home = model.rtt(colo.at, at(&city.region));
        let single = measured
            .samples
            .get(&("single-region:us-east".to_string(), table.city.clone()))
            .cloned()
            .unwrap_or_default();
        let service = |step| {
            origin_p50(&single, step).map(|o| o.saturating_sub(model.rtt(colo.at, at("us-east"))))
        };
        let _ = writeln!(
            out,
            "A user in {} (PoP {}, home {}):",
            table.city, colo.code, city.region
        );
        let multi = measured
            .samples
            .get(&("multi-region".to_string(), table.city.clone()))
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- every step but sign-up at least as fast as single-region (≥ 1.0×): {}",
            at_least_as_fast(table, &single, &multi)
        );
        for step in [Step::LogIn, Step::ListRides] {
            let (Some(row), Some(service)) =
                (table.rows.iter().find(|r| r.step == step), service(step))
            else {
                continue;
            };
            let within = ms(row.multi.p50) / ms(pop_home + service).max(0.001);
            let _ = writeln!(
                out,
                "- {} at home: {:.1} ms = {within:.2}× (PoP → {} {:.1} ms + service {:.1} ms) \
                 (≤ 1.3×: {}).",
                step.label(),
                ms(row.multi.p50),
                city.region,
                ms(pop_home),
                ms(service),
                met(within <= 1.3)
            );
        }
        // The bound says "like a write": a write's own figure under the same formula.
        if let (Some(row), Some(service)) = (
            table.rows.iter().find(|r| r.step == Step::AddVehicle),
            service(Step::AddVehicle),
        ) {
            let _ = writeln!(
                out,
                "- for comparison, a write (add vehicle) under the same formula: {:.1} ms = \
                 {:.2}× (service {:.1} ms).",
                ms(row.multi.p50),
                ms(row.multi.p50) / ms(pop_home + service).max(0.001),
                ms(service)
            );
        }
        if let Some(service) = service(Step::SignUp) {
            out.push_str(&sign_up_by_claim_region(
                model, &multi, &single, city, pop_home, service,
            ));
        }
    }
    out.push_str(&traveller(model, measured));
    out
}

/// Sign-up per region of the email's claim: one more round trip, to the claim's node.
fn sign_up_by_claim_region(
    model: &RttModel,
    multi: &[Sample],
    single: &[Sample],
    city: &roam_shared::City,
    pop_home: Duration,
    service: Duration,
) -> String {
    let map = RegionMap::builtin();
    let single_p50 = Summary::of(&took(single, Step::SignUp));
    let mut out = String::new();
    for region in &map.regions {
        let times: Vec<Duration> = multi
            .iter()
            .filter(|s| s.step == Step::SignUp)
            .filter(|s| {
                claim_region(map, &ClaimKey::development().hash(&s.email)).name == region.name
            })
            .map(|s| s.took)
            .collect();
        let Some(p50) = Summary::of(&times).map(|s| s.p50) else {
            continue;
        };
        let to_claim = region_rtt(model, map, &city.region, &region.name).unwrap_or_default();
        let to_claim = if region.name == city.region {
            Duration::ZERO
        } else {
            to_claim
        };
        let bound = pop_home + to_claim + service;
        let within = ms(p50) / ms(bound).max(0.001);
        let _ = writeln!(
            out,
            "- sign up, claim on {}: {} sign-ups, p50 {:.1} ms (single-region {:.1} ms) = \
             {within:.2}× (PoP → home {:.1} + home → claim {:.1} + service {:.1} ms) (≤ 1.3×: {}).",
            region.name,
            times.len(),
            ms(p50),
            single_p50.map_or(f64::NAN, |s| ms(s.p50)),
            ms(pop_home),
            ms(to_claim),
            ms(service),
            met(within <= 1.3)
        );
    }
    out
}

/// Rome's users logging in from New York, with the home cookie (one round trip to eu-west)
/// and without it (New York's origin, then the claim's node, then eu-west).
fn traveller(model: &RttModel, measured: &Measured) -> String {
    let map = RegionMap::builtin();
    let p50 = |topology: &str, cookie: bool| {
        let took: Vec<Duration> = measured
            .travellers
            .get(topology)
            .into_iter()
            .flatten()
            .filter(|t| t.with_cookie == cookie)
            .map(|t| t.took)
            .collect();
        Summary::of(&took).map(|s| s.p50)
    };
    let (Some(with), Some(without)) = (p50("multi-region", true), p50("multi-region", false))
    else {
        return String::new();
    };
    let Some(new_york) = map.city("new-york") else {
        return String::new();
    };
    let colo = nearest_colo(Coordinates::new(new_york.lat, new_york.lon));
    let eu_west = map.region_coordinates("eu-west").unwrap_or(colo.at);
    let us_east = map.region_coordinates("us-east").unwrap_or(colo.at);
    let pop_home = model.rtt(colo.at, eu_west);
    let single = measured
        .samples
        .get(&("single-region:us-east".to_string(), "rome".to_string()))
        .cloned()
        .unwrap_or_default();
    let Some(origin) = origin_p50(&single, Step::LogIn) else {
        return String::new();
    };
    let rome = map
        .city("rome")
        .map_or(colo.at, |c| Coordinates::new(c.lat, c.lon));
    let service = origin.saturating_sub(model.rtt(nearest_colo(rome).at, us_east));
    let bound = pop_home + service;
    let within = ms(with) / ms(bound).max(0.001);
    format!(
        "\nA user of Rome logging in from New York (PoP {}): with the edge's home cookie {:.1} ms \
         = {within:.2}× (PoP → eu-west {:.1} ms + service {:.1} ms) (≤ 1.3×: {}); without it \
         {:.1} ms (New York's origin finds no local user, asks the claim's node, then eu-west); \
         single-region {}.\n",
        colo.code,
        ms(with),
        ms(pop_home),
        ms(service),
        met(within <= 1.3),
        ms(without),
        p50("single-region:us-east", true).map_or("-".to_string(), |d| format!("{:.1} ms", ms(d)))
    )
}
