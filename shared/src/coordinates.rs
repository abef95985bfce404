//! A point on Earth and the great-circle distance between two: what the region map
//! ([`crate::map`]) places regions with and geography ([`crate::geo`]) measures.

/// Mean Earth radius in km (IUGG), used by the haversine formula.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A validated point on Earth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    /// Latitude, degrees, within ±90.
    pub lat: f64,
    /// Longitude, degrees, within ±180.
    pub lon: f64,
}

impl Coordinates {
    /// A point the caller knows to be valid (map data that passed validation).
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// A point from untrusted numbers: `None` unless both are finite and in range.
    pub fn checked(lat: f64, lon: f64) -> Option<Self> {
        let ok = lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon);
        ok.then_some(Self { lat, lon })
    }

    /// A point from untrusted text such as `cf.latitude` (`"41.89"`).
    pub fn parse(lat: &str, lon: &str) -> Option<Self> {
        Self::checked(lat.trim().parse().ok()?, lon.trim().parse().ok()?)
    }
}

/// Great-circle distance in km (haversine).
pub fn distance_km(a: Coordinates, b: Coordinates) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_distances() {
        let rome = Coordinates::new(41.9028, 12.4964);
        let nyc = Coordinates::new(40.7128, -74.0060);
        let d = distance_km(rome, nyc);
        assert!(
            (6880.0..6900.0).contains(&d),
            "Rome–NYC is ~6,890 km, got {d}"
        );
        assert_eq!(distance_km(rome, rome), 0.0);
    }

    #[test]
    fn coordinates_from_text_are_checked() {
        assert_eq!(
            Coordinates::parse(" 41.89", "12.49 "),
            Some(Coordinates::new(41.89, 12.49))
        );
        for (lat, lon) in [
            ("NaN", "0"),
            ("inf", "0"),
            ("91", "0"),
            ("0", "-181"),
            ("", ""),
        ] {
            assert_eq!(Coordinates::parse(lat, lon), None, "{lat},{lon}");
        }
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_and_bounded(a in (-90.0f64..=90.0, -180.0f64..=180.0),
                                             b in (-90.0f64..=90.0, -180.0f64..=180.0)) {
            let (a, b) = (Coordinates::new(a.0, a.1), Coordinates::new(b.0, b.1));
            let d = distance_km(a, b);
            prop_assert!((d - distance_km(b, a)).abs() < 1e-6);
            prop_assert!((0.0..=20_016.0).contains(&d)); // half the circumference
        }
    }
}
