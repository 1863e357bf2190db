//! `signins` on hostile exports, end to end with the binary: files generated in
//! a temporary directory at test time (never committed). A stray quote in a
//! 1,000,000-row export costs one row; many malformed rows make the result
//! UNKNOWN; a 400 MB quoted field is read in bounded memory (peak resident
//! memory measured in the spawned process); UTF-16 exports are read; control,
//! bidirectional and invisible characters never reach the output raw; `--redact`
//! takes every address RFC 5322 allows.

#[path = "util/signins_gen.rs"]
mod gen;
#[path = "util/peak.rs"]
mod peak;
mod util;

use gen::Row;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use util::validated;

const NOW: &str = "2026-12-01";

/// A short export: the columns the reader needs, in the portal's names.
const SHORT_HEADER: &str = "Date (UTC),Username,Client app,IP address,Status,Sign-in error code";

fn short_row(i: usize) -> String {
    format!(
        "2026-11-30T07:{:02}:00Z,user{}@contoso.com,Authenticated SMTP,203.0.113.{},Success,0\n",
        i % 60,
        i % 50,
        i % 200
    )
}

fn signins(args: &[&str]) -> peak::Measured {
    let mut cmd = peak::command();
    cmd.arg("signins").args(args).args(["--now", NOW]);
    let m = peak::run(cmd, b"", Duration::from_secs(120));
    assert_ne!(m.code, Some(101), "panicked");
    m
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write export");
    p
}

#[test]
fn a_stray_quote_in_a_million_rows_costs_one_row_and_reading_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("million.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    writeln!(f, "{SHORT_HEADER}").expect("write");
    for i in 0..1_000_000 {
        if i == 0 {
            // Row 2 (line 2) opens a quote that nothing closes.
            f.write_all(b"\"").expect("write");
        }
        f.write_all(short_row(i).as_bytes()).expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    let m = signins(&[p(&path), "--json"]);
    let v = validated(&m.stdout, "signins.v1.json");
    assert_eq!(v["rows_read"], 1_000_000, "{}", v["inputs"]);
    assert_eq!(v["rows_malformed"], 1);
    assert_eq!(v["malformed"][0]["line"], 2);
    assert!(v["malformed"][0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("resumed at the next line")));
    // One row in a million is no reason to doubt the rest: the verdict is the
    // one the rows give (a warning here), as it would be without the quote.
    assert_eq!(v["status"], "warning");
    assert_eq!(m.code, Some(1));
    assert!(m.peak_mib < 200, "peak {} MiB", m.peak_mib);
}

#[test]
fn many_malformed_rows_make_the_result_unknown_and_say_how_many() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = format!("{SHORT_HEADER}\n");
    for i in 0..1000 {
        if i % 20 == 0 {
            // 50 rows of 1,000 (5%) whose quote is never closed before the end.
            text.push('"');
        }
        text.push_str(&short_row(i));
    }
    // The last row's quote runs to the end of the input.
    let path = write(dir.path(), "broken.csv", text.as_bytes());
    let m = signins(&[p(&path), "--json"]);
    assert_eq!(m.code, Some(3));
    let v = validated(&m.stdout, "signins.v1.json");
    assert_eq!(v["status"], "unknown");
    assert_eq!(
        (v["rows_read"].as_u64(), v["rows_malformed"].as_u64()),
        (Some(1000), Some(50))
    );
    let note = v["notes"][0].as_str().unwrap_or_default();
    assert!(
        note.contains("50 of the 1000 rows read could not be read"),
        "{note}"
    );
    let text = signins(&[p(&path)]);
    assert_eq!(text.code, Some(3));
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("Status: UNKNOWN"), "{out}");
    assert!(out.contains("more than 1%"), "{out}");

    // A quote every row of which is closed in the next: every other row lost.
    let mut text = format!("{SHORT_HEADER}\n");
    for i in 0..100 {
        text.push_str(&format!("\"{}", short_row(i)));
    }
    let path = write(dir.path(), "quotes.csv", text.as_bytes());
    let m = signins(&[p(&path), "--json"]);
    assert_eq!(m.code, Some(3), "{}", String::from_utf8_lossy(&m.stdout));
}

#[test]
fn a_400_mb_quoted_field_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge-field.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    writeln!(f, "{SHORT_HEADER}").expect("write");
    f.write_all(short_row(0).as_bytes()).expect("write");
    f.write_all(b"2026-11-30T07:00:00Z,\"").expect("write");
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..400 {
        f.write_all(&chunk).expect("write");
    }
    f.write_all(b"\",Authenticated SMTP,203.0.113.9,Success,0\n")
        .expect("write");
    for i in 1..100 {
        f.write_all(short_row(i).as_bytes()).expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    let m = signins(&[p(&path), "--json"]);
    let v = validated(&m.stdout, "signins.v1.json");
    assert_eq!(
        (v["rows_read"].as_u64(), v["rows_malformed"].as_u64()),
        (Some(101), Some(1))
    );
    assert_eq!(v["malformed"][0]["line"], 3);
    // It once took 519 MB; the reader keeps 32 KiB of a row, whatever its size.
    assert!(m.peak_mib > 0, "VmHWM was read");
    assert!(m.peak_mib < 64, "peak {} MiB", m.peak_mib);
}

fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom
        .then_some(0xFEFF_u16)
        .into_iter()
        .chain(text.encode_utf16());
    for u in units {
        out.extend_from_slice(&if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

#[test]
fn utf16_exports_in_either_byte_order_read_as_the_utf8_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = vec![
        Row::new(
            "2026-11-30T07:00:00Z",
            "jörg@contoso.com",
            "Authenticated SMTP",
            "203.0.113.45",
            "DE",
            0,
        ),
        Row::new(
            "2026-11-30T08:00:00Z",
            "scanner@contoso.com",
            "IMAP4",
            "203.0.113.46",
            "DE",
            50126,
        ),
    ];
    let text = gen::csv(&rows);
    let text = text.trim_start_matches('\u{feff}');
    let utf8 = write(dir.path(), "utf8.csv", text.as_bytes());
    let want = validated(&signins(&[p(&utf8), "--json"]).stdout, "signins.v1.json");
    assert_eq!(want["rows_read"], 2);
    assert_eq!(want["rows_malformed"], 0);
    for (name, little, bom) in [
        ("le-bom.csv", true, true),
        ("le.csv", true, false),
        ("be-bom.csv", false, true),
        ("be.csv", false, false),
    ] {
        let f = write(dir.path(), name, &utf16(text, little, bom));
        let m = signins(&[p(&f), "--json"]);
        let got = validated(&m.stdout, "signins.v1.json");
        for key in [
            "rows_read",
            "rows_malformed",
            "legacy",
            "failures",
            "status",
        ] {
            assert_eq!(got[key], want[key], "{name}: {key}");
        }
        assert_eq!(got["legacy"][0]["user"], "jörg@contoso.com", "{name}");
    }
}

#[test]
fn control_bidi_and_invisible_characters_never_reach_the_output_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nasty = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{0}\u{9b}31m\u{202e}\u{2066}\u{2069}\u{200b}";
    let rows = vec![
        Row::new(
            "2026-11-30T07:00:00Z",
            &format!("evil{nasty}@contoso.com"),
            &format!("Authenticated SMTP{nasty}"),
            "203.0.113.45",
            "DE",
            50126,
        )
        .agent(&format!("agent{nasty}")),
        Row::new(
            "2026-11-30T07:01:00Z",
            &format!("evil{nasty}@contoso.com"),
            &format!("Authenticated SMTP{nasty}"),
            "203.0.113.45",
            "DE",
            50126,
        ),
        Row::new(
            "2026-11-30T07:02:00Z",
            &format!("evil{nasty}@contoso.com"),
            &format!("Authenticated SMTP{nasty}"),
            "203.0.113.45",
            "DE",
            50126,
        ),
    ];
    let name = format!("export{nasty}.csv").replace('\u{0}', "");
    let f = write(dir.path(), &name, gen::csv(&rows).as_bytes());
    for format in [&[][..], &["--json"][..], &["--format", "csv"][..]] {
        let mut args = vec![p(&f)];
        args.extend_from_slice(format);
        let m = signins(&args);
        assert!(m.code.is_some_and(|c| c <= 3), "{format:?}");
        assert!(
            util::raw_controls(&m.stdout, false).is_empty(),
            "{format:?}: {}",
            String::from_utf8_lossy(&m.stdout)
        );
        assert!(
            util::raw_controls(&m.stderr, false).is_empty(),
            "{format:?}"
        );
        assert!(
            String::from_utf8_lossy(&m.stdout).contains("evil"),
            "{format:?}"
        );
    }
    // Header names and file names in errors.
    let other = write(
        dir.path(),
        &format!("other{nasty}.csv").replace('\u{0}', ""),
        format!("Name{nasty},Email\nx,y\n").as_bytes(),
    );
    let m = signins(&[p(&other)]);
    assert_eq!(m.code, Some(3));
    let err = String::from_utf8_lossy(&m.stderr);
    assert!(err.contains("not an Entra sign-in log export"), "{err}");
    assert!(err.contains("\\x1b") && err.contains("\\u{202e}"), "{err}");
    assert!(util::raw_controls(&m.stderr, false).is_empty(), "{err}");
    let missing = dir
        .path()
        .join(format!("missing{nasty}.csv").replace('\u{0}', ""));
    let m = signins(&[p(&missing)]);
    assert_eq!(m.code, Some(3));
    assert!(
        util::raw_controls(&m.stderr, false).is_empty(),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
}

#[test]
fn redact_takes_every_local_part_rfc_5322_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = Vec::new();
    for (i, upn) in [
        "first~last@contoso.com",
        "ops!printer@contoso.com",
        "a#b$c%d&e'f*g+h/i=j?k^l_m`n{o|p}q@contoso.com",
    ]
    .iter()
    .enumerate()
    {
        for k in 0..3 {
            rows.push(
                Row::new(
                    &format!("2026-11-30T07:0{i}:0{k}Z"),
                    upn,
                    "Authenticated SMTP",
                    "203.0.113.45",
                    "DE",
                    50126,
                )
                .agent(&format!("scan-to-mail for {upn} via relay")),
            );
        }
    }
    let mut csv = gen::csv(&rows);
    csv = csv.replace(
        "Invalid username or password",
        "Invalid password for first~last@contoso.com and ops!printer@contoso.com",
    );
    let f = write(dir.path(), "upn.csv", csv.as_bytes());
    for format in [&["--json"][..], &[][..], &["--format", "csv"][..]] {
        let mut args = vec![p(&f), "--redact"];
        args.extend_from_slice(format);
        let m = signins(&args);
        let out = String::from_utf8_lossy(&m.stdout);
        for piece in [
            "first~",
            "~last",
            "ops!",
            "printer",
            "contoso.com",
            "o|p}q",
            "a#b",
        ] {
            assert!(!out.contains(piece), "{format:?}: {piece} in {out}");
        }
        assert!(out.contains("user-"), "{format:?}");
    }
}
