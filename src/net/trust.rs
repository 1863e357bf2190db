//! Which roots a server certificate is checked against, and what each of them
//! says. Three sets, each verified on its own: Mozilla's root programme
//! (webpki-roots, what phones, printers and most clients everywhere trust), this
//! machine's own store (`SSL_CERT_FILE` and `SSL_CERT_DIR` when set, otherwise
//! the distribution's bundle and directory where OpenSSL looks for them, or,
//! through rustls-native-certs, the macOS keychain or the Windows store), and
//! `--ca-file`. A chain any of them accepts is
//! accepted; the three verdicts are kept, so a check can tell "trusted here only"
//! (a private CA, or a device intercepting TLS) from "trusted publicly but not
//! here" (an outdated or damaged local store).
//!
//! The system store is read once per process, bounded: a `SSL_CERT_FILE`, or a
//! file of `SSL_CERT_DIR` (or of the distribution's store where OpenSSL looks
//! for it), that is not a regular file, is larger than 16 MiB, or
//! would take the store past 64 MiB in all, is not read, and is named in the
//! store's `skipped` list (a company CA in a file never read explains an
//! untrusted server). Nothing here decides what a verdict means for the report.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex, OnceLock};

/// Largest store file read (`SSL_CERT_FILE`, or one file of `SSL_CERT_DIR`; a
/// full distribution bundle is about 200 KiB).
pub const MAX_STORE_FILE: u64 = 16 * 1024 * 1024;
/// Largest store read in all (`SSL_CERT_FILE` and every file of `SSL_CERT_DIR`).
pub const MAX_STORE_TOTAL: u64 = 64 * 1024 * 1024;
/// Entries looked at in one `SSL_CERT_DIR` directory (a distribution's
/// `/etc/ssl/certs` holds a few hundred).
pub const MAX_STORE_ENTRIES: usize = 20_000;

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
    /// Why the store is incomplete or empty, if something went wrong reading it
    /// (it names the files skipped).
    pub problem: Option<String>,
    /// The store files that were not read, each with why (control characters
    /// in a name shown escaped).
    pub skipped: Vec<String>,
}

impl SystemStore {
    /// The skipped files in one sentence, for a finding; None when none was.
    pub fn skipped_note(&self) -> Option<String> {
        skipped_note(&self.skipped)
    }
}

fn skipped_note(skipped: &[String]) -> Option<String> {
    const SHOWN: usize = 5;
    if skipped.is_empty() {
        return None;
    }
    let mut s = format!(
        "{} trust store file{} not read: {}",
        skipped.len(),
        if skipped.len() == 1 { " was" } else { "s were" },
        skipped
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    );
    if skipped.len() > SHOWN {
        s.push_str(&format!("; and {} more", skipped.len() - SHOWN));
    }
    s.push_str(" (a CA certificate in a file not read is not trusted here)");
    Some(s)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn verifier(roots: rustls::RootCertStore) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| e.to_string())
}

/// What reading the store gave.
#[derive(Default)]
struct StoreRead {
    certs: Vec<CertificateDer<'static>>,
    skipped: Vec<String>,
    errors: Vec<String>,
    /// Bytes read so far, against `MAX_STORE_TOTAL`.
    total: u64,
    /// Files already read (`openssl rehash` links every file under a second name).
    #[cfg(unix)]
    seen: std::collections::HashSet<(u64, u64)>,
}

impl StoreRead {
    /// Reads one PEM file of the store within the bounds, or names it as skipped.
    fn file(&mut self, path: &std::path::Path) {
        let shown = crate::net::scrub::escape_controls(&path.display().to_string()).into_owned();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            // A dangling link of a hashed directory: nothing to read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.skipped.push(format!("{shown} ({e})"));
                return;
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            if meta.is_file() && !self.seen.insert((meta.dev(), meta.ino())) {
                return;
            }
        }
        if meta.is_file() && meta.len() > MAX_STORE_FILE {
            self.skipped.push(format!(
                "{shown} (larger than {} MiB)",
                MAX_STORE_FILE >> 20
            ));
            return;
        }
        let left = MAX_STORE_TOTAL.saturating_sub(self.total);
        if meta.is_file() && meta.len() > left {
            self.skipped.push(format!(
                "{shown} (the store would pass {} MiB in all)",
                MAX_STORE_TOTAL >> 20
            ));
            return;
        }
        let bytes = match crate::secret::input::read_regular_file(path, MAX_STORE_FILE.min(left)) {
            Ok(b) => b,
            Err(crate::secret::input::FileError::TooLarge { .. }) => {
                self.skipped.push(format!(
                    "{shown} (larger than {} MiB)",
                    MAX_STORE_FILE >> 20
                ));
                return;
            }
            Err(crate::secret::input::FileError::NotRegular { kind, .. }) => {
                self.skipped
                    .push(format!("{shown} (not a regular file: {kind})"));
                return;
            }
            Err(crate::secret::input::FileError::Io { why, .. }) => {
                self.skipped.push(format!("{shown} ({why})"));
                return;
            }
        };
        self.total += bytes.len() as u64;
        for c in crate::net::pem::certificates(&bytes) {
            match c {
                Ok(c) => self.certs.push(c),
                Err(e) => self.errors.push(format!("{shown}: {e}")),
            }
        }
    }

    /// Every file of one `SSL_CERT_DIR` directory (not recursive).
    fn dir(&mut self, dir: &std::path::Path) {
        let shown = crate::net::scrub::escape_controls(&dir.display().to_string()).into_owned();
        let entries = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => {
                self.skipped.push(format!("{shown} ({e})"));
                return;
            }
        };
        let mut paths: Vec<std::path::PathBuf> = Vec::new();
        for (n, entry) in entries.enumerate() {
            if n >= MAX_STORE_ENTRIES {
                self.skipped.push(format!(
                    "{shown} (entries past the first {MAX_STORE_ENTRIES})"
                ));
                break;
            }
            if let Ok(e) = entry {
                paths.push(e.path());
            }
        }
        // In name order: which files fit the bounds does not depend on the
        // order the file system lists them in.
        paths.sort();
        for p in paths {
            if std::fs::metadata(&p).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            self.file(&p);
        }
    }
}

/// Reads the store. With `SSL_CERT_FILE` or `SSL_CERT_DIR` set, reads them here,
/// bounded (regular files only, at most `MAX_STORE_FILE` each and
/// `MAX_STORE_TOTAL` in all), naming every file skipped; unset, on Linux and
/// the BSDs, the bundle and directory where OpenSSL looks, read the same way;
/// otherwise the platform's store through rustls-native-certs.
fn read_system_store() -> (Vec<CertificateDer<'static>>, Vec<String>, Option<String>) {
    let file = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty());
    let dirs: Vec<std::path::PathBuf> = std::env::var_os("SSL_CERT_DIR")
        .map(|d| {
            std::env::split_paths(&d)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    // Unset: the platform's own store. On Linux and the BSDs that is the
    // distribution's bundle and directory, where OpenSSL would look, read here.
    #[cfg(all(unix, not(target_os = "macos")))]
    let (file, dirs) = match (file, dirs) {
        (None, d) if d.is_empty() => {
            let probe = openssl_probe::probe();
            (probe.cert_file.map(Into::into), probe.cert_dir)
        }
        given => given,
    };
    if file.is_none() && dirs.is_empty() {
        let r = rustls_native_certs::load_native_certs();
        let problem = r.errors.first().map(|e| e.to_string());
        return (r.certs, Vec::new(), problem);
    }
    read_paths(file.as_deref().map(std::path::Path::new), &dirs)
}

/// Reads a store file and store directories, bounded.
fn read_paths(
    file: Option<&std::path::Path>,
    dirs: &[std::path::PathBuf],
) -> (Vec<CertificateDer<'static>>, Vec<String>, Option<String>) {
    let mut read = StoreRead::default();
    if let Some(f) = file {
        read.file(f);
    }
    for d in dirs {
        read.dir(d);
    }
    read.certs
        .sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    read.certs.dedup();
    let problem = skipped_note(&read.skipped).or_else(|| read.errors.first().cloned());
    (read.certs, read.skipped, problem)
}

/// This machine's trust store, read on first use.
pub fn system_store() -> &'static SystemStore {
    static STORE: OnceLock<SystemStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let (certs, skipped, mut problem) = read_system_store();
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
            skipped,
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
    /// Built once per process for each `--ca-file` (every connection of a run
    /// asks for the same).
    pub fn new(extra: &[Vec<u8>]) -> Result<Trust, String> {
        static LAST: Mutex<Option<Trust>> = Mutex::new(None);
        let extra: Vec<CertificateDer<'_>> = extra
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        // Mozilla's set and this machine's store are read once per process:
        // within it, `--ca-file` alone tells one Trust from another.
        let id = crate::net::verdicts::digest_of("process roots and --ca-file", &[&extra]);
        if let Some(t) = LAST.lock().ok().and_then(|l| l.clone()) {
            if t.id == id {
                return Ok(t);
            }
        }
        let trust = Trust {
            public: public_verifier()?,
            system: system_store().verifier.clone(),
            ca_file: store_of(&extra)?,
            id,
        };
        if let Ok(mut l) = LAST.lock() {
            *l = Some(trust.clone());
        }
        Ok(trust)
    }

    /// Reads Mozilla's set and this machine's store on a thread of their own,
    /// so that a run's first handshake finds them ready: called when a run
    /// starts, it overlaps the reading with the run's DNS round.
    ///
    /// Not on Windows: there the machine's store is read through the system's
    /// certificate functions, and a run that ends first (`check --only
    /// credentials`) ends the process with that thread inside them, which
    /// Windows does not promise to survive (ExitProcess stops threads wherever
    /// they are). Under Wine, one such run of the tests hung at exit, its one
    /// thread left waiting on a lock. There the stores are read when the first
    /// handshake needs them.
    pub fn warm() {
        if cfg!(windows) {
            return;
        }
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = std::thread::Builder::new()
                .name("trust-store".into())
                .spawn(|| {
                    let _ = public_verifier();
                    let _ = system_store();
                });
        });
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

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    /// Where OpenSSL looks, read here, gives the certificates that
    /// rustls-native-certs reads there.
    #[test]
    fn the_distributions_store_reads_as_rustls_native_certs_reads_it() {
        let probe = openssl_probe::probe();
        let (ours, skipped, _) = read_paths(probe.cert_file.as_deref(), &probe.cert_dir);
        assert!(skipped.is_empty(), "{skipped:?}");
        let mut theirs = Vec::new();
        theirs.extend(
            rustls_native_certs::load_certs_from_paths(probe.cert_file.as_deref(), None).certs,
        );
        for d in &probe.cert_dir {
            theirs.extend(rustls_native_certs::load_certs_from_paths(None, Some(d)).certs);
        }
        theirs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        theirs.dedup();
        assert_eq!(ours.len(), theirs.len());
        assert!(ours == theirs);
    }
}
