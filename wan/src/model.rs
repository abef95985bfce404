//! The RTT model: how long a round trip between two places takes on a real network.
//!
//! `rtt = max(floor, 2 × great-circle km × inflation ÷ 200 km/ms)`. Light in fibre covers
//! ~200 km per ms (refractive index ~1.47–1.5); real paths are longer than the great circle
//! and pass through routers, so the fibre time is multiplied by [`RttModel::inflation`]; two
//! places in one metro still pay [`RttModel::floor`]. The README explains the numbers and
//! where they come from.

use std::time::Duration;

use roam_shared::geo::{distance_km, Coordinates};
use roam_shared::RegionMap;

/// Distance light covers in optical fibre per millisecond.
pub const FIBRE_KM_PER_MS: f64 = 200.0;

/// Default path inflation over the great-circle fibre time (see the README's sources).
pub const DEFAULT_INFLATION: f64 = 1.5;

/// Default smallest RTT of any hop, for places in the same metro.
pub const DEFAULT_FLOOR: Duration = Duration::from_millis(1);

/// Turns distance into round-trip time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttModel {
    /// Real path latency ÷ great-circle fibre latency (≥ 1).
    pub inflation: f64,
    /// The least any hop costs, however short.
    pub floor: Duration,
}

impl Default for RttModel {
    fn default() -> Self {
        Self {
            inflation: DEFAULT_INFLATION,
            floor: DEFAULT_FLOOR,
        }
    }
}

impl RttModel {
    /// Round trip over `km` of great-circle distance: inflated fibre time, at least the floor.
    pub fn rtt_km(&self, km: f64) -> Duration {
        let km = if km.is_finite() { km.max(0.0) } else { 0.0 };
        let ms = 2.0 * km * self.inflation.max(1.0) / FIBRE_KM_PER_MS;
        Duration::from_secs_f64(ms / 1000.0).max(self.floor)
    }

    /// Round trip between two places.
    pub fn rtt(&self, a: Coordinates, b: Coordinates) -> Duration {
        self.rtt_km(distance_km(a, b))
    }

    /// The physical lower bound: light in fibre along the great circle, there and back, with
    /// no inflation and no floor. What no deployment can beat.
    pub fn fibre_rtt(a: Coordinates, b: Coordinates) -> Duration {
        Duration::from_secs_f64(2.0 * distance_km(a, b) / FIBRE_KM_PER_MS / 1000.0)
    }
}

/// A Cloudflare data centre ("colo"), named by the IATA code of its metro's airport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colo {
    /// IATA code, as `request.cf.colo` reports it.
    pub code: &'static str,
    /// The metro it serves.
    pub metro: &'static str,
    /// The airport's coordinates (the data centre is in the same metro).
    pub at: Coordinates,
}

const fn colo(code: &'static str, metro: &'static str, lat: f64, lon: f64) -> Colo {
    Colo {
        code,
        metro,
        at: Coordinates::new(lat, lon),
    }
}

/// A sample of real Cloudflare colos (all listed on cloudflarestatus.com), enough to put a
/// PoP near every city of the region map and near the usual test places.
pub const COLOS: &[Colo] = &[
    colo("FCO", "Rome", 41.8003, 12.2389),
    colo("MXP", "Milan", 45.6306, 8.7281),
    colo("CDG", "Paris", 49.0097, 2.5479),
    colo("AMS", "Amsterdam", 52.3105, 4.7683),
    colo("FRA", "Frankfurt", 50.0379, 8.5622),
    colo("LHR", "London", 51.4700, -0.4543),
    colo("MAD", "Madrid", 40.4983, -3.5676),
    colo("IAD", "Ashburn", 38.9531, -77.4565),
    colo("EWR", "Newark", 40.6895, -74.1745),
    colo("BOS", "Boston", 42.3656, -71.0096),
    colo("ORD", "Chicago", 41.9742, -87.9073),
    colo("ATL", "Atlanta", 33.6407, -84.4277),
    colo("DFW", "Dallas", 32.8998, -97.0403),
    colo("DEN", "Denver", 39.8561, -104.6737),
    colo("YYZ", "Toronto", 43.6777, -79.6248),
    colo("LAX", "Los Angeles", 33.9416, -118.4085),
    colo("SJC", "San Jose", 37.3639, -121.9289),
    colo("SEA", "Seattle", 47.4502, -122.3088),
    colo("NRT", "Tokyo", 35.7720, 140.3929),
    colo("SIN", "Singapore", 1.3644, 103.9915),
    colo("SYD", "Sydney", -33.9399, 151.1753),
    colo("GRU", "São Paulo", -23.4356, -46.4731),
];

/// A colo by IATA code (case-insensitive).
pub fn colo_by_code(code: &str) -> Option<&'static Colo> {
    COLOS.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The colo closest to a point: the PoP that anycast would most likely pick.
pub fn nearest_colo(at: Coordinates) -> &'static Colo {
    COLOS
        .iter()
        .min_by(|a, b| distance_km(at, a.at).total_cmp(&distance_km(at, b.at)))
        .unwrap_or(&COLOS[0])
}

/// Where a user sits on the network: their city, its PoP and the RTTs of every leg.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPath {
    /// The user's coordinates.
    pub user: Coordinates,
    /// The PoP serving them.
    pub colo: &'static Colo,
    /// User → PoP.
    pub user_to_pop: Duration,
}

impl UserPath {
    /// The path of a user at `user`, under `model`.
    pub fn at(model: &RttModel, user: Coordinates) -> Self {
        let colo = nearest_colo(user);
        Self {
            user,
            colo,
            user_to_pop: model.rtt(user, colo.at),
        }
    }

    /// The path of a user in a city of the map (`None` for an unknown slug).
    pub fn for_city(model: &RttModel, map: &RegionMap, slug: &str) -> Option<Self> {
        let city = map.city(slug)?;
        Some(Self::at(model, Coordinates::new(city.lat, city.lon)))
    }

    /// PoP → a region of the map (`None` for an unknown region).
    pub fn pop_to_region(
        &self,
        model: &RttModel,
        map: &RegionMap,
        region: &str,
    ) -> Option<Duration> {
        Some(model.rtt(self.colo.at, map.region_coordinates(region)?))
    }
}

/// Region ↔ region RTT (the postgres_fdw links); `None` when either region is unknown.
pub fn region_rtt(model: &RttModel, map: &RegionMap, a: &str, b: &str) -> Option<Duration> {
    Some(model.rtt(map.region_coordinates(a)?, map.region_coordinates(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point() -> impl Strategy<Value = Coordinates> {
        (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| Coordinates::new(lat, lon))
    }

    proptest! {
        #[test]
        fn symmetric(a in point(), b in point()) {
            let m = RttModel::default();
            let (ab, ba) = (m.rtt(a, b), m.rtt(b, a));
            let diff = ab.abs_diff(ba);
            prop_assert!(diff < Duration::from_micros(1), "{ab:?} vs {ba:?}");
        }

        #[test]
        fn monotone_in_distance(x in 0.0f64..25_000.0, dx in 0.0f64..25_000.0, inflation in 1.0f64..3.0) {
            let m = RttModel { inflation, ..RttModel::default() };
            prop_assert!(m.rtt_km(x) <= m.rtt_km(x + dx));
        }

        #[test]
        fn never_below_the_floor_or_the_fibre_time(a in point(), b in point(), floor_ms in 0u64..5) {
            let m = RttModel { floor: Duration::from_millis(floor_ms), ..RttModel::default() };
            let rtt = m.rtt(a, b);
            prop_assert!(rtt >= m.floor);
            prop_assert!(rtt >= RttModel::fibre_rtt(a, b));
        }
    }

    #[test]
    fn a_point_to_itself_costs_the_floor() {
        let rome = Coordinates::new(41.9, 12.5);
        assert_eq!(RttModel::default().rtt(rome, rome), DEFAULT_FLOOR);
        assert_eq!(RttModel::default().rtt_km(f64::NAN), DEFAULT_FLOOR);
    }

    #[test]
    fn users_get_the_pop_of_their_metro() {
        let (m, map) = (RttModel::default(), RegionMap::builtin());
        for (city, code) in [
            ("rome", "FCO"),
            ("los-angeles", "LAX"),
            ("new-york", "EWR"),
            ("paris", "CDG"),
            ("amsterdam", "AMS"),
            ("seattle", "SEA"),
            ("boston", "BOS"),
            ("washington-dc", "IAD"),
            ("san-francisco", "SJC"),
        ] {
            let path = UserPath::for_city(&m, map, city).expect("known city");
            assert_eq!(path.colo.code, code, "{city}");
            assert!(
                path.user_to_pop < Duration::from_millis(2),
                "{city}: {path:?}"
            );
        }
    }

    #[test]
    fn rome_to_us_east_is_transatlantic() {
        let (m, map) = (RttModel::default(), RegionMap::builtin());
        let rome = UserPath::for_city(&m, map, "rome").expect("rome");
        let to_us = rome.pop_to_region(&m, map, "us-east").expect("us-east");
        let to_eu = rome.pop_to_region(&m, map, "eu-west").expect("eu-west");
        assert!(to_us > Duration::from_millis(90) && to_us < Duration::from_millis(130));
        assert!(to_eu > Duration::from_millis(10) && to_eu < Duration::from_millis(25));
        assert_eq!(colo_by_code("fco").map(|c| c.metro), Some("Rome"));
    }
}
