//! The leak and lockout sweeps. Every fixture scenario, every hostile server, the
//! tool's own errors and `batch` run in every output format (text with and without
//! colour, JSON, Nagios, Prometheus), with and without `--transcript`, with a
//! canary password or a canary token. Neither canary, nor its base64, SASL or
//! percent-encoded forms, may appear in stdout, stderr or any file the run wrote
//! (its working directory, HOME and TMPDIR are a fresh folder of its own). No
//! server may see more than one authentication attempt per protocol and run, nor
//! a batch more than one per mailbox and protocol. A panic prints no secret.

mod support;
mod util;

use mailbox_doctor::sim::pki::Pki;
use mailbox_doctor::sim::replay::{ReplayServer, Scenario, FIXTURES};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use support::{Credential, Play, USER};
use util::{bin, leak_forms, local_dns};

const CANARY: &str = "Sweep-Canary-4417!";

/// Output formats, with the flags that select them.
const FORMATS: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("text", &["--color", "always"]),
    ("json", &[]),
    ("nagios", &[]),
    ("prometheus", &[]),
];

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

/// Where the secret shows, in any form, in the run's stdout, stderr or files;
/// each place is named after `what` ran.
fn leaks(what: &str, secret: &str, stdout: &[u8], stderr: &[u8], dir: &Path) -> Vec<String> {
    let files = files_under(dir);
    let mut all: Vec<(String, &[u8])> = vec![("stdout".into(), stdout), ("stderr".into(), stderr)];
    all.extend(
        files
            .iter()
            .map(|(p, b)| (p.display().to_string(), b.as_slice())),
    );
    let mut forms = leak_forms(USER, secret);
    forms.extend(util::leak_fragments(secret));
    if secret.contains("TokCanary") {
        forms.push("TokCanary".into());
    }
    let mut found = Vec::new();
    for (name, bytes) in all {
        let text = String::from_utf8_lossy(bytes);
        for form in &forms {
            if text.contains(form.as_str()) {
                found.push(format!("{what}: {name} holds {form:?}"));
            }
        }
    }
    found
}

/// Runs `jobs` on `workers` threads; returns every failure they report.
fn sweep<J: Sync>(
    jobs: &[J],
    workers: usize,
    run: impl Fn(&J) -> Vec<String> + Sync,
) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { return };
                let f = run(job);
                if let Ok(mut all) = failures.lock() {
                    all.extend(f);
                }
            });
        }
    });
    failures.into_inner().unwrap_or_default()
}

#[test]
fn every_fixture_in_every_format_leaks_nothing_and_logs_in_once_at_most() {
    let token = util::canary_token(USER);
    let mut jobs = Vec::new();
    for (name, text) in FIXTURES {
        let sc = Scenario::parse(name, text).expect("fixture parses");
        for format in FORMATS {
            for transcript in [false, true] {
                jobs.push((sc.clone(), *format, transcript));
            }
        }
    }
    let failures = sweep(&jobs, 4, |(sc, (format, extra), transcript)| {
        let dir = tempfile::tempdir().expect("temp dir");
        let (credential, secret) = if sc.token {
            (Credential::Token(&token), token.as_str())
        } else {
            (Credential::Password(CANARY), CANARY)
        };
        let r = support::play(
            sc,
            &Play {
                credential,
                format,
                transcript: *transcript,
                extra,
                dir: Some(dir.path()),
            },
        );
        let what = format!("{} {format} {extra:?} transcript={transcript}", sc.name);
        let mut f = leaks(&what, secret, &r.stdout, &r.stderr, dir.path());
        if r.auth_attempts > 1 || r.max_auth_per_connection > 1 || r.connections > 1 {
            f.push(format!(
                "{what}: {} logins over {} connections",
                r.auth_attempts, r.connections
            ));
        }
        if !matches!(r.code, Some(0..=3)) {
            f.push(format!("{what}: exit {:?}", r.code));
        }
        f
    });
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A password that IMAP must quote and escape, JSON must escape, and URL
/// encoding must encode: every encoding of it differs from the others.
const ECHO_CANARY: &str = "Echo \"Canary\" \\7731!";

/// Every hostile server (floods, dribbles, silences, garbage, terminal escapes,
/// endless literals, and servers that quote back what they were sent), in every
/// format, with and without `--transcript`, with a password and with a token: no
/// form of either shows in stdout, stderr or any file; the server saw at most one
/// login; the run ended within `--timeout` x its steps + 1 s; no raw control
/// character came out; and the exit code is what the run learned.
#[test]
fn every_hostile_server_in_every_format_leaks_nothing_logs_in_once_and_ends_in_time() {
    let token = util::canary_token(USER);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = local_dns(&rt);
    let dns_addr = dns.addr().to_string();
    let mut jobs = Vec::new();
    for h in util::hostile::HOSTILE {
        for format in FORMATS {
            for transcript in [false, true] {
                for use_token in [false, true] {
                    jobs.push((h, *format, transcript, use_token));
                }
            }
        }
    }
    let failures = sweep(&jobs, 8, |(h, (format, extra), transcript, use_token)| {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = if *use_token {
            token.as_str()
        } else {
            ECHO_CANARY
        };
        let server = h.start(&dns_addr);
        let mut cmd = bin();
        cmd.args(["check", USER, "--timeout", "1", "--format", format])
            .args(["--only", h.only])
            .arg(h.flag)
            .arg(&server.url)
            .args(&server.args)
            .args(*extra)
            .arg(if *use_token {
                "--oauth-token-stdin"
            } else {
                "--password-stdin"
            })
            .write_stdin(format!("{secret}\n"))
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .timeout(Duration::from_secs(60));
        if *transcript {
            cmd.arg("--transcript");
        }
        let start = std::time::Instant::now();
        let out = cmd.output().expect("runs");
        let took = start.elapsed();
        let what = format!(
            "{} {format} {extra:?} transcript={transcript} token={use_token}",
            h.name
        );
        let mut f = leaks(&what, secret, &out.stdout, &out.stderr, dir.path());
        let want = h.exit[usize::from(*use_token)];
        if out.status.code() != Some(want) {
            f.push(format!(
                "{what}: exit {:?}, not {want}:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let logins = server.seen.auth.load(Ordering::SeqCst);
        if logins > 1 {
            f.push(format!("{what}: {logins} logins"));
        }
        let budget = Duration::from_secs(h.steps + 1);
        if took >= budget {
            f.push(format!("{what}: took {took:?}, budget {budget:?}"));
        }
        let colored = extra.contains(&"always");
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let raw = util::raw_controls(bytes, colored);
            if !raw.is_empty() {
                f.push(format!("{what}: raw control characters in {name}: {raw:?}"));
            }
        }
        f
    });
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The tool's own failures after it has read the secret: each ends as UNKNOWN
/// (exit 3) with a plain message, and the message holds no secret.
#[test]
fn the_tools_own_errors_in_every_format_leak_nothing() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let not_pem = scratch.path().join("not-a-certificate.pem");
    std::fs::write(&not_pem, format!("this is no certificate {CANARY}\n")).expect("write");
    let token = util::canary_token(USER);
    let mut long_line = "x".repeat(70 * 1024);
    long_line.insert_str(100, CANARY);
    let mut bad_utf8 = CANARY.as_bytes().to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, b'\n']);

    struct Case {
        name: &'static str,
        args: Vec<String>,
        stdin: Vec<u8>,
        env: Vec<(&'static str, String)>,
        secret: String,
    }
    let ca_garbage = vec!["--ca-file".to_string(), not_pem.display().to_string()];
    let ca_dir = vec![
        "--ca-file".to_string(),
        scratch.path().display().to_string(),
    ];
    let cases = vec![
        Case {
            name: "--ca-file that is not PEM, password on stdin",
            args: [vec!["--password-stdin".into()], ca_garbage.clone()].concat(),
            stdin: format!("{CANARY}\n").into_bytes(),
            env: vec![],
            secret: CANARY.into(),
        },
        Case {
            name: "--ca-file that is a folder, password in the environment",
            args: ca_dir,
            stdin: vec![],
            env: vec![("MAILBOX_DOCTOR_PASSWORD", CANARY.into())],
            secret: CANARY.into(),
        },
        Case {
            name: "--ca-file that is not PEM, token on stdin",
            args: [vec!["--oauth-token-stdin".into()], ca_garbage].concat(),
            stdin: format!("{token}\n").into_bytes(),
            env: vec![],
            secret: token.clone(),
        },
        Case {
            name: "a password that is not UTF-8",
            args: vec!["--password-stdin".into()],
            stdin: bad_utf8,
            env: vec![],
            secret: CANARY.into(),
        },
        Case {
            name: "a line on stdin longer than any password",
            args: vec!["--password-stdin".into()],
            stdin: long_line.into_bytes(),
            env: vec![],
            secret: CANARY.into(),
        },
        Case {
            name: "a token in the environment and a bad flag",
            args: vec!["--no-such-flag".into()],
            stdin: vec![],
            env: vec![("MAILBOX_DOCTOR_TOKEN", token.clone())],
            secret: token.clone(),
        },
    ];
    let mut failures = Vec::new();
    for case in &cases {
        for (format, extra) in FORMATS {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut cmd = bin();
            cmd.args(["check", USER, "--timeout", "1", "--format", format])
                .args(["--smtp", "smtp://127.0.0.1:9"])
                .args(*extra)
                .args(&case.args)
                .write_stdin(case.stdin.clone())
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .env("TMPDIR", dir.path())
                .timeout(Duration::from_secs(30));
            for (k, v) in &case.env {
                cmd.env(k, v);
            }
            let out = cmd.output().expect("runs");
            let what = format!("{} ({format} {extra:?})", case.name);
            failures.extend(leaks(
                &what,
                &case.secret,
                &out.stdout,
                &out.stderr,
                dir.path(),
            ));
            if out.status.code() != Some(3) {
                failures.push(format!("{what}: exit {:?}, not UNKNOWN", out.status.code()));
            }
            if out.stderr.is_empty() {
                failures.push(format!("{what}: no error message"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Servers that tempt a retry (a wrong password, a second prompt, a hang-up, a
/// temporary error), many mailboxes at once: each server sees exactly one login
/// per mailbox, one per connection, and no secret shows in any format.
#[test]
fn batch_logs_in_once_per_mailbox_and_protocol_and_leaks_nothing() {
    const MAILBOXES: usize = 24;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let dns = local_dns(&rt);
    for (smtp, imap, pop) in [
        (
            "lockout-smtp-asks-again",
            "lockout-imap-asks-again",
            "lockout-pop-asks-again",
        ),
        (
            "exo-smtp-bad-credentials",
            "exo-imap-basic-auth-retired",
            "exo-pop-logon-failure",
        ),
        (
            "lockout-smtp-421-after-password",
            "exo-imap-ok",
            "exo-pop-ok",
        ),
        ("exo-smtp-temporary", "exo-imap-ok", "exo-pop-ok"),
    ] {
        for (format, extra) in FORMATS {
            let servers: Vec<(String, ReplayServer)> = [smtp, imap, pop]
                .iter()
                .map(|name| {
                    let sc = Scenario::named(name).expect("fixture");
                    let cfg = pki.server_config(sc.cert, &["127.0.0.1"]).expect("cert");
                    let scheme = support::endpoint_flag(&sc).1;
                    let s = rt
                        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
                        .expect("server");
                    (format!("{scheme}://127.0.0.1:{}", s.addr().port()), s)
                })
                .collect();
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("mailboxes.csv");
            let mut csv = String::from("email,smtp,imap,pop,password_env\n");
            for i in 0..MAILBOXES {
                csv.push_str(&format!(
                    "user{i}@d{}.test,{},{},{},MD_SWEEP_PW\n",
                    i % 5,
                    servers[0].0,
                    servers[1].0,
                    servers[2].0
                ));
            }
            std::fs::write(&file, csv).expect("write");
            let out = bin()
                .arg("batch")
                .arg(&file)
                .args([
                    "--only",
                    "smtp,imap,pop",
                    "--timeout",
                    "5",
                    "--format",
                    format,
                ])
                .args(["--concurrency", "8", "--per-domain", "2", "--ca-file"])
                .arg(ca.path())
                .args(*extra)
                .args(["--dns-server", &dns.addr().to_string()])
                .env("MD_SWEEP_PW", CANARY)
                .current_dir(dir.path())
                .env("HOME", dir.path())
                .env("TMPDIR", dir.path())
                .timeout(Duration::from_secs(120))
                .output()
                .expect("runs");
            let what = format!("{smtp}/{imap}/{pop} {format} {extra:?}");
            let found = leaks(&what, CANARY, &out.stdout, &out.stderr, dir.path());
            assert!(found.is_empty(), "{found:?}");
            assert!(
                matches!(out.status.code(), Some(1..=2)),
                "{what}: exit {:?}",
                out.status.code()
            );
            for (_, s) in &servers {
                let deadline = std::time::Instant::now() + Duration::from_secs(3);
                while s.stats().active > 0 && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            for (name, (_, s)) in [smtp, imap, pop].iter().zip(&servers) {
                let st = s.stats();
                assert_eq!(st.connections, MAILBOXES, "{what}: {name} connections");
                assert_eq!(st.auth_attempts, MAILBOXES, "{what}: {name} logins");
                assert_eq!(st.max_auth_per_connection, 1, "{what}: {name}");
            }
        }
    }
}

/// The hook the binary installs: where the panic happened, never its message.
/// Checked in a child process (this test binary run again), as a real panic.
#[test]
fn a_panic_prints_where_it_happened_but_never_its_message() {
    if std::env::var_os("MD_SWEEP_PANIC_CHILD").is_some() {
        mailbox_doctor::install_panic_hook();
        let secret = String::from(CANARY);
        panic!("the password was {secret}");
    }
    let me = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(me)
        .args([
            "--exact",
            "a_panic_prints_where_it_happened_but_never_its_message",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("MD_SWEEP_PANIC_CHILD", "1")
        .output()
        .expect("child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child panicked");
    assert!(
        stderr.contains("mailbox-doctor: internal error at tests/sweep.rs:"),
        "{stderr}"
    );
    for text in [&stderr, &stdout] {
        for form in leak_forms(USER, CANARY) {
            assert!(!text.contains(&form), "{form:?} in:\n{text}");
        }
    }
}

#[test]
fn a_panic_inside_a_command_ends_as_unknown() {
    let outcome = mailbox_doctor::guarded(|| panic!("a bug"));
    assert!(outcome.is_err());
    assert_eq!(mailbox_doctor::exit_code(&outcome), 3);
}

/// A batch that lists one account five times (in several letter cases) against
/// servers that quote back what they are sent: each server sees one login per
/// account, the repeated rows are reported, and no secret shows in any format.
#[test]
fn batch_logs_in_once_per_account_listed_many_times_against_echoing_servers() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dns = local_dns(&rt);
    let dns_addr = dns.addr().to_string();
    for (format, extra) in FORMATS {
        let servers: Vec<util::hostile::Started> = [
            "smtp-535-quotes-the-plain-blob",
            "imap-bad-quotes-the-login",
            "pop-err-quotes-pass",
        ]
        .iter()
        .map(|n| util::hostile::named(n).start(&dns_addr))
        .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("mailboxes.csv");
        let mut csv = String::from("email,smtp,imap,pop,password_env\n");
        let rows = [
            "alice@contoso.com",
            "ALICE@contoso.com",
            "bob@contoso.com",
            "Alice@Contoso.Com",
            "alice@CONTOSO.com",
            "alice@contoso.com",
        ];
        for user in rows {
            csv.push_str(&format!(
                "{user},{},{},{},MD_SWEEP_PW\n",
                servers[0].url, servers[1].url, servers[2].url
            ));
        }
        std::fs::write(&file, csv).expect("write");
        let out = bin()
            .arg("batch")
            .arg(&file)
            .args([
                "--only",
                "smtp,imap,pop",
                "--timeout",
                "5",
                "--format",
                format,
            ])
            .args(&servers[0].args)
            .args(*extra)
            .env("MD_SWEEP_PW", ECHO_CANARY)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .timeout(Duration::from_secs(120))
            .output()
            .expect("runs");
        let what = format!("batch {format} {extra:?}");
        let found = leaks(&what, ECHO_CANARY, &out.stdout, &out.stderr, dir.path());
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(out.status.code(), Some(2), "{what}");
        for s in &servers {
            assert_eq!(
                s.seen.auth.load(Ordering::SeqCst),
                2,
                "{what}: {} logins for two accounts",
                s.url
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("tested once").count(), 4, "{what}: {stderr}");
        if *format == "json" {
            assert_eq!(util::json_lines(&out.stdout).len(), 2, "{what}");
        }
    }
}

/// The sign-in's secrets (device code, authorization code, PKCE verifier,
/// client secret, access and refresh tokens) never show in any output format,
/// with or without the transcript, even from an identity platform that quotes
/// every secret of each request back in its errors (raw and URL-encoded), and a
/// mail server that refuses the token.
#[test]
fn sign_in_secrets_never_leak_even_from_a_platform_that_quotes_them() {
    use mailbox_doctor::sim::oauth::Script;
    use util::signin_lab::{authorize, finish_raw, follow, secret_file, start_browser_with, Lab};
    let hostile = |blocker: Option<u32>| Script {
        echo: true,
        pending: 1,
        blocker,
        ..Script::default()
    };
    for (format, flags) in FORMATS {
        for transcript in [false, true] {
            let mut out_flags: Vec<&str> = vec!["--format", format];
            out_flags.extend_from_slice(flags);
            if transcript {
                out_flags.push("--transcript");
            }
            // Device code: quoted back while pending and when blocked; then a
            // token and a refresh token that a mail server refuses.
            for (blocker, fixture) in [
                (Some(53003), "exo-imap-xoauth2-ok"),
                (None, "exo-imap-xoauth2-rejected"),
            ] {
                let lab = Lab::new(hostile(blocker), &[fixture]);
                let save = lab.dir.path().join("refresh-token");
                let save = save.to_str().expect("utf-8").to_string();
                let mut args = vec![
                    "--sign-in",
                    "device",
                    "--client-id",
                    util::signin_lab::CLIENT,
                    "--save-token",
                    &save,
                ];
                args.extend_from_slice(&out_flags);
                let out = lab.command(&args).output().expect("runs");
                lab.no_leak(&out.stdout, &out.stderr);
                assert!(
                    !lab.identity.platform.secrets().is_empty(),
                    "{format}: the sweep saw no secret"
                );
            }
            // App-only: the client secret quoted back (in `error` too).
            let lab = Lab::new(hostile(Some(7000215)), &["exo-imap-xoauth2-ok"]);
            let f = secret_file(&lab, &Script::default().client_secret, 0o600);
            let mut args = vec![
                "--sign-in",
                "app",
                "--client-id",
                util::signin_lab::CLIENT,
                "--tenant",
                "contoso.com",
                "--client-secret-file",
                f.to_str().expect("utf-8"),
            ];
            args.extend_from_slice(&out_flags);
            let out = lab.command(&args).output().expect("runs");
            lab.no_leak(&out.stdout, &out.stderr);
            // Browser: the authorization code and the verifier quoted back.
            let lab = Lab::new(hostile(Some(7000218)), &["exo-imap-xoauth2-ok"]);
            let (child, url, err) = start_browser_with(&lab, &out_flags);
            let location = authorize(&lab, &url);
            follow(&lab, &location);
            let (_, code) = finish_raw(&lab, child, err);
            assert_eq!(code, Some(2), "{format}");
            assert!(
                lab.identity.platform.secrets().len() >= 3,
                "code, verifier and client secret known to the sweep"
            );
        }
    }
}
