//! What verifying one chain concluded, kept for the process: a batch meets the
//! same server chain on every connection, and verifying it against three root
//! sets each time is most of a handshake's client CPU beyond the key exchange.
//!
//! A verdict is a pure function of its inputs: the chain's DER (leaf and
//! intermediates, in order), the server name, the stapled OCSP response, the
//! root sets (`Trust::id`, a digest of what they hold) and the time. The key
//! holds all of them but the time; the time is handled by keeping a verdict only
//! while "now" is inside every presented certificate's validity (the latest
//! notBefore to the earliest notAfter): within that window no validity check in
//! any path built from the chain can change its outcome, and outside it the chain
//! is verified afresh. A chain whose certificates cannot be read for their dates
//! is never kept. Nothing is weakened: a cached verdict is the one a full
//! verification gave for the same inputs.

use super::trust::Verdicts;
use rustls::pki_types::{CertificateDer, UnixTime};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Chains kept before the oldest half is dropped (a batch meets a handful).
const ENTRIES: usize = 1024;

pub type Key = [u8; 32];

#[derive(Clone)]
pub struct Cached {
    pub verdicts: Verdicts,
    /// The refusal given when no root set accepted.
    pub refusal: Option<rustls::Error>,
    /// Seconds since the epoch: kept while `from <= now < until`.
    from: u64,
    until: u64,
}

static HITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Verifications answered from the cache so far in this process.
pub fn hits() -> usize {
    HITS.load(std::sync::atomic::Ordering::Relaxed)
}

fn store() -> &'static Mutex<HashMap<Key, Cached>> {
    static STORE: OnceLock<Mutex<HashMap<Key, Cached>>> = OnceLock::new();
    STORE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The key of a verification's inputs but the time.
pub fn key(
    trust: &Key,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &str,
    ocsp: &[u8],
) -> Key {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    let mut part = |b: &[u8]| {
        h.update(&(b.len() as u64).to_be_bytes());
        h.update(b);
    };
    part(trust);
    part(server_name.as_bytes());
    part(ocsp);
    part(end_entity.as_ref());
    for i in intermediates {
        part(i.as_ref());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

/// A digest of a list of DER blobs (root sets), under `label`.
pub fn digest_of(label: &str, sets: &[&[CertificateDer<'_>]]) -> Key {
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    h.update(label.as_bytes());
    for set in sets {
        h.update(&(set.len() as u64).to_be_bytes());
        for c in *set {
            h.update(&(c.as_ref().len() as u64).to_be_bytes());
            h.update(c.as_ref());
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

/// The verdict kept for `key`, when `now` is inside its window.
pub fn get(key: &Key, now: UnixTime) -> Option<Cached> {
    let now = now.as_secs();
    let map = store().lock().ok()?;
    let hit = map
        .get(key)
        .filter(|c| c.from <= now && now < c.until)
        .cloned();
    if hit.is_some() {
        HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    hit
}

/// Keeps a verdict, when `now` is inside every certificate's validity.
pub fn put(
    key: Key,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    verdicts: Verdicts,
    refusal: Option<rustls::Error>,
) {
    let Some((from, until)) = window(end_entity, intermediates) else {
        return;
    };
    let now = now.as_secs();
    if !(from <= now && now < until) {
        return;
    }
    let Ok(mut map) = store().lock() else { return };
    if map.len() >= ENTRIES {
        map.retain(|_, c| c.from <= now && now < c.until);
        if map.len() >= ENTRIES {
            map.clear();
        }
    }
    map.insert(
        key,
        Cached {
            verdicts,
            refusal,
            from,
            until,
        },
    );
}

/// The latest notBefore and the earliest notAfter of the certificates, in
/// seconds since the epoch; None when one cannot be read.
fn window(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Option<(u64, u64)> {
    let mut from = 0u64;
    let mut until = u64::MAX;
    for der in std::iter::once(end_entity).chain(intermediates) {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        let v = cert.validity();
        let nb = u64::try_from(v.not_before.timestamp()).ok()?;
        let na = u64::try_from(v.not_after.timestamp()).ok()?;
        from = from.max(nb);
        // notAfter is inclusive (RFC 5280): kept until the second after it.
        until = until.min(na.saturating_add(1));
    }
    Some((from, until))
}
