//! The `serve` command: flags to `serve::Options`, a runtime, and `serve::serve`
//! until SIGTERM. It hands serve the network-option handling that `check` and
//! `batch` use, so a module's settings mean what the same flags mean. Nothing is
//! written to stdout; a config or address that cannot be used ends the command
//! with exit 3 before anything is served.

use super::Outcome;
use crate::checks::NetOptions;
use crate::cli::{NetArgs, ServeArgs};
use crate::knowledge::Knowledge;
use crate::serve::config::NetSpec;
use std::sync::Arc;
use std::time::Duration;

/// A module's network settings through the flag handling of `check`.
fn net_options(n: &NetSpec) -> Result<NetOptions, String> {
    let args = NetArgs {
        only: n.only.clone(),
        skip: n.skip.clone(),
        timeout: n.timeout,
        dns_server: n.dns_server,
        ca_file: n.ca_file.clone(),
        transcript: false,
        allow_plaintext: n.allow_plaintext,
        warning_days: n.warning_days,
        critical_days: n.critical_days,
        identity_url: n.identity_url.clone(),
        autoconfig_port: 443,
        trust_discovered: n.trust_discovered.clone(),
    };
    super::net_options(&args).map_err(|e| format!("{e:#}"))
}

pub fn run(kb: &'static Knowledge, args: ServeArgs) -> anyhow::Result<Outcome> {
    let opts = crate::serve::Options {
        config: args.config,
        listen: args.listen,
        concurrency: usize::from(args.concurrency),
        per_domain: usize::from(args.per_domain),
        timeout_offset: Duration::from_secs_f64(args.timeout_offset),
        max_connections: usize::from(args.max_connections),
        today: args.now,
        net: Arc::new(net_options),
    };
    super::runtime()?.block_on(crate::serve::serve(kb, opts))?;
    Ok(Outcome::ok(Vec::new()))
}
