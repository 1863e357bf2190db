//! `serve` and the trust rule: a module without named servers discovers them
//! on every probe; a discovered server outside the address's domain gets no
//! login on any scrape, however often min_interval would allow one, until the
//! module trusts it by name (`trust_discovered`).

use crate::harness::{Env, Serve};
use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::time::Duration;

const ADDRESS: &str = "alice@example.org";
const EVIL: &str = "smtp.attacker.test";

fn evil_server(env: &Env) -> ReplayServer {
    let sc = Scenario::named("gmail-smtp-implicit-ok").expect("fixture");
    let cfg = env.pki.server_config(sc.cert, &[EVIL]).expect("cert");
    env.rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("replay")
}

fn zone(port: u16) -> Zone {
    Zone::new()
        .add("example.org", Rec::Mx(10, "mx.example.org".into()))
        .add("mx.example.org", Rec::Ip("127.0.0.1".parse().expect("ip")))
        .add(
            "_submissions._tcp.example.org",
            Rec::Srv(0, 0, port, EVIL.into()),
        )
        .add(EVIL, Rec::Ip("127.0.0.1".parse().expect("ip")))
}

fn config(env: &Env, dns: &DnsServer, trust: &str) -> std::path::PathBuf {
    let module = format!(
        "[modules.found]\nonly = [\"smtp\"]\ntimeout = 5\nmin_interval = 1\nca_file = \"{}\"\ndns_server = \"{}\"\n{trust}\n",
        env.ca.display(),
        dns.addr()
    );
    env.write_config(&(module + &env.target(ADDRESS, "found", "")))
}

#[test]
fn a_discovered_server_outside_the_domain_gets_no_login_on_any_scrape() {
    let env = Env::new();
    let server = evil_server(&env);
    let dns = env
        .rt
        .block_on(DnsServer::start(zone(server.addr().port())))
        .expect("dns");
    let serve = Serve::start(&config(&env, &dns, ""), &[]);
    for i in 0..4 {
        let a = serve.probe(ADDRESS);
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.root_cause().as_deref(),
            Some("DISCOVERED_HOST_NOT_TRUSTED"),
            "scrape {i}: {}",
            a.body
        );
        // Past min_interval: a login would be allowed by the lockout budget.
        std::thread::sleep(Duration::from_millis(1100));
    }
    let seen = server.take_stats();
    assert_eq!(seen.auth_attempts, 0, "{seen:?}");
    assert!(seen.connections >= 1, "it is still tested: {seen:?}");
    serve.assert_no_leak();
    drop(serve);

    // Trusted by the module: one login per min_interval.
    let serve = Serve::start(
        &config(&env, &dns, &format!("trust_discovered = [\"{EVIL}\"]")),
        &[],
    );
    let a = serve.probe(ADDRESS);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(server.take_stats().auth_attempts, 1, "{}", a.body);
    serve.assert_no_leak();
}
