//! `oidc-harness --version`: the version and, when the source is a git checkout, the commit it
//! was built from and that commit's date (`oidc-harness 0.1.0 (abc1234 2026-12-01)`).
//! `OIDC_HARNESS_COMMIT` (e.g. "abc1234 2026-12-01") names it for builds without `.git`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=OIDC_HARNESS_COMMIT");
    let version = env("CARGO_PKG_VERSION");
    let commit = std::env::var("OIDC_HARNESS_COMMIT").ok().filter(|c| !c.trim().is_empty()).or_else(git_commit);
    let long = match commit {
        Some(commit) => format!("{version} ({})", commit.trim()),
        None => version,
    };
    println!("cargo:rustc-env=OIDC_HARNESS_VERSION={long}");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// "abc1234 2026-12-01" of HEAD, or `None` outside this project's own git checkout (or
/// without git).
fn git_commit() -> Option<String> {
    let root = Path::new(&env("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(&root).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
    };
    // The checkout must be this project's: a source unpacked inside some other repository (a
    // home directory kept in git) would otherwise get that repository's commit.
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    // A commit, a checkout or a reset moves HEAD's reflog (per worktree); HEAD itself covers a
    // detached checkout without one. Only paths that exist are watched: Cargo reruns the build
    // script on every build for one that does not.
    for path in ["HEAD", "logs/HEAD"] {
        if let Some(watched) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={watched}");
        }
    }
    let commit = git(&["rev-parse", "--short=7", "HEAD"])?;
    let date = git(&["log", "-1", "--format=%cs", "HEAD"])?;
    Some(format!("{commit} {date}"))
}
