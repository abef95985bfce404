//! Topologies the stack can run: the multi-region design, and the single-region baseline MovR
//! started from (one region holds every row and runs the only origin).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use roam_shared::RegionMap;

/// Where the data and the origins live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Topology {
    /// A node and an origin per region of the map; rows live in their city's region.
    #[default]
    MultiRegion,
    /// One node and one origin, in this region, holding every city.
    SingleRegion(String),
}

impl Topology {
    /// The baseline: everything in us-east.
    pub fn single_region() -> Self {
        Self::SingleRegion("us-east".to_string())
    }

    /// Parses `multi-region` or `single-region` (us-east) or `single-region:<region>`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "multi-region" => Ok(Self::MultiRegion),
            None if s == "single-region" => Ok(Self::single_region()),
            Some(("single-region", region)) => Ok(Self::SingleRegion(region.to_string())),
            _ => anyhow::bail!("topology {s:?}: expected multi-region or single-region[:<region>]"),
        }
    }

    /// Its name, as `parse` takes it.
    pub fn name(&self) -> String {
        match self {
            Self::MultiRegion => "multi-region".into(),
            Self::SingleRegion(region) => format!("single-region:{region}"),
        }
    }

    /// The region map the origins and nodes run with: the built-in one, or one where the
    /// single region is the home of every city.
    pub fn map(&self) -> Result<RegionMap> {
        let builtin = RegionMap::builtin();
        let Self::SingleRegion(only) = self else {
            return Ok(builtin.clone());
        };
        let region = builtin
            .region(only)
            .with_context(|| format!("single-region: unknown region {only}"))?
            .clone();
        let mut map = builtin.clone();
        map.regions = vec![region];
        map.default_region = only.clone();
        for city in &mut map.cities {
            city.region = only.clone();
        }
        for target in map
            .continent_regions
            .values_mut()
            .chain(map.country_regions.values_mut())
        {
            *target = only.clone();
        }
        map.validate()?;
        Ok(map)
    }

    /// Writes the map to `dir/regions.json` when it is not the built-in one (origins read it
    /// from `ROAM_REGION_MAP`); `None` for the built-in map.
    pub fn write_map(&self, dir: &Path) -> Result<Option<PathBuf>> {
        if *self == Self::MultiRegion {
            return Ok(None);
        }
        let path = dir.join("regions.json");
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, serde_json::to_string_pretty(&self.map()?)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Some(path))
    }

    /// The region whose origin serves requests the edge routes to `region` (the edge always
    /// routes with the built-in map).
    pub fn serving_region<'a>(&'a self, region: &'a str) -> &'a str {
        match self {
            Self::MultiRegion => region,
            Self::SingleRegion(only) => only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_region_puts_every_city_in_one_region() {
        let map = Topology::single_region().map().expect("valid map");
        assert_eq!(map.regions.len(), 1);
        assert!(map.cities.iter().all(|c| c.region == "us-east"));
        assert_eq!(map.cities.len(), RegionMap::builtin().cities.len());
        assert_eq!(
            Topology::parse("single-region").ok(),
            Some(Topology::single_region())
        );
        assert_eq!(
            Topology::parse("multi-region").ok(),
            Some(Topology::MultiRegion)
        );
        assert!(Topology::parse("two-regions").is_err());
    }
}
