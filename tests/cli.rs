//! The command-line contract: exit codes (monitoring-plugins convention, usage
//! errors included), formats, schemas, and that a secret never reaches the output.

mod util;
use std::time::Duration;
use util::{assert_no_leak, bin, validated};

#[test]
fn help_and_version_exit_zero_and_show_examples_and_knowledge_date() {
    let out = bin().arg("--help").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["End user", "Helpdesk", "Monitoring", "Exit codes"] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    let out = bin().arg("--version").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.contains("knowledge as of 20"), "{v}");
}

#[test]
fn usage_errors_exit_3_not_clap_default_2() {
    for args in [
        vec!["--bogus"],
        vec!["frobnicate"],
        vec!["check"],
        vec!["check", "a@b.c", "--timeout", "abc"],
        vec!["check", "a@b.c", "--timeout", "0"],
        vec!["check", "a@b.c", "--format", "xml"],
        vec!["check", "a@b.c", "--only", "nonsense"],
        vec!["check", "a@b.c", "--smtp", "host:99999", "--no-password"],
        vec!["check", "a@b.c", "--provider", "nosuch", "--no-password"],
        vec![
            "check",
            "a@b.c",
            "--ca-file",
            "/nonexistent.pem",
            "--no-password",
        ],
    ] {
        let out = bin().args(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(3), "args {args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "args {args:?} gave no error text");
    }
}

#[test]
fn a_file_name_with_control_or_bidi_characters_is_shown_escaped_in_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let name = dir.path().join("rows\u{1b}[2J\u{202e}vsc.csv");
    let ca = dir.path().join("ca\u{7}\u{200b}.pem");
    for args in [
        vec!["batch".into(), name.to_string_lossy().into_owned()],
        vec![
            "check".into(),
            "a@b.c".into(),
            "--no-password".into(),
            "--ca-file".into(),
            ca.to_string_lossy().into_owned(),
        ],
    ] {
        let out = bin().args(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(util::raw_controls(&out.stderr, false).is_empty(), "{err:?}");
        assert!(err.contains("\\x1b") || err.contains("\\x07"), "{err:?}");
    }
}

#[test]
fn no_password_source_and_no_terminal_is_a_clear_unknown() {
    let out = bin()
        .args(["check", "alice@contoso.com", "--only", "credentials"])
        .write_stdin("")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--password-stdin"), "{err}");
}

#[test]
fn password_is_never_taken_from_argv() {
    for flag in ["--password", "-p", "--pass"] {
        let out = bin()
            .args(["check", "alice@contoso.com", flag, "hunter2"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(3), "{flag} must not exist");
    }
}

#[test]
fn list_shows_checks_and_every_code_in_text_and_schema_valid_json() {
    let out = bin().arg("list").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "credentials",
        "tenant",
        "M365_SMTP_AUTH_DISABLED_TENANT",
        "CRED_WHITESPACE",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    let out = bin()
        .args(["list", "--format", "json"])
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "list.v1.json");
    assert_eq!(v["checks"].as_array().map(|a| a.len()), Some(7));
    assert!(v["diagnoses"].as_array().map(|a| a.len()).unwrap_or(0) >= 44);
}

#[test]
fn explain_in_every_format_with_exit_code_of_the_diagnosis() {
    let reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [MN2PR05CA0004.namprd05.prod.outlook.com 2023-09-12T20:59:57.214Z 08DBB276B7E699C4]";
    let out = bin().args(["explain", reply]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("M365_SMTP_AUTH_DISABLED_TENANT"), "{text}");
    assert!(text.contains("Fix"), "{text}");

    let out = bin()
        .args(["explain", "--json", reply])
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "explain.v1.json");
    assert_eq!(v["diagnosis"][0]["code"], "M365_SMTP_AUTH_DISABLED_TENANT");
    assert_eq!(v["status"], "critical");

    let out = bin()
        .args(["explain", "--format", "nagios", reply])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let first = String::from_utf8_lossy(&out.stdout);
    assert!(
        first.starts_with("MAILBOX-DOCTOR CRITICAL - M365_SMTP_AUTH_DISABLED_TENANT"),
        "{first}"
    );

    // stdin when TEXT is absent
    let out = bin()
        .args(["explain", "--json"])
        .write_stdin(reply)
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "explain.v1.json");
    assert_eq!(v["diagnosis"][0]["code"], "M365_SMTP_AUTH_DISABLED_TENANT");
}

#[test]
fn explain_of_unknown_text_is_unknown_exit_3() {
    let out = bin()
        .args(["explain", "--json", "the weather is nice"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let v = validated(&out.stdout, "explain.v1.json");
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["recognised"], false);
    assert_eq!(v["diagnosis"][0]["code"], "NOT_RECOGNISED");
    assert_eq!(v["diagnosis"].as_array().map(|a| a.len()), Some(1));
}

#[test]
fn check_json_is_schema_valid_and_nagios_first_line_follows_the_convention() {
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--password-stdin",
            "--only",
            "credentials",
            "--json",
        ])
        .write_stdin("abcdefghijklmnop\n")
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["target"]["user"], "alice@contoso.com");
    assert_eq!(v["checks"][0]["id"], "credentials");

    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--password-stdin",
            "--only",
            "credentials",
            "--format",
            "nagios",
        ])
        .write_stdin("abcdefghijklmnop\n")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    let re = regex::Regex::new(
        r"^MAILBOX-DOCTOR (OK|WARNING|CRITICAL|UNKNOWN) - [^|]+ \| ('[a-z_]+'=[0-9.]+s?;[0-9:]*;[0-9:]*(;0)? ?)+$",
    )
    .expect("regex");
    assert!(re.is_match(first), "{first}");
    let want = match &first[15..] {
        s if s.starts_with("OK") => 0,
        s if s.starts_with("WARNING") => 1,
        s if s.starts_with("CRITICAL") => 2,
        _ => 3,
    };
    assert_eq!(out.status.code(), Some(want));
}

#[test]
fn color_follows_flag_and_no_color() {
    let run = |args: &[&str], no_color: bool| {
        let mut c = bin();
        if !no_color {
            c.env_remove("NO_COLOR");
        }
        let out = c.args(args).output().expect("runs");
        String::from_utf8_lossy(&out.stdout).contains('\u{1b}')
    };
    let reply = "535 5.7.3 Authentication unsuccessful";
    assert!(run(&["explain", "--color", "always", reply], true));
    assert!(!run(&["explain", "--color", "never", reply], false));
    assert!(
        !run(&["explain", reply], true),
        "NO_COLOR must be respected"
    );
    assert!(
        !run(&["explain", reply], false),
        "no color when stdout is not a terminal"
    );
}

#[test]
fn a_canary_password_never_appears_in_any_output() {
    let user = "alice@contoso.com";
    let canaries = [
        "Canary-Pw-7781!",
        " Canary-Pw-7781 \t",
        "\"Canary-Pw-7781\"",
        "canarypwqxzcanar",
        "can\u{200b}arypwqxz-canary",
    ];
    for canary in canaries {
        for format in ["text", "json", "nagios"] {
            for transcript in [false, true] {
                let mut args = vec![
                    "check",
                    user,
                    "--format",
                    format,
                    "--only",
                    "credentials",
                    "--color",
                    "always",
                ];
                if transcript {
                    args.push("--transcript");
                }
                let out = bin()
                    .args(&args)
                    .arg("--password-stdin")
                    .write_stdin(format!("{canary}\n"))
                    .output()
                    .expect("runs");
                assert_no_leak(user, canary, &[&out.stdout, &out.stderr]);
                let out = bin()
                    .args(&args)
                    .env("MAILBOX_DOCTOR_PASSWORD", canary)
                    .output()
                    .expect("runs");
                assert_no_leak(user, canary, &[&out.stdout, &out.stderr]);
            }
        }
    }
}

#[test]
fn the_text_header_names_only_the_servers_that_were_tested() {
    let url = util::hostile::named("refused").start("").url;
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--no-password",
            "--timeout",
            "1",
        ])
        .args(["--only", "smtp", "--smtp", &url])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert!(header.iter().any(|l| l.contains("127.0.0.1:")), "{text}");
    assert!(
        !header.iter().any(|l| l.contains("outlook.office365.com")),
        "{text}"
    );
}

/// An empty password or token is refused before anything is sent: a closed
/// stdin, an empty line, an empty environment variable.
#[test]
fn an_empty_secret_is_a_usage_error_and_nothing_is_sent() {
    let (port, seen) = util::hostile::serve(util::hostile::count_logins_then_refuse, false);
    let url = format!("smtp://127.0.0.1:{port}");
    let base = [
        "check",
        "alice@contoso.com",
        "--only",
        "smtp",
        "--timeout",
        "2",
    ];
    type Case<'a> = (Vec<&'a str>, &'a [u8], Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (vec!["--password-stdin"], b"", None),
        (vec!["--password-stdin"], b"\n", None),
        (vec!["--oauth-token-stdin"], b"  \n", None),
        (vec![], b"", Some(("MAILBOX_DOCTOR_PASSWORD", ""))),
        (vec![], b"", Some(("MAILBOX_DOCTOR_TOKEN", " "))),
    ];
    for (args, stdin, env) in cases {
        let mut cmd = bin();
        cmd.args(base)
            .args(["--smtp", &url, "--allow-plaintext"])
            .args(&args)
            .write_stdin(stdin.to_vec())
            .timeout(Duration::from_secs(20));
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?} {env:?}: {err}");
        assert!(err.contains("empty"), "{err}");
    }
    assert_eq!(
        seen.connections.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// A password typed as an extra argument is never echoed in the error.
#[test]
fn an_unexpected_argument_is_not_echoed() {
    for args in [
        vec!["check", "alice@contoso.com", "Hunter2-Canary"],
        vec!["check", "alice@contoso.com", "--password=Hunter2-Canary"],
        vec!["check", "alice@contoso.com", "-pHunter2-Canary"],
        vec!["batch", "f.csv", "Hunter2-Canary"],
    ] {
        let out = bin().args(&args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(err.contains("unexpected argument"), "{err}");
        assert!(!err.contains("Hunter2"), "{err}");
    }
    let out = bin()
        .args(["check", "alice@contoso.com", "--no-such-flag"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("'--no-such-flag'"));
}

/// Local files are read only when they are regular files, and up to a cap.
#[cfg(unix)] // /dev/zero and FIFOs are Unix
#[test]
fn a_ca_file_that_is_a_device_a_fifo_or_huge_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("temp");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let huge = dir.path().join("huge.pem");
    std::fs::write(&huge, vec![b'A'; 5 * 1024 * 1024]).expect("write");
    let mut files = vec![std::path::PathBuf::from("/dev/zero"), huge];
    if made.is_ok_and(|s| s.success()) {
        files.push(fifo);
    }
    for f in files {
        let out = bin()
            .args(["check", "alice@contoso.com", "--no-password", "--ca-file"])
            .arg(&f)
            .timeout(Duration::from_secs(20))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{}: {err}", f.display());
        assert!(
            err.contains("not a regular file") || err.contains("larger than"),
            "{err}"
        );
    }
}

#[test]
fn an_address_with_a_control_character_is_refused() {
    let out = bin()
        .args(["check", "alice@contoso.com\u{1b}[2J", "--no-password"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        err.contains("control character") && !err.contains('\u{1b}'),
        "{err}"
    );
}
