//! Where the user is, from `request.cf`, read defensively.
//!
//! `request.cf` is absent for requests that did not come from Cloudflare's network, and under
//! `wrangler dev` the `MF-CF-Blob` header replaces the whole object, so any field may be
//! missing or of another type. The `worker` crate's `Cf` getters unwrap such fields and would
//! panic; we read the raw JS object in one call (`glue.js`: strings and numbers are kept,
//! anything else is missing) and treat anything odd as missing.

use roam_shared::geo::{self, Coordinates, UserLocation};
use roam_shared::headers::GeoTags;
use roam_shared::RegionMap;

/// Longest value we keep from a cf field; real ones are far shorter.
const MAX_FIELD_CHARS: usize = 100;

/// The user's location as Cloudflare reports it; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Geo {
    /// ISO country code (`IT`).
    pub country: Option<String>,
    /// City name (`Rome`), free text.
    pub city: Option<String>,
    /// The PoP's IATA code (`FCO`).
    pub colo: Option<String>,
    /// Continent code (`EU`).
    pub continent: Option<String>,
    /// Latitude as text (`"41.89"`).
    pub latitude: Option<String>,
    /// Longitude as text.
    pub longitude: Option<String>,
}

impl Geo {
    /// Builds from any field lookup (what [`crate::glue::RequestFacts`] read from `request.cf`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let field = |name: &str| {
            get(name)
                .map(|v| v.trim().chars().take(MAX_FIELD_CHARS).collect::<String>())
                .filter(|v| !v.is_empty())
        };
        Self {
            country: field("country"),
            city: field("city"),
            colo: field("colo"),
            continent: field("continent"),
            latitude: field("latitude"),
            longitude: field("longitude"),
        }
    }

    /// What routing needs: valid coordinates (or none), country, continent.
    pub fn location(&self) -> UserLocation {
        let coordinates = match (&self.latitude, &self.longitude) {
            (Some(lat), Some(lon)) => Coordinates::parse(lat, lon),
            _ => None,
        };
        UserLocation {
            coordinates,
            country: self.country.clone(),
            continent: self.continent.clone(),
        }
    }

    /// The region nearest the user.
    pub fn nearest_region<'a>(&self, map: &'a RegionMap) -> &'a str {
        &geo::locate(map, &self.location()).name
    }

    /// The `x-roam-*` tags forwarded (and signed) with every data request.
    pub fn tags(&self, map: &RegionMap) -> GeoTags {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        GeoTags {
            country: text(&self.country),
            city: text(&self.city),
            colo: text(&self.colo),
            region: self.nearest_region(map).to_string(),
            lat: text(&self.latitude),
            lon: text(&self.longitude),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(fields: &[(&str, &str)]) -> Geo {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Geo::from_lookup(|name| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn rome_is_in_eu_west() {
        let g = geo(&[
            ("country", "IT"),
            ("city", "Rome"),
            ("colo", "FCO"),
            ("latitude", "41.89"),
            ("longitude", "12.49"),
        ]);
        let map = RegionMap::builtin();
        assert_eq!(g.nearest_region(map), "eu-west");
        let tags = g.tags(map);
        assert_eq!(
            (tags.city.as_str(), tags.region.as_str()),
            ("Rome", "eu-west")
        );
    }

    #[test]
    fn missing_or_odd_fields_fall_back_without_panicking() {
        let map = RegionMap::builtin();
        assert_eq!(geo(&[]).nearest_region(map), map.default_region);
        assert_eq!(
            geo(&[("country", "US"), ("latitude", "34.05")]).nearest_region(map),
            "us-east"
        );
        assert_eq!(
            geo(&[("latitude", "NaN"), ("longitude", "x"), ("country", "FR")]).nearest_region(map),
            "eu-west"
        );
        let blank = geo(&[("city", "   "), ("colo", &"X".repeat(500))]);
        assert_eq!(blank.city, None);
        assert_eq!(blank.colo.map(|c| c.len()), Some(MAX_FIELD_CHARS));
    }
}
