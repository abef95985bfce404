//! Validating a region map: every invariant the routing functions rely on, checked once when a
//! map is loaded, and why a map was rejected.

use std::collections::BTreeSet;

use super::RegionMap;
use crate::coordinates::Coordinates;

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
    use crate::map::BUILTIN_MAP_JSON;

    fn map_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<RegionMap, MapError> {
        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_MAP_JSON).unwrap();
        edit(&mut value);
        RegionMap::from_json(&value.to_string())
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
}
