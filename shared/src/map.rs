//! The region map: which regions exist, where they are, and which cities each one owns.
//!
//! The map is data (`shared/regions.json`, embedded at compile time and overridable at run
//! time), validated once when loaded so every later lookup can trust it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::coordinates::{distance_km, Coordinates};

mod validate;

pub use validate::MapError;

/// The map shipped with this build (`shared/regions.json`).
pub const BUILTIN_MAP_JSON: &str = include_str!("../regions.json");

/// A cloud region that runs an origin and a database node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    /// Stable identifier, e.g. `eu-west`; used in URLs, table names and headers.
    pub name: String,
    /// Where the region physically is, for people.
    pub label: String,
    /// Latitude of the region's data centre, degrees.
    pub lat: f64,
    /// Longitude of the region's data centre, degrees.
    pub lon: f64,
}

/// A city served by roam; every row lives in the region of its city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct City {
    /// URL slug and partition key, e.g. `new-york`.
    pub slug: String,
    /// Display name; also what Cloudflare reports as `cf.city`.
    pub name: String,
    /// Other names `cf.city` may report for this city.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The home region of every row in this city.
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// ISO 4217 currency code of prices in this city.
    pub currency: String,
}

/// The whole map, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionMap {
    /// Region used when nothing at all is known about a user's location.
    pub default_region: String,
    /// All regions, in the order they were listed.
    pub regions: Vec<Region>,
    /// All cities.
    pub cities: Vec<City>,
    /// Fallback by continent code (`EU`, `NA`, …) when coordinates are missing.
    #[serde(default)]
    pub continent_regions: BTreeMap<String, String>,
    /// Fallback by country, overriding the continent's.
    #[serde(default)]
    pub country_regions: BTreeMap<String, String>,
}

impl RegionMap {
    /// Parses and validates a map from JSON.
    pub fn from_json(json: &str) -> Result<Self, MapError> {
        let map: RegionMap =
            serde_json::from_str(json).map_err(|e| MapError::Syntax(e.to_string()))?;
        map.validate()?;
        Ok(map)
    }

    /// The map shipped with this build, parsed once.
    pub fn builtin() -> &'static RegionMap {
        static MAP: OnceLock<RegionMap> = OnceLock::new();
        MAP.get_or_init(|| match RegionMap::from_json(BUILTIN_MAP_JSON) {
            Ok(map) => map,
            // The embedded file is checked by a unit test; this cannot happen in a tested build.
            Err(e) => panic!("the built-in region map is invalid: {e}"),
        })
    }

    /// The region with this name.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The city with this slug.
    pub fn city(&self, slug: &str) -> Option<&City> {
        self.cities.iter().find(|c| c.slug == slug)
    }

    /// The city whose slug, name or alias matches `name` (case-insensitive), e.g. `cf.city`.
    pub fn city_by_name(&self, name: &str) -> Option<&City> {
        let name = name.trim();
        self.cities.iter().find(|c| {
            c.slug.eq_ignore_ascii_case(name)
                || c.name.eq_ignore_ascii_case(name)
                || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The cities whose rows live in `region`.
    pub fn cities_in<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a City> + 'a {
        self.cities.iter().filter(move |c| c.region == region)
    }

    /// The home region of a city's rows.
    pub fn home_region_of(&self, city_slug: &str) -> Option<&Region> {
        self.city(city_slug).and_then(|c| self.region(&c.region))
    }

    /// Every region ordered by distance from `from` (nearest first, `from` itself first).
    /// This is the failover order.
    pub fn regions_by_distance_from(&self, from: Coordinates) -> Vec<&Region> {
        let mut regions: Vec<&Region> = self.regions.iter().collect();
        regions.sort_by(|a, b| {
            let da = distance_km(from, Coordinates::new(a.lat, a.lon));
            let db = distance_km(from, Coordinates::new(b.lat, b.lon));
            da.total_cmp(&db).then_with(|| a.name.cmp(&b.name))
        });
        regions
    }

    /// The coordinates of a region (by name), if it exists.
    pub fn region_coordinates(&self, name: &str) -> Option<Coordinates> {
        self.region(name).map(|r| Coordinates::new(r.lat, r.lon))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_map_is_valid_and_complete() {
        let map = RegionMap::builtin();
        assert_eq!(map.regions.len(), 3);
        assert_eq!(map.cities.len(), 9);
        assert_eq!(map.home_region_of("rome").unwrap().name, "eu-west");
        assert_eq!(map.home_region_of("seattle").unwrap().name, "us-west");
        assert_eq!(map.home_region_of("boston").unwrap().name, "us-east");
        assert!(map.home_region_of("tokyo").is_none());
        assert_eq!(map.city_by_name("roma").unwrap().slug, "rome");
        assert_eq!(map.city_by_name("New York City").unwrap().slug, "new-york");
    }

    #[test]
    fn failover_order_starts_at_the_nearest() {
        let map = RegionMap::builtin();
        let rome = Coordinates::new(41.9, 12.5);
        let order: Vec<_> = map
            .regions_by_distance_from(rome)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(order, ["eu-west", "us-east", "us-west"]);
    }
}
