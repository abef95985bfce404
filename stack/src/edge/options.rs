//! How to start an edge: its origins, secret, port, vars and folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use super::EdgeProfile;
use crate::process::free_port;

/// How to start an edge.
#[derive(Clone)]
pub struct EdgeOptions {
    /// Region → origin base URL: the Worker's `ORIGINS` var.
    pub origins: BTreeMap<String, String>,
    /// Region → several origin base URLs (the region's pool); a region listed here is given
    /// to the Worker as this list instead of its entry in `origins`.
    pub origin_pools: BTreeMap<String, Vec<String>>,
    /// The secret shared with the origins (passed through an env file, not the command line).
    pub secret: String,
    /// Port to listen on (a free one when `None`).
    pub port: Option<u16>,
    /// Further vars, e.g. `ORIGIN_TIMEOUT_MS`.
    pub vars: Vec<(String, String)>,
    /// Persistence (Cache API), the env file and the log live here.
    pub root: PathBuf,
    /// Delete `root` once the owning process exits (throwaway test edges).
    pub remove_root_on_exit: bool,
    /// Let wrangler's watcher rebuild the Worker when `edge/` or `shared/` change (the dev
    /// command); tests keep the build they started with.
    pub rebuild_on_change: bool,
    /// The build to run (and to rebuild on change).
    pub profile: EdgeProfile,
}

impl std::fmt::Debug for EdgeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeOptions")
            .field("origins", &self.origins)
            .field("origin_pools", &self.origin_pools)
            .field("secret", &"<redacted>")
            .field("port", &self.port)
            .field("vars", &self.vars)
            .field("root", &self.root)
            .field("remove_root_on_exit", &self.remove_root_on_exit)
            .field("rebuild_on_change", &self.rebuild_on_change)
            .field("profile", &self.profile)
            .finish()
    }
}

impl EdgeOptions {
    /// Options for an edge whose origins are `origins`, rooted in a fresh temporary folder.
    pub fn new(name: &str, origins: BTreeMap<String, String>, secret: &str) -> Self {
        let root = std::env::temp_dir().join(format!("roam-edge-{name}-{}", std::process::id()));
        Self {
            origins,
            origin_pools: BTreeMap::new(),
            secret: secret.to_string(),
            port: None,
            vars: Vec::new(),
            root,
            remove_root_on_exit: true,
            rebuild_on_change: false,
            profile: EdgeProfile::Release,
        }
    }

    /// Options for an edge with no origin listening (pings, the edge's own routes), e.g. for
    /// tests that need no database.
    pub fn without_origins(name: &str) -> Result<Self> {
        let map = roam_shared::RegionMap::builtin();
        let mut origins = BTreeMap::new();
        for region in &map.regions {
            // A port that was free a moment ago: connections to it are refused.
            origins.insert(
                region.name.clone(),
                format!("http://127.0.0.1:{}", free_port()?),
            );
        }
        Ok(Self::new(name, origins, roam_shared::signature::DEV_SECRET))
    }

    /// Options for an edge whose regions are each served by a pool of origins (e.g.
    /// `Stack::origin_pools`).
    pub fn with_pools(name: &str, pools: BTreeMap<String, Vec<String>>, secret: &str) -> Self {
        let first = pools
            .iter()
            .filter_map(|(region, pool)| Some((region.clone(), pool.first()?.clone())))
            .collect();
        Self {
            origin_pools: pools,
            ..Self::new(name, first, secret)
        }
    }

    /// The Worker's `ORIGINS` var: a region with a pool of several origins as a list, else
    /// as its one URL.
    pub fn origins_var(&self) -> Result<String> {
        let mut value = serde_json::Map::new();
        for (region, url) in &self.origins {
            value.insert(region.clone(), url.clone().into());
        }
        for (region, pool) in &self.origin_pools {
            let entry = match pool.as_slice() {
                [] => continue,
                [one] => one.clone().into(),
                many => many.to_vec().into(),
            };
            value.insert(region.clone(), entry);
        }
        Ok(serde_json::to_string(&value)?)
    }

    /// The log file of the edge's wrangler and workerd.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("wrangler.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_with_a_pool_is_given_as_a_list_and_the_others_as_one_url() {
        let pools = BTreeMap::from([
            (
                "eu-west".to_string(),
                vec!["http://a".into(), "http://b".into()],
            ),
            ("us-east".to_string(), vec!["http://c".into()]),
        ]);
        let options = EdgeOptions::with_pools("var", pools, "s");
        assert_eq!(options.origins["eu-west"], "http://a");
        let var: serde_json::Value =
            serde_json::from_str(&options.origins_var().expect("a var")).expect("JSON");
        assert_eq!(
            var,
            serde_json::json!({"eu-west": ["http://a", "http://b"], "us-east": "http://c"})
        );
    }
}
