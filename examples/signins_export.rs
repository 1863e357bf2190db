//! Writes a made-up Entra sign-in log export of N rows to stdout, for the
//! benchmark (scripts/bench/signins.sh): `cargo run --release --example
//! signins_export -- 250000 csv > export.csv` (also `json` for the portal's JSON
//! download; `0 sample` writes the small office export the README shows). The rows
//! come from the same generator the tests use.

#![allow(clippy::disallowed_macros)] // a generator's output is stdout

#[path = "../tests/util/signins_gen.rs"]
mod signins_gen;

use std::io::Write as _;

/// `sample`: the small office export of the tests (and the README), as CSV.
fn args_sample(format: &str) -> bool {
    format == "sample"
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(250_000);
    let format = args.next().unwrap_or_else(|| "csv".into());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = (|| -> std::io::Result<()> {
        if args_sample(&format) {
            out.write_all(signins_gen::csv(&signins_gen::office()).as_bytes())?;
            return out.flush();
        }
        match format.as_str() {
            "json" => {
                out.write_all(b"[\n")?;
                for (i, row) in signins_gen::large_month(n).enumerate() {
                    if i > 0 {
                        out.write_all(b",\n")?;
                    }
                    let v = signins_gen::graph_object(&row, i);
                    serde_json::to_writer(&mut out, &v)?;
                }
                out.write_all(b"\n]\n")?;
            }
            _ => {
                out.write_all("\u{feff}".as_bytes())?;
                out.write_all(signins_gen::CSV_HEADER.as_bytes())?;
                out.write_all(b"\r\n")?;
                for (i, row) in signins_gen::large_month(n).enumerate() {
                    out.write_all(signins_gen::csv_line(&row, i).as_bytes())?;
                    out.write_all(b"\r\n")?;
                }
            }
        }
        out.flush()
    })();
    if let Err(e) = result {
        eprintln!("signins_export: {e}");
        std::process::exit(1);
    }
}
