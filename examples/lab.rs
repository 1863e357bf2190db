//! A simulated Exchange Online for benchmarks: replay servers (SMTP, IMAP, POP3)
//! that wait `--delay MS` before every reply, a DNS server and an identity
//! endpoint, all on 127.0.0.1. Prints shell exports for scripts/bench.sh and runs
//! until its standard input closes.
//!
//!     cargo run --release --example lab -- --delay 50

#![allow(clippy::disallowed_macros)] // a command-line helper: its output is its job

use mailbox_doctor::sim::replay::{Pki, ReplayServer, Scenario};
use std::io::Read;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let delay_ms: u64 = args
        .iter()
        .position(|a| a == "--delay")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let delay = Duration::from_millis(delay_ms);
    let pki = Pki::new()?;
    let mut exports = Vec::new();
    let mut servers = Vec::new();
    let mut floor = 0;
    for (var, fixture, host) in [
        ("SMTP", "exo-smtp-ok", "smtp.office365.com"),
        ("IMAP", "exo-imap-ok", "outlook.office365.com"),
        ("POP", "exo-pop-ok", "outlook.office365.com"),
    ] {
        let sc = Scenario::named(fixture)?;
        floor = floor.max(sc.round_trips());
        exports.push(format!(
            "export MD_LAB_{var}_ROUND_TRIPS={}",
            sc.round_trips()
        ));
        let cfg = pki.server_config(sc.cert, &[host])?;
        let s = ReplayServer::start(sc, cfg, delay)
            .await
            .map_err(|e| e.to_string())?;
        exports.push(format!("export MD_LAB_{var}={host}:{}", s.addr().port()));
        servers.push(s);
    }
    let (dns, identity) = mailbox_doctor::demo::contoso_services(&pki).await?;
    let ca = std::env::temp_dir().join(format!("mailbox-doctor-lab-{}.pem", std::process::id()));
    std::fs::write(&ca, pki.ca.pem()).map_err(|e| e.to_string())?;
    exports.push(format!("export MD_LAB_DNS={}", dns.addr()));
    exports.push(format!("export MD_LAB_CA={}", ca.display()));
    exports.push(format!(
        "export MD_LAB_IDENTITY=https://login.microsoftonline.com:{}",
        identity.addr().port()
    ));
    exports.push(format!("export MD_LAB_DELAY_MS={delay_ms}"));
    exports.push(format!("export MD_LAB_FLOOR_ROUND_TRIPS={floor}"));
    println!("{}", exports.join("\n"));
    // Serve until the caller closes our standard input.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&ca);
    drop(servers);
    Ok(())
}
