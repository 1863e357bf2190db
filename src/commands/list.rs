//! `list`: the checks, in order, and every diagnosis code of the catalogue.

use super::Outcome;
use crate::checks::CHECKS;
use crate::cli::{Format, ListArgs};
use crate::knowledge::Knowledge;
use crate::report::{self, model::CheckInfo};
use crate::vocab::OverallStatus;

pub fn run(kb: &'static Knowledge, args: ListArgs) -> anyhow::Result<Outcome> {
    let checks: Vec<CheckInfo> = CHECKS
        .iter()
        .map(|c| CheckInfo {
            id: c.id(),
            needs: c.needs(),
            description: c.describe(),
        })
        .collect();
    let mut buf = Vec::new();
    match args.output.format() {
        Format::Json => report::json::render_list(kb, &checks, &mut buf)?,
        _ => report::text::render_list(kb, &checks, &mut buf, &super::style(&args.output))?,
    }
    Ok(Outcome {
        output: buf,
        status: OverallStatus::Ok,
    })
}
