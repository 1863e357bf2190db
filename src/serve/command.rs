//! The `serve` command: flags to `Options`, a runtime, and `serve::serve` until
//! SIGTERM. Nothing is written to stdout; a config or address that cannot be
//! used ends the command with exit 3 before anything is served.

use crate::cli::ServeArgs;
use crate::knowledge::Knowledge;
use crate::report::model::OverallStatus;
use crate::Outcome;
use std::time::Duration;

pub fn run(kb: &'static Knowledge, args: ServeArgs) -> anyhow::Result<Outcome> {
    let opts = super::Options {
        config: args.config,
        listen: args.listen,
        concurrency: usize::from(args.concurrency),
        per_domain: usize::from(args.per_domain),
        timeout_offset: Duration::from_secs_f64(args.timeout_offset),
        max_connections: usize::from(args.max_connections),
        today: args.now,
    };
    crate::runtime()?.block_on(super::serve(kb, opts))?;
    Ok(Outcome {
        output: Vec::new(),
        status: OverallStatus::Ok,
    })
}
