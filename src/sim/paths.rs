//! The simulated Contoso tenant for `paths`: an Exchange Online Protection MX
//! (the port-25 role), the High Volume Email endpoint and Exchange Online's
//! submission endpoint (the port-587 roles), each a replay server on its own
//! 127.0.0.1 port with a certificate for its real name, and a DNS server that
//! sends contoso.com's MX and those names to 127.0.0.1. The MX can also be a
//! closed port (connections reset) or a listener that never answers: the
//! shapes an outbound port-25 block takes.

use crate::sim::dns::{DnsServer, Rec, Zone};
use crate::sim::pki::Pki;
use crate::sim::replay::{ReplayServer, Scenario, Stats, TokenCheck};
use std::time::Duration;

pub const DOMAIN: &str = "contoso.com";
pub const MX_HOST: &str = "contoso-com.mail.protection.outlook.com";
pub const SUBMISSION_HOST: &str = "smtp.office365.com";
pub const HVE_HOST: &str = "smtp.hve.mx.microsoft";
pub const HVE_OLD_HOST: &str = "smtp-hve.office365.com";

/// What answers on the MX's port.
pub enum Mx {
    /// A recorded scenario (fixture name).
    Plays(&'static str),
    /// A port nothing listens on: each connection is reset.
    Closed,
    /// A listener that never accepts and never answers.
    Silent,
    /// A recorded scenario behind TLS that requires a client certificate issued
    /// by the lab's client CA (`Lab::clients`); TLS 1.2 only when the flag is set.
    RequiresClientCert(&'static str, bool),
}

pub struct Lab {
    pub pki: Pki,
    /// The CA the MX trusts for client certificates (`Mx::RequiresClientCert`).
    pub clients: crate::sim::pki::Ca,
    pub dns: DnsServer,
    pub mx: Option<ReplayServer>,
    /// Holds the silent listener open.
    _silent: Option<tokio::net::TcpListener>,
    pub mx_port: u16,
    pub hve: Option<ReplayServer>,
    pub hve_port: u16,
    pub submission: Option<ReplayServer>,
    pub submission_port: u16,
}

async fn serve(
    pki: &Pki,
    fixture: &str,
    host: &str,
    check: Option<TokenCheck>,
) -> Result<ReplayServer, String> {
    let sc = Scenario::named(fixture)?;
    let cfg = pki.server_config(sc.cert, &[host])?;
    ReplayServer::start_checked(sc, cfg, Duration::ZERO, check)
        .await
        .map_err(|e| e.to_string())
}

/// A port on 127.0.0.1 nothing listens on (bound, then released).
async fn closed_port() -> Result<u16, String> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    drop(l);
    Ok(port)
}

impl Lab {
    /// Starts the MX as `mx`, and the HVE and submission endpoints playing
    /// `hve` and `submission` (None: their port is closed too).
    pub async fn start(
        mx: Mx,
        hve: Option<&'static str>,
        submission: Option<&'static str>,
    ) -> Result<Lab, String> {
        Lab::start_checked(mx, hve, submission, None).await
    }

    /// `start`, with the submission server accepting only the tokens `check`
    /// accepts (the oauth path's XOAUTH2 login).
    pub async fn start_checked(
        mx: Mx,
        hve: Option<&'static str>,
        submission: Option<&'static str>,
        check: Option<TokenCheck>,
    ) -> Result<Lab, String> {
        let pki = Pki::new()?;
        let clients = crate::sim::pki::Ca::new("Contoso devices CA").map_err(|e| e.to_string())?;
        let local = Rec::Ip("127.0.0.1".parse().map_err(|_| "address")?);
        let zone = Zone::new()
            .add(DOMAIN, Rec::Mx(0, MX_HOST.into()))
            .add(MX_HOST, local.clone())
            .add(HVE_HOST, local.clone())
            .add(HVE_OLD_HOST, local.clone())
            .add(SUBMISSION_HOST, local);
        let dns = DnsServer::start(zone).await.map_err(|e| e.to_string())?;
        let (mx_server, silent, mx_port) = match mx {
            Mx::Plays(f) => {
                let s = serve(&pki, f, MX_HOST, None).await?;
                let port = s.addr().port();
                (Some(s), None, port)
            }
            Mx::RequiresClientCert(f, tls12) => {
                let sc = Scenario::named(f)?;
                let cert = pki
                    .ca
                    .issue(&[MX_HOST], crate::sim::pki::Validity::Valid)
                    .map_err(|e| e.to_string())?;
                let cfg = cert.server_config_for_clients(&clients, tls12)?;
                let s = ReplayServer::start(sc, cfg, Duration::ZERO)
                    .await
                    .map_err(|e| e.to_string())?;
                let port = s.addr().port();
                (Some(s), None, port)
            }
            Mx::Closed => (None, None, closed_port().await?),
            Mx::Silent => {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| e.to_string())?;
                let port = l.local_addr().map_err(|e| e.to_string())?.port();
                (None, Some(l), port)
            }
        };
        let (hve, hve_port) = match hve {
            Some(f) => {
                let s = serve(&pki, f, HVE_HOST, None).await?;
                let p = s.addr().port();
                (Some(s), p)
            }
            None => (None, closed_port().await?),
        };
        let (submission, submission_port) = match submission {
            Some(f) => {
                let s = serve(&pki, f, SUBMISSION_HOST, check).await?;
                let p = s.addr().port();
                (Some(s), p)
            }
            None => (None, closed_port().await?),
        };
        Ok(Lab {
            pki,
            clients,
            dns,
            mx: mx_server,
            _silent: silent,
            mx_port,
            hve,
            hve_port,
            submission,
            submission_port,
        })
    }

    /// What every server saw, together: (MX, HVE, submission).
    pub fn stats(&self) -> [Stats; 3] {
        let of = |s: &Option<ReplayServer>| s.as_ref().map(|s| s.stats()).unwrap_or_default();
        [of(&self.mx), of(&self.hve), of(&self.submission)]
    }

    /// The hidden flags that point `paths` at this lab.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--dns-server".into(),
            self.dns.addr().to_string(),
            "--mx-port".into(),
            self.mx_port.to_string(),
            "--hve-port".into(),
            self.hve_port.to_string(),
            "--submission-port".into(),
            self.submission_port.to_string(),
        ]
    }
}
