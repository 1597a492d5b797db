//! `load`'s command line: goose's options are flattened into ours, which makes `--help` several
//! hundred lines. `--help` shows ours and the few goose options a performance engineer sets;
//! `--goose-help` shows the rest. The goose options we refuse are in neither.

use anyhow::bail;
use goose::GooseError;
use goose::config::GooseConfiguration;

/// The help heading of our own options.
pub const OURS: &str = "oidc-harness";

/// goose's options that `--help` shows, with our words where goose's would mislead.
const SHOWN: &[(&str, Option<&str>)] = &[
    ("users", Some("Users to launch instead of the load profile's (needs --run-time or --iterations)")),
    ("increase_rate", Some("Users to launch per second with --users (e.g. 10 or 2.5)")),
    ("run_time", Some("How long the load lasts (e.g. 30s, 5m, 1m30s); alone, it keeps the profile's shape")),
    ("iterations", Some("Transactions per user, instead of a run time")),
    (
        "threshold",
        Some("Pass/fail rule on our histograms, such as p99<500ms, error-rate<1%, rps>=200 or \"p99<2s for refresh\" (repeatable)"),
    ),
    ("timeout", None),
];

/// goose's options that this command refuses, each with why.
const REFUSED: &[(&str, &str)] = &[
    ("host", "--host is set from --target (the issuer); give the issuer URL with --target"),
    ("request_body", "--request-body would write client secrets, codes and refresh tokens into goose's logs: it is not allowed here"),
    ("no_threshold_abort", "--no-threshold-abort: --threshold rules are judged once, at the end of the run, on our histograms"),
    ("threshold_abort_delay", "--threshold-abort-delay: --threshold rules are judged once, at the end of the run, on our histograms"),
    ("no_autostart", "--no-autostart: the run starts on its own (a worker at --start-at); a controller cannot hold it"),
];

/// goose's options that the parser refuses (goose keeps their values to itself, so `refuse`
/// cannot see them), each with why.
const REFUSED_BY_PARSER: &[(&str, &str)] =
    &[("test_plan", "--test-plan: give the run's shape in a load profile (--load-profile): workers share it, and it bounds the run")];

/// The `load` command as `--help` shows it.
pub fn curate(load: clap::Command) -> clap::Command {
    load.mut_args(|arg| {
        let id = arg.get_id().as_str().to_string();
        if arg.get_help_heading() == Some(OURS) || id == "help" {
            return arg;
        }
        if let Some((_, why)) = REFUSED_BY_PARSER.iter().find(|(refused, _)| *refused == id) {
            return arg.hide(true).value_parser(clap::builder::ValueParser::new(move |_: &str| Err::<String, String>(why.to_string())));
        }
        match SHOWN.iter().find(|(shown, _)| *shown == id) {
            Some((_, help)) => {
                let arg = arg.help_heading("Shape (goose)");
                match help {
                    Some(h) => arg.help(*h).long_help(*h),
                    None => arg,
                }
            }
            None => arg.hide(true),
        }
    })
}

/// `--goose-help`: goose's other options, which apply to `load` too.
pub fn print_goose_help() {
    let mut others = <GooseConfiguration as clap::Args>::augment_args(clap::Command::new("oidc-harness load"))
        .about("goose's options, which `oidc-harness load` also takes (the ones --help shows are left out)")
        .mut_args(|arg| {
            let id = arg.get_id().as_str();
            let hidden = SHOWN.iter().any(|(s, _)| *s == id) || REFUSED.iter().chain(REFUSED_BY_PARSER).any(|(r, _)| *r == id);
            arg.hide(hidden)
        });
    crate::stdout::print(&format!("{}\n", others.render_long_help()));
}

/// Refuses the goose options this command does not take.
pub fn refuse(goose: &GooseConfiguration) -> anyhow::Result<()> {
    let given = |id: &str| match id {
        "host" => goose.host.is_some(),
        "request_body" => goose.request_body,
        "no_threshold_abort" => goose.no_threshold_abort,
        "threshold_abort_delay" => goose.threshold_abort_delay.is_some(),
        "no_autostart" => goose.no_autostart,
        _ => false,
    };
    if let Some((_, why)) = REFUSED.iter().find(|(id, _)| given(id)) {
        bail!("{why}");
    }
    Ok(())
}

/// goose's errors in our words, naming the flag as the user typed it.
pub fn goose_error(e: GooseError) -> anyhow::Error {
    match e {
        GooseError::InvalidOption { option, value, detail } => {
            let flag = option.trim_matches('`').trim_start_matches("configuration.").replace('_', "-");
            let flag = if flag.starts_with("--") { flag } else { format!("--{flag}") };
            let value = if value.is_empty() { String::new() } else { format!(" {value}") };
            anyhow::anyhow!("{flag}{value}: {}", detail.trim_end_matches('.'))
        }
        GooseError::InvalidHost { host, detail, .. } => anyhow::anyhow!("the target {host}: {detail}"),
        other => anyhow::anyhow!("goose: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goose_errors_name_the_flag_as_typed() {
        let e = GooseError::InvalidOption {
            option: "`configuration.increase_rate`".into(),
            value: "fast".into(),
            detail: "must be a number.".into(),
        };
        assert_eq!(goose_error(e).to_string(), "--increase-rate fast: must be a number");
    }

    #[test]
    fn every_named_goose_option_exists() {
        let goose = <GooseConfiguration as clap::Args>::augment_args(clap::Command::new("x"));
        let refused = REFUSED.iter().chain(REFUSED_BY_PARSER).map(|(id, _)| *id);
        for id in SHOWN.iter().map(|(id, _)| *id).chain(refused) {
            assert!(goose.get_arguments().any(|a| a.get_id() == id), "{id} is not a goose option");
        }
    }
}
