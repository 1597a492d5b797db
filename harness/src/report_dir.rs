//! The report directory every command writes to (`--report-dir`): checked before the run, so
//! that an unwritable one is refused before any check or load runs, and cleared of an earlier
//! run's reports, so that a run refused later leaves none that a CI step would show as its own.

use anyhow::Context as _;
use std::path::Path;

/// Creates `dir`, proves it writable, and removes the earlier `reports` from it.
pub fn prepare(dir: &Path, reports: &[&str]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("--report-dir {}: cannot create it", dir.display()))?;
    let probe = dir.join(".oidc-harness-write-test");
    std::fs::write(&probe, b"").with_context(|| format!("--report-dir {}: cannot write to it", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    for name in reports {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("--report-dir {}: cannot replace the earlier {name}", dir.display()));
            }
            _ => {}
        }
    }
    Ok(())
}
