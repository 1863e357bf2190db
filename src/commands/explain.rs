//! `explain`: a pasted reply or error text (the argument, or standard input,
//! capped), read offline against the knowledge base.

use super::Outcome;
use crate::cli::{ExplainArgs, Format};
use crate::explain;
use crate::knowledge::Knowledge;
use crate::report;
use anyhow::Context as _;

pub fn run(kb: &'static Knowledge, args: ExplainArgs) -> anyhow::Result<Outcome> {
    let text = match args.text {
        Some(t) => t,
        None => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::io::stdin(), explain::MAX_PASTE as u64),
                &mut bytes,
            )
            .context("reading the text to explain from standard input")?;
            explain::pasted_text(bytes)
        }
    };
    let explanation = explain::explain(kb, &text);
    let mut buf = Vec::new();
    match args.output.format() {
        Format::Text => {
            report::text::render_explanation(&explanation, &mut buf, &super::style(&args.output))?
        }
        Format::Json => report::json::render_explanation(&explanation, &mut buf)?,
        Format::Nagios | Format::Prometheus => {
            report::nagios::render_explanation(&explanation, &mut buf)?
        }
    }
    Ok(Outcome {
        output: buf,
        status: explanation.status,
    })
}
