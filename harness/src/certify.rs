//! `oidc-harness certify`: a conform run of one integration pack (`integration:NAME`), its
//! report headed as the certification for that relying party.

use crate::conform::ConformArgs;
use crate::integration;
use crate::limits;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct CertifyArgs {
    /// The relying party to certify for (`--list` prints the packs).
    #[arg(long, value_name = "NAME", required_unless_present_any = ["list", "entra_test_jwks", "custom_control_json"])]
    integration: Option<String>,
    /// Print every integration pack with its rules, and exit.
    #[arg(long)]
    list: bool,
    /// Print the JWKS of the emulated Microsoft Entra ID's published test key (what a provider
    /// under test trusts for `entra-eam` hints), and exit.
    #[arg(long)]
    entra_test_jwks: bool,
    /// Print the Conditional Access custom control's JSON (ca-custom-controls) for --target and
    /// the client id of its `[integrations.ca-custom-controls]` in --target-config, and exit.
    #[arg(long, requires = "target_config")]
    custom_control_json: bool,
    /// Issuer URL of the deployment to certify. Without it, the embedded reference server is
    /// started and certified.
    #[arg(long, value_name = "ISSUER_URL")]
    target: Option<String>,
    /// The target file for --target: the test user, and the client registered for the relying
    /// party (`[integrations.NAME]`, see docs/INTEGRATIONS.md).
    #[arg(long, value_name = "FILE", requires = "target")]
    target_config: Option<PathBuf>,
    /// What the target claims (TOML); the embedded IDaaS profile when absent.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Where report.json, junit.xml, summary.md and report.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-certification")]
    report_dir: PathBuf,
    /// Run the embedded reference server with this named fault (repeatable), to see which rules
    /// catch it.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    fault: Vec<String>,
    /// Run the embedded reference server with this named allowed variant (repeatable).
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    variant: Vec<String>,
    /// Exit 0 when no rule failed even if some were blocked or not run.
    #[arg(long)]
    allow_incomplete: bool,
    /// A deadline for the whole run (`90s`, `10m`).
    #[arg(long, value_name = "DURATION", default_value = limits::DEFAULT_RUN_TIMEOUT, value_parser = limits::parse_duration)]
    timeout: Duration,
    /// Trust the CA certificates of this PEM file for the target's TLS certificate.
    #[arg(long, value_name = "PEM", requires = "target")]
    ca_file: Option<PathBuf>,
    #[command(flatten)]
    output: crate::conform::OutputArgs,
}

pub fn run(args: CertifyArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        crate::stdout::print(&format!(
            "# Integration packs\n\n`oidc-harness certify --integration NAME`; the packs are `scenarios/integrations/*.toml`.\n{}",
            integration::list(integration::packs())
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if args.entra_test_jwks {
        let jwks = serde_json::json!({ "keys": [reference_server::entra::test_key().public_jwk()] });
        crate::stdout::print(&format!("{}\n", serde_json::to_string_pretty(&jwks)?));
        return Ok(ExitCode::SUCCESS);
    }
    if args.custom_control_json {
        return custom_control_json(&args);
    }
    let name = args.integration.as_deref().unwrap_or_default();
    let pack = integration::find(name).map_err(anyhow::Error::msg)?;
    let certification = reports::Certification {
        integration: pack.integration.clone(),
        relying_party: pack.relying_party.clone(),
        sends: pack.request.describe(),
        documentation: pack.documentation.clone(),
    };
    eprintln!("certify: {} ({} rules)", pack.relying_party, pack.rules.len());
    let conform = ConformArgs {
        target: args.target,
        target_config: args.target_config,
        profile: args.profile,
        report_dir: args.report_dir,
        suite: vec![pack.suite_name()],
        check: Vec::new(),
        scenarios: None,
        expected: None,
        fault: args.fault,
        variant: args.variant,
        list: false,
        allow_incomplete: args.allow_incomplete,
        timeout: args.timeout,
        ca_file: args.ca_file,
        output: args.output,
    };
    crate::conform::run_as(conform, Some(certification))
}

/// `--custom-control-json`: what the Entra administrator pastes into Conditional Access for the
/// target's custom-control application.
fn custom_control_json(args: &CertifyArgs) -> anyhow::Result<ExitCode> {
    let pack = integration::find("ca-custom-controls").map_err(anyhow::Error::msg)?;
    let (Some(issuer), Some(path)) = (&args.target, &args.target_config) else {
        anyhow::bail!("--custom-control-json needs --target (the issuer) and --target-config");
    };
    let target = crate::target::Target::from_file(path, |var| std::env::var(var).ok())?;
    let client_id = match target.integrations.get(&pack.integration) {
        Some(Ok(reg)) => reg.client_id.clone(),
        Some(Err(why)) => anyhow::bail!("{why}"),
        None => anyhow::bail!("the target file has no [integrations.{}] naming the application's client_id", pack.integration),
    };
    let control = pack.custom_control(issuer, &client_id).expect("the ca-custom-controls pack names its control");
    crate::stdout::print(&format!("{}\n", serde_json::to_string_pretty(&control)?));
    Ok(ExitCode::SUCCESS)
}
