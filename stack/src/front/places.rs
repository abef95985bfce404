//! Where the `--as` front can pretend to be: every city of the region map plus a few far from
//! every region, each with what Cloudflare would report there (`request.cf`), and the
//! `MF-CF-Blob` header value built from it.

use roam_shared::geo::{continent_of, distance_km};
use roam_shared::{Coordinates, RegionMap};

/// A place the front can pretend to be, with what Cloudflare would report there.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Slug used by `--as`, `?as=` and the cookie.
    pub slug: String,
    /// `cf.city`.
    pub city: String,
    /// `cf.country` (ISO 3166-1 alpha-2).
    pub country: String,
    /// `cf.continent`.
    pub continent: String,
    /// `cf.colo`: the nearest real Cloudflare PoP (IATA code).
    pub colo: &'static str,
    /// Where the user is.
    pub at: Coordinates,
}

/// Well-known cities without a region of their own: users far from every region.
const ELSEWHERE: &[(&str, &str, &str, f64, f64)] = &[
    ("tokyo", "Tokyo", "JP", 35.6762, 139.6503),
    ("sydney", "Sydney", "AU", -33.8688, 151.2093),
    ("sao-paulo", "São Paulo", "BR", -23.5505, -46.6333),
];

/// Real Cloudflare PoPs (IATA code, airport coordinates) near the map's cities and the ones
/// above; a city added to the map gets the nearest of these.
const COLOS: &[(&str, f64, f64)] = &[
    ("EWR", 40.6895, -74.1745),
    ("BOS", 42.3656, -71.0096),
    ("IAD", 38.9531, -77.4565),
    ("ATL", 33.6407, -84.4277),
    ("ORD", 41.9742, -87.9073),
    ("DFW", 32.8998, -97.0403),
    ("DEN", 39.8561, -104.6737),
    ("LAX", 33.9416, -118.4085),
    ("SJC", 37.3639, -121.9289),
    ("SEA", 47.4502, -122.3088),
    ("YYZ", 43.6777, -79.6248),
    ("AMS", 52.3105, 4.7683),
    ("CDG", 49.0097, 2.5479),
    ("LHR", 51.4700, -0.4543),
    ("FRA", 50.0379, 8.5622),
    ("MAD", 40.4983, -3.5676),
    ("MXP", 45.6301, 8.7231),
    ("FCO", 41.8003, 12.2389),
    ("NRT", 35.7720, 140.3929),
    ("SIN", 1.3644, 103.9915),
    ("SYD", -33.9399, 151.1753),
    ("GRU", -23.4356, -46.4731),
];

/// The Cloudflare PoP nearest a point.
pub fn nearest_colo(at: Coordinates) -> &'static str {
    COLOS
        .iter()
        .min_by(|a, b| {
            let da = distance_km(at, Coordinates::new(a.1, a.2));
            let db = distance_km(at, Coordinates::new(b.1, b.2));
            da.total_cmp(&db)
        })
        .map_or("EWR", |c| c.0)
}

fn place(slug: &str, city: &str, country: &str, lat: f64, lon: f64) -> Place {
    let at = Coordinates::new(lat, lon);
    Place {
        slug: slug.to_string(),
        city: city.to_string(),
        country: country.to_string(),
        continent: continent_of(country).unwrap_or("NA").to_string(),
        colo: nearest_colo(at),
        at,
    }
}

/// Every place the front can be: each city of the map, then tokyo, sydney, sao-paulo.
pub fn places(map: &RegionMap) -> Vec<Place> {
    let mapped = map
        .cities
        .iter()
        .map(|c| place(&c.slug, &c.name, &c.country, c.lat, c.lon));
    let elsewhere = ELSEWHERE
        .iter()
        .filter(|e| map.city(e.0).is_none())
        .map(|&(slug, city, country, lat, lon)| place(slug, city, country, lat, lon));
    mapped.chain(elsewhere).collect()
}

/// The place with this slug (case-insensitive).
pub fn find_place(map: &RegionMap, slug: &str) -> Option<Place> {
    places(map)
        .into_iter()
        .find(|p| p.slug.eq_ignore_ascii_case(slug.trim()))
}

/// The `MF-CF-Blob` value for a place: JSON as `request.cf` has it (coordinates as strings),
/// with non-ASCII escaped so it is a valid header value ("São Paulo").
///
/// `accept_encoding` is the client's `Accept-Encoding` (empty when it sent none): Cloudflare
/// reports it as `cf.clientAcceptEncoding`, and workerd's local dev compresses responses by
/// it, so leaving it out would send brotli to clients that never asked for it.
pub fn cf_blob(place: &Place, accept_encoding: &str) -> String {
    let json = serde_json::json!({
        "clientAcceptEncoding": accept_encoding,
        "country": place.country,
        "city": place.city,
        "colo": place.colo,
        "continent": place.continent,
        "latitude": format!("{:.4}", place.at.lat),
        "longitude": format!("{:.4}", place.at.lon),
    })
    .to_string();
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    ascii
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn blob_of(slug: &str) -> serde_json::Value {
        let place = find_place(RegionMap::builtin(), slug).expect(slug);
        let blob = cf_blob(&place, "gzip, br");
        assert!(blob.is_ascii(), "{blob}");
        assert!(HeaderValue::from_str(&blob).is_ok());
        serde_json::from_str(&blob).expect("blob is JSON")
    }

    #[test]
    fn rome_is_italy_at_fiumicino() {
        let v = blob_of("rome");
        assert_eq!(v["country"], "IT");
        assert_eq!(v["city"], "Rome");
        assert_eq!(v["colo"], "FCO");
        assert_eq!(v["continent"], "EU");
        assert_eq!(v["latitude"], "41.9028");
        assert_eq!(v["longitude"], "12.4964");
        assert_eq!(v["clientAcceptEncoding"], "gzip, br");
    }

    #[test]
    fn every_city_of_the_map_and_three_without_a_region() {
        let map = RegionMap::builtin();
        let slugs: Vec<String> = places(map).into_iter().map(|p| p.slug).collect();
        for city in &map.cities {
            assert!(slugs.contains(&city.slug), "{}", city.slug);
        }
        for extra in ["tokyo", "sydney", "sao-paulo"] {
            assert!(slugs.contains(&extra.to_string()), "{extra}");
        }
        let colo = |slug| blob_of(slug)["colo"].as_str().map(String::from);
        let expected = [
            ("new-york", "EWR"),
            ("boston", "BOS"),
            ("washington-dc", "IAD"),
            ("los-angeles", "LAX"),
            ("san-francisco", "SJC"),
            ("seattle", "SEA"),
            ("amsterdam", "AMS"),
            ("paris", "CDG"),
            ("tokyo", "NRT"),
            ("sydney", "SYD"),
        ];
        for (slug, iata) in expected {
            assert_eq!(colo(slug).as_deref(), Some(iata), "{slug}");
        }
    }

    #[test]
    fn non_ascii_names_survive_as_escapes() {
        let v = blob_of("sao-paulo");
        assert_eq!(v["city"], "São Paulo");
        assert_eq!(
            (v["country"].as_str(), v["continent"].as_str()),
            (Some("BR"), Some("SA"))
        );
        assert_eq!(blob_of("sydney")["continent"], "OC");
        assert_eq!(blob_of("tokyo")["continent"], "AS");
    }

    #[test]
    fn lookups_ignore_case_and_refuse_unknown_cities() {
        let map = RegionMap::builtin();
        assert_eq!(
            find_place(map, " Rome ").map(|p| p.slug),
            Some("rome".into())
        );
        assert!(find_place(map, "atlantis").is_none());
    }
}
