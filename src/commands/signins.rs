//! `mailbox-doctor signins FILE...`: reads the exports one after another into one
//! aggregate, builds the report and renders it. The only output of its own is
//! the `--redact` key (once, on stderr) and the progress bar on a terminal.

use crate::cli::{SigninsArgs, SigninsFormat};
use crate::commands::Outcome;
use crate::knowledge::Knowledge;
use crate::signins::aggregate::{Aggregate, Limits};
use crate::signins::input::{self, Format, Source};
use crate::signins::model::InputReport;
use crate::signins::redact::Redactor;
use crate::signins::{render, verdict};
use std::io::Write as _;

pub fn run(kb: &'static Knowledge, args: SigninsArgs) -> anyhow::Result<Outcome> {
    if args.graph.enabled {
        return super::signins_graph::run(kb, args);
    }
    let now = args.now.unwrap_or_else(chrono::Utc::now);
    let since = args.since.resolve(now);
    let sources: Vec<Source> = args.files.iter().map(|f| Source::from_arg(f)).collect();
    if sources.iter().filter(|s| **s == Source::Stdin).count() > 1 {
        anyhow::bail!("standard input (`-`) can be read only once");
    }
    let redactor = redactor(&args)?;
    let total = sources
        .iter()
        .map(input::size)
        .try_fold(0u64, |acc, s| s.map(|s| acc + s));
    let bar = crate::progress::Bar::start(total);
    let mut agg = Aggregate::new(
        kb,
        Limits::default(),
        since,
        args.expected_country.clone(),
        redactor.as_ref(),
    );
    let mut inputs = Vec::new();
    for src in &sources {
        agg.begin(src.name());
        let mut on_bytes = |n: u64| {
            if let Some(b) = &bar {
                b.add(n);
            }
        };
        let summary = input::read(src, &mut agg, &mut on_bytes);
        let summary = match summary {
            Ok(s) => s,
            Err(e) => {
                if let Some(b) = bar {
                    b.clear();
                }
                return Err(e.into());
            }
        };
        let graph = summary.format == Format::GraphPages;
        inputs.push(InputReport {
            name: src.name(),
            format: summary.format,
            rows: agg.current_rows,
            malformed: agg.current_malformed,
            pages: graph.then_some(summary.pages),
            pages_with_next_link: graph.then_some(summary.pages_with_next_link),
        });
    }
    if let Some(b) = bar {
        b.clear();
    }
    let report = verdict::build(kb, agg, inputs, verdict_options(&args, now, since));
    render_report(&report, &args, "")
}

/// What the report needs besides the aggregates, from the flags.
pub(super) fn verdict_options(
    args: &SigninsArgs,
    now: chrono::DateTime<chrono::Utc>,
    since: chrono::DateTime<chrono::Utc>,
) -> verdict::Options {
    verdict::Options {
        now,
        since,
        warning_days: i64::from(args.warning_days),
        critical_days: i64::from(args.critical_days),
        expected: args.expected_country.clone(),
        redacted: args.redact,
    }
}

/// The `--redact` pseudonym maker (its key told once on standard error).
pub(super) fn redactor(args: &SigninsArgs) -> anyhow::Result<Option<Redactor>> {
    if !args.redact {
        return Ok(None);
    }
    let r = Redactor::random().map_err(anyhow::Error::msg)?;
    let _ = writeln!(
        std::io::stderr(),
        "mailbox-doctor: --redact key of this run (it maps pseudonyms back; it is not stored): {}",
        r.key_hex
    );
    Ok(Some(r))
}

/// Renders the report in the chosen format; `tenant` labels the monitoring formats.
pub(super) fn render_report(
    report: &crate::signins::model::SigninReport,
    args: &SigninsArgs,
    tenant: &str,
) -> anyhow::Result<Outcome> {
    let mut buf = Vec::new();
    match args.format() {
        SigninsFormat::Text => {
            let color = crate::commands::use_color(args.color);
            crate::commands::set_color(color);
            render::text::render(report, &mut buf, &render::text::Style { color })?
        }
        SigninsFormat::Json => render::json(report, &mut buf)?,
        SigninsFormat::Csv => render::csv::render(report, &mut buf)?,
        SigninsFormat::Prometheus => render::metrics::prometheus(report, tenant, &mut buf)?,
        SigninsFormat::Nagios => render::metrics::nagios(report, tenant, &mut buf)?,
    }
    Ok(Outcome {
        output: buf,
        status: report.status,
    })
}
