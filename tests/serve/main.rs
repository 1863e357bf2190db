//! `serve` as Prometheus uses it, against replay servers on 127.0.0.1 that count
//! every AUTH: the lockout promise (one login per target and protocol per
//! min_interval, across repeated and concurrent scrapes, reloads and module
//! changes), deadlines from the scrape-timeout header, 404s, bad configs,
//! reloads, graceful shutdown, the logs, and no canary anywhere.

#[path = "../util/mod.rs"]
mod util;

mod configs;
mod examples;
mod harness;
mod idle;
mod ops;
mod trust;

use harness::{slow_greeting, Env, Serve, USER};
use std::time::{Duration, Instant};

fn one_target(env: &Env, port: u16, module_extra: &str) -> std::path::PathBuf {
    let text = env.smtp_module("smtp", port, module_extra) + &env.target(USER, "smtp", "");
    env.write_config(&text)
}

#[test]
fn twenty_scrapes_within_min_interval_make_one_login() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let cfg = one_target(&env, server.addr().port(), "min_interval = \"5m\"");
    let serve = Serve::start(&cfg, &[]);
    let mut ages = Vec::new();
    for i in 0..20 {
        let a = serve.probe(USER);
        assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
        assert_eq!(
            a.value("mailbox_doctor_probe_cached", &[]),
            Some(if i == 0 { 0.0 } else { 1.0 }),
            "scrape {i}"
        );
        assert_eq!(
            a.root_cause().as_deref(),
            Some("M365_SMTP_BASIC_AUTH_SUNSET")
        );
        // The same families as `check --format prometheus`.
        assert_eq!(
            a.value("mailbox_doctor_status", &[("mailbox", USER)]),
            Some(1.0)
        );
        ages.push(
            a.value("mailbox_doctor_probe_age_seconds", &[])
                .unwrap_or(-1.0),
        );
    }
    assert!(ages.windows(2).all(|w| w[0] <= w[1]), "{ages:?}");
    let stats = server.stats();
    assert_eq!(stats.auth_attempts, 1, "one login for 20 scrapes");
    assert_eq!(stats.connections, 1);
    let m = serve.get("/metrics");
    assert_eq!(
        m.value("mailbox_doctor_serve_cache_hits_total", &[]),
        Some(19.0)
    );
    assert_eq!(
        m.value("mailbox_doctor_serve_logins_total", &[("protocol", "smtp")]),
        Some(1.0)
    );
    assert_eq!(
        m.value(
            "mailbox_doctor_serve_probes_total",
            &[("module", "smtp"), ("result", "success")]
        ),
        Some(1.0)
    );
    serve.assert_no_leak();
}

#[test]
fn after_min_interval_the_next_scrape_logs_in_again() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let cfg = one_target(&env, server.addr().port(), "min_interval = \"2s\"");
    let serve = Serve::start(&cfg, &[]);
    let first = Instant::now();
    serve.probe(USER);
    while first.elapsed() < Duration::from_millis(1800) {
        serve.probe(USER);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.stats().auth_attempts, 1);
    std::thread::sleep(Duration::from_millis(2100).saturating_sub(first.elapsed()));
    let a = serve.probe(USER);
    assert_eq!(a.value("mailbox_doctor_probe_cached", &[]), Some(0.0));
    assert_eq!(server.stats().auth_attempts, 2);
}

#[test]
fn concurrent_scrapes_share_one_probe() {
    let env = Env::new();
    // Slow replies: the probe takes about a second, so the scrapes overlap it.
    let server = env.fixture("exo-smtp-ok", Duration::from_millis(120));
    let cfg = one_target(&env, server.addr().port(), "");
    let serve = Serve::start(&cfg, &[]);
    let answers: Vec<harness::Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10).map(|_| s.spawn(|| serve.probe(USER))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joins"))
            .collect()
    });
    for a in &answers {
        assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
    }
    let stats = server.stats();
    assert_eq!(stats.auth_attempts, 1, "ten concurrent scrapes, one login");
    assert_eq!(stats.connections, 1);
    let m = serve.get("/metrics");
    let joined = m
        .value("mailbox_doctor_serve_coalesced_total", &[])
        .unwrap_or(0.0);
    let hits = m
        .value("mailbox_doctor_serve_cache_hits_total", &[])
        .unwrap_or(0.0);
    assert_eq!(joined + hits, 9.0);
    assert!(joined >= 1.0, "the scrapes overlapped the probe");
    serve.assert_no_leak();
}

#[test]
fn the_scrape_timeout_header_sets_the_deadline_and_an_overrun_is_a_timeout() {
    let env = Env::new();
    // Each reply comes quickly enough for its step, but a login's seven take
    // longer than the deadline together.
    let server = env.fixture("exo-smtp-ok", Duration::from_millis(400));
    let cfg = one_target(&env, server.addr().port(), "");
    let serve = Serve::start(&cfg, &[]);
    let start = Instant::now();
    let a = serve.get_with(
        &format!("/probe?target={USER}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1.5")],
    );
    let took = start.elapsed();
    assert!(took < Duration::from_millis(3000), "answered in {took:?}");
    assert_eq!(a.value("probe_success", &[]), Some(0.0), "{}", a.body);
    assert_eq!(a.value("probe_timeout_seconds", &[]), Some(1.0));
    assert_eq!(a.root_cause().as_deref(), Some("PROBE_TIMEOUT"));
    assert_eq!(
        a.value("mailbox_doctor_check_status", &[("check", "smtp")]),
        Some(3.0),
        "the check still running is an error"
    );
    let log = serve.wait_log("probe", 1);
    assert_eq!(log[0]["timed_out"], true);
    assert_eq!(log[0]["root_cause"], "PROBE_TIMEOUT");
    // The cancelled probe counts against the budget: the next scrape is cached.
    let b = serve.probe(USER);
    assert_eq!(b.value("mailbox_doctor_probe_cached", &[]), Some(1.0));
    assert_eq!(b.root_cause().as_deref(), Some("PROBE_TIMEOUT"));
    assert!(server.stats().connections <= 1);
}

#[test]
fn the_module_timeout_caps_a_longer_scrape_timeout() {
    let env = Env::new();
    let server = env.replay(slow_greeting(4000), Duration::ZERO);
    let text = env
        .smtp_module("smtp", server.addr().port(), "")
        .replace("timeout = 5", "timeout = 1")
        + &env.target(USER, "smtp", "");
    let serve = Serve::start(&env.write_config(&text), &[]);
    let start = Instant::now();
    let a = serve.get_with(
        &format!("/probe?target={USER}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "30")],
    );
    assert!(start.elapsed() < Duration::from_millis(3000));
    assert_eq!(a.value("probe_timeout_seconds", &[]), Some(1.0));
    assert_eq!(a.value("probe_success", &[]), Some(0.0));
    let bad = serve.get_with(
        &format!("/probe?target={USER}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "soon")],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[test]
fn unknown_targets_and_modules_are_404_and_nothing_is_probed() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let text = env.smtp_module("smtp", server.addr().port(), "")
        + &env.smtp_module("other", server.addr().port(), "")
        + &env.target(USER, "smtp", "");
    let serve = Serve::start(&env.write_config(&text), &[]);
    for (path, status) in [
        ("/probe?target=nobody%40contoso.com", 404),
        (&format!("/probe?target={USER}&module=nope") as &str, 404),
        (&format!("/probe?target={USER}&module=other"), 404),
        ("/probe", 400),
        ("/probe?module=smtp", 400),
        (&format!("/probe?target={USER}&target={USER}"), 400),
        ("/nothing-here", 404),
    ] {
        let a = serve.get(path);
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert!(
            a.body.is_ascii() && !a.body.is_empty(),
            "{path}: plain words"
        );
    }
    let a = serve.get("/probe?target=nobody%40contoso.com");
    assert!(a.body.contains("No target with this address"), "{}", a.body);
    assert_eq!(server.stats().connections, 0, "no probe ran");
    // Case does not matter for the address.
    let a = serve.probe("Scanner@Contoso.COM");
    assert_eq!(a.value("probe_success", &[]), Some(1.0));
    let healthy = serve.get("/-/healthy");
    assert_eq!((healthy.status, healthy.body.trim()), (200, "Healthy"));
}

#[test]
fn a_secret_in_the_url_is_refused_and_never_echoed() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let serve = Serve::start(&one_target(&env, server.addr().port(), ""), &[]);
    for path in [
        format!("/probe?target={USER}&password={}", harness::CANARY),
        format!("/probe?target={}", harness::CANARY),
        format!("/probe?target={USER}&module={}", harness::CANARY),
        // An encoded `=` makes the whole pair a parameter name.
        format!("/probe?target={USER}&password%3D{}", harness::CANARY),
        format!("/probe?target={USER}&{}", harness::CANARY),
    ] {
        let a = serve.get(&path);
        assert!(a.status == 400 || a.status == 404, "{path}: {}", a.status);
        assert!(!a.body.contains(harness::CANARY), "{}", a.body);
        assert!(!a.body.contains("password"), "{}", a.body);
        if a.status == 400 && path.contains("password") {
            assert!(
                a.body.contains("/probe takes only target and module"),
                "{}",
                a.body
            );
        }
    }
    serve.assert_no_leak();
    assert_eq!(server.stats().connections, 0);
    crate::util::assert_no_leak(USER, harness::CANARY, &[&serve.stderr()]);
}

#[test]
fn a_token_file_logs_in_with_xoauth2_and_never_shows_the_token() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-xoauth2-ok", Duration::ZERO);
    let token = util::canary_token(USER);
    let tf = env.secret("scanner.token", &token);
    let text = env.smtp_module("smtp", server.addr().port(), "")
        + &format!(
            "[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\ntoken_file = \"{}\"\n",
            tf.display()
        );
    let serve = Serve::start(&env.write_config(&text), &[]);
    let a = serve.probe(USER);
    assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
    assert_eq!(server.stats().auth_attempts, 1);
    let m = serve.get("/metrics");
    let seen = serve.seen.lock().expect("lock").clone();
    util::assert_no_leak(USER, &token, &[&seen, &serve.stderr(), m.body.as_bytes()]);
    util::assert_no_leak(USER, "TokCanary7734", &[&seen, &serve.stderr()]);
}

#[test]
fn one_log_line_per_probe_names_target_module_duration_status_and_cause() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-bad-credentials", Duration::ZERO);
    let serve = Serve::start(&one_target(&env, server.addr().port(), ""), &[]);
    let a = serve.probe(USER);
    assert_eq!(a.value("probe_success", &[]), Some(0.0));
    let code = a.root_cause().expect("a root cause");
    serve.probe(USER);
    let lines = serve.wait_log("probe", 1);
    assert_eq!(lines.len(), 1, "cached answers are not probes");
    let l = &lines[0];
    assert_eq!(l["target"], USER);
    assert_eq!(l["module"], "smtp");
    assert_eq!(l["status"], "CRITICAL");
    assert_eq!(l["root_cause"], code.as_str());
    assert!(l["duration_seconds"].as_f64().is_some());
    assert!(l["ts"].as_str().is_some() && l["level"] == "info");
    serve.assert_no_leak();
}

#[test]
fn one_domain_gets_at_most_per_domain_probes_at_once() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::from_millis(60));
    let mut text = env.smtp_module("smtp", server.addr().port(), "");
    let users: Vec<String> = (0..6).map(|i| format!("user{i}@contoso.com")).collect();
    for u in &users {
        text += &env.target(u, "smtp", "");
    }
    let serve = Serve::start(&env.write_config(&text), &["--per-domain", "2"]);
    std::thread::scope(|s| {
        for u in &users {
            let serve = &serve;
            s.spawn(move || {
                let a = serve.probe(u);
                assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
            });
        }
    });
    let stats = server.stats();
    assert_eq!(stats.auth_attempts, 6, "one login per mailbox");
    assert!(
        stats.max_active <= 2,
        "{} at once for one domain",
        stats.max_active
    );
    assert!(
        stats.max_active == 2,
        "the limit was reached: {}",
        stats.max_active
    );
}

#[test]
fn a_refresh_token_file_is_refreshed_by_each_probe_then_logs_in_with_xoauth2() {
    use mailbox_doctor::sim::identity::IdentityServer;
    use mailbox_doctor::sim::oauth::{Answer, Script};
    let env = Env::new();
    let cert = env
        .pki
        .ca
        .issue(&["127.0.0.1"], mailbox_doctor::sim::pki::Validity::Valid)
        .expect("cert");
    let script = Script {
        pending: 0,
        user: USER.into(),
        ..Script::default()
    };
    let identity = env
        .rt
        .block_on(IdentityServer::start_scripted(
            &cert,
            Default::default(),
            script,
        ))
        .expect("identity");
    // A refresh token the platform issued, as `--save-token` would have saved it.
    let p = &identity.platform;
    let json = |a: Answer| match a {
        Answer::Json((_, body)) => serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        Answer::Redirect(_) => panic!("no redirect expected"),
    };
    let scope = "https://outlook.office.com/SMTP.Send%20offline_access";
    let dc = json(p.answer(
        "POST",
        "/t/oauth2/v2.0/devicecode",
        &format!("scope={scope}"),
    ));
    let device_code = dc["device_code"].as_str().expect("device code").to_string();
    let grant = mailbox_doctor::oauth::endpoint::encode_form(&[
        ("grant_type", mailbox_doctor::oauth::device::GRANT),
        ("device_code", &device_code),
    ]);
    let t = json(p.answer("POST", "/t/oauth2/v2.0/token", &grant));
    let refresh = t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let rf = env.secret("scanner.refresh", &refresh);
    let server = env.fixture("exo-smtp-xoauth2-ok", Duration::ZERO);
    let module = env.smtp_module(
        "smtp",
        server.addr().port(),
        &format!(
            "identity_url = \"https://127.0.0.1:{}\"",
            identity.addr().port()
        ),
    );
    let text = module
        + &format!(
            "[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\nrefresh_token_file = \"{}\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\ntenant = \"contoso.com\"\n",
            rf.display()
        );
    let serve = Serve::start(&env.write_config(&text), &[]);
    let a = serve.probe(USER);
    assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
    assert_eq!(server.stats().auth_attempts, 1);
    assert_eq!(p.grants().last().map(String::as_str), Some("refresh_token"));
    // The platform handed back a new refresh token: it replaced the old one in
    // the file, which only its owner may still read, and nothing else is left.
    util::assert_rotated(&rf, &refresh);
    // Within min_interval the cached answer stands: no second refresh or login.
    serve.probe(USER);
    assert_eq!(p.grants().len(), 2, "one device-code poll, one refresh");
    assert_eq!(server.stats().auth_attempts, 1);
    no_platform_secret_leaks(&serve, p, &a.body);
}

/// The scripted identity platform on 127.0.0.1, with a certificate of the
/// environment's CA.
fn scripted_identity(
    env: &Env,
    script: mailbox_doctor::sim::oauth::Script,
) -> mailbox_doctor::sim::identity::IdentityServer {
    let cert = env
        .pki
        .ca
        .issue(&["127.0.0.1"], mailbox_doctor::sim::pki::Validity::Valid)
        .expect("cert");
    env.rt
        .block_on(
            mailbox_doctor::sim::identity::IdentityServer::start_scripted(
                &cert,
                Default::default(),
                script,
            ),
        )
        .expect("identity")
}

/// No secret the platform handed out or received shows in serve's answers,
/// the metrics, the requests it saw or its log.
fn no_platform_secret_leaks(serve: &Serve, p: &mailbox_doctor::sim::oauth::Platform, body: &str) {
    let m = serve.get("/metrics");
    let seen = serve.seen.lock().expect("lock").clone();
    for secret in p.secrets() {
        util::assert_no_leak(
            USER,
            &secret,
            &[&seen, &serve.stderr(), m.body.as_bytes(), body.as_bytes()],
        );
    }
}

#[test]
fn a_google_target_refreshes_with_its_client_secret_and_keeps_the_rotated_token() {
    use mailbox_doctor::sim::oauth::{Answer, Script};
    let env = Env::new();
    let script = Script {
        rotate_refresh: true,
        ..Script::default()
    };
    let client_secret = script.client_secret.clone();
    let identity = scripted_identity(&env, script);
    // A refresh token Google's endpoints issued, as `--save-token` saves it.
    let p = &identity.platform;
    let verifier = "a-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let challenge = mailbox_doctor::oauth::browser::challenge(verifier);
    let loc = match p.answer(
        "GET",
        &format!("/o/oauth2/v2/auth?redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F&state=s&code_challenge={challenge}&scope=https%3A%2F%2Fmail.google.com%2F"),
        "",
    ) {
        Answer::Redirect(to) => to,
        Answer::Json(j) => panic!("a redirect expected: {j:?}"),
    };
    let code = loc
        .split("code=")
        .nth(1)
        .and_then(|c| c.split('&').next())
        .expect("code");
    let code = mailbox_doctor::oauth::endpoint::decode_form(&format!("c={code}"))[0]
        .1
        .to_string();
    let form = mailbox_doctor::oauth::endpoint::encode_form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:9/"),
        ("code_verifier", verifier),
        ("client_secret", &client_secret),
    ]);
    let t = match p.answer("POST", "/token", &form) {
        Answer::Json((_, body)) => serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        Answer::Redirect(_) => panic!("no redirect expected"),
    };
    let refresh = t["refresh_token"].as_str().expect("refresh").to_string();
    let rf = env.secret("gmail.refresh", &refresh);
    let sf = env.secret("gmail.client-secret", &client_secret);
    let server = env.fixture("gmail-smtp-xoauth2-ok", Duration::ZERO);
    let text = format!(
        "[modules.gmail]\nsmtp = \"smtps://127.0.0.1:{}\"\nprovider = \"gmail\"\nonly = [\"smtp\"]\ntimeout = 5\nca_file = \"{}\"\ndns_server = \"{}\"\nidentity_url = \"https://127.0.0.1:{}\"\n\n[[targets]]\naddress = \"{USER}\"\nmodule = \"gmail\"\nrefresh_token_file = \"{}\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret_file = \"{}\"\n",
        server.addr().port(),
        env.ca.display(),
        env.dns.addr(),
        identity.addr().port(),
        rf.display(),
        sf.display()
    );
    let serve = Serve::start(&env.write_config(&text), &[]);
    let a = serve.probe(USER);
    assert_eq!(a.value("probe_success", &[]), Some(1.0), "{}", a.body);
    assert_eq!(server.stats().auth_attempts, 1);
    assert_eq!(
        p.grants(),
        ["authorization_code", "refresh_token"],
        "the refresh carried the client secret (Google refuses one without it)"
    );
    util::assert_rotated(&rf, &refresh);
    no_platform_secret_leaks(&serve, p, &a.body);
}

#[test]
fn a_client_secret_file_others_may_read_is_refused_at_load() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    let rf = env.secret("x.refresh", "1.AQ-not-a-real-refresh-token");
    let sf = env.secret("x.client-secret", "GOCSPX-open-secret");
    std::fs::set_permissions(&sf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let module = env.smtp_module("smtp", 25, "provider = \"gmail\"");
    let text = module
        + &format!(
            "[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\nrefresh_token_file = \"{}\"\nclient_id = \"c\"\nclient_secret_file = \"{}\"\n",
            rf.display(),
            sf.display()
        );
    let out = crate::harness::serve_cmd(&env.write_config(&text))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client_secret_file"), "{err}");
    assert!(!err.contains("GOCSPX-open-secret"), "{err}");
}
