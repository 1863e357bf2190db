//! TLS for every connection the tool makes.
//!
//! The stack is rustls (through tokio-rustls) with x509-parser for certificate
//! details, rather than native-tls: rustls reports *why* verification failed as a
//! typed error (expired, not yet valid, wrong name, unknown issuer), exposes the
//! negotiated version and cipher suite, and behaves the same on every platform.
//! The verifier (`net::trust`) checks the chain against Mozilla's roots, this
//! machine's store and `--ca-file` apart, and keeps the chain the server presented
//! even when verification fails, so the report can name the issuer of an
//! intercepting proxy and say which stores trust a certificate.
//! TLS 1.2 and 1.3 only: a server that offers nothing newer than TLS 1.1 is itself
//! the finding.

use crate::net::trust::{Trust, Verdicts, Verifier};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::CertificateError;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// What one certificate says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
}

/// The negotiated session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub chain: Vec<CertInfo>,
    /// Which root sets accepted the chain.
    pub trusted_by: Verdicts,
}

/// Why a handshake failed, in the terms the diagnosis uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    Expired,
    NotYetValid,
    HostnameMismatch,
    Untrusted,
    /// The server presented a CA certificate (CA:TRUE, typically self-signed) as
    /// its own: no client accepts that, whoever trusts the CA.
    CaAsServerCert,
    ProtocolTooOld,
    /// The peer answered the TLS hello with plaintext.
    NotTls,
    Timeout,
    Closed,
    Other(String),
}

impl TlsFailure {
    pub fn code(&self) -> &'static str {
        match self {
            TlsFailure::Expired => "TLS_CERT_EXPIRED",
            TlsFailure::NotYetValid => "TLS_CERT_NOT_YET_VALID",
            TlsFailure::HostnameMismatch => "TLS_HOSTNAME_MISMATCH",
            TlsFailure::Untrusted | TlsFailure::CaAsServerCert => "TLS_UNTRUSTED",
            TlsFailure::ProtocolTooOld => "TLS_PROTOCOL_TOO_OLD",
            TlsFailure::NotTls => "WRONG_TLS_MODE",
            TlsFailure::Timeout => "TCP_TIMEOUT",
            TlsFailure::Closed => "CONNECTION_CLOSED",
            TlsFailure::Other(_) => "TLS_HANDSHAKE_FAILED",
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that verifies against Mozilla's roots, this machine's
/// store and `extra` (`--ca-file`), accepting what any of them accepts.
pub fn client_config(extra: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, String> {
    let verifier = Verifier::new(Trust::new(extra)?);
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(cfg))
}

/// The result of a handshake: the stream and its facts, or why it failed and the
/// chain the server showed (if it got that far).
pub type Handshake = Result<
    (tokio_rustls::client::TlsStream<TcpStream>, TlsInfo),
    (TlsFailure, String, Vec<CertInfo>),
>;

/// Runs a verified TLS handshake over `tcp` for `host`, trusting Mozilla's roots,
/// this machine's store and `extra` (`--ca-file`).
pub async fn handshake(
    tcp: TcpStream,
    host: &str,
    extra: &[Vec<u8>],
    timeout: Duration,
) -> Handshake {
    match Trust::new(extra) {
        Ok(trust) => handshake_with(tcp, host, trust, timeout).await,
        Err(e) => Err((TlsFailure::Other(e.clone()), e, Vec::new())),
    }
}

/// Runs a verified TLS handshake over `tcp` for `host` against `trust`.
pub async fn handshake_with(
    tcp: TcpStream,
    host: &str,
    trust: Trust,
    timeout: Duration,
) -> Handshake {
    handshake_presenting(tcp, host, trust, None, timeout).await
}

/// A TLS client certificate with its private key, for a server that recognises
/// the client by it (a connector, a relay). The key stays inside rustls's signer:
/// nothing here can print it, and errors never quote it.
pub struct ClientIdentity {
    key: Arc<rustls::sign::CertifiedKey>,
    /// What the certificate (the first of the chain) says.
    pub info: CertInfo,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("subject", &self.info.subject)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Reads the certificate chain from `cert_pem` and the private key from
    /// `key_pem`, or from `cert_pem` too when no separate key is given. The key
    /// must be the certificate's.
    pub fn from_pem(cert_pem: &[u8], key_pem: Option<&[u8]>) -> Result<ClientIdentity, String> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::PrivateKeyDer;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|_| "the certificate file is not valid PEM".to_string())?;
        let first = chain
            .first()
            .ok_or_else(|| "the file holds no certificate".to_string())?;
        let info = cert_info(first).ok_or_else(|| "the certificate cannot be read".to_string())?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.unwrap_or(cert_pem)).map_err(|_| {
            if key_pem.is_some() {
                "the key file holds no private key in PEM (PKCS#8, PKCS#1 or SEC1)".to_string()
            } else {
                "the file holds no private key in PEM (PKCS#8, PKCS#1 or SEC1); give it with --client-key".to_string()
            }
        })?;
        let key = rustls::sign::CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
            match e {
                rustls::Error::InconsistentKeys(_) => {
                    "the private key is not the certificate's".to_string()
                }
                _ => "the private key is not one this tool can sign with (RSA, ECDSA P-256/P-384 or Ed25519)".to_string(),
            }
        })?;
        Ok(ClientIdentity {
            key: Arc::new(key),
            info,
        })
    }
}

/// Presents a client identity when the server asks for one, and remembers
/// whether it asked.
#[derive(Debug)]
struct Presenter {
    key: Option<Arc<rustls::sign::CertifiedKey>>,
    asked: std::sync::atomic::AtomicBool,
    /// The server asked, then ended the handshake with a certificate alert.
    refused: std::sync::atomic::AtomicBool,
}

impl rustls::client::ResolvesClientCert for Presenter {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// Whether the server asked for a client certificate during a handshake
/// (`handshake_as`): when it did, the identity (if any) was presented.
#[derive(Debug, Clone)]
pub struct ClientAuthSeen(Arc<Presenter>);

impl ClientAuthSeen {
    /// The server sent a certificate request.
    pub fn asked(&self) -> bool {
        self.0.asked.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// The server asked for a client certificate and ended the handshake with
    /// an alert about it (none presented, or the one presented refused).
    pub fn refused(&self) -> bool {
        self.0.refused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether a handshake error is the server's alert about the client's
/// certificate (missing, unknown issuer, expired, refused).
fn client_cert_alert(e: &std::io::Error) -> Option<rustls::AlertDescription> {
    use rustls::AlertDescription as A;
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::AlertReceived(
            a @ (A::CertificateRequired
            | A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::HandshakeFailure),
        )) => Some(*a),
        _ => None,
    }
}

/// `handshake`, presenting `identity` as the client certificate when the
/// server asks for one; also says whether it asked.
pub async fn handshake_as(
    tcp: TcpStream,
    host: &str,
    extra: &[Vec<u8>],
    identity: Option<&ClientIdentity>,
    timeout: Duration,
) -> (Handshake, ClientAuthSeen) {
    let presenter = Arc::new(Presenter {
        key: identity.map(|i| i.key.clone()),
        asked: std::sync::atomic::AtomicBool::new(false),
        refused: std::sync::atomic::AtomicBool::new(false),
    });
    let seen = ClientAuthSeen(presenter.clone());
    let hs = match Trust::new(extra) {
        Ok(trust) => handshake_presenting(tcp, host, trust, Some(presenter), timeout).await,
        Err(e) => Err((TlsFailure::Other(e.clone()), e, Vec::new())),
    };
    (hs, seen)
}

async fn handshake_presenting(
    tcp: TcpStream,
    host: &str,
    trust: Trust,
    presenter: Option<Arc<Presenter>>,
    timeout: Duration,
) -> Handshake {
    let fail = |f: TlsFailure, why: String| Err((f, why, Vec::new()));
    let capturing = Verifier::new(trust);
    let mut cfg = match rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => {
            let b = b
                .dangerous()
                .with_custom_certificate_verifier(capturing.clone());
            match presenter.clone() {
                Some(p) => b.with_client_cert_resolver(p),
                None => b.with_no_client_auth(),
            }
        }
        Err(e) => return fail(TlsFailure::Other(e.to_string()), e.to_string()),
    };
    // Each handshake is a fresh look at the server: no session to resume, and
    // no session cache (256 entries) kept for every connection.
    cfg.resumption = rustls::client::Resumption::disabled();
    let name = match ServerName::try_from(host.trim_matches(|c| c == '[' || c == ']').to_string()) {
        Ok(n) => n,
        Err(_) => {
            return fail(
                TlsFailure::Other(format!("{host} is not a valid TLS server name")),
                format!("{host} is not a valid TLS server name"),
            )
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let chain =
        |c: &Verifier| -> Vec<CertInfo> { c.chain().iter().filter_map(cert_info).collect() };
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Err((
            TlsFailure::Timeout,
            format!("no TLS handshake within {timeout:?}"),
            chain(&capturing),
        )),
        Ok(Err(e)) => {
            let (f, mut why) = classify(&e);
            if let Some(p) =
                presenter.filter(|p| p.asked.load(std::sync::atomic::Ordering::Relaxed))
            {
                if let Some(alert) = client_cert_alert(&e) {
                    p.refused.store(true, std::sync::atomic::Ordering::Relaxed);
                    why = if p.key.is_some() {
                        format!(
                            "the server refused the client certificate presented (alert {alert:?})"
                        )
                    } else {
                        format!("the server asks for a client certificate and none was presented (alert {alert:?})")
                    };
                }
            }
            Err((f, why, chain(&capturing)))
        }
        Ok(Ok(stream)) => {
            let (_, conn) = stream.get_ref();
            let version = match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
                Some(v) => format!("{v:?}"),
                None => "unknown".into(),
            };
            let cipher = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default();
            let info = TlsInfo {
                version,
                cipher,
                chain: chain(&capturing),
                trusted_by: capturing.verdicts(),
            };
            Ok((stream, info))
        }
    }
}

fn classify(e: &std::io::Error) -> (TlsFailure, String) {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            let (f, words) = certificate_error(c);
            (f, format!("certificate rejected: {words}"))
        }
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion))
        | Some(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
        )) => (
            TlsFailure::ProtocolTooOld,
            "the server offers no TLS version newer than 1.1".into(),
        ),
        Some(rustls::Error::InvalidMessage(m)) => (
            TlsFailure::NotTls,
            format!("the server did not answer with TLS ({m:?})"),
        ),
        Some(other) => (TlsFailure::Other(other.to_string()), other.to_string()),
        None => match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => (
                TlsFailure::Closed,
                "the server closed the connection during the TLS handshake".into(),
            ),
            _ => (TlsFailure::Other(e.to_string()), e.to_string()),
        },
    }
}

/// What a rejected certificate means, in words (never rustls's `Debug` form).
fn certificate_error(c: &CertificateError) -> (TlsFailure, String) {
    let other = |w: &str| (TlsFailure::Other(w.to_string()), w.to_string());
    match c {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            (TlsFailure::Expired, "the certificate has expired".into())
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
            TlsFailure::NotYetValid,
            "the certificate is not valid yet".into(),
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            TlsFailure::HostnameMismatch,
            "the certificate is for another name".into(),
        ),
        CertificateError::UnknownIssuer => (
            TlsFailure::Untrusted,
            "the certificate's issuer is not trusted".into(),
        ),
        CertificateError::BadEncoding => other("the certificate is malformed"),
        CertificateError::Revoked => other("the certificate has been revoked"),
        CertificateError::UnhandledCriticalExtension => {
            other("the certificate has a critical extension that cannot be checked")
        }
        CertificateError::BadSignature
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => other(
            "the certificate's signature is invalid or uses an algorithm that is not accepted",
        ),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            other("the certificate is not meant for a TLS server")
        }
        CertificateError::Other(e) => match e.0.downcast_ref::<webpki::Error>() {
            Some(webpki::Error::CaUsedAsEndEntity) => (
                TlsFailure::CaAsServerCert,
                "the server presented a CA certificate (CA:TRUE) as its own".into(),
            ),
            Some(webpki::Error::EndEntityUsedAsCa) => {
                other("a server certificate was used to sign another certificate")
            }
            Some(webpki::Error::UnknownIssuer) => (
                TlsFailure::Untrusted,
                "the certificate's issuer is not trusted".into(),
            ),
            _ => other("the certificate could not be verified"),
        },
        _ => other("the certificate could not be verified"),
    }
}

/// Certificate text (names, issuer) as it is kept: control characters escaped.
fn printable(s: &str) -> String {
    crate::net::scrub::escape_controls(s).into_owned()
}

/// Reads subject, issuer, names and validity from a DER certificate.
pub fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push(printable(d)),
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                        16 => <[u8; 16]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::IpAddr::from(a).to_string()),
                        _ => None,
                    };
                    sans.extend(ip);
                }
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    let now = chrono::Utc::now().timestamp();
    let days_left = (validity.not_after.timestamp() - now).div_euclid(86_400);
    let fmt = |t: &x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    Some(CertInfo {
        subject: printable(&cert.subject().to_string()),
        issuer: printable(&cert.issuer().to_string()),
        sans,
        not_before: fmt(&validity.not_before),
        not_after: fmt(&validity.not_after),
        days_left,
    })
}
