//! `batch` over many mailboxes against the replay server: one report per mailbox,
//! the concurrency and per-domain limits counted at the server, one authentication
//! attempt per mailbox, no leak, and secret files that others can read refused.

mod util;

use mailbox_doctor::sim::pki::Pki;
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::io::Write;
use std::time::Duration;
use util::{assert_no_leak, bin, validated};

const CANARY: &str = "Batch-Canary-9931";

struct Env {
    _rt: tokio::runtime::Runtime,
    server: ReplayServer,
    dns: mailbox_doctor::sim::dns::DnsServer,
    ca: tempfile::NamedTempFile,
}

fn env() -> Env {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let sc = Scenario::named("exo-smtp-ok").expect("fixture");
    let cfg = pki.server_config(sc.cert, &["127.0.0.1"]).expect("cert");
    // A small delay per reply so that connections overlap and limits show.
    let server = rt
        .block_on(ReplayServer::start(sc, cfg, Duration::from_millis(15)))
        .expect("server");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let dns = util::local_dns(&rt);
    Env {
        _rt: rt,
        server,
        dns,
        ca,
    }
}

fn csv(env: &Env, n: usize, domains: usize) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    writeln!(f, "email,smtp,password_env").expect("write");
    for i in 0..n {
        writeln!(
            f,
            "user{i}@d{}.test,smtp://127.0.0.1:{},MD_BATCH_PW",
            i % domains,
            env.server.addr().port()
        )
        .expect("write");
    }
    f
}

fn batch(env: &Env, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("batch")
        .arg(file)
        .args(["--only", "smtp", "--json", "--timeout", "5", "--ca-file"])
        .arg(env.ca.path())
        .arg("--dns-server")
        .arg(env.dns.addr().to_string())
        .args(extra)
        .env("MD_BATCH_PW", CANARY)
        .output()
        .expect("runs")
}

#[test]
fn two_hundred_mailboxes_give_two_hundred_reports_within_the_concurrency_limit() {
    let env = env();
    let file = csv(&env, 200, 25);
    let out = batch(
        &env,
        file.path(),
        &["--concurrency", "8", "--per-domain", "2"],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 200);
    let mut users = std::collections::BTreeSet::new();
    for l in &lines {
        let v = validated(l.as_bytes(), "report.v1.json");
        assert_eq!(v["status"], "warning", "{v}");
        assert_eq!(v["diagnosis"][0]["code"], "M365_SMTP_BASIC_AUTH_SUNSET");
        users.insert(v["target"]["user"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(users.len(), 200, "one report per mailbox");
    assert_eq!(out.status.code(), Some(1), "the worst status is WARNING");
    let stats = env.server.stats();
    assert_eq!(stats.auth_attempts, 200, "one attempt per mailbox");
    assert_eq!(stats.connections, 200);
    assert!(stats.max_active <= 8, "{} at once", stats.max_active);
    assert!(
        stats.max_active > 2,
        "concurrency was used: {}",
        stats.max_active
    );
    assert_no_leak("user1@d1.test", CANARY, &[&out.stdout, &out.stderr]);
}

#[test]
fn a_concurrency_beyond_the_open_file_limit_is_lowered_and_said() {
    // Under a hard limit of 256 open files, 500 mailboxes at once (16 sockets
    // each) cannot fit: the run says so, checks fewer at once, and still gives
    // every report with one login each.
    let env = env();
    let file = csv(&env, 40, 40);
    let exe = env!("CARGO_BIN_EXE_mailbox-doctor");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 256 && ulimit -Hn 256 && exec \"$@\"")
        .arg("sh")
        .arg(exe)
        .arg("batch")
        .arg(file.path())
        .args(["--only", "smtp", "--json", "--timeout", "5", "--ca-file"])
        .arg(env.ca.path())
        .arg("--dns-server")
        .arg(env.dns.addr().to_string())
        .args(["--concurrency", "500", "--per-domain", "500"])
        .env("MD_BATCH_PW", CANARY)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--concurrency 500 needs about 8064 open files")
            && err.contains("may open 256 (ulimit -n)")
            && err.contains("checking 12 mailboxes at once instead"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.lines().count(), 40);
    for l in text.lines() {
        let v = validated(l.as_bytes(), "report.v1.json");
        assert_eq!(v["status"], "warning", "{v}");
    }
    let stats = env.server.stats();
    assert_eq!(stats.auth_attempts, 40, "one attempt per mailbox");
    assert!(stats.max_active <= 12, "{} at once", stats.max_active);
    assert_no_leak("user1@d1.test", CANARY, &[&out.stdout, &out.stderr]);
}

#[test]
fn one_domain_is_not_hammered() {
    let env = env();
    let file = csv(&env, 30, 1);
    let out = batch(
        &env,
        file.path(),
        &["--concurrency", "30", "--per-domain", "3"],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 30);
    let stats = env.server.stats();
    assert!(
        stats.max_active <= 3,
        "{} at once for one domain",
        stats.max_active
    );
    assert_eq!(stats.auth_attempts, 30);
}

#[cfg(unix)] // file modes; Windows reads access lists (secret::input tests)
#[test]
fn secret_files_others_can_read_and_secrets_in_the_file_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = env();
    let pw = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(pw.path(), format!("{CANARY}\n")).expect("write");
    std::fs::set_permissions(pw.path(), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    writeln!(
        f,
        "email,password_file\nalice@contoso.com,{}",
        pw.path().display()
    )
    .expect("write");
    let out = batch(&env, f.path(), &[]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readable by group or others") && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(
        env.server.stats().connections,
        0,
        "nothing is sent before the file is fixed"
    );

    std::fs::set_permissions(pw.path(), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    writeln!(
        f,
        "email,smtp,password_file\nalice@contoso.com,smtp://127.0.0.1:{},{}",
        env.server.addr().port(),
        pw.path().display()
    )
    .expect("write");
    let out = batch(&env, f.path(), &[]);
    let v = validated(&out.stdout, "report.v1.json");
    let smtp = v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "smtp"))
        .cloned();
    assert_eq!(
        smtp.map(|c| c["status"].clone()),
        Some(serde_json::json!("warn")),
        "{v}"
    );
    assert_no_leak("alice@contoso.com", CANARY, &[&out.stdout, &out.stderr]);

    let mut f = tempfile::NamedTempFile::new().expect("temp");
    writeln!(f, "email,password\nalice@contoso.com,{CANARY}").expect("write");
    let out = batch(&env, f.path(), &[]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must never hold passwords"), "{err}");
    assert_no_leak("alice@contoso.com", CANARY, &[&out.stdout, &out.stderr]);
}

/// A batch file or password_file that is a device or a FIFO is refused at once;
/// an empty secret and an address with a line break (which would forge a line in
/// the Nagios output) are refused; nothing is sent.
#[cfg(unix)] // /dev/zero, FIFOs and file modes are Unix
#[test]
fn bad_files_empty_secrets_and_addresses_with_line_breaks_are_refused_before_anything_is_sent() {
    let env = env();
    let out = batch(&env, std::path::Path::new("/dev/zero"), &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    let dir = tempfile::tempdir().expect("temp");
    let fifo = dir.path().join("pw.fifo");
    let port = env.server.addr().port();
    let mut cases = vec![
        format!("email,smtp,password_env\nalice@contoso.com,smtp://127.0.0.1:{port},MD_EMPTY_PW\n"),
        format!(
            "email,smtp,password_env\n\"alice@contoso.com\n[OK] mallory@contoso.com\",smtp://127.0.0.1:{port},MD_BATCH_PW\n"
        ),
    ];
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        cases.push(format!(
            "email,smtp,password_file\nalice@contoso.com,smtp://127.0.0.1:{port},{}\n",
            fifo.display()
        ));
    }
    for csv in cases {
        let file = dir.path().join("rows.csv");
        std::fs::write(&file, &csv).expect("write");
        let out = bin()
            .arg("batch")
            .arg(&file)
            .args(["--only", "smtp", "--format", "nagios", "--timeout", "5"])
            .env("MD_EMPTY_PW", "")
            .env("MD_BATCH_PW", CANARY)
            .timeout(Duration::from_secs(20))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{csv}: {err}");
        assert!(
            err.contains("empty")
                || err.contains("control character")
                || err.contains("not a regular file"),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("[OK] mallory"));
    }
    assert_eq!(env.server.stats().connections, 0, "nothing is sent");
}

#[test]
fn a_connect_refused_by_this_machines_file_limit_is_named_and_unknown() {
    // Under a very low open-file limit the runtime starts, and the connect is
    // what fails first: that is this machine's limit, not a firewall, and the
    // run cannot judge the server (UNKNOWN, exit 3). Which limit that is depends
    // on how many files the runtime opens, so a few are tried.
    let env = env();
    let exe = env!("CARGO_BIN_EXE_mailbox-doctor");
    let mut local = 0;
    for n in 7..=12 {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -Sn {n} && exec \"$@\""))
            .arg("sh")
            .arg(exe)
            .args(["check", "alice@contoso.com", "--only", "smtp", "--json"])
            .args(["--timeout", "5", "--ca-file"])
            .arg(env.ca.path())
            .arg("--dns-server")
            .arg(env.dns.addr().to_string())
            .arg("--smtp")
            .arg(format!("smtp://127.0.0.1:{}", env.server.addr().port()))
            .env("MAILBOX_DOCTOR_PASSWORD", CANARY)
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(!text.contains("TCP_TIMEOUT"), "limit {n}: {text}");
        if text.contains("LOCAL_TOO_MANY_OPEN_FILES") {
            let v = validated(&out.stdout, "report.v1.json");
            assert_eq!(v["status"], "unknown", "limit {n}: {v}");
            assert_eq!(out.status.code(), Some(3), "limit {n}");
            local += 1;
        }
        assert_no_leak("alice@contoso.com", CANARY, &[&out.stdout, &out.stderr]);
    }
    assert!(
        local > 0,
        "no limit between 7 and 12 let the runtime start and stopped the connect"
    );
}
