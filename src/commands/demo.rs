//! `demo`: a simulated Exchange Online inside the process (replay servers playing
//! the recorded fixtures, a CA made in memory, a DNS server and an identity
//! endpoint, all on 127.0.0.1 ephemeral ports), and the real `check` pipeline run
//! against it, unchanged. It shows a newcomer what the tool does with no account and
//! no network, and doubles as helpdesk training.

use super::Outcome;
use crate::checks::signin::{Flow, Plan};
use crate::checks::NetOptions;
use crate::knowledge::Knowledge;
use crate::report::model::Report;
use crate::runner;
use crate::secret::Secret;
use crate::sim::dns::{DnsServer, Rec, Zone};
use crate::sim::identity::IdentityServer;
use crate::sim::oauth::Script;
use crate::sim::pki::Pki;
use crate::sim::replay::{ReplayServer, Scenario};
use crate::target::Target;
use crate::vocab::OverallStatus;
use crate::vocab::{CheckId, Endpoint, Protocol, TlsMode};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::time::Duration;

/// One demo scenario: what the user pasted and which recorded servers answer.
pub struct DemoScenario {
    pub name: &'static str,
    pub title: &'static str,
    pub password: &'static str,
    /// Fixture names, one per protocol tested.
    pub fixtures: &'static [&'static str],
    /// The root cause the tool must name (empty: none, everything works).
    pub expect: &'static str,
    /// Sign in with OAuth first (`--sign-in`), against the simulated identity
    /// platform, and log in with its token.
    pub oauth: Option<DemoOAuth>,
}

/// The sign-in of an OAuth scenario: which flow, and what the platform does.
#[derive(Debug, Clone, Copy)]
pub struct DemoOAuth {
    pub flow: crate::checks::signin::Flow,
    /// The AADSTS number the platform refuses with.
    pub blocker: Option<u32>,
    /// The roles the platform puts in app-only tokens.
    pub roles: &'static [&'static str],
}

pub const SCENARIOS: &[DemoScenario] = &[
    DemoScenario {
        name: "app-password-ok",
        title: "a working app password (SMTP AUTH), with the dated sunset warning",
        password: "abcdefghijklmnop",
        fixtures: &["exo-smtp-ok"],
        expect: "M365_SMTP_BASIC_AUTH_SUNSET",
        oauth: None,
    },
    DemoScenario {
        name: "trailing-space",
        title: "an app password pasted with a trailing space",
        password: "abcdefghijklmnop ",
        fixtures: &["exo-smtp-bad-credentials"],
        expect: "CRED_WHITESPACE",
        oauth: None,
    },
    DemoScenario {
        name: "one-letter-lost",
        title: "an app password with one letter lost in copying (15 of 16)",
        password: "abcdefghijklmno",
        fixtures: &["exo-smtp-bad-credentials"],
        expect: "CRED_APP_PASSWORD_SHAPE",
        oauth: None,
    },
    DemoScenario {
        name: "smtp-auth-disabled",
        title: "SMTP AUTH disabled for the whole tenant",
        password: "abcdefghijklmnop",
        fixtures: &["exo-smtp-tenant-disabled"],
        expect: "M365_SMTP_AUTH_DISABLED_TENANT",
        oauth: None,
    },
    DemoScenario {
        name: "basic-auth-disabled",
        title: "basic authentication disabled",
        password: "abcdefghijklmnop",
        fixtures: &["exo-smtp-basic-auth-disabled"],
        expect: "M365_BASIC_AUTH_DISABLED",
        oauth: None,
    },
    DemoScenario {
        name: "security-defaults",
        title: "Security Defaults block legacy authentication",
        password: "abcdefghijklmnop",
        fixtures: &["exo-smtp-security-defaults"],
        expect: "M365_SECURITY_DEFAULTS",
        oauth: None,
    },
    DemoScenario {
        name: "imap-password",
        title: "IMAP with a password on Exchange Online (retired since 2022)",
        password: "abcdefghijklmnop",
        fixtures: &["exo-imap-basic-auth-retired"],
        expect: "M365_IMAP_BASIC_AUTH_RETIRED",
        oauth: None,
    },
    DemoScenario {
        name: "mailbox-not-connected",
        title: "IMAP login accepted, mailbox not reachable",
        password: "abcdefghijklmnop",
        fixtures: &["exo-imap-not-connected"],
        expect: "M365_MAILBOX_NOT_CONNECTED",
        oauth: None,
    },
    DemoScenario {
        name: "expired-certificate",
        title: "the server's certificate has expired",
        password: "abcdefghijklmnop",
        fixtures: &["tls-expired"],
        expect: "TLS_CERT_EXPIRED",
        oauth: None,
    },
    DemoScenario {
        name: "tls-interception",
        title: "antivirus or a proxy intercepts TLS",
        password: "abcdefghijklmnop",
        fixtures: &["tls-untrusted"],
        expect: "TLS_UNTRUSTED",
        oauth: None,
    },
    DemoScenario {
        name: "wrong-tls-mode",
        title: "implicit TLS configured for a STARTTLS port",
        password: "abcdefghijklmnop",
        fixtures: &["mode-plaintext-server"],
        expect: "WRONG_TLS_MODE",
        oauth: None,
    },
    DemoScenario {
        name: "oauth-works",
        title: "the way out: device-code sign-in, then XOAUTH2 to SMTP and IMAP",
        password: "",
        fixtures: &["exo-smtp-xoauth2-ok", "exo-imap-xoauth2-ok"],
        expect: "",
        oauth: Some(DemoOAuth {
            flow: Flow::Device,
            blocker: None,
            roles: &[],
        }),
    },
    DemoScenario {
        name: "device-code-blocked",
        title: "Conditional Access blocks the device code flow (AADSTS53003)",
        password: "",
        fixtures: &["exo-smtp-xoauth2-ok"],
        expect: "OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS",
        oauth: Some(DemoOAuth {
            flow: Flow::Device,
            blocker: Some(53003),
            roles: &[],
        }),
    },
    DemoScenario {
        name: "public-client-off",
        title: "the app registration does not allow public client flows (AADSTS7000218)",
        password: "",
        fixtures: &["exo-smtp-xoauth2-ok"],
        expect: "OAUTH_PUBLIC_CLIENT_DISABLED",
        oauth: Some(DemoOAuth {
            flow: Flow::Device,
            blocker: Some(7000218),
            roles: &[],
        }),
    },
    DemoScenario {
        name: "smtp-auth-off-blocks-oauth",
        title: "the sign-in works, but SMTP AUTH is off for the tenant: OAuth is refused too",
        password: "",
        fixtures: &["exo-smtp-xoauth2-smtp-auth-disabled"],
        expect: "M365_SMTP_AUTH_DISABLED_TENANT",
        oauth: Some(DemoOAuth {
            flow: Flow::Device,
            blocker: None,
            roles: &[],
        }),
    },
    DemoScenario {
        name: "app-only-no-mailbox-permission",
        title: "app-only token with IMAP.AccessAsApp, but no permission on the mailbox",
        password: "",
        fixtures: &["exo-imap-xoauth2-rejected"],
        expect: "APP_ONLY_NO_MAILBOX_PERMISSION",
        oauth: Some(DemoOAuth {
            flow: Flow::App,
            blocker: None,
            roles: &["IMAP.AccessAsApp"],
        }),
    },
];

/// The client id the demo's simulated app registration has (not a real one).
pub const DEMO_CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";

/// The scenario played when none is named: a realistic failure.
pub const DEFAULT: &str = "smtp-auth-disabled";

pub fn find(name: &str) -> Option<&'static DemoScenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

fn host_for(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "smtp.office365.com",
        Protocol::Imap | Protocol::Pop => "outlook.office365.com",
    }
}

/// The simulated Contoso tenant's services on 127.0.0.1: a DNS server for the
/// Microsoft 365 host names and contoso.com's records, and the identity endpoint
/// answering for contoso.com (a managed tenant), each waiting `delay` per reply.
/// Shared with the benchmark lab.
pub async fn contoso_services(
    pki: &Pki,
    delay: Duration,
) -> Result<(DnsServer, IdentityServer), String> {
    contoso_scripted(pki, delay, None).await
}

/// `contoso_services`, with the identity platform's OAuth endpoints following
/// `script` when one is given.
pub async fn contoso_scripted(
    pki: &Pki,
    delay: Duration,
    script: Option<Script>,
) -> Result<(DnsServer, IdentityServer), String> {
    contoso_services_in(pki, delay, false, script).await
}

/// Exchange Online's host names as they resolve: each behind its CNAME chain
/// (`smtp.office365.com` -> `smtp.ms-acdc.office.com` -> `DUB-efz.ms-acdc.office.com`),
/// whose end has an A record and no AAAA (NODATA with the zone's SOA).
pub const EXO_CHAINS: [(&str, [&str; 2]); 2] = [
    (
        "smtp.office365.com",
        ["smtp.ms-acdc.office.com", "DUB-efz.ms-acdc.office.com"],
    ),
    (
        "outlook.office365.com",
        ["outlook.ms-acdc.office.com", "AMS-efz.ms-acdc.office.com"],
    ),
];

/// `contoso_services`, with Exchange Online's host names behind their CNAME
/// chains (`EXO_CHAINS`) when `chains` is set, and the identity platform's
/// OAuth endpoints following `script` when one is given.
pub async fn contoso_services_in(
    pki: &Pki,
    delay: Duration,
    chains: bool,
    script: Option<Script>,
) -> Result<(DnsServer, IdentityServer), String> {
    let local = Rec::Ip("127.0.0.1".parse().map_err(|_| "address")?);
    let mut zone = Zone::new().add("login.microsoftonline.com", local.clone());
    for (host, [middle, end]) in EXO_CHAINS {
        zone = if chains {
            zone.add(host, Rec::Cname(middle.into()))
                .add(middle, Rec::Cname(end.into()))
                .add(end, local.clone())
        } else {
            zone.add(host, local.clone())
        };
    }
    let zone = zone
        .add(
            "contoso.com",
            Rec::Mx(0, "contoso-com.mail.protection.outlook.com".into()),
        )
        .add(
            "contoso.com",
            Rec::Txt("v=spf1 include:spf.protection.outlook.com -all".into()),
        )
        .add(
            "autodiscover.contoso.com",
            Rec::Cname("autodiscover.outlook.com".into()),
        );
    let dns = DnsServer::start_delayed(zone, delay)
        .await
        .map_err(|e| e.to_string())?;
    let id_cert = pki
        .ca
        .issue(
            &["login.microsoftonline.com"],
            crate::sim::pki::Validity::Valid,
        )
        .map_err(|e| e.to_string())?;
    let tenants = crate::sim::identity::contoso_tenants();
    let identity = match script {
        Some(script) => IdentityServer::start_scripted(&id_cert, tenants, script).await,
        None => IdentityServer::start_delayed(&id_cert, tenants, delay).await,
    }
    .map_err(|e| e.to_string())?;
    Ok((dns, identity))
}

/// Starts the simulation and runs the real pipeline against it.
pub async fn run(
    kb: &'static Knowledge,
    sc: &DemoScenario,
    transcript: bool,
    today: chrono::NaiveDate,
    notify: crate::oauth::Notify,
) -> Result<Report, String> {
    let pki = Pki::new()?;
    let script = sc.oauth.map(|o| Script {
        blocker: o.blocker,
        roles: o.roles.iter().map(|r| r.to_string()).collect(),
        ..Script::default()
    });
    let (dns, identity) = contoso_scripted(&pki, Duration::ZERO, script).await?;
    let platform = identity.platform.clone();
    let accepts: Option<crate::sim::replay::TokenCheck> = sc
        .oauth
        .map(|_| std::sync::Arc::new(move |t: &str| platform.accepts(t)) as _);
    let mut servers = Vec::new();
    let mut endpoints = Vec::new();
    let mut selected: BTreeSet<CheckId> = [
        CheckId::Credentials,
        CheckId::Dns,
        CheckId::Tls,
        CheckId::Tenant,
    ]
    .into();
    for name in sc.fixtures {
        let fx = Scenario::named(name)?;
        let host = host_for(fx.protocol);
        let cfg = pki.server_config(fx.cert, &[host])?;
        let (protocol, client_tls) = (fx.protocol, fx.client_tls);
        let server = ReplayServer::start_checked(fx, cfg, Duration::ZERO, accepts.clone())
            .await
            .map_err(|e| e.to_string())?;
        endpoints.push(Endpoint {
            protocol,
            host: host.to_string(),
            port: server.addr().port(),
            tls: if client_tls == TlsMode::None {
                TlsMode::Starttls
            } else {
                client_tls
            },
            source: "profile",
        });
        selected.insert(protocol.check_id());
        servers.push(server);
    }

    let profile = kb
        .provider("microsoft365")
        .ok_or("no microsoft365 profile")?;
    let target = Target {
        user: "alice@contoso.com".into(),
        domain: Some("contoso.com".into()),
        provider: "microsoft365".into(),
        provider_name: format!("{} [simulated by `demo`]", profile.name),
        // The simulated contoso.com's MX names Exchange Online (contoso_services).
        provider_source: "mx",
        endpoints,
        discovery: None,
    };
    let signin = sc.oauth.map(|o| {
        let notify = notify.clone();
        std::sync::Arc::new(Plan {
            flow: o.flow,
            client_id: DEMO_CLIENT_ID.to_string(),
            borrowed_from: None,
            tenant: (o.flow == Flow::App).then(|| "contoso.com".to_string()),
            timeout: Some(Duration::from_secs(30)),
            open_browser: false,
            client_secret: (o.flow == Flow::App)
                .then(|| Secret::new(Script::default().client_secret)),
            certificate: None,
            save_token: None,
            notify,
            refresh_token: None,
            rotate_into: None,
        })
    });
    let spec = runner::Spec {
        target,
        secret: sc
            .oauth
            .is_none()
            .then(|| Secret::new(sc.password.to_string())),
        token: None,
        net: NetOptions {
            timeout: Duration::from_secs(5),
            dns_server: Some(dns.addr()),
            extra_roots: vec![pki.ca.der()],
            allow_plaintext: false,
            identity_url: format!(
                "https://login.microsoftonline.com:{}",
                identity.addr().port()
            ),
            warning_days: 30,
            critical_days: 7,
            autoconfig_port: 443,
            trust_discovered: Vec::new(),
            confirmed: Vec::new(),
        },
        today,
        selected,
        transcript,
        observer: None,
        confirm: None,
        common: Default::default(),
        signin,
    };
    let report = runner::check_mailbox(kb, spec).await;
    drop(servers);
    Ok(report)
}

pub fn command(kb: &'static Knowledge, args: crate::cli::DemoArgs) -> anyhow::Result<Outcome> {
    if args.list {
        let mut buf = Vec::new();
        // A name too long for its column stands on a line of its own.
        let mut line = |name: &str, title: &str| -> std::io::Result<()> {
            if name.len() > 22 {
                writeln!(buf, "{name}\n{:<22} {title}", "")
            } else {
                writeln!(buf, "{name:<22} {title}")
            }
        };
        for s in SCENARIOS {
            let mark = if s.name == DEFAULT { " (default)" } else { "" };
            line(s.name, &format!("{}{mark}", s.title))?;
        }
        for s in super::demo_paths::SCENARIOS {
            line(s.name, s.title)?;
        }
        return Ok(Outcome {
            output: buf,
            status: OverallStatus::Ok,
        });
    }
    let name = args.scenario.as_deref().unwrap_or(DEFAULT);
    if let Some(sc) = super::demo_paths::find(name) {
        return super::demo_paths::command(kb, sc, &args);
    }
    let sc = find(name).ok_or_else(|| {
        anyhow::anyhow!("no demo scenario `{name}`; `mailbox-doctor demo --list` names them")
    })?;
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = super::runtime()?
        .block_on(run(
            kb,
            sc,
            args.transcript,
            today,
            super::signin::stderr_notify(),
        ))
        .map_err(|e| anyhow::anyhow!("the simulation could not start: {e}"))?;
    let output = super::render_report(&report, &args.output)?;
    Ok(Outcome {
        output,
        status: report.status,
    })
}
