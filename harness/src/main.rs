//! `oidc-harness`: the command line. A thin layer over the library crates: each subcommand
//! parses its options, calls into a crate, and turns errors into one clear message.

mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "oidc-harness", version, about = "Conformance and load testing for OAuth 2.0 / OpenID Connect authorization servers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reference authorization server (IDaaS profile) until Ctrl-C.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oidc-harness: {e:#}");
            ExitCode::FAILURE
        }
    }
}
