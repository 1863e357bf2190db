//! The exporter's own metrics, served on `/metrics`: probes run (by module and
//! result), scrapes answered from the cache or joined to a probe in flight,
//! probes that could log in (by protocol: the lockout budget spent), errors by
//! kind, probes running, targets configured, and the state of the last reload.
//!
//! Labels are bounded: module names come from the config, protocols and kinds
//! are fixed. No target address and no secret is ever a label here.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The kinds of errors counted.
pub const ERROR_KINDS: &[&str] = &["bad_request", "not_found", "deferred", "secret", "reload"];

#[derive(Default)]
pub struct Metrics {
    probes: Mutex<BTreeMap<(String, &'static str), u64>>,
    logins: Mutex<BTreeMap<&'static str, u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    targets: AtomicUsize,
    reload_ok: AtomicU64,
    reload_ts: AtomicU64,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    *g.entry(k).or_insert(0) += 1;
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn probe(&self, module: &str, result: &'static str) {
        bump(&self.probes, (module.to_string(), result));
    }
    pub fn login(&self, protocol: &'static str) {
        bump(&self.logins, protocol);
    }
    pub fn error(&self, kind: &'static str) {
        bump(&self.errors, kind);
    }
    pub fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn coalesced(&self) {
        self.coalesced.fetch_add(1, Ordering::Relaxed);
    }
    pub fn configured(&self, targets: usize, ok: bool) {
        if ok {
            self.targets.store(targets, Ordering::Relaxed);
            let now = chrono::Utc::now().timestamp().max(0) as u64;
            self.reload_ts.store(now, Ordering::Relaxed);
        }
        self.reload_ok.store(u64::from(ok), Ordering::Relaxed);
    }

    /// The exposition; `modules` are the configured module names (each gets zero
    /// counts before its first probe), `running` the probes in flight.
    pub fn render(
        &self,
        modules: &[String],
        running: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let head = |out: &mut dyn Write, name: &str, kind: &str, help: &str| -> io::Result<()> {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} {kind}")
        };
        head(
            out,
            "mailbox_doctor_build_info",
            "gauge",
            "The version of mailbox-doctor and the date of its knowledge base.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_build_info{{version=\"{}\",knowledge_as_of=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            esc(&crate::report::model::Tool::current().knowledge_as_of)
        )?;
        head(
            out,
            "mailbox_doctor_serve_probes_total",
            "counter",
            "Probes run (each may log in once per protocol), by module and result.",
        )?;
        let probes = self.probes.lock().map(|g| g.clone()).unwrap_or_default();
        for m in modules {
            for r in ["success", "failure", "timeout"] {
                let n = probes.get(&(m.clone(), r)).copied().unwrap_or(0);
                writeln!(
                    out,
                    "mailbox_doctor_serve_probes_total{{module=\"{}\",result=\"{r}\"}} {n}",
                    esc(m)
                )?;
            }
        }
        head(
            out,
            "mailbox_doctor_serve_logins_total",
            "counter",
            "Probes started that log in over this protocol (at most one login each).",
        )?;
        let logins = self.logins.lock().map(|g| g.clone()).unwrap_or_default();
        for p in ["smtp", "imap", "pop"] {
            let n = logins.get(p).copied().unwrap_or(0);
            writeln!(
                out,
                "mailbox_doctor_serve_logins_total{{protocol=\"{p}\"}} {n}"
            )?;
        }
        head(
            out,
            "mailbox_doctor_serve_cache_hits_total",
            "counter",
            "Scrapes answered with a cached result, without a probe.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_serve_cache_hits_total {}",
            self.cache_hits.load(Ordering::Relaxed)
        )?;
        head(
            out,
            "mailbox_doctor_serve_coalesced_total",
            "counter",
            "Scrapes that waited for a probe already running for the same target.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_serve_coalesced_total {}",
            self.coalesced.load(Ordering::Relaxed)
        )?;
        head(
            out,
            "mailbox_doctor_serve_errors_total",
            "counter",
            "Requests and reloads that failed, by kind.",
        )?;
        let errors = self.errors.lock().map(|g| g.clone()).unwrap_or_default();
        for k in ERROR_KINDS {
            let n = errors.get(k).copied().unwrap_or(0);
            writeln!(out, "mailbox_doctor_serve_errors_total{{kind=\"{k}\"}} {n}")?;
        }
        head(
            out,
            "mailbox_doctor_serve_probes_running",
            "gauge",
            "Probes running now.",
        )?;
        writeln!(out, "mailbox_doctor_serve_probes_running {running}")?;
        head(
            out,
            "mailbox_doctor_serve_targets",
            "gauge",
            "Targets in the configuration in force.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_serve_targets {}",
            self.targets.load(Ordering::Relaxed)
        )?;
        head(
            out,
            "mailbox_doctor_serve_config_last_reload_successful",
            "gauge",
            "1 when the last load of the configuration succeeded.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_serve_config_last_reload_successful {}",
            self.reload_ok.load(Ordering::Relaxed)
        )?;
        head(
            out,
            "mailbox_doctor_serve_config_last_reload_success_timestamp_seconds",
            "gauge",
            "When the configuration in force was loaded, in seconds since the epoch.",
        )?;
        writeln!(
            out,
            "mailbox_doctor_serve_config_last_reload_success_timestamp_seconds {}",
            self.reload_ts.load(Ordering::Relaxed)
        )
    }
}
