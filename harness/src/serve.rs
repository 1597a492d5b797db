//! `oidc-harness serve`: the reference server, standalone.

use anyhow::Context;
use reference_server::Config;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 9090)]
    port: u16,
    /// Address to listen on. The server is a test IdP with well-known default passwords:
    /// keep it on loopback unless the config file replaces them.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Configuration file (TOML); the built-in defaults when absent.
    #[arg(long, env = "OIDC_HARNESS_SERVER_CONFIG")]
    config: Option<PathBuf>,
    /// Print the built-in configuration as TOML and exit.
    #[arg(long)]
    print_default_config: bool,
    /// Inject a named fault (repeatable), e.g. `--fault nonce-dropped`.
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
    /// Print the fault catalog and exit.
    #[arg(long)]
    list_faults: bool,
    /// Switch on a named allowed variant (repeatable), e.g. `--variant issuer-trailing-slash`.
    #[arg(long, value_name = "NAME")]
    variant: Vec<String>,
    /// Print the variant catalog (allowed alternatives, each with the rule that allows it) and exit.
    #[arg(long)]
    list_variants: bool,
    /// Log one line per request on stderr: method, path (never the query: it carries codes),
    /// status and microseconds.
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        crate::stdout::print(&Config::default().to_toml());
        return Ok(());
    }
    if args.list_faults {
        for e in reference_server::faults::CATALOG {
            crate::stdout::print(&format!("{:<40} {:<32} {}\n", e.name, e.rule, e.description));
        }
        return Ok(());
    }
    if args.list_variants {
        for e in reference_server::variants::CATALOG {
            let level = if e.should_level { " (a SHOULD-level choice: warnings allowed)" } else { "" };
            crate::stdout::print(&format!("{:<40} {}{level}\n{:<40} allowed by {}\n", e.name, e.description, "", e.rule));
        }
        return Ok(());
    }
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let named = crate::conform::embedded_config(&args.fault, &args.variant)?;
    config.faults.extend(named.faults);
    config.variants.extend(named.variants);
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !config.faults.is_empty() {
        let names: Vec<&str> = config.faults.iter().map(|f| f.name()).collect();
        eprintln!("WARNING: injecting faults: {} (this server deliberately breaks rules)", names.join(", "));
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = reference_server::start_on(config, SocketAddr::new(args.bind, args.port)).await?;
        // Ctrl-C or SIGTERM (what a container runtime or `kill` stops a server with): either ends
        // in a graceful shutdown.
        let stop = crate::conform::stop_signal()?;
        let banner = format!(
            "issuer: {issuer}\ndiscovery: {issuer}/.well-known/openid-configuration\nadmin token: {}\n",
            server.admin_token(),
            issuer = server.issuer()
        );
        // A reader that stopped listening (`| head -n 1`, a script that took the issuer) must not
        // stop the server, as `println!` would by panicking on the broken pipe.
        let _ = std::io::stdout().write_all(banner.as_bytes());
        let _ = writeln!(std::io::stderr(), "serving until Ctrl-C or SIGTERM");
        stop.await;
        server.shutdown().await;
        Ok(())
    })
}
