//! `serve`: a probe endpoint for Prometheus. `GET /probe?target=ADDRESS` runs the
//! checks for a mailbox of the config file and answers in the text exposition
//! format; `/metrics` has the exporter's own metrics; `/-/healthy` answers 200.
//!
//! The promise it keeps whatever the scrape rate: a probe that can log in to a
//! mailbox over a protocol starts only when no such probe for that mailbox and
//! protocol started within the target's `min_interval`; scrapes in between get
//! the cached result, concurrent scrapes share one probe (see `cache`).
//!
//! This module wires the parts: the config in force (swapped whole on SIGHUP or
//! on `POST /-/reload` from the loopback interface, when the new one is valid),
//! the cache, the limits, the HTTP front, and shutdown on SIGTERM (Ctrl+C or the
//! console's close on Windows) that lets running probes finish. It never prints
//! to stdout; its logs are JSON lines on stderr (see `log`).

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
    reloading: Mutex<()>,
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
            reloading: Mutex::new(()),
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
    /// Answers how many targets the new config has, or why it was refused (the
    /// error is logged either way). One reload at a time (SIGHUP and `POST
    /// /-/reload` may come together).
    pub fn reload(&self) -> Result<usize, String> {
        let _one = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
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
                let n = new.probes.len();
                if let Ok(mut c) = self.config.write() {
                    *c = Arc::new(new);
                }
                Ok(n)
            }
            Err(e) => {
                self.metrics.configured(0, false);
                self.metrics.error("reload");
                log::error(
                    "reload failed; the previous config stays in force",
                    serde_json::json!({ "config": path.display().to_string(), "error": e.to_string() }),
                );
                Err(e.to_string())
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

/// What the operating system asks of the server.
enum Event {
    Stop,
    Reload,
}

/// The signals `serve` listens to. Unix: SIGTERM and SIGINT stop it, SIGHUP
/// reloads the config. Windows: Ctrl+C, Ctrl+Break, closing the console window,
/// logging off and shutting down stop it; there is no SIGHUP, so a reload comes
/// only from `POST /-/reload` (which works on every platform).
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.hup.recv() => Event::Reload,
            _ = self.term.recv() => Event::Stop,
            _ = self.int.recv() => Event::Stop,
        }
    }
}

#[cfg(windows)]
struct Signals {
    c: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
    logoff: tokio::signal::windows::CtrlLogoff,
    shutdown: tokio::signal::windows::CtrlShutdown,
}

#[cfg(windows)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::windows as w;
        Ok(Signals {
            c: w::ctrl_c()?,
            brk: w::ctrl_break()?,
            close: w::ctrl_close()?,
            logoff: w::ctrl_logoff()?,
            shutdown: w::ctrl_shutdown()?,
        })
    }

    async fn next(&mut self) -> Event {
        // Windows ends a process a few seconds after the console closes: the
        // drain below does what it can in that time.
        tokio::select! {
            _ = self.c.recv() => Event::Stop,
            _ = self.brk.recv() => Event::Stop,
            _ = self.close.recv() => Event::Stop,
            _ = self.logoff.recv() => Event::Stop,
            _ = self.shutdown.recv() => Event::Stop,
        }
    }
}

/// Loads the config, binds, and serves until a stop signal (SIGTERM or SIGINT;
/// on Windows Ctrl+C or the console's close).
pub async fn serve(kb: &'static Knowledge, opts: Options) -> anyhow::Result<()> {
    let cfg = config::load(kb, &opts.config, &*opts.net)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let mut signals = Signals::new()?;
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
            ev = signals.next() => match ev {
                Event::Reload => {
                    let _ = server.reload();
                }
                Event::Stop => break,
            },
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
