//! The region map: which regions exist, where they are, and which cities each one owns.
//!
//! The map is data (`shared/regions.json`, embedded at compile time and overridable at run
//! time), validated once when loaded so every later lookup can trust it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::geo::{self, Coordinates};

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

/// Why a map was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    /// The JSON did not parse or had the wrong shape.
    #[error("region map is not valid JSON of the expected shape: {0}")]
    Syntax(String),
    /// The map has no regions at all.
    #[error("region map has no regions")]
    NoRegions,
    /// A region or city name is empty or not a lowercase slug.
    #[error("`{0}` is not a valid slug (lowercase letters, digits and '-', 1 to 40 characters)")]
    BadSlug(String),
    /// Two regions share a name.
    #[error("region `{0}` is listed twice")]
    DuplicateRegion(String),
    /// A city appears twice (possibly in two regions).
    #[error("city `{0}` is listed twice (a city belongs to exactly one region)")]
    DuplicateCity(String),
    /// A reference to a region the map does not define.
    #[error("{0} refers to unknown region `{1}`")]
    UnknownRegion(String, String),
    /// Latitude/longitude out of range or not finite.
    #[error(
        "{0} has bad coordinates ({1}, {2}): latitude must be within ±90 and longitude within ±180"
    )]
    BadCoordinates(String, f64, f64),
    /// A country or currency code of the wrong shape.
    #[error("city `{0}` has a bad {1} code `{2}`")]
    BadCode(String, &'static str, String),
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

    /// Checks every invariant the routing functions rely on.
    pub fn validate(&self) -> Result<(), MapError> {
        if self.regions.is_empty() {
            return Err(MapError::NoRegions);
        }
        let mut region_names = BTreeSet::new();
        for region in &self.regions {
            check_slug(&region.name)?;
            if !region_names.insert(region.name.as_str()) {
                return Err(MapError::DuplicateRegion(region.name.clone()));
            }
            check_coordinates(&format!("region `{}`", region.name), region.lat, region.lon)?;
        }
        let known = |what: String, region: &str| {
            if region_names.contains(region) {
                Ok(())
            } else {
                Err(MapError::UnknownRegion(what, region.to_string()))
            }
        };
        known("default_region".into(), &self.default_region)?;
        let mut city_slugs = BTreeSet::new();
        for city in &self.cities {
            check_slug(&city.slug)?;
            if !city_slugs.insert(city.slug.as_str()) {
                return Err(MapError::DuplicateCity(city.slug.clone()));
            }
            known(format!("city `{}`", city.slug), &city.region)?;
            check_coordinates(&format!("city `{}`", city.slug), city.lat, city.lon)?;
            check_code(&city.slug, "country", &city.country, 2)?;
            check_code(&city.slug, "currency", &city.currency, 3)?;
        }
        for (continent, region) in &self.continent_regions {
            known(format!("continent_regions.{continent}"), region)?;
        }
        for (country, region) in &self.country_regions {
            known(format!("country_regions.{country}"), region)?;
        }
        Ok(())
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
            let da = geo::distance_km(from, Coordinates::new(a.lat, a.lon));
            let db = geo::distance_km(from, Coordinates::new(b.lat, b.lon));
            da.total_cmp(&db).then_with(|| a.name.cmp(&b.name))
        });
        regions
    }

    /// The coordinates of a region (by name), if it exists.
    pub fn region_coordinates(&self, name: &str) -> Option<Coordinates> {
        self.region(name).map(|r| Coordinates::new(r.lat, r.lon))
    }
}

fn check_slug(slug: &str) -> Result<(), MapError> {
    let ok = !slug.is_empty()
        && slug.len() <= 40
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(MapError::BadSlug(slug.to_string()))
    }
}

fn check_coordinates(what: &str, lat: f64, lon: f64) -> Result<(), MapError> {
    if Coordinates::checked(lat, lon).is_some() {
        Ok(())
    } else {
        Err(MapError::BadCoordinates(what.to_string(), lat, lon))
    }
}

fn check_code(city: &str, kind: &'static str, code: &str, len: usize) -> Result<(), MapError> {
    if code.len() == len && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(MapError::BadCode(city.to_string(), kind, code.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<RegionMap, MapError> {
        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_MAP_JSON).unwrap();
        edit(&mut value);
        RegionMap::from_json(&value.to_string())
    }

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
    fn rejects_city_in_two_regions() {
        let err = map_with(|m| {
            let mut rome = m["cities"][8].clone();
            rome["region"] = "us-east".into();
            m["cities"].as_array_mut().unwrap().push(rome);
        })
        .unwrap_err();
        assert_eq!(err, MapError::DuplicateCity("rome".into()));
        assert!(err.to_string().contains("exactly one region"));
    }

    #[test]
    fn rejects_unknown_region() {
        let err = map_with(|m| m["cities"][0]["region"] = "ap-south".into()).unwrap_err();
        assert_eq!(
            err,
            MapError::UnknownRegion("city `new-york`".into(), "ap-south".into())
        );
        let err = map_with(|m| m["default_region"] = "mars".into()).unwrap_err();
        assert!(matches!(err, MapError::UnknownRegion(_, r) if r == "mars"));
    }

    #[test]
    fn rejects_bad_coordinates() {
        let err = map_with(|m| m["cities"][2]["lat"] = 91.0.into()).unwrap_err();
        assert!(
            matches!(err, MapError::BadCoordinates(what, ..) if what == "city `washington-dc`")
        );
        let err = map_with(|m| m["regions"][0]["lon"] = (-180.5).into()).unwrap_err();
        assert!(err
            .to_string()
            .contains("region `us-east` has bad coordinates"));
    }

    #[test]
    fn rejects_bad_slugs_codes_and_syntax() {
        assert!(matches!(
            map_with(|m| m["cities"][0]["slug"] = "New York".into()),
            Err(MapError::BadSlug(_))
        ));
        assert!(matches!(
            map_with(|m| m["cities"][0]["currency"] = "usd".into()),
            Err(MapError::BadCode(..))
        ));
        assert!(matches!(
            RegionMap::from_json("{"),
            Err(MapError::Syntax(_))
        ));
        assert!(matches!(
            map_with(|m| m["regions"] = serde_json::json!([])),
            Err(MapError::NoRegions)
        ));
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
