//! `oidc-harness`: the command line. A thin layer over the library crates: each subcommand
//! parses its options, calls into a crate, and turns errors into one clear message.

mod certify;
mod conform;
#[cfg(test)]
mod doc_keys;
mod engine;
mod expected;
mod integration;
mod killmatrix;
mod limits;
mod load;
mod preflight;
mod profile;
mod redact;
mod report_dir;
mod scenario;
mod serve;
mod stdout;
mod suites;
mod target;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "oidc-harness",
    version = env!("OIDC_HARNESS_VERSION"),
    about = "Conformance and load testing for OAuth 2.0 / OpenID Connect authorization servers",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Certify a deployment (or the embedded reference server) for one relying party: its
    /// integration pack emulates the RP on the wire and applies the RP's rules.
    Certify(certify::CertifyArgs),
    /// Check a deployment (or the embedded reference server) against its profile.
    Conform(conform::ConformArgs),
    /// Check a profile file for contradictions and doubtful claims.
    Lint {
        /// The profile (TOML) to check.
        profile: std::path::PathBuf,
    },
    /// Run every suite once per fault of the reference server's catalog and write the table.
    Killmatrix(killmatrix::KillMatrixArgs),
    /// Put load on a deployment (or the embedded reference server) with goose and report
    /// throughput, latency histograms and errors.
    Load(Box<load::LoadArgs>),
    /// Run the reference authorization server (IDaaS profile) until Ctrl-C.
    Serve(serve::ServeArgs),
}

/// The exit codes, in `--help` as in the README.
const EXIT_CODES: &str = "Exit codes: 0 passed; 1 failed (a required check, a load verdict); 2 usage or configuration \
     error (nothing was judged); 3 incomplete (conform and certify: no check failed, but some were blocked or not run; \
     --allow-incomplete exits 0).\n\nstdout has results only (the verdict line, --format json, listings); progress \
     and diagnostics go to stderr, in colour only on a terminal and never with NO_COLOR set.";

/// Warnings and errors, without the TLS verifier's own log of a refused certificate: the
/// request's error says it in one sentence, with the fix (`engine::net_error`).
const DEFAULT_LOG_FILTER: &str = "warn,rustls_platform_verifier=off";

fn main() -> ExitCode {
    // Colour only on a terminal, and never with NO_COLOR set (no-color.org): log files and CI
    // logs get plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let command = <Cli as clap::CommandFactory>::command().mut_subcommand("load", load::curate);
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let filter = match &cli.command {
        // `serve -v`: one line per request as well (`RUST_LOG` still overrides everything).
        Command::Serve(args) if args.verbose => format!("{DEFAULT_LOG_FILTER},{}=info", reference_server::REQUEST_LOG),
        _ => DEFAULT_LOG_FILTER.to_string(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()))
        .init();
    let result = match cli.command {
        Command::Certify(args) => certify::run(args),
        Command::Conform(args) => conform::run(args),
        Command::Lint { profile } => lint(&profile),
        Command::Killmatrix(args) => killmatrix::run(args),
        Command::Load(args) => load::run(*args),
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Usage and configuration problems: exit 2, distinct from failed checks (1).
            // The sentence may quote what a target sent (a URL, an issuer): bounded like details.
            eprintln!("oidc-harness: {}", limits::cut(&format!("{e:#}"), limits::DETAIL_BYTES));
            ExitCode::from(2)
        }
    }
}

fn lint(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let profile = profile::Profile::from_file(path)?;
    crate::stdout::print(&format!("{}: profile `{}`: {}\n", path.display(), profile.name, profile.description));
    let findings = profile::lint(&profile);
    for finding in &findings {
        crate::stdout::print(&format!("{}: {finding}\n", path.display()));
    }
    let errors = findings.iter().filter(|f| f.level == profile::Level::Error).count();
    eprintln!("{}: {errors} errors, {} findings", path.display(), findings.len());
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
