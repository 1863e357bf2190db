//! `signins` end to end: the tests write exports the way Microsoft documents
//! them (tests/util/signins_gen.rs: the portal's CSV with its real header, the
//! portal's JSON download, Graph pages with nextLink), with made-up users and
//! documentation addresses, and run the binary on them: each section, each input
//! format, exit codes, malformed rows, --redact, and a 250,000-row export.

#[path = "util/signins_gen.rs"]
mod gen;
mod util;

use gen::Row;
use std::path::{Path, PathBuf};
use util::{bin, validated};

const NOW: &str = "2026-12-01";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write export");
    p
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        validated(&self.stdout, "signins.v1.json")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn signins(args: &[&str]) -> Run {
    let out = bin()
        .arg("signins")
        .args(args)
        .args(["--now", NOW])
        .output()
        .expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn item<'a>(list: &'a serde_json::Value, user: &str, app: &str) -> &'a serde_json::Value {
    list.as_array()
        .and_then(|a| {
            a.iter()
                .find(|i| i["user"] == user && i["client_app"] == app)
        })
        .unwrap_or_else(|| panic!("no item for {user} / {app} in {list}"))
}

#[test]
fn csv_export_with_microsofts_header_fills_every_section_and_is_critical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "InteractiveSignIns_2026-11-01_2026-12-01.csv",
        &gen::csv(&gen::office()),
    );
    let run = signins(&[p(&f), "--json", "--expected-country", "DE,at"]);
    assert_eq!(
        run.code,
        2,
        "an IMAP password sign-in succeeded: {}",
        run.text()
    );
    let v = run.json();
    assert_eq!(v["inputs"][0]["format"], "csv");
    assert_eq!(v["rows_read"], gen::office().len());
    assert_eq!(v["rows_outside_window"], 1);
    assert_eq!(v["rows_malformed"], 0);
    assert_eq!(v["expected_countries"], serde_json::json!(["DE", "AT"]));

    // 1. Legacy inventory, worst first, each with its dated verdict and fix.
    let legacy = &v["legacy"];
    let statuses: Vec<&str> = legacy
        .as_array()
        .expect("present")
        .iter()
        .map(|l| l["status"].as_str().expect("present"))
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort_by_key(|s| ["critical", "warning", "ok"].iter().position(|x| x == s));
    assert_eq!(statuses, sorted, "critical, then warning, then ok");
    let imap = item(legacy, "alice@contoso.com", "IMAP4");
    assert_eq!(imap["status"], "critical");
    assert_eq!(imap["verdict"]["fact"], "exo-basic-auth-imap-pop-retired");
    assert_eq!(imap["verdict"]["diagnosis"], "M365_IMAP_BASIC_AUTH_RETIRED");
    let smtp = item(legacy, "scanner@contoso.com", "Authenticated SMTP");
    assert_eq!(
        smtp["status"], "warning",
        "30 days before the default-off, within --warning-days 30"
    );
    assert_eq!(smtp["successes"], 12);
    assert_eq!(smtp["first_seen"], "2026-11-10T07:42:19Z");
    assert_eq!(smtp["last_seen"], "2026-11-21T07:42:19Z");
    assert_eq!(smtp["ips"], serde_json::json!(["203.0.113.45"]));
    assert_eq!(smtp["verdict"]["fact"], "exo-smtp-basic-auth-default-off");
    assert_eq!(smtp["verdict"]["date"], "2026-12-31");
    assert_eq!(smtp["verdict"]["days_left"], 30);
    assert!(smtp["verdict"]["fix"]
        .as_str()
        .expect("present")
        .contains("OAuth"));
    let printer = item(legacy, "printer@contoso.com", "Authenticated SMTP");
    assert_eq!(
        (printer["successes"].as_u64(), printer["failures"].as_u64()),
        (Some(0), Some(13))
    );
    assert_eq!(printer["status"], "ok", "nothing that works will break");
    assert_eq!(
        printer["user_agents"],
        serde_json::json!(["Printer-Firmware/2.1"])
    );
    assert_eq!(
        item(legacy, "carol@contoso.com", "Exchange ActiveSync")["status"],
        "critical"
    );
    assert!(legacy
        .as_array()
        .expect("present")
        .iter()
        .all(|l| l["client_app"] != "Browser"));
    assert!(
        legacy
            .as_array()
            .expect("present")
            .iter()
            .all(|l| l["user"] != "erin@contoso.com"),
        "outside --since"
    );

    // 2. Failures by code, with the catalogue's diagnosis.
    let failure = |code: u64| {
        v["failures"]
            .as_array()
            .expect("present")
            .iter()
            .find(|f| f["error_code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("no failure {code}"))
    };
    let bad = failure(50126);
    assert_eq!(bad["diagnosis"], "BAD_CREDENTIALS");
    assert_eq!(bad["name"], "InvalidUserNameOrPassword");
    assert_eq!(bad["count"], 12);
    assert_eq!(bad["legacy_count"], 11);
    assert_eq!(
        bad["users"],
        serde_json::json!(["printer@contoso.com", "alice@contoso.com"])
    );
    assert!(bad["microsoft_text"]
        .as_str()
        .expect("present")
        .starts_with("Error validating credentials"));
    assert_eq!(failure(50053)["diagnosis"], "ACCOUNT_LOCKED");
    assert_eq!(failure(53003)["diagnosis"], "M365_CONDITIONAL_ACCESS");
    assert_eq!(failure(530035)["diagnosis"], "M365_SECURITY_DEFAULTS");
    let unknown = failure(4_242_424);
    assert!(unknown["diagnosis"].is_null());
    assert!(unknown["title"]
        .as_str()
        .expect("present")
        .contains("login.microsoftonline.com/error?code=4242424"));

    // 3. Lockout risk: the printer, with its address, agent and app.
    let risk = v["lockout_risk"].as_array().expect("present");
    assert_eq!(risk.len(), 1, "{risk:?}");
    assert_eq!(risk[0]["user"], "printer@contoso.com");
    assert_eq!(risk[0]["ip"], "198.51.100.7");
    assert_eq!(risk[0]["user_agent"], "Printer-Firmware/2.1");
    assert_eq!(risk[0]["client_app"], "Authenticated SMTP");
    assert_eq!(risk[0]["bad_password_failures"], 11);
    assert_eq!(risk[0]["locked"], 2);
    assert_eq!(risk[0]["locked_after_failures"], true);
    assert_eq!(risk[0]["reaches_threshold"], true);
    assert_eq!(v["lockout"]["threshold"], 10);

    // 4. Unexpected places: successes first.
    let places = v["unexpected_locations"].as_array().expect("present");
    assert_eq!(places.len(), 2, "{places:?}");
    assert_eq!(
        (places[0]["ip"].as_str(), places[0]["successes"].as_u64()),
        (Some("192.0.2.9"), Some(1))
    );
    assert_eq!(places[0]["country"], "US");
    assert_eq!(
        (places[1]["ip"].as_str(), places[1]["failures"].as_u64()),
        (Some("2001:db8::1"), Some(1))
    );

    // 5. Legacy sign-ins no Conditional Access policy applied to.
    let nc = &v["not_covered_by_ca"];
    assert_eq!(
        item(nc, "scanner@contoso.com", "Authenticated SMTP")["successes"],
        12
    );
    assert_eq!(item(nc, "alice@contoso.com", "IMAP4")["sign_ins"], 1);
    assert!(
        nc.as_array()
            .expect("present")
            .iter()
            .all(|i| i["user"] != "carol@contoso.com"),
        "carol's EAS had a policy"
    );
    assert!(nc
        .as_array()
        .expect("present")
        .iter()
        .all(|i| i["client_app"] != "Browser"));
}

#[test]
fn text_report_shows_the_five_sections_and_the_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "s.csv", &gen::csv(&gen::office()));
    let run = signins(&[p(&f), "--expected-country", "DE"]);
    assert_eq!(run.code, 2);
    let t = run.text();
    for heading in [
        "\n1. Legacy sign-ins",
        "\n2. Failures explained",
        "\n3. Lockout risk",
        "\n4. Unexpected places, outside DE",
        "\n5. Legacy sign-ins that no Conditional Access",
    ] {
        assert!(t.contains(heading), "{heading} missing:\n{t}");
    }
    assert!(t.contains("CRITICAL alice@contoso.com, IMAP4"));
    assert!(t.contains("WARNING  scanner@contoso.com, Authenticated SMTP: 12 succeeded"));
    assert!(t.contains("smart lockout locks an account from sign-in after: 10 failed attempts"));
    assert!(t.ends_with("Status: CRITICAL\n"), "{t}");
    assert!(!t.contains('\u{1b}'), "NO_COLOR");
}

#[test]
fn non_interactive_csv_and_several_files_add_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = gen::office();
    let (a, b) = rows.split_at(10);
    let f1 = write(dir.path(), "InteractiveSignIns.csv", &gen::csv(a));
    let f2 = write(dir.path(), "NonInteractiveSignIns.csv", &gen::csv(b));
    let both = signins(&[p(&f1), p(&f2), "--json"]).json();
    let one = {
        let f = write(dir.path(), "all.csv", &gen::csv(&rows));
        signins(&[p(&f), "--json"]).json()
    };
    assert_eq!(both["inputs"].as_array().expect("present").len(), 2);
    assert_eq!(both["inputs"][0]["rows"], 10);
    for key in [
        "rows_read",
        "rows_analyzed",
        "legacy_rows",
        "legacy",
        "failures",
        "lockout_risk",
        "not_covered_by_ca",
    ] {
        assert_eq!(both[key], one[key], "{key}");
    }
}

#[test]
fn portal_json_graph_pages_json_lines_and_csv_give_the_same_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = gen::office();
    let csv = write(dir.path(), "s.csv", &gen::csv(&rows));
    let portal = write(
        dir.path(),
        "InteractiveSignIns.json",
        &gen::portal_json(&rows),
    );
    let lines = write(dir.path(), "s.jsonl", &gen::json_lines(&rows));
    let pages = gen::graph_pages(&rows, 7);
    assert!(pages.len() >= 3);
    let page_files: Vec<PathBuf> = pages
        .iter()
        .enumerate()
        .map(|(i, t)| write(dir.path(), &format!("page{i}.json"), t))
        .collect();
    let one_file = write(dir.path(), "pages.json", &pages.join("\n"));

    let base = signins(&[p(&csv), "--json", "--expected-country", "DE"]).json();
    let mut page_args: Vec<&str> = page_files.iter().map(|f| p(f)).collect();
    page_args.extend(["--json", "--expected-country", "DE"]);
    for (what, v, format) in [
        (
            "portal json",
            signins(&[p(&portal), "--json", "--expected-country", "DE"]).json(),
            "portal-json",
        ),
        (
            "json lines",
            signins(&[p(&lines), "--json", "--expected-country", "DE"]).json(),
            "json-lines",
        ),
        (
            "graph pages, one file each",
            signins(&page_args).json(),
            "graph-pages",
        ),
        (
            "graph pages in one file",
            signins(&[p(&one_file), "--json", "--expected-country", "DE"]).json(),
            "graph-pages",
        ),
    ] {
        assert_eq!(v["inputs"][0]["format"], format, "{what}");
        for key in [
            "rows_read",
            "rows_analyzed",
            "rows_outside_window",
            "legacy",
            "failures",
            "lockout_risk",
            "unexpected_locations",
            "not_covered_by_ca",
            "status",
        ] {
            assert_eq!(v[key], base[key], "{what}: {key}");
        }
        assert_eq!(
            v["notes"],
            serde_json::json!([]),
            "{what}: the last page is there"
        );
    }
    let paged = signins(&page_args).json();
    let total: u64 = paged["inputs"]
        .as_array()
        .expect("present")
        .iter()
        .map(|i| i["pages"].as_u64().expect("present"))
        .sum();
    assert_eq!(total as usize, pages.len());

    // Without the last page, every page read points to a next one: incomplete.
    let partial: Vec<&str> = page_files[..page_files.len() - 1]
        .iter()
        .map(|f| p(f))
        .chain(["--json"])
        .collect();
    let v = signins(&partial).json();
    assert!(
        v["notes"][0]
            .as_str()
            .expect("present")
            .contains("the last page is missing"),
        "{}",
        v["notes"]
    );
}

#[test]
fn standard_input_is_read_with_a_dash_and_detected_by_content() {
    for text in [
        gen::csv(&gen::office()),
        gen::portal_json(&gen::office()),
        gen::graph_pages(&gen::office(), 5).join("\n"),
    ] {
        let out = bin()
            .args(["signins", "-", "--json", "--now", NOW])
            .write_stdin(text)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        let v = validated(&out.stdout, "signins.v1.json");
        assert_eq!(v["inputs"][0]["name"], "-");
        assert_eq!(v["rows_read"], gen::office().len());
    }
}

#[test]
fn exit_codes_follow_the_dates_the_windows_and_lockout_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp_ok = |t: &str| {
        Row::new(
            t,
            "scanner@contoso.com",
            "Authenticated SMTP",
            "203.0.113.45",
            "DE",
            0,
        )
    };
    let f = write(
        dir.path(),
        "smtp.csv",
        &gen::csv(&[smtp_ok("2026-11-30T07:00:00Z")]),
    );
    let code = |args: &[&str], now: &str| {
        bin()
            .arg("signins")
            .args(args)
            .args(["--now", now])
            .output()
            .expect("runs")
            .status
            .code()
    };
    // 30 days before the end-of-December default-off: warning (--warning-days 30) ...
    assert_eq!(code(&[p(&f)], NOW), Some(1));
    // ... critical within --critical-days ...
    assert_eq!(code(&[p(&f), "--critical-days", "30"], NOW), Some(2));
    // ... clean when the date is further off than --warning-days ...
    assert_eq!(code(&[p(&f), "--warning-days", "10"], NOW), Some(0));
    // ... and critical once it is past (an admin turned it back on).
    let later = write(
        dir.path(),
        "smtp-2027.csv",
        &gen::csv(&[smtp_ok("2027-01-10T07:00:00Z")]),
    );
    assert_eq!(code(&[p(&later)], "2027-01-15"), Some(2));
    // A success older than --since does not count.
    assert_eq!(code(&[p(&f), "--since", "12h"], NOW), Some(0));
    assert_eq!(code(&[p(&f), "--since", "2026-11-30"], NOW), Some(1));
    // Failures only: nothing working will break.
    let failing = write(
        dir.path(),
        "fail.csv",
        &gen::csv(&[Row::new(
            "2026-11-30T07:00:00Z",
            "x@contoso.com",
            "Authenticated SMTP",
            "192.0.2.1",
            "DE",
            50126,
        )]),
    );
    assert_eq!(code(&[p(&failing)], NOW), Some(0));
    // A lockout risk alone is a warning.
    let rows: Vec<Row> = (0..6)
        .map(|m| {
            Row::new(
                &format!("2026-11-30T07:0{m}:00Z"),
                "x@contoso.com",
                "IMAP4",
                "192.0.2.1",
                "DE",
                50126,
            )
        })
        .collect();
    let lock = write(dir.path(), "lock.csv", &gen::csv(&rows));
    assert_eq!(code(&[p(&lock)], NOW), Some(1));
    // Modern sign-ins only: clean.
    let modern = write(
        dir.path(),
        "modern.csv",
        &gen::csv(&[Row::new(
            "2026-11-30T07:00:00Z",
            "x@contoso.com",
            "Browser",
            "192.0.2.1",
            "DE",
            0,
        )]),
    );
    assert_eq!(code(&[p(&modern)], NOW), Some(0));
}

#[test]
fn unreadable_inputs_and_bad_flags_are_unknown_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.csv", "");
    let other = write(dir.path(), "other.csv", "Name,Email\nx,y\n");
    let sp = write(dir.path(), "ApplicationSignIns.csv", "Date (UTC),Request ID,Correlation ID,Service principal ID,Service principal name,Status,Sign-in error code\n2026-11-30T07:00:00Z,1,2,3,app,Success,0\n");
    let utf16 = dir.path().join("utf16.csv");
    std::fs::write(&utf16, [0xFF, 0xFE, b'D', 0, b'a', 0]).expect("write");
    let missing = dir.path().join("missing.csv");
    for (args, says) in [
        (vec![p(&missing)], "missing.csv"),
        (vec![p(&empty)], "empty"),
        (vec![p(&other)], "not an Entra sign-in log export"),
        (vec![p(&sp)], "service-principal"),
        // Read as UTF-16 (`Da`), then found to be no sign-in log.
        (vec![p(&utf16)], "not an Entra sign-in log export"),
        (vec!["-", "-"], "only once"),
        (
            vec![p(&empty), "--expected-country", "Germany"],
            "two-letter",
        ),
        (vec![p(&empty), "--since", "soon"], "not a window"),
    ] {
        let run = signins(&args);
        assert_eq!(run.code, 3, "{args:?}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn malformed_rows_are_counted_with_their_line_and_never_stop_the_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = Row::new(
        "2026-11-30T07:00:00Z",
        "scanner@contoso.com",
        "Authenticated SMTP",
        "203.0.113.45",
        "DE",
        0,
    );
    // CSV: line 1 header, 2 good, 3 bad date, 4 bad code, 5 too short, 6 good.
    let mut csv = String::from(gen::CSV_HEADER);
    csv.push('\n');
    csv.push_str(&gen::csv_line(&good, 0));
    csv.push('\n');
    csv.push_str(
        &gen::csv_line(
            &Row {
                time: "yesterday".into(),
                ..good.clone()
            },
            1,
        )
        .replace("\r\n", ""),
    );
    csv.push('\n');
    csv.push_str(&gen::csv_line(&good, 2).replacen(",Success,0,", ",Failure,fifty,", 1));
    csv.push_str("\n2026-11-30T07:00:00Z,x\n");
    csv.push_str(&gen::csv_line(&good, 3));
    csv.push('\n');
    let f = write(dir.path(), "bad.csv", &csv);
    let v = signins(&[p(&f), "--json"]).json();
    assert_eq!(v["rows_read"], 5);
    assert_eq!(v["rows_malformed"], 3);
    assert_eq!(v["rows_analyzed"], 2);
    let lines: Vec<u64> = v["malformed"]
        .as_array()
        .expect("present")
        .iter()
        .map(|m| m["line"].as_u64().expect("present"))
        .collect();
    assert_eq!(lines, [3, 4, 5]);
    assert_eq!(
        item(&v["legacy"], "scanner@contoso.com", "Authenticated SMTP")["successes"],
        2
    );

    // JSON: a broken record, a record of the wrong shape, then the file is cut off.
    let a = gen::graph_object(&good, 0).to_string();
    let json = format!(
        "[\n{a},\n{{\"createdDateTime\": \"2026-11-30T07:00:00Z\", \"status\": {{\"errorCode\": 0,}}}},\n{{\"createdDateTime\": 5}},\n{a},\n{a}\n]\n"
    );
    let f = write(dir.path(), "bad.json", &json);
    let v = signins(&[p(&f), "--json"]).json();
    assert_eq!(
        (v["rows_read"].as_u64(), v["rows_malformed"].as_u64()),
        (Some(5), Some(2))
    );
    let reasons: Vec<(u64, &str)> = v["malformed"]
        .as_array()
        .expect("present")
        .iter()
        .map(|m| {
            (
                m["line"].as_u64().expect("present"),
                m["reason"].as_str().expect("present"),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (3, "the record is not valid JSON"),
            (4, "a field of the record has the wrong type")
        ]
    );

    let cut = format!("[\n{a},\n{}", &a[..a.len() / 2]);
    let f = write(dir.path(), "cut.json", &cut);
    let run = signins(&[p(&f), "--json"]);
    // One of the two rows could not be read: more than a small share, so the
    // result is UNKNOWN, and the SMTP success read before the cut is still listed.
    assert_eq!(run.code, 3);
    let v = run.json();
    assert_eq!(
        item(&v["legacy"], "scanner@contoso.com", "Authenticated SMTP")["successes"],
        1
    );
    assert!(v["notes"][0]
        .as_str()
        .is_some_and(|n| n.contains("1 of the 2 rows read could not be read")));
    assert_eq!(
        (v["rows_analyzed"].as_u64(), v["rows_malformed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["malformed"][0]["line"], 3);
    assert!(String::from_utf8_lossy(&signins(&[p(&f)]).stdout)
        .contains("cut.json line 3: the input ends inside this record"));
}

#[test]
fn redact_leaves_no_user_name_or_ip_address_in_any_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = gen::office();
    let f = write(dir.path(), "s.csv", &gen::csv(&rows));
    let mut secrets: Vec<String> = Vec::new();
    for r in &rows {
        secrets.push(r.upn.clone());
        secrets.push(r.display.clone());
        secrets.push(r.ip.clone());
    }
    secrets.sort();
    secrets.dedup();
    let mut keys = Vec::new();
    let mut pseudonym_of_scanner = None;
    for format in ["text", "json", "csv"] {
        let run = signins(&[
            p(&f),
            "--redact",
            "--format",
            format,
            "--expected-country",
            "DE",
        ]);
        assert_eq!(run.code, 2);
        let out = String::from_utf8_lossy(&run.stdout).to_lowercase();
        let err = String::from_utf8_lossy(&run.stderr).to_lowercase();
        for s in &secrets {
            assert!(
                !out.contains(&s.to_lowercase()),
                "{format}: `{s}` in the output:\n{out}"
            );
            assert!(
                !err.contains(&s.to_lowercase()),
                "{format}: `{s}` on stderr"
            );
        }
        let key_lines: Vec<&str> = err.lines().filter(|l| l.contains("--redact key")).collect();
        assert_eq!(key_lines.len(), 1, "the key is printed once: {err}");
        keys.push(
            key_lines[0]
                .rsplit(' ')
                .next()
                .expect("present")
                .to_string(),
        );
        if format == "json" {
            let v = run.json();
            assert_eq!(v["redacted"], true);
            let smtp = v["legacy"]
                .as_array()
                .expect("present")
                .iter()
                .find(|l| l["client_app"] == "Authenticated SMTP" && l["successes"] == 12)
                .expect("present");
            let user = smtp["user"].as_str().expect("present").to_string();
            assert!(user.starts_with("user-"), "{user}");
            assert!(smtp["ips"][0].as_str().expect("present").starts_with("ip-"));
            // Stable within the run: the same pseudonym in section 5.
            assert!(v["not_covered_by_ca"]
                .as_array()
                .expect("present")
                .iter()
                .any(|i| i["user"] == user.as_str()));
            pseudonym_of_scanner = Some(user);
        }
    }
    assert!(pseudonym_of_scanner.is_some());
    assert_eq!(keys[0].len(), 32);
    assert_ne!(keys[0], keys[1], "a fresh key each run");
}

#[test]
fn csv_output_has_one_row_per_finding_and_no_formulas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = gen::office();
    rows.push(
        Row::new(
            "2026-11-29T07:00:00Z",
            "mallory@contoso.com",
            "POP3",
            "192.0.2.66",
            "DE",
            0,
        )
        .agent("=HYPERLINK(\"http://x.invalid\")"),
    );
    let f = write(dir.path(), "s.csv", &gen::csv(&rows));
    let run = signins(&[p(&f), "--format", "csv", "--expected-country", "DE"]);
    let json = signins(&[p(&f), "--json", "--expected-country", "DE"]).json();
    let mut rd = csv::Reader::from_reader(&run.stdout[..]);
    let header = rd.headers().expect("header").clone();
    assert_eq!(&header[0], "section");
    let records: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("record")).collect();
    for (section, key) in [
        ("legacy", "legacy"),
        ("failures", "failures"),
        ("lockout_risk", "lockout_risk"),
        ("unexpected_locations", "unexpected_locations"),
        ("not_covered_by_ca", "not_covered_by_ca"),
    ] {
        let n = records.iter().filter(|r| &r[0] == section).count();
        assert_eq!(n, json[key].as_array().expect("present").len(), "{section}");
        assert!(n > 0, "{section}");
    }
    let ua = header
        .iter()
        .position(|h| h == "user_agent")
        .expect("present");
    let evil = records
        .iter()
        .find(|r| r[ua].contains("HYPERLINK"))
        .expect("the agent is listed");
    assert!(evil[ua].starts_with('\''), "{:?}", &evil[ua]);
}

#[test]
fn header_names_are_matched_whatever_their_order_and_spacing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = "  Client app , Username,Date  (UTC) ,Status,Sign-in error code,IP address,Location,Conditional Access\n\
               Authenticated SMTP,scanner@contoso.com,2026-11-30T07:00:00Z,Success,None,203.0.113.45,\"Hamburg, Hamburg, DE\",Not Applied\n";
    let f = write(dir.path(), "reordered.csv", csv);
    let v = signins(&[p(&f), "--json"]).json();
    let smtp = item(&v["legacy"], "scanner@contoso.com", "Authenticated SMTP");
    assert_eq!(smtp["successes"], 1);
    assert_eq!(smtp["ca_not_applied"], 1);
}

#[test]
fn a_250000_row_export_is_read_in_bounded_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.csv");
    {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(w, "{}", gen::CSV_HEADER).expect("write");
        for (i, r) in gen::large_month(250_000).enumerate() {
            writeln!(w, "{}", gen::csv_line(&r, i)).expect("write");
        }
        // One device with many addresses, beyond the listed cap.
        for i in 0..40 {
            let r = Row::new(
                "2026-11-30T07:00:00Z",
                "roamer@contoso.com",
                "IMAP4",
                &format!("203.0.113.{i}"),
                "DE",
                0,
            );
            writeln!(w, "{}", gen::csv_line(&r, i)).expect("write");
        }
    }
    let run = signins(&[p(&path), "--json", "--expected-country", "DE,AT"]);
    assert_eq!(run.code, 2);
    let v = run.json();
    assert_eq!(v["rows_read"], 250_040);
    assert_eq!(v["rows_malformed"], 0);
    let rows_in_window = v["rows_analyzed"].as_u64().expect("present")
        + v["rows_outside_window"].as_u64().expect("present");
    assert_eq!(rows_in_window, 250_040, "every row is accounted for");
    let roamer = item(&v["legacy"], "roamer@contoso.com", "IMAP4");
    assert_eq!(roamer["ips"].as_array().expect("present").len(), 10);
    assert_eq!(roamer["ips_omitted"], 30);
    let legacy_total: u64 = v["legacy"]
        .as_array()
        .expect("present")
        .iter()
        .map(|l| {
            l["successes"].as_u64().expect("present") + l["failures"].as_u64().expect("present")
        })
        .sum();
    assert_eq!(
        legacy_total + v["omitted"]["legacy_rows"].as_u64().expect("present"),
        v["legacy_rows"].as_u64().expect("present")
    );
    for f in v["failures"].as_array().expect("present") {
        assert!(f["users"].as_array().expect("present").len() <= 20);
    }
}
