//! The journey samples as tables: per user city, each step's single- and multi-region
//! summaries beside the light-in-fibre floor of the path it took.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use roam_shared::email_claim::{claim_region, ClaimKey};
use roam_shared::geo::Coordinates;
use roam_shared::RegionMap;
use roam_stack::front::find_place;
use roam_stack::Topology;
use roam_wan::model::{nearest_colo, Colo};
use roam_wan::RttModel;

use super::journey::{Sample, Step};
use super::report::{CityTable, Row, Summary};
use super::{topologies, Measured};

/// The tables of `measured`'s journeys, one per city.
pub(super) fn tabulate(
    measured: &Measured,
    cities: &[String],
    model: &RttModel,
) -> Result<Vec<CityTable>> {
    let map = RegionMap::builtin();
    let [single, multi] = topologies();
    let mut tables = Vec::new();
    for city in cities {
        let place = find_place(map, city).with_context(|| format!("unknown city {city}"))?;
        let colo = nearest_colo(place.at);
        let get = |t: &Topology| {
            measured
                .samples
                .get(&(t.name(), city.clone()))
                .cloned()
                .unwrap_or_default()
        };
        let (s, m) = (get(&single), get(&multi));
        let mut rows = Vec::new();
        for step in Step::ALL {
            let of = |samples: &[Sample]| -> Vec<Sample> {
                samples.iter().filter(|x| x.step == step).cloned().collect()
            };
            let (ss, ms) = (of(&s), of(&m));
            let took = |v: &[Sample]| v.iter().map(|x| x.took).collect::<Vec<_>>();
            let (Some(single_sum), Some(multi_sum)) =
                (Summary::of(&took(&ss)), Summary::of(&took(&ms)))
            else {
                continue;
            };
            let floors = |v: &[Sample], t: &Topology| {
                let all: Vec<Duration> = v
                    .iter()
                    .map(|x| floor(map, t, city, place.at, colo, x))
                    .collect();
                Summary::of(&all).map(|f| f.p50).unwrap_or_default()
            };
            rows.push(Row {
                step,
                single: single_sum,
                multi: multi_sum,
                floor_single: floors(&ss, &single),
                floor_multi: floors(&ms, &multi),
                served_multi: verdicts(&ms),
                origin_multi: origin_p50(&ms),
            });
        }
        tables.push(CityTable {
            city: city.clone(),
            colo: colo.code.to_string(),
            user_to_pop: model.rtt(place.at, colo.at),
            rows,
        });
    }
    Ok(tables)
}

/// The median time the edge spent waiting on origins, over the samples that say.
fn origin_p50(samples: &[Sample]) -> Option<Duration> {
    let origin: Vec<Duration> = samples
        .iter()
        .filter_map(|x| x.origin_ms)
        .map(|v| Duration::from_secs_f64(v / 1000.0))
        .collect();
    Summary::of(&origin).map(|s| s.p50)
}

/// `hit ×19, miss ×1`: the edge's cache verdicts.
fn verdicts(samples: &[Sample]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in samples {
        *counts.entry(s.cache.as_str()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
        .iter()
        .map(|(v, n)| format!("{v} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Light in fibre along the path a step took: user → PoP, then (unless the edge answered from
/// its cache) PoP → serving region, plus the farthest other node the step had to reach.
fn floor(
    map: &RegionMap,
    topology: &Topology,
    city: &str,
    user: Coordinates,
    colo: &Colo,
    sample: &Sample,
) -> Duration {
    let fibre = RttModel::fibre_rtt;
    let at = |region: &str| map.region_coordinates(region).unwrap_or(colo.at);
    let user_pop = fibre(user, colo.at);
    if matches!(sample.cache.as_str(), "hit" | "stale") {
        return user_pop;
    }
    let home = match topology {
        Topology::SingleRegion(only) => return user_pop + fibre(colo.at, at(only)),
        Topology::MultiRegion => map
            .city(city)
            .map(|c| c.region.as_str())
            .unwrap_or(&map.default_region),
    };
    let base = user_pop + fibre(colo.at, at(home));
    let farthest = |regions: &mut dyn Iterator<Item = &str>| {
        regions
            .map(|r| fibre(at(home), at(r)))
            .max()
            .unwrap_or_default()
    };
    // Log-in finds a user at home locally, and the journey's rides are all at home: only a
    // sign-up must reach another node, the one holding the email's claim.
    match sample.step {
        Step::SignUp => {
            base + farthest(&mut std::iter::once(
                claim_region(map, &ClaimKey::development().hash(&sample.email))
                    .name
                    .as_str(),
            ))
        }
        _ => base,
    }
}
