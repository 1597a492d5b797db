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

/// "abc1234 2026-12-01" of HEAD, or `None` outside a git checkout (or without git).
fn git_commit() -> Option<String> {
    let root = Path::new(&env("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(&root).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
    };
    // A new commit changes HEAD or the branch it names: the version is built again.
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    println!("cargo:rerun-if-changed={git_dir}/HEAD");
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let loose = Path::new(&git_dir).join(&branch);
        let watched = if loose.exists() { loose } else { Path::new(&git_dir).join("packed-refs") };
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    let commit = git(&["rev-parse", "--short=7", "HEAD"])?;
    let date = git(&["log", "-1", "--format=%cs", "HEAD"])?;
    Some(format!("{commit} {date}"))
}
