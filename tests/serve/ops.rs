//! Operating `serve`: SIGHUP and `POST /-/reload` reload (a broken config keeps
//! the old one; the cache and the lockout ledger survive, also when a module
//! changes; the HTTP reload is taken from this machine only), SIGTERM
//! during a probe (the probe finishes and is answered), and the HTTP bounds.

use crate::harness::{serve_cmd_on, Env, Serve, USER};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

#[test]
fn a_broken_reload_keeps_the_old_config_and_a_good_one_keeps_the_cache() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let port = server.addr().port();
    let good = env.smtp_module("smtp", port, "") + &env.target(USER, "smtp", "");
    let cfg = env.write_config(&good);
    let serve = Serve::start(&cfg, &[]);
    assert_eq!(serve.probe(USER).value("probe_success", &[]), Some(1.0));

    // Broken: an unknown key. The old config stays and says why in the log.
    env.write_config(&(good.clone() + "colour = \"red\"\n"));
    serve.signal("HUP");
    let failed = serve.wait_log("reload failed; the previous config stays in force", 1);
    let why = failed[0]["error"].as_str().unwrap_or_default();
    assert!(why.contains("colour"), "{why}");
    let a = serve.probe(USER);
    assert_eq!(a.value("mailbox_doctor_probe_cached", &[]), Some(1.0));
    let m = serve.get("/metrics");
    assert_eq!(
        m.value("mailbox_doctor_serve_config_last_reload_successful", &[]),
        Some(0.0)
    );

    // Good again, with a second target: the first keeps its cached result.
    let second = "printer@contoso.com";
    env.write_config(&(good.clone() + &env.target(second, "smtp", "")));
    serve.signal("HUP");
    let ok = serve.wait_log("reloaded", 1);
    assert_eq!(ok[0]["unchanged"], 1);
    assert_eq!(ok[0]["targets"], 2);
    let a = serve.probe(USER);
    assert_eq!(a.value("mailbox_doctor_probe_cached", &[]), Some(1.0));
    assert_eq!(server.stats().auth_attempts, 1);
    let b = serve.probe(second);
    assert_eq!(b.value("mailbox_doctor_probe_cached", &[]), Some(0.0));
    assert_eq!(server.stats().auth_attempts, 2);

    // The module changes (another timeout): still no second login for USER
    // within min_interval; the old result is shown, marked cached.
    env.write_config(
        &(good.replace("timeout = 5", "timeout = 6") + &env.target(second, "smtp", "")),
    );
    serve.signal("HUP");
    serve.wait_log("reloaded", 2);
    let a = serve.probe(USER);
    assert_eq!(a.value("mailbox_doctor_probe_cached", &[]), Some(1.0));
    assert_eq!(server.stats().auth_attempts, 2);

    // A second module for the same mailbox and protocol: deferred, no login.
    env.write_config(
        &(good.clone() + &env.smtp_module("smtp2", port, "") + &env.target(USER, "smtp2", "")),
    );
    serve.signal("HUP");
    serve.wait_log("reloaded", 3);
    let d = serve.get(&format!("/probe?target={USER}&module=smtp2"));
    assert_eq!(d.status, 503, "{}", d.body);
    assert!(d.header("retry-after").is_some());
    assert!(d.body.contains("over smtp"), "{}", d.body);
    assert_eq!(
        server.stats().auth_attempts,
        2,
        "the budget holds across modules"
    );
    serve.assert_no_leak();
}

/// The reload every platform has (Windows has no SIGHUP): `POST /-/reload`, as
/// Prometheus offers. Same effect as SIGHUP, and the answer says how it went.
#[test]
fn post_reload_from_loopback_reloads_as_sighup_does() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let port = server.addr().port();
    let good = env.smtp_module("smtp", port, "") + &env.target(USER, "smtp", "");
    let cfg = env.write_config(&good);
    let serve = Serve::start(&cfg, &[]);
    assert_eq!(serve.probe(USER).value("probe_success", &[]), Some(1.0));
    let post = |path: &str| serve.request_to(serve.addr, "POST", path, &[]);

    // A GET does not reload, and says which method does.
    let g = serve.get("/-/reload");
    assert_eq!(g.status, 405, "{}", g.body);
    assert_eq!(g.header("allow").as_deref(), Some("POST"));

    // Broken: refused with 500, the old config stays, the log says why.
    env.write_config(&(good.clone() + "colour = \"red\"\n"));
    let r = post("/-/reload");
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.body.contains("previous one stays in force"), "{}", r.body);
    let failed = serve.wait_log("reload failed; the previous config stays in force", 1);
    assert!(failed[0]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("colour"));
    assert_eq!(
        serve.probe(USER).value("mailbox_doctor_probe_cached", &[]),
        Some(1.0)
    );

    // Good, with a second target: 200, and the first target's result is kept.
    let second = "printer@contoso.com";
    env.write_config(&(good.clone() + &env.target(second, "smtp", "")));
    let r = post("/-/reload");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("2 targets"), "{}", r.body);
    let ok = serve.wait_log("reloaded", 1);
    assert_eq!(ok[0]["unchanged"], 1);
    let a = serve.probe(USER);
    assert_eq!(a.value("mailbox_doctor_probe_cached", &[]), Some(1.0));
    assert_eq!(server.stats().auth_attempts, 1, "no second login");
    assert_eq!(
        serve
            .get("/metrics")
            .value("mailbox_doctor_serve_config_last_reload_successful", &[]),
        Some(1.0)
    );
    serve.assert_no_leak();
}

/// A client on another address of the machine (not loopback) may scrape, but
/// not reload: 403, and the config is not read again.
#[test]
#[allow(clippy::disallowed_macros)] // a skipped test says so, loudly
fn post_reload_from_a_non_loopback_address_is_refused() {
    // This machine's address on its default route, if it has one.
    let Some(ip) = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|u| u.connect("192.0.2.1:9").map(|_| u))
        .and_then(|u| u.local_addr())
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
    else {
        eprintln!("SKIPPED: this machine has no non-loopback IPv4 address to test from");
        return;
    };
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let good = env.smtp_module("smtp", server.addr().port(), "") + &env.target(USER, "smtp", "");
    let cfg = env.write_config(&good);
    let serve = Serve::spawn(&mut serve_cmd_on(&cfg, &format!("{ip}:0")));
    let at = std::net::SocketAddr::new(ip, serve.addr.port());
    assert_eq!(
        serve.request_to(at, "GET", "/-/healthy", &[]).status,
        200,
        "reachable from {ip}"
    );
    let r = serve.request_to(at, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("only from this machine"), "{}", r.body);
    assert!(!String::from_utf8_lossy(&serve.stderr()).contains("reloaded"));
}

#[test]
fn sigterm_during_a_probe_lets_it_finish_and_answer() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::from_millis(150));
    let text = env.smtp_module("smtp", server.addr().port(), "") + &env.target(USER, "smtp", "");
    let mut serve = Serve::start(&env.write_config(&text), &[]);
    let answer = std::thread::scope(|s| {
        let scrape = s.spawn(|| serve.probe(USER));
        // The probe is under way (its first reply is delayed) when TERM comes.
        let until = Instant::now() + Duration::from_secs(10);
        while server.stats().connections == 0 {
            assert!(Instant::now() < until, "the probe did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        serve.signal("TERM");
        scrape.join().expect("joins")
    });
    assert_eq!(
        answer.value("probe_success", &[]),
        Some(1.0),
        "{}",
        answer.body
    );
    assert_eq!(server.stats().auth_attempts, 1);
    let code = serve.wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(0));
    let stopped = serve.wait_log("stopped", 1);
    assert_eq!(stopped[0]["clean"], true);
    assert!(
        std::net::TcpStream::connect(serve.addr).is_err(),
        "no longer listening"
    );
}

#[test]
fn requests_are_bounded_in_size_method_body_and_header_time() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let text = env.smtp_module("smtp", server.addr().port(), "") + &env.target(USER, "smtp", "");
    let serve = Serve::start(&env.write_config(&text), &[]);
    let exchange = |req: &[u8]| -> String {
        let mut s = std::net::TcpStream::connect(serve.addr).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let _ = s.write_all(req);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).to_string()
    };
    // A head larger than the cap.
    let huge = format!(
        "GET /probe?target={USER} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let out = exchange(huge.as_bytes());
    assert!(out.is_empty() || out.starts_with("HTTP/1.1 431"), "{out}");
    // A body.
    let out = exchange(b"POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert!(
        out.starts_with("HTTP/1.1 413") || out.starts_with("HTTP/1.1 405"),
        "{out}"
    );
    let out = exchange(b"DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 405"), "{out}");
    // A head that never ends is cut off by the header timeout (10 s).
    let start = Instant::now();
    let out = exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
    assert!(!out.contains("200 OK"), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.stats().connections, 0);
    let m = serve.get("/metrics");
    assert_eq!(m.status, 200);
}
