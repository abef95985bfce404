//! Building the Worker (scripts/build-edge.sh) into `build/`, skipped when `build/` already
//! holds the wanted build, newer than every source it comes from.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use anyhow::{anyhow, Result};

use crate::process::run;

/// The repository root (where wrangler.toml is).
pub fn workspace_root() -> PathBuf {
    let stack_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    stack_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(stack_dir)
}

/// Which build of the Worker (scripts/build-edge.sh's `ROAM_EDGE_PROFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgeProfile {
    /// Optimised for size and speed (wasm-opt): the tests, the bench, deploy.
    #[default]
    Release,
    /// Quick to build, for `cargo xtask dev`'s edit → reload loop.
    Dev,
}

impl EdgeProfile {
    /// The value of `ROAM_EDGE_PROFILE` (and of `build/.profile`).
    pub fn name(self) -> &'static str {
        match self {
            EdgeProfile::Release => "release",
            EdgeProfile::Dev => "dev",
        }
    }
}

/// Builds the release edge into `build/` unless it is already there and newer than its
/// sources; at most once per process, other callers wait for it. Blocking: call it from
/// `spawn_blocking` in async code.
pub fn build_edge() -> Result<()> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_edge_as(EdgeProfile::Release).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Builds the edge with `profile` unless `build/` already holds that build, newer than its
/// sources. Blocking.
pub fn build_edge_as(profile: EdgeProfile) -> Result<()> {
    let root = workspace_root();
    if is_fresh(&root, profile) {
        return Ok(());
    }
    run(
        "building the edge (scripts/build-edge.sh)",
        Command::new(root.join("scripts/build-edge.sh"))
            .current_dir(&root)
            .env("ROAM_EDGE_PROFILE", profile.name())
            .env_remove("ROAM_EDGE_PREBUILT"),
    )?;
    Ok(())
}

/// Whether build/ holds the `profile` build, newer than everything it is built from.
fn is_fresh(root: &Path, profile: EdgeProfile) -> bool {
    let marker = std::fs::read_to_string(root.join("build/.profile")).unwrap_or_default();
    if marker.trim() != profile.name() {
        return false;
    }
    let built = [
        root.join("build/index.js"),
        root.join("build/index_bg.wasm"),
    ]
    .iter()
    .map(|p| modified(p))
    .min()
    .flatten();
    let Some(built) = built else {
        return false;
    };
    let sources = [
        root.join("edge"),
        root.join("shared"),
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("scripts/build-edge.sh"),
        root.join("scripts/plain-handler.mjs"),
    ];
    sources
        .iter()
        .all(|s| newest_in(s).is_some_and(|t| t <= built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of the files under a folder (skipping `assets`,
/// which wrangler serves as they are, and build output).
fn newest_in(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut newest = meta.modified().ok()?;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let name = entry.file_name();
        if name == "assets" || name == "target" || name == "build" {
            continue;
        }
        newest = newest.max(newest_in(&entry.path())?);
    }
    Some(newest)
}
