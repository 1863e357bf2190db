//! The renderers of the `signins` report: text for people, JSON (the schema is
//! the report struct) and CSV (one row per finding, for a spreadsheet). Each
//! only writes what the report holds, to the writer it is given.

pub mod csv;
pub mod metrics;
pub mod text;

use super::model::SigninReport;
use std::io::Write;

pub fn json(report: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(250_000), "250,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
