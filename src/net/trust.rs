//! Which roots a server certificate is checked against, and what each of them
//! says. Three sets, each verified on its own: Mozilla's root programme
//! (webpki-roots, what phones, printers and most clients everywhere trust), this
//! machine's own store (read through rustls-native-certs: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` when set, otherwise the distribution's bundle, the macOS
//! keychain or the Windows store), and `--ca-file`. A chain any of them accepts is
//! accepted; the three verdicts are kept, so a check can tell "trusted here only"
//! (a private CA, or a device intercepting TLS) from "trusted publicly but not
//! here" (an outdated or damaged local store).
//!
//! The system store is read once per process, bounded: a `SSL_CERT_FILE` that is
//! not a regular file, or is implausibly large, is not read. Nothing here decides
//! what a verdict means for the report.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex, OnceLock};

/// Largest `SSL_CERT_FILE` read (a full distribution bundle is about 200 KiB).
pub const MAX_STORE_FILE: u64 = 16 * 1024 * 1024;

/// Which root sets accepted the chain a server presented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdicts {
    /// Mozilla's roots (webpki-roots).
    pub public: bool,
    /// This machine's trust store.
    pub system: bool,
    /// `--ca-file`.
    pub ca_file: bool,
}

/// This machine's trust store as it was read.
pub struct SystemStore {
    verifier: Option<Arc<WebPkiServerVerifier>>,
    /// Roots read and usable.
    pub roots: usize,
    /// Why the store is incomplete or empty, if something went wrong reading it.
    pub problem: Option<String>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn verifier(roots: rustls::RootCertStore) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| e.to_string())
}

/// Reads the store, refusing an `SSL_CERT_FILE` that could block or exhaust memory.
fn read_system_store() -> (Vec<CertificateDer<'static>>, Option<String>) {
    let unusable = std::env::var_os("SSL_CERT_FILE").and_then(|f| {
        let why = match std::fs::metadata(&f) {
            Ok(m) if !m.is_file() => "is not a regular file",
            Ok(m) if m.len() > MAX_STORE_FILE => "is larger than 16 MiB",
            _ => return None,
        };
        Some(format!(
            "SSL_CERT_FILE {} {why}; it was not read",
            std::path::Path::new(&f).display()
        ))
    });
    let result = match &unusable {
        None => rustls_native_certs::load_native_certs(),
        Some(_) => {
            // Still read the directories SSL_CERT_DIR names.
            let mut all = rustls_native_certs::CertificateResult::default();
            if let Some(dirs) = std::env::var_os("SSL_CERT_DIR") {
                for d in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
                    let r = rustls_native_certs::load_certs_from_paths(None, Some(&d));
                    all.certs.extend(r.certs);
                    all.errors.extend(r.errors);
                }
            }
            all
        }
    };
    let problem = unusable.or_else(|| result.errors.first().map(|e| e.to_string()));
    (result.certs, problem)
}

/// This machine's trust store, read on first use.
pub fn system_store() -> &'static SystemStore {
    static STORE: OnceLock<SystemStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let (certs, mut problem) = read_system_store();
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        let verifier = match added {
            0 => {
                problem.get_or_insert_with(|| "no certificate was found".into());
                None
            }
            _ => match verifier(roots) {
                Ok(v) => Some(v),
                Err(e) => {
                    problem = Some(e);
                    None
                }
            },
        };
        SystemStore {
            verifier,
            roots: added,
            problem,
        }
    })
}

fn public_verifier() -> Result<Arc<WebPkiServerVerifier>, String> {
    static PUBLIC: OnceLock<Result<Arc<WebPkiServerVerifier>, String>> = OnceLock::new();
    PUBLIC
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            verifier(roots)
        })
        .clone()
}

fn store_of(certs: &[CertificateDer<'_>]) -> Result<Option<Arc<WebPkiServerVerifier>>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        let _ = roots.add(c.clone().into_owned());
    }
    match roots.is_empty() {
        true => Ok(None),
        false => verifier(roots).map(Some),
    }
}

/// The three root sets a handshake is verified against.
#[derive(Debug, Clone)]
pub struct Trust {
    public: Arc<WebPkiServerVerifier>,
    system: Option<Arc<WebPkiServerVerifier>>,
    ca_file: Option<Arc<WebPkiServerVerifier>>,
    /// A digest of what the three sets hold, for the verdict cache.
    id: crate::net::verdicts::Key,
}

impl Trust {
    /// Mozilla's roots, this machine's store, and `extra` (DER, from `--ca-file`).
    pub fn new(extra: &[Vec<u8>]) -> Result<Trust, String> {
        let extra: Vec<CertificateDer<'_>> = extra
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        Ok(Trust {
            public: public_verifier()?,
            system: system_store().verifier.clone(),
            ca_file: store_of(&extra)?,
            // Mozilla's set and this machine's store are read once per process:
            // within it, `--ca-file` alone tells one Trust from another.
            id: crate::net::verdicts::digest_of("process roots and --ca-file", &[&extra]),
        })
    }

    /// Any three root sets (the simulations and the tests). `public` must not be
    /// empty.
    pub fn from_roots(
        public: &[CertificateDer<'_>],
        system: &[CertificateDer<'_>],
        ca_file: &[CertificateDer<'_>],
    ) -> Result<Trust, String> {
        Ok(Trust {
            public: store_of(public)?.ok_or("no public root")?,
            system: store_of(system)?,
            ca_file: store_of(ca_file)?,
            id: crate::net::verdicts::digest_of("given roots", &[public, system, ca_file]),
        })
    }
}

/// Verifies a server's chain against a `Trust`, keeping the chain presented (even
/// when it is rejected, so the report can name an intercepting issuer) and each
/// root set's verdict.
#[derive(Debug)]
pub struct Verifier {
    trust: Trust,
    chain: Mutex<Vec<CertificateDer<'static>>>,
    verdicts: Mutex<Verdicts>,
}

impl Verifier {
    pub fn new(trust: Trust) -> Arc<Verifier> {
        Arc::new(Verifier {
            trust,
            chain: Mutex::new(Vec::new()),
            verdicts: Mutex::new(Verdicts::default()),
        })
    }

    /// The chain the server presented, leaf first (empty before the handshake got
    /// that far).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn verdicts(&self) -> Verdicts {
        self.verdicts.lock().map(|v| *v).unwrap_or_default()
    }
}

fn unknown_issuer(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    )
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut c) = self.chain.lock() {
            c.clear();
            c.push(end_entity.clone().into_owned());
            c.extend(intermediates.iter().map(|i| i.clone().into_owned()));
        }
        let key = crate::net::verdicts::key(
            &self.trust.id,
            end_entity,
            intermediates,
            &server_name.to_str(),
            ocsp,
        );
        if let Some(c) = crate::net::verdicts::get(&key, now) {
            if let Ok(mut v) = self.verdicts.lock() {
                *v = c.verdicts;
            }
            return match c.refusal {
                None => Ok(ServerCertVerified::assertion()),
                Some(e) => Err(e),
            };
        }
        let verify = |v: &Option<Arc<WebPkiServerVerifier>>| {
            v.as_ref()
                .map(|v| v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now))
        };
        let public = verify(&Some(self.trust.public.clone()));
        let system = verify(&self.trust.system);
        let ca_file = verify(&self.trust.ca_file);
        let ok = |r: &Option<Result<ServerCertVerified, rustls::Error>>| matches!(r, Some(Ok(_)));
        let verdicts = Verdicts {
            public: ok(&public),
            system: ok(&system),
            ca_file: ok(&ca_file),
        };
        if let Ok(mut v) = self.verdicts.lock() {
            *v = verdicts;
        }
        if verdicts.public || verdicts.system || verdicts.ca_file {
            crate::net::verdicts::put(key, end_entity, intermediates, now, verdicts, None);
            return Ok(ServerCertVerified::assertion());
        }
        // The most telling refusal: one that got past the issuer (expired, wrong
        // name) before "unknown issuer", --ca-file's first.
        let errors: Vec<rustls::Error> = [ca_file, system, public]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .collect();
        let pick = errors.iter().position(|e| !unknown_issuer(e)).unwrap_or(0);
        let refusal = errors
            .into_iter()
            .nth(pick)
            .unwrap_or(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        crate::net::verdicts::put(
            key,
            end_entity,
            intermediates,
            now,
            verdicts,
            Some(refusal.clone()),
        );
        Err(refusal)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust.public.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust.public.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.public.supported_verify_schemes()
    }
}
