//! `demo` scenarios for `paths`: the simulated tenant of `sim::paths` (an
//! Exchange Online Protection MX, the HVE endpoint, Exchange Online's
//! submission endpoint on 127.0.0.1) and the real `paths` probes run against it.

use super::Outcome;
use crate::checks::NetOptions;
use crate::knowledge::Knowledge;
use crate::report::paths::PathsReport;
use crate::runner::paths::{self, PathsSpec, Ports};
use crate::secret::Secret;
use crate::sim::paths::{Lab, Mx};
use std::time::Duration;

pub struct PathsScenario {
    pub name: &'static str,
    pub title: &'static str,
    pub mx: fn() -> Mx,
    pub hve: &'static str,
    /// Whether the demo logs in to HVE (with a demo account).
    pub hve_login: bool,
    pub external: bool,
    /// The code the scenario shows (None: a path works).
    pub expect: Option<&'static str>,
}

pub const SCENARIOS: &[PathsScenario] = &[
    PathsScenario {
        name: "direct-send-rejected",
        title: "paths: the organisation rejects direct send (5.7.68)",
        mx: || Mx::Plays("eop-direct-send-rejected"),
        hve: "hve-reachable",
        hve_login: false,
        external: false,
        expect: Some("DIRECT_SEND_REJECTED"),
    },
    PathsScenario {
        name: "connector-not-matched",
        title: "paths: no connector recognises this network for relay (5.7.64)",
        mx: || Mx::Plays("eop-connector-not-matched"),
        hve: "hve-reachable",
        hve_login: false,
        external: true,
        expect: Some("CONNECTOR_NOT_MATCHED"),
    },
    PathsScenario {
        name: "port-25-blocked",
        title: "paths: this network blocks outbound port 25, 587 works",
        mx: || Mx::Closed,
        hve: "hve-reachable",
        hve_login: false,
        external: false,
        expect: Some("PORT_25_BLOCKED"),
    },
    PathsScenario {
        name: "hve-works",
        title: "paths: High Volume Email logs in and takes the internal recipient",
        mx: || Mx::Plays("eop-direct-send-rejected"),
        hve: "hve-ok",
        hve_login: true,
        external: false,
        expect: None,
    },
];

pub fn find(name: &str) -> Option<&'static PathsScenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// Starts the simulated tenant and runs the `paths` probes against it.
pub async fn run(
    kb: &'static Knowledge,
    sc: &PathsScenario,
    today: chrono::NaiveDate,
) -> Result<PathsReport, String> {
    let lab = Lab::start((sc.mx)(), Some(sc.hve), Some("exo-submission-reachable")).await?;
    let hve = sc.hve_login.then(|| {
        (
            "hve-scanner@contoso.com".to_string(),
            Secret::new("demo-hve-password".into()),
        )
    });
    let scrub = paths::scrubber(&hve);
    let spec = PathsSpec {
        address: "scanner@contoso.com".into(),
        domain: crate::sim::paths::DOMAIN.into(),
        recipient: "scanner@contoso.com".into(),
        external_recipient: sc.external.then(|| "partner@fabrikam.example".to_string()),
        hve,
        relay: None,
        device_tls: None,
        client_identity: None,
        sign_in: None,
        send_test_message: false,
        net: NetOptions {
            timeout: Duration::from_secs(5),
            dns_server: Some(lab.dns.addr()),
            extra_roots: vec![lab.pki.ca.der()],
            allow_plaintext: false,
            identity_url: crate::vocab::DEFAULT_IDENTITY_URL.into(),
            warning_days: 30,
            critical_days: 7,
            autoconfig_port: 443,
            trust_discovered: Vec::new(),
            confirmed: Vec::new(),
        },
        ports: Ports {
            mx: lab.mx_port,
            submission: lab.submission_port,
            hve: lab.hve_port,
        },
        today,
        scrub,
    };
    let mut report = paths::run(kb, spec).await;
    if let Some(p) = &mut report.provider {
        p.push_str(" [simulated by `demo`]");
    }
    drop(lab);
    Ok(report)
}

pub fn command(
    kb: &'static Knowledge,
    sc: &PathsScenario,
    args: &crate::cli::DemoArgs,
) -> anyhow::Result<Outcome> {
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = super::runtime()?
        .block_on(run(kb, sc, today))
        .map_err(|e| anyhow::anyhow!("the simulation could not start: {e}"))?;
    super::paths::render(&report, &args.output)
}
