//! `check --sign-in`: the real binary signs in against the simulated identity
//! platform (HTTPS on 127.0.0.1, scripted per test) and logs in with XOAUTH2 to
//! replay servers that accept only the tokens the platform issued. Every
//! outcome of the device code flow, the browser flow (the test plays the user
//! agent against the loopback redirect), app-only with a secret and with a
//! certificate, and every AADSTS blocker; no secret of the flow in any output.

mod util;

use mailbox_doctor::sim::oauth::{Script, UserAction};
use std::time::{Duration, Instant};
use util::signin_lab::{
    authorize, check, finish, follow, secret_file, start_browser, Lab, CLIENT, USER,
};
use util::{codes, validated};

#[test]
fn device_code_signs_in_then_logs_in_to_smtp_and_imap_with_the_token() {
    let lab = Lab::new(
        Script {
            pending: 2,
            ..Script::default()
        },
        &["exo-smtp-xoauth2-ok", "exo-imap-xoauth2-ok"],
    );
    let (v, code, stderr) = lab.device(&[]);
    assert_eq!(code, Some(0), "{v}");
    let s = check(&v, "signin");
    assert_eq!(s["status"], "pass", "{v}");
    assert_eq!(v["checks"][0]["id"], "signin");
    assert_eq!(check(&v, "smtp")["status"], "pass", "{v}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    // The code and the address, on standard error.
    assert!(
        stderr.contains("https://microsoft.com/devicelogin") && stderr.contains("enter the code D"),
        "{stderr}"
    );
    // Scopes are exactly the protocols under test; no offline_access unasked.
    assert_eq!(
        s["details"]["scopes_requested"],
        "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All"
    );
    assert_eq!(s["details"]["token"]["user"], USER);
    assert_eq!(
        s["details"]["authority"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next(),
        Some("00000000-c0de-4d0c-b0e5-000000000001"),
        "the tenant comes from the address's domain"
    );
    let steps = s["details"]["steps"].as_array().expect("steps");
    assert!(steps.iter().all(|st| st["at_ms"].is_u64()), "{steps:?}");
    // Polled at the interval (1 s): three polls, none early.
    let gaps = lab.identity.platform.poll_gaps();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(950)),
        "{gaps:?}"
    );
    assert_eq!(lab.identity.platform.issued(), 1);
    assert!(lab.mismatches().is_empty(), "{:?}", lab.mismatches());
    let attempts = lab.attempts();
    assert_eq!(attempts, 2, "one login per protocol");
    // The transcript shows the exchange, never the token.
    assert!(v["transcript"]
        .to_string()
        .contains("AUTH XOAUTH2 <redacted>"));
}

#[test]
fn slow_down_adds_five_seconds_to_the_interval_for_good() {
    let lab = Lab::new(
        Script {
            pending: 0,
            slow_down: true,
            ..Script::default()
        },
        &["exo-smtp-xoauth2-ok"],
    );
    let (v, code, _) = lab.device(&[]);
    assert_eq!(code, Some(0), "{v}");
    let gaps = lab.identity.platform.poll_gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0] >= Duration::from_millis(5900), "{gaps:?}");
    let steps = check(&v, "signin")["details"]["steps"].to_string();
    assert!(steps.contains("every 6 s"), "{steps}");
}

#[test]
fn expired_declined_and_unknown_codes_end_the_flow_with_their_own_codes() {
    for (action, want) in [
        (UserAction::LetExpire, "OAUTH_SIGN_IN_EXPIRED"),
        (UserAction::Decline, "OAUTH_SIGN_IN_DECLINED"),
        (UserAction::WrongCode, "OAUTH_SIGN_IN_FAILED"),
    ] {
        let lab = Lab::new(
            Script {
                pending: 0,
                action,
                ..Script::default()
            },
            &["exo-smtp-xoauth2-ok"],
        );
        let (v, code, _) = lab.device(&[]);
        assert_eq!(codes(&v).first().map(String::as_str), Some(want), "{v}");
        assert_eq!(code, Some(2));
        assert_eq!(lab.identity.platform.issued(), 0);
        // No token, so no login was tried.
        let attempts: usize = lab
            .servers
            .iter()
            .map(|(_, s)| s.stats().auth_attempts)
            .sum();
        assert_eq!(attempts, 0);
    }
}

#[test]
fn the_sign_in_timeout_is_one_deadline_over_all_polling() {
    let lab = Lab::new(
        Script {
            pending: 1000,
            ..Script::default()
        },
        &["exo-smtp-xoauth2-ok"],
    );
    let start = Instant::now();
    let (v, code, stderr) = lab.device(&["--sign-in-timeout", "3"]);
    let took = start.elapsed();
    assert_eq!(codes(&v)[0], "OAUTH_SIGN_IN_EXPIRED", "{v}");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("within 3 s"), "{stderr}");
    // The deadline, with room for a loaded machine's start-up and checks.
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(lab.identity.platform.poll_gaps().len() <= 2);
}

#[test]
fn every_blocker_is_named_with_its_code() {
    for (blocker, want) in [
        (7000218, "OAUTH_PUBLIC_CLIENT_DISABLED"),
        (90094, "OAUTH_ADMIN_CONSENT_REQUIRED"),
        (65001, "OAUTH_ADMIN_CONSENT_REQUIRED"),
        (53003, "OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS"),
        (700016, "OAUTH_APP_NOT_IN_TENANT"),
    ] {
        let lab = Lab::new(
            Script {
                pending: 0,
                blocker: Some(blocker),
                ..Script::default()
            },
            &["exo-smtp-xoauth2-ok"],
        );
        let (v, code, _) = lab.device(&[]);
        assert_eq!(codes(&v)[0], want, "{blocker}: {v}");
        assert_eq!(code, Some(2));
        let d = &v["diagnosis"][0];
        assert!(d["actor"].is_string() && d["fix"].is_string(), "{d}");
        if blocker == 53003 {
            let msg = check(&v, "signin")["findings"][0]["message"].to_string();
            assert!(
                msg.contains("--sign-in browser") && msg.contains("Microsoft-managed"),
                "{msg}"
            );
        }
    }
}

#[test]
fn a_token_the_platform_did_not_issue_is_refused_by_the_servers() {
    let lab = Lab::new(Script::default(), &["exo-smtp-xoauth2-ok"]);
    let token = util::canary_token(USER);
    let out = lab
        .command(&["--oauth-token-stdin", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{token}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    assert_eq!(check(&v, "smtp")["status"], "fail", "{v}");
    assert_eq!(
        lab.mismatches(),
        ["XOAUTH2 with a token the identity platform did not issue"]
    );
    util::assert_no_leak(USER, &token, &[&out.stdout, &out.stderr]);
}

#[test]
fn no_client_id_is_shipped_and_a_borrowed_one_is_named() {
    let lab = Lab::new(Script::default(), &["exo-smtp-xoauth2-ok"]);
    let out = lab
        .command(&["--sign-in", "device"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--client-id") && err.contains("ships no client id"),
        "{err}"
    );
    let (v, code, _) = lab.check(&["--sign-in", "device", "--borrow-client", "thunderbird"]);
    assert_eq!(code, Some(0), "{v}");
    let s = check(&v, "signin");
    assert_eq!(
        s["details"]["client_id"],
        "9e5f94bc-e8a4-4e73-b8be-63364c29d753"
    );
    assert!(s["details"]["client"]
        .as_str()
        .unwrap_or_default()
        .contains("Mozilla Thunderbird"));
    assert!(s["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("Mozilla Thunderbird"));
}

#[test]
fn save_token_writes_the_refresh_token_alone_with_mode_0600() {
    let lab = Lab::new(Script::default(), &["exo-imap-xoauth2-ok"]);
    let file = lab.dir.path().join("refresh-token");
    let (v, code, _) = lab.device(&["--save-token", file.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        check(&v, "signin")["details"]["scopes_requested"],
        "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
    );
    let saved = std::fs::read_to_string(&file).expect("saved");
    assert!(saved.starts_with("1.AQ") && saved.trim().len() > 40);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let files: Vec<_> = std::fs::read_dir(lab.dir.path())
        .expect("dir")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1, "nothing else is written");
}

#[test]
fn browser_sign_in_with_pkce_through_the_loopback_redirect() {
    let lab = Lab::new(
        Script::default(),
        &["exo-smtp-xoauth2-ok", "exo-imap-xoauth2-ok"],
    );
    let (child, url, err) = start_browser(&lab);
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let location = authorize(&lab, &url);
    assert_eq!(follow(&lab, &location), 200);
    let (v, code) = finish(&lab, child, err);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(check(&v, "signin")["status"], "pass", "{v}");
    assert_eq!(check(&v, "smtp")["status"], "pass", "{v}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(lab.identity.platform.grants(), ["authorization_code"]);
}

#[test]
fn a_redirect_with_another_state_is_refused() {
    let lab = Lab::new(Script::default(), &["exo-smtp-xoauth2-ok"]);
    let (child, url, err) = start_browser(&lab);
    let location = authorize(&lab, &url);
    let (before, _) = location.split_once("state=").expect("state");
    let forged = format!("{before}state=forged");
    assert_eq!(follow(&lab, &forged), 400);
    let (v, code) = finish(&lab, child, err);
    assert_eq!(codes(&v)[0], "OAUTH_SIGN_IN_REFUSED", "{v}");
    assert_eq!(code, Some(2));
    assert!(
        lab.identity.platform.grants().is_empty(),
        "the code was never exchanged"
    );
}

#[test]
fn the_token_endpoint_refuses_a_code_without_its_verifier() {
    let lab = Lab::new(Script::default(), &[]);
    let port = lab.identity.addr().port();
    let route = mailbox_doctor::net::http::Route::Direct(vec!["127.0.0.1".parse().expect("ip")]);
    let tenant = "/contoso.com/oauth2/v2.0";
    let challenge =
        mailbox_doctor::oauth::browser::challenge("the-right-verifier-0123456789-abcdefghijklmn");
    let path = format!(
        "{tenant}/authorize?client_id={CLIENT}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F&state=s&code_challenge={challenge}&code_challenge_method=S256&scope=x"
    );
    for (verifier, want) in [
        (None, "invalid_request"),
        (
            Some("a-wrong-verifier-0123456789-abcdefghijklmnop"),
            "invalid_grant",
        ),
    ] {
        let resp = lab
            .rt
            .block_on(mailbox_doctor::net::http::get_https(
                &route,
                "127.0.0.1",
                port,
                &path,
                &[lab.pki.ca.der()],
                Duration::from_secs(5),
            ))
            .expect("authorize");
        let loc = resp
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.clone())
            .expect("loc");
        let code = loc
            .split("code=")
            .nth(1)
            .and_then(|c| c.split('&').next())
            .expect("code");
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", CLIENT.to_string()),
            ("code", code.to_string()),
            ("redirect_uri", "http://127.0.0.1:9/".to_string()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_string()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = mailbox_doctor::oauth::endpoint::encode_form(&pairs);
        let r = lab
            .rt
            .block_on(mailbox_doctor::net::http::post_form_https(
                &route,
                "127.0.0.1",
                port,
                &format!("{tenant}/token"),
                &body,
                &[lab.pki.ca.der()],
                Duration::from_secs(5),
            ))
            .expect("token");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(v["error"], want, "{v}");
        assert!(v.get("access_token").is_none());
    }
    assert_eq!(lab.identity.platform.issued(), 0);
}

#[test]
fn app_only_with_a_client_secret_checks_roles_then_logs_in() {
    let lab = Lab::new(Script::default(), &["exo-imap-xoauth2-ok"]);
    let f = secret_file(&lab, &Script::default().client_secret, 0o600);
    let app = [
        "--sign-in",
        "app",
        "--client-id",
        CLIENT,
        "--tenant",
        "contoso.com",
        "--client-secret-file",
    ];
    let (v, code, _) = lab.check(&[&app[..], &[f.to_str().expect("utf-8")]].concat());
    assert_eq!(code, Some(0), "{v}");
    let s = check(&v, "signin");
    assert_eq!(
        s["details"]["scopes_requested"],
        "https://outlook.office365.com/.default"
    );
    assert!(s["details"]["token"]["roles"]
        .to_string()
        .contains("IMAP.AccessAsApp"));
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");

    // A wrong secret, and one others may read.
    let wrong = secret_file(&lab, "not-the-secret", 0o400);
    let (v, code, _) = lab.check(&[&app[..], &[wrong.to_str().expect("utf-8")]].concat());
    assert_eq!(codes(&v)[0], "OAUTH_CLIENT_SECRET_INVALID", "{v}");
    assert_eq!(code, Some(2));
    let open = secret_file(&lab, "x", 0o644);
    let out = lab
        .command(&[&app[..], &[open.to_str().expect("utf-8")]].concat())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn app_only_blockers_and_missing_roles() {
    for (script, want) in [
        (
            Script {
                blocker: Some(7000222),
                ..Script::default()
            },
            "OAUTH_CLIENT_SECRET_EXPIRED",
        ),
        (
            Script {
                blocker: Some(7000215),
                ..Script::default()
            },
            "OAUTH_CLIENT_SECRET_INVALID",
        ),
        (
            Script {
                roles: vec![],
                ..Script::default()
            },
            "APP_ONLY_NO_ROLES",
        ),
    ] {
        let lab = Lab::new(script, &["exo-imap-xoauth2-ok"]);
        let f = secret_file(&lab, &Script::default().client_secret, 0o600);
        let (v, code, _) = lab.check(&[
            "--sign-in",
            "app",
            "--client-id",
            CLIENT,
            "--tenant",
            "contoso.com",
            "--client-secret-file",
            f.to_str().expect("utf-8"),
        ]);
        assert_eq!(codes(&v)[0], want, "{v}");
        assert_eq!(code, Some(2));
    }
}

#[test]
fn app_only_with_a_certificate_signs_a_client_assertion() {
    let lab = Lab::new(Script::default(), &["exo-imap-xoauth2-ok"]);
    let key = lab.dir.path().join("app.key");
    let crt = lab.dir.path().join("app.crt");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "20",
            "-subj",
            "/CN=mailbox-doctor test app",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output();
    let Ok(made) = made else {
        panic!("openssl is needed to make the test certificate");
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let pem = lab.dir.path().join("app.pem");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&crt).expect("crt"),
        std::fs::read_to_string(&key).expect("key")
    );
    std::fs::write(&pem, both).expect("pem");
    std::fs::remove_file(&key).expect("rm");
    std::fs::remove_file(&crt).expect("rm");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let (v, code, _) = lab.check(&[
        "--sign-in",
        "app",
        "--client-id",
        CLIENT,
        "--tenant",
        "contoso.com",
        "--client-certificate",
        pem.to_str().expect("utf-8"),
    ]);
    let s = check(&v, "signin");
    assert_eq!(s["status"], "warn", "{v}");
    let days = s["details"]["certificate"]["days_left"]
        .as_i64()
        .expect("days");
    assert!((18..=20).contains(&days), "{days}");
    assert_eq!(codes(&v)[0], "OAUTH_CLIENT_CERTIFICATE_EXPIRING", "{v}");
    assert_eq!(code, Some(1));
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(lab.identity.platform.issued(), 1);
}

#[test]
fn device_code_and_app_only_for_gmail_are_refused_in_words_not_tried() {
    let lab = Lab::new(Script::default(), &[]);
    let secret = secret_file(&lab, &Script::default().client_secret, 0o600);
    let secret = secret.to_str().expect("utf-8");
    for args in [
        vec!["--sign-in", "device", "--client-id", CLIENT],
        vec![
            "--sign-in",
            "app",
            "--client-id",
            CLIENT,
            "--tenant",
            "contoso.com",
            "--client-secret-file",
            secret,
        ],
        // A Desktop client's secret is part of Google's token requests.
        vec!["--sign-in", "browser", "--client-id", CLIENT],
    ] {
        let out = lab
            .command(&[&args[..], &["--provider", "gmail", "--json"]].concat())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--client-secret-file") && err.contains("Gmail"),
            "{err}"
        );
        if args[1] == "device" {
            assert!(
                err.contains("--sign-in browser") && err.contains("https://mail.google.com/"),
                "{err}"
            );
        }
        lab.no_leak(&out.stdout, &out.stderr);
    }
    assert_eq!(
        lab.identity.requests(),
        0,
        "nothing was asked of any identity platform"
    );
}

/// Starts a Google browser sign-in with a client secret file holding `secret`.
fn start_google(
    lab: &Lab,
    secret: &str,
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    let f = secret_file(lab, secret, 0o600);
    let mut args = vec![
        "--provider",
        "gmail",
        "--client-secret-file",
        f.to_str().expect("utf-8"),
        "--json",
        "--transcript",
    ];
    args.extend_from_slice(extra);
    util::signin_lab::start_browser_with(lab, &args)
}

#[test]
fn gmail_browser_sign_in_with_a_client_secret_then_xoauth2_to_smtp_and_imap() {
    let lab = Lab::new(
        Script::default(),
        &["gmail-smtp-xoauth2-ok", "gmail-imap-xoauth2-ok"],
    );
    let secret = Script::default().client_secret;
    let (child, url, err) = start_google(&lab, &secret, &[]);
    let port = lab.identity.addr().port();
    assert!(
        url.starts_with(&format!("https://127.0.0.1:{port}/o/oauth2/v2/auth?")),
        "{url}"
    );
    assert!(
        url.contains("scope=https%3A%2F%2Fmail.google.com%2F")
            && url.contains("code_challenge_method=S256")
            && !url.contains("response_mode")
            && !url.contains(&secret),
        "{url}"
    );
    let location = authorize(&lab, &url);
    assert_eq!(follow(&lab, &location), 200);
    let (v, code) = finish(&lab, child, err);
    assert_eq!(code, Some(0), "{v}");
    let s = check(&v, "signin");
    assert_eq!(s["status"], "pass", "{v}");
    assert_eq!(s["details"]["scopes_requested"], "https://mail.google.com/");
    assert_eq!(
        s["details"]["authority"],
        format!("https://127.0.0.1:{port}")
    );
    assert!(s["details"]["client"]
        .as_str()
        .unwrap_or_default()
        .contains("Google"));
    assert_eq!(check(&v, "smtp")["status"], "pass", "{v}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(lab.identity.platform.grants(), ["authorization_code"]);
    assert!(lab.mismatches().is_empty(), "{:?}", lab.mismatches());
    let attempts = lab.attempts();
    assert_eq!(attempts, 2, "one login per protocol");
    assert!(v["transcript"]
        .to_string()
        .contains("AUTH XOAUTH2 <redacted>"));
}

#[test]
fn gmail_a_wrong_client_secret_is_named_and_never_shown_even_when_echoed() {
    for echo in [false, true] {
        let lab = Lab::new(
            Script {
                echo,
                ..Script::default()
            },
            &["gmail-smtp-xoauth2-ok"],
        );
        let (child, url, err) = start_google(&lab, "GOCSPX-not-the-secret-4d1b9c", &[]);
        let location = authorize(&lab, &url);
        assert_eq!(follow(&lab, &location), 200);
        // finish sweeps stdout, stderr and every file for the secret sent (the
        // platform keeps it), raw, URL-encoded, base64 and hex.
        let (v, code) = finish(&lab, child, err);
        assert_eq!(code, Some(2), "{v}");
        assert!(
            !v.to_string().contains("not-the-secret"),
            "the client secret leaked: {v}"
        );
        let msg = check(&v, "signin")["findings"][0]["message"].to_string();
        if echo {
            // The platform quoted the secret back, and the report shows the
            // quote without it.
            assert!(
                msg.contains("client_secret=<redacted> (<redacted>)"),
                "{msg}"
            );
        } else {
            assert_eq!(codes(&v)[0], "OAUTH_GOOGLE_CLIENT_INVALID", "{v}");
            assert!(msg.contains("invalid_client: Unauthorized"), "{msg}");
        }
        let summary = check(&v, "smtp")["summary"].to_string();
        assert!(summary.contains("the sign-in failed"), "{summary}");
    }
}

#[test]
fn batch_refreshes_a_saved_token_then_logs_in_and_names_a_revoked_grant() {
    let lab = Lab::new(Script::default(), &["exo-imap-xoauth2-ok"]);
    let file = lab.dir.path().join("refresh-token");
    let (v, code, _) = lab.device(&["--save-token", file.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{v}");
    let imap = lab.servers[0].0.trim_start_matches("--imap=").to_string();
    let csv = lab.dir.path().join("mailboxes.csv");
    std::fs::write(
        &csv,
        format!(
            "email,imap,refresh_token_file,client_id,tenant\n{USER},{imap},{},{CLIENT},contoso.com\n",
            file.display()
        ),
    )
    .expect("csv");
    let batch = |lab: &Lab| Lab::first_report(&lab.batch(&csv));
    let saved = std::fs::read_to_string(&file).expect("saved");
    let v = batch(&lab);
    assert_eq!(check(&v, "signin")["status"], "pass", "{v}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(
        lab.identity.platform.grants().last().map(String::as_str),
        Some("refresh_token")
    );
    // The platform handed back a new refresh token: it replaced the old one.
    util::assert_rotated(&file, &saved);
    lab.identity.platform.revoke_all();
    let v = batch(&lab);
    assert_eq!(codes(&v)[0], "OAUTH_GRANT_REVOKED", "{v}");
    let attempts = lab.attempts();
    assert_eq!(
        attempts, 2,
        "the device run and the first batch logged in; the revoked one did not"
    );
}

#[test]
fn a_failed_sign_in_says_why_each_login_was_not_tested() {
    let lab = Lab::new(
        Script {
            pending: 0,
            blocker: Some(53003),
            ..Script::default()
        },
        &[
            "exo-smtp-xoauth2-ok",
            "exo-imap-xoauth2-ok",
            "exo-pop-xoauth2-ok",
        ],
    );
    let (v, code, _) = lab.device(&[]);
    assert_eq!(code, Some(2), "{v}");
    assert_eq!(codes(&v)[0], "OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS", "{v}");
    for id in ["smtp", "imap", "pop"] {
        let summary = check(&v, id)["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains(
                "login not tested: the sign-in failed (OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS)"
            ),
            "{id}: {summary}"
        );
    }
    let creds = check(&v, "credentials")["summary"].to_string();
    assert!(!creds.contains("no password"), "{creds}");
    // The text report says the same, and nowhere "no password".
    let out = lab
        .command(&["--sign-in", "device", "--client-id", CLIENT])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    lab.no_leak(&out.stdout, &out.stderr);
    // Lines wrap at 80 columns: compare the words.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!text.contains("no password"), "{text}");
    assert!(
        text.contains("the sign-in failed (OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS)"),
        "{text}"
    );
    let attempts = lab.attempts();
    assert_eq!(attempts, 0, "no token, no login");
}

#[test]
fn gmail_batch_refreshes_with_the_rows_client_secret_and_keeps_the_rotated_token() {
    let lab = Lab::new(
        Script {
            rotate_refresh: true,
            ..Script::default()
        },
        &["gmail-imap-xoauth2-ok"],
    );
    let secret = Script::default().client_secret;
    let file = lab.dir.path().join("refresh-token");
    let (child, url, err) = start_google(
        &lab,
        &secret,
        &["--save-token", file.to_str().expect("utf-8")],
    );
    let location = authorize(&lab, &url);
    assert_eq!(follow(&lab, &location), 200);
    let (v, code) = finish(&lab, child, err);
    assert_eq!(code, Some(0), "{v}");
    let saved = std::fs::read_to_string(&file).expect("saved");
    let secret_file = lab.dir.path().join("secret-600");
    let imap = lab.servers[0].0.trim_start_matches("--imap=").to_string();
    let csv = lab.dir.path().join("mailboxes.csv");
    let write_csv = |secret: &std::path::Path| {
        std::fs::write(
            &csv,
            format!(
                "email,provider,imap,refresh_token_file,client_id,client_secret_file\n{USER},gmail,{imap},{},{CLIENT},{}\n",
                file.display(),
                secret.display()
            ),
        )
        .expect("csv")
    };
    let batch = || lab.batch(&csv);
    write_csv(&secret_file);
    let v = Lab::first_report(&batch());
    assert_eq!(check(&v, "signin")["status"], "pass", "{v}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(
        lab.identity.platform.grants(),
        ["authorization_code", "refresh_token"],
        "the refresh carried the client secret (Google refuses one without it)"
    );
    util::assert_rotated(&file, &saved);
    // Access removed: Google's words name the diagnosis, and no login is tried.
    lab.identity.platform.revoke_all();
    let v = Lab::first_report(&batch());
    assert_eq!(codes(&v)[0], "OAUTH_GOOGLE_GRANT_INVALID", "{v}");
    assert_eq!(
        lab.attempts(),
        2,
        "the sign-in and the first batch logged in; the revoked run did not"
    );
    // A client secret file others may read is refused before anything is sent.
    let open = util::signin_lab::secret_file_named(&lab, "secret-open", &secret, 0o644);
    write_csv(&open);
    let out = batch();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client_secret_file"), "{err}");
    assert_eq!(lab.identity.platform.grants().len(), 3, "nothing was sent");
}

#[test]
fn check_trades_a_saved_refresh_token_and_keeps_the_rotated_one() {
    let lab = Lab::new(Script::default(), &["exo-imap-xoauth2-ok"]);
    let file = lab.dir.path().join("refresh-token");
    let (v, code, _) = lab.device(&["--save-token", file.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{v}");
    let saved = std::fs::read_to_string(&file).expect("saved");
    let (v, code, _) = lab.check(&[
        "--refresh-token-file",
        file.to_str().expect("utf-8"),
        "--client-id",
        CLIENT,
        "--tenant",
        "contoso.com",
    ]);
    assert_eq!(code, Some(0), "{v}");
    let s = check(&v, "signin");
    assert_eq!(s["details"]["flow"], "a saved refresh token", "{v}");
    assert!(s["details"]["steps"].to_string().contains("rotated"), "{s}");
    assert_eq!(check(&v, "imap")["status"], "pass", "{v}");
    assert_eq!(
        lab.identity.platform.grants().last().map(String::as_str),
        Some("refresh_token")
    );
    util::assert_rotated(&file, &saved);
    // A token file others may read, and --client-id without a way to sign in,
    // are refused before anything is sent.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let sent = lab.identity.platform.grants().len();
    for args in [
        vec![
            "--refresh-token-file",
            file.to_str().expect("utf-8"),
            "--client-id",
            CLIENT,
        ],
        vec!["--client-id", CLIENT],
    ] {
        let out = lab.command(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        lab.no_leak(&out.stdout, &out.stderr);
    }
    assert_eq!(lab.identity.platform.grants().len(), sent);
}
