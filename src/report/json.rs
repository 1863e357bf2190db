//! JSON renderer: the report struct, serialized. Its shape is documented by
//! `schema/report.v1.json` and validated against it in the tests.

use crate::knowledge::Knowledge;
use crate::report::model::{CheckInfo, Explanation, Report, Tool, SCHEMA_VERSION};
use std::io::{self, Write};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

pub fn render_explanation(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, e)?;
    out.write_all(b"\n")
}

pub fn render_list(kb: &Knowledge, checks: &[CheckInfo], out: &mut dyn Write) -> io::Result<()> {
    let codes: Vec<_> = kb
        .diagnoses
        .iter()
        .map(|d| {
            serde_json::json!({
                "code": d.code,
                "severity": d.severity,
                "actor": d.actor,
                "title": d.title,
            })
        })
        .collect();
    let v = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "tool": Tool::current(),
        "checks": checks,
        "diagnoses": codes,
    });
    serde_json::to_writer_pretty(&mut *out, &v)?;
    out.write_all(b"\n")
}
