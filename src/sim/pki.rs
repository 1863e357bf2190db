//! A throw-away PKI for the simulations: a CA made in memory, and server
//! certificates signed by it (or by an "intercepting proxy" CA that nobody trusts),
//! valid, expired or not yet valid. Nothing here is written to disk unless a test asks.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// A certificate authority that can sign server certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// How a server certificate should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Expired,
    NotYetValid,
}

/// A server certificate chain and its key, ready for rustls.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Ca {
    pub fn new(common_name: &str) -> Result<Ca, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, common_name);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Ca { issuer })
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// A server certificate for `names` (host names or IP literals).
    pub fn issue(&self, names: &[&str], validity: Validity) -> Result<ServerCert, rcgen::Error> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        let (nb, na) = match validity {
            Validity::Valid => ((2020, 1, 1), (2099, 1, 1)),
            Validity::Expired => ((2020, 1, 1), (2021, 1, 1)),
            Validity::NotYetValid => ((2098, 1, 1), (2099, 1, 1)),
        };
        params.not_before = rcgen::date_time_ymd(nb.0, nb.1, nb.2);
        params.not_after = rcgen::date_time_ymd(na.0, na.1, na.2);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServerCert {
            chain: vec![cert.der().clone(), self.issuer.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}

/// A self-signed certificate for `names` marked CA:TRUE and used as the server's
/// own, as hand-made certificates often are: its PEM and the chain for rustls.
pub fn ca_as_server(names: &[&str]) -> Result<(String, ServerCert), rcgen::Error> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("localhost"),
    );
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((
        cert.pem(),
        ServerCert {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        },
    ))
}

/// A TLS client certificate (with its CA after it) and its key, as the PEM
/// texts a user's files hold.
pub struct ClientCertPem {
    pub cert: String,
    pub key: String,
}

impl Ca {
    /// A client certificate (clientAuth) for `common_name`, valid from 2020 to
    /// `not_after` (year, month, day).
    pub fn issue_client(
        &self,
        common_name: &str,
        not_after: (i32, u8, u8),
    ) -> Result<ClientCertPem, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ClientCertPem {
            cert: format!("{}{}", cert.pem(), self.issuer.pem()),
            key: key.serialize_pem(),
        })
    }
}

impl ServerCert {
    /// A rustls server configuration presenting this chain that requires a
    /// client certificate issued by `clients` (TLS 1.2 only when `tls12`).
    pub fn server_config_for_clients(
        &self,
        clients: &Ca,
        tls12: bool,
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(clients.der()))
            .map_err(|e| e.to_string())?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| e.to_string())?;
        let builder = rustls::ServerConfig::builder_with_provider(provider);
        let builder = if tls12 {
            builder.with_protocol_versions(&[&rustls::version::TLS12])
        } else {
            builder.with_safe_default_protocol_versions()
        }
        .map_err(|e| e.to_string())?;
        let cfg = builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(cfg))
    }

    /// A rustls server configuration presenting this chain.
    pub fn server_config(&self) -> Result<std::sync::Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(std::sync::Arc::new(cfg))
    }
}

/// Which certificate the server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    Valid,
    Expired,
    NotYetValid,
    WrongHost,
    /// Signed by a CA the client does not trust (an intercepting proxy).
    Untrusted,
}

/// The in-memory PKI of one simulation: a trusted CA and server configurations
/// for each certificate kind.
pub struct Pki {
    pub ca: Ca,
    rogue: Ca,
}

impl Pki {
    pub fn new() -> Result<Pki, String> {
        Ok(Pki {
            ca: Ca::new("mailbox-doctor simulation CA").map_err(|e| e.to_string())?,
            rogue: Ca::new("Contoso Web Filter TLS Inspection CA").map_err(|e| e.to_string())?,
        })
    }

    /// A server configuration presenting a certificate of `kind` for `names`.
    pub fn server_config(
        &self,
        kind: CertKind,
        names: &[&str],
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let wrong = ["mail.example.net"];
        let (ca, names, validity) = match kind {
            CertKind::Valid => (&self.ca, names, Validity::Valid),
            CertKind::Expired => (&self.ca, names, Validity::Expired),
            CertKind::NotYetValid => (&self.ca, names, Validity::NotYetValid),
            CertKind::WrongHost => (&self.ca, &wrong[..], Validity::Valid),
            CertKind::Untrusted => (&self.rogue, names, Validity::Valid),
        };
        let cert = ca.issue(names, validity).map_err(|e| e.to_string())?;
        cert.server_config().map_err(|e| e.to_string())
    }
}
