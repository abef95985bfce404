//! `cargo xtask openapi`: writes the OpenAPI document the edge serves; `--check` fails when
//! the committed file differs from what the code generates.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Where the document is committed (the edge embeds it).
pub(crate) const DOCUMENT: &str = "edge/openapi.json";

/// Writes the document, or with `check` compares it with the committed one.
pub(crate) fn run(root: &Path, check: bool) -> Result<()> {
    let path = root.join(DOCUMENT);
    let generated = roam_shared::openapi::document_text();
    if check {
        let committed = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if committed != generated {
            bail!("{DOCUMENT} is out of date: run `cargo xtask openapi` and commit it");
        }
        eprintln!("{DOCUMENT} matches the code");
        return Ok(());
    }
    std::fs::write(&path, generated).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {DOCUMENT}");
    Ok(())
}
