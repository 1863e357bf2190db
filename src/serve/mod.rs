//! `serve`: a probe endpoint for Prometheus. `GET /probe?target=ADDRESS` runs the
//! checks for a mailbox of the config file and answers in the text exposition
//! format; `/metrics` has the exporter's own metrics; `/-/healthy` answers 200.
//!
//! The promise it keeps whatever the scrape rate: a probe that can log in to a
//! mailbox over a protocol starts only when no such probe for that mailbox and
//! protocol started within the target's `min_interval`; scrapes in between get
//! the cached result, concurrent scrapes share one probe (see `cache`).
//!
//! This module wires the parts: the config in force (swapped whole on SIGHUP when
//! the new one is valid), the cache, the limits, the HTTP front, and shutdown on
//! SIGTERM that lets running probes finish. It never prints to stdout; its logs
//! are JSON lines on stderr (see `log`).

pub mod cache;
pub mod config;
pub mod conns;
pub mod exposition;
pub mod http;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod probe;
pub mod scrape;
pub mod values;

use crate::checks::ctx::Common;
use crate::knowledge::Knowledge;
use config::Config;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a run's shared resolver and tenant answers are used before fresh ones
/// are made (a long-running server must notice a changed tenant or DNS record).
const COMMON_MAX_AGE: Duration = Duration::from_secs(600);

/// The server's settings from the command line (the config file is reloadable;
/// these are not).
#[derive(Clone)]
pub struct Options {
    pub config: std::path::PathBuf,
    pub listen: SocketAddr,
    /// Probes at once, over all targets.
    pub concurrency: usize,
    /// Probes at once for one mail domain.
    pub per_domain: usize,
    /// Subtracted from Prometheus's scrape timeout to make the probe's deadline.
    pub timeout_offset: Duration,
    /// Open HTTP connections at once.
    pub max_connections: usize,
    /// Pretend today is this date (tests).
    pub today: Option<chrono::NaiveDate>,
    /// Network options from a module's settings (the command's flag handling).
    pub net: Arc<config::NetBuilder>,
}

type CommonKey = (Option<SocketAddr>, u128);

/// Everything the HTTP front shares.
pub struct Server {
    pub kb: &'static Knowledge,
    pub opts: Options,
    config: RwLock<Arc<Config>>,
    pub cache: cache::Cache<probe::Probed>,
    pub limits: limits::Limits,
    pub metrics: metrics::Metrics,
    commons: Mutex<HashMap<CommonKey, (Arc<Common>, Instant)>>,
    running: watch::Sender<usize>,
}

/// Held while a probe task runs; shutdown waits until none is held.
pub struct Running(watch::Sender<usize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Server {
    pub fn new(kb: &'static Knowledge, opts: Options, config: Config) -> Server {
        let metrics = metrics::Metrics::default();
        metrics.configured(config.probes.len(), true);
        Server {
            kb,
            limits: limits::Limits::new(opts.concurrency, opts.per_domain),
            opts,
            config: RwLock::new(Arc::new(config)),
            cache: Default::default(),
            metrics,
            commons: Mutex::new(HashMap::new()),
            running: watch::channel(0).0,
        }
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The shared resolver and tenant answers for probes with these network
    /// options, renewed every `COMMON_MAX_AGE`.
    pub fn common(&self, net: &crate::checks::NetOptions) -> Arc<Common> {
        let key = (net.dns_server, net.timeout.as_millis());
        let mut m = self.commons.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        m.retain(|_, (_, made)| now.duration_since(*made) < COMMON_MAX_AGE);
        m.entry(key)
            .or_insert_with(|| (Arc::new(Common::default()), now))
            .0
            .clone()
    }

    pub fn enter(&self) -> Running {
        self.running.send_modify(|n| *n += 1);
        Running(self.running.clone())
    }

    pub fn running(&self) -> usize {
        *self.running.borrow()
    }

    /// Loads the config file again; a bad one is refused whole and the old one
    /// stays in force. Results of targets whose settings did not change are kept.
    pub fn reload(&self) {
        let path = self.opts.config.clone();
        match config::load(self.kb, &path, &*self.opts.net) {
            Ok(new) => {
                let keys: std::collections::HashSet<(String, String)> = new
                    .probes
                    .iter()
                    .map(|p| (p.mailbox.clone(), p.module.clone()))
                    .collect();
                let old = self.config();
                let unchanged = new
                    .probes
                    .iter()
                    .filter(|p| {
                        old.probes.iter().any(|o| {
                            o.mailbox == p.mailbox
                                && o.module == p.module
                                && o.fingerprint == p.fingerprint
                        })
                    })
                    .count();
                self.cache.retain(
                    |mb, m| keys.contains(&(mb.to_string(), m.to_string())),
                    new.longest_interval().max(old.longest_interval()),
                    Instant::now(),
                );
                let domains: std::collections::HashSet<String> = new
                    .probes
                    .iter()
                    .filter_map(|p| p.target.domain.clone())
                    .collect();
                self.limits.retain(|d| domains.contains(d));
                self.metrics.configured(new.probes.len(), true);
                log::info(
                    "reloaded",
                    serde_json::json!({
                        "config": path.display().to_string(),
                        "targets": new.probes.len(),
                        "unchanged": unchanged,
                    }),
                );
                if let Ok(mut c) = self.config.write() {
                    *c = Arc::new(new);
                }
            }
            Err(e) => {
                self.metrics.configured(0, false);
                self.metrics.error("reload");
                log::error(
                    "reload failed; the previous config stays in force",
                    serde_json::json!({ "config": path.display().to_string(), "error": e.to_string() }),
                );
            }
        }
    }

    /// The longest time a running probe can still take.
    pub fn longest_probe(&self) -> Duration {
        self.config()
            .probes
            .iter()
            .map(|p| p.timeout)
            .max()
            .unwrap_or(Duration::from_secs(10))
    }
}

/// Loads the config, binds, and serves until SIGTERM or SIGINT.
pub async fn serve(kb: &'static Knowledge, opts: Options) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let cfg = config::load(kb, &opts.config, &*opts.net)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    log::info(
        "listening",
        serde_json::json!({
            "address": listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            "config": opts.config.display().to_string(),
            "targets": cfg.probes.len(),
            "version": env!("CARGO_PKG_VERSION"),
        }),
    );
    let server = Arc::new(Server::new(kb, opts, cfg));
    let front = http::Front::new(server.clone());
    loop {
        tokio::select! {
            _ = front.accept_one(&listener) => {}
            _ = hup.recv() => server.reload(),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    drop(listener);
    log::info(
        "shutting down; running probes finish first",
        serde_json::json!({ "probes_running": server.running() }),
    );
    let grace = server.longest_probe() + Duration::from_secs(2);
    let mut running = server.running.subscribe();
    let drained = tokio::time::timeout(grace, async {
        front.shutdown().await;
        let _ = running.wait_for(|n| *n == 0).await;
    })
    .await;
    log::info(
        "stopped",
        serde_json::json!({ "clean": drained.is_ok(), "probes_running": server.running() }),
    );
    Ok(())
}
