//! One `/probe` scrape: find the configured target, work out the deadline from
//! Prometheus's scrape timeout, ask the cache what to do (answer from the cache,
//! join the probe in flight, start one, or wait for the lockout budget), and
//! answer in the exposition format.
//!
//! A probe runs in a task of its own: a scrape that gives up (its client went
//! away, its deadline passed) never cancels a probe that may be logging in, and
//! its result is still cached for the next scrape. Nothing here echoes what the
//! request asked for in an error, since a mistaken URL could hold a secret.

use super::cache::{Decision, Outcome, Request};
use super::config::Probe;
use super::http::Reply;
use super::probe::{self, Probed};
use super::{exposition, log, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shortest deadline a probe gets, whatever the scrape timeout says.
const MIN_DEADLINE: Duration = Duration::from_millis(100);

/// What the query asked for.
pub struct Asked<'a> {
    pub target: &'a str,
    pub module: Option<&'a str>,
    /// `X-Prometheus-Scrape-Timeout-Seconds`, as sent.
    pub scrape_timeout: Option<&'a str>,
}

pub async fn handle(server: &Arc<Server>, asked: Asked<'_>) -> Reply {
    let cfg = server.config();
    let found = cfg.for_address(asked.target);
    if found.is_empty() {
        server.metrics.error("not_found");
        return Reply::text(
            404,
            "No target with this address is configured (addresses are compared ignoring case). Add it to [[targets]] in the config file and send SIGHUP; no probe was run.\n",
        );
    }
    let probe: &Probe = match asked.module {
        Some(m) if !cfg.modules.contains(m) => {
            server.metrics.error("not_found");
            let names: Vec<&str> = cfg.modules.iter().map(String::as_str).collect();
            return Reply::text(
                404,
                &format!(
                    "The config has no module of this name (modules: {}); no probe was run.\n",
                    names.join(", ")
                ),
            );
        }
        Some(m) => match found.iter().find(|p| p.module == m) {
            Some(p) => p,
            None => {
                server.metrics.error("not_found");
                return Reply::text(
                    404,
                    &format!(
                        "This target is not configured with this module (its modules: {}); no probe was run.\n",
                        modules_of(&found)
                    ),
                );
            }
        },
        None if found.len() == 1 => found[0],
        None => {
            server.metrics.error("bad_request");
            return Reply::text(
                400,
                &format!(
                    "This target is configured with several modules ({}): name one with &module=.\n",
                    modules_of(&found)
                ),
            );
        }
    };
    let deadline = match deadline(
        probe.timeout,
        asked.scrape_timeout,
        server.opts.timeout_offset,
    ) {
        Ok(d) => d,
        Err(why) => {
            server.metrics.error("bad_request");
            return Reply::text(400, &why);
        }
    };
    let request = Request {
        mailbox: &probe.mailbox,
        module: &probe.module,
        fingerprint: &probe.fingerprint,
        logins: &probe.logins,
        min_interval: probe.min_interval,
    };
    match server.cache.decide(&request, Instant::now()) {
        Decision::Cached { value, age } => {
            server.metrics.cache_hit();
            answer(&value, true, age)
        }
        Decision::Join(mut rx) => {
            server.metrics.coalesced();
            let waited = tokio::time::timeout(deadline, rx.wait_for(Option::is_some)).await;
            let got = match waited {
                Ok(Ok(v)) => v.clone(),
                _ => None,
            };
            match got {
                Some(Ok(value)) => answer(&value, false, value.took),
                Some(Err(why)) => Reply::text(500, &why),
                None => {
                    let why = format!(
                        "the probe already running for this target did not finish within this scrape's deadline of {:.1} s",
                        deadline.as_secs_f64()
                    );
                    let report = probe::timeout_report(server.kb, probe, &[], &why, deadline);
                    let p = Probed {
                        report,
                        took: deadline,
                        deadline,
                        timed_out: true,
                        started: false,
                    };
                    answer(&p, false, Duration::ZERO)
                }
            }
        }
        Decision::Deferred {
            protocol,
            retry_after,
        } => {
            server.metrics.error("deferred");
            let secs = retry_after.as_secs() + 1;
            log::warn(
                "probe deferred by the lockout budget",
                serde_json::json!({
                    "target": probe.address, "module": probe.module,
                    "protocol": protocol.as_str(), "retry_after_seconds": secs,
                }),
            );
            Reply::text(
                503,
                &format!(
                    "This mailbox logged in over {} less than min_interval ago (through another module or an earlier config), and this module has no result yet. The next login is allowed in {secs} s; no probe was run.\n",
                    protocol.as_str()
                ),
            )
            .header("retry-after", secs.to_string())
        }
        Decision::Start(ticket) => {
            let server2 = server.clone();
            let probe = probe.clone();
            let guard = server.enter();
            let task = tokio::spawn(async move {
                let _guard = guard;
                let outcome = match super::config::read_secret(&probe.secret) {
                    Err(why) => {
                        server2.metrics.error("secret");
                        log::error(
                            "the secret could not be read; no probe was run",
                            serde_json::json!({ "target": probe.address, "module": probe.module, "error": why }),
                        );
                        Outcome::NotStarted(Err(Arc::from(format!(
                            "The secret of this target could not be read ({why}); no probe was run.\n"
                        ))))
                    }
                    Ok(secret) => {
                        let today = server2
                            .opts
                            .today
                            .unwrap_or_else(|| chrono::Utc::now().date_naive());
                        let out = probe::run(probe::Run {
                            kb: server2.kb,
                            probe: &probe,
                            secret,
                            common: server2.common(&probe.net),
                            limits: &server2.limits,
                            deadline,
                            today,
                        })
                        .await;
                        record(&server2, &probe, &out);
                        out
                    }
                };
                server2.cache.finish(ticket, outcome)
            });
            match task.await {
                Ok(Ok(value)) => answer(&value, false, value.took),
                Ok(Err(why)) => Reply::text(500, &why),
                Err(_) => Reply::text(500, "The probe ended unexpectedly; see the log.\n"),
            }
        }
    }
}

fn modules_of(found: &[&Probe]) -> String {
    found
        .iter()
        .map(|p| p.module.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn answer(p: &Probed, cached: bool, age: Duration) -> Reply {
    let mut body = Vec::with_capacity(4096);
    match exposition::render(p, cached, age, &mut body) {
        Ok(()) => Reply::exposition(body),
        Err(_) => Reply::text(500, "The answer could not be written.\n"),
    }
}

/// Logs the probe (one line) and counts it.
fn record(server: &Server, probe: &Probe, out: &Outcome<Probed>) {
    let (p, started) = match out {
        Outcome::Ran(p) => (p, true),
        Outcome::NotStarted(Ok(p)) => (p, false),
        Outcome::NotStarted(Err(_)) => return,
    };
    let result = if p.timed_out {
        "timeout"
    } else if p.success() {
        "success"
    } else {
        "failure"
    };
    if started {
        server.metrics.probe(&probe.module, result);
        for l in &probe.logins {
            server.metrics.login(l.as_str());
        }
    }
    log::info(
        "probe",
        serde_json::json!({
            "target": probe.address,
            "module": probe.module,
            "duration_seconds": (p.took.as_secs_f64() * 1000.0).round() / 1000.0,
            "deadline_seconds": p.deadline.as_secs_f64(),
            "status": p.report.status.upper(),
            "success": p.success(),
            "root_cause": p.root_cause(),
            "timed_out": p.timed_out,
            "started": started,
            "logins": probe.logins.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        }),
    );
}

/// The probe's deadline: Prometheus's scrape timeout less the offset, capped by
/// the module's timeout; the module's timeout when Prometheus sent none.
pub fn deadline(
    module: Duration,
    header: Option<&str>,
    offset: Duration,
) -> Result<Duration, String> {
    let Some(h) = header else {
        return Ok(module);
    };
    let secs: f64 = h
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            "X-Prometheus-Scrape-Timeout-Seconds is not a positive number of seconds.\n".to_string()
        })?;
    let from_header = Duration::from_secs_f64(secs.min(86_400.0)).saturating_sub(offset);
    Ok(from_header.max(MIN_DEADLINE).min(module))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scrape_timeout_less_the_offset_is_capped_by_the_module() {
        let m = Duration::from_secs(10);
        let o = Duration::from_millis(500);
        assert_eq!(deadline(m, None, o), Ok(m));
        assert_eq!(deadline(m, Some("4"), o), Ok(Duration::from_millis(3500)));
        assert_eq!(deadline(m, Some("60"), o), Ok(m));
        assert_eq!(deadline(m, Some("0.2"), o), Ok(MIN_DEADLINE));
        for bad in ["", "x", "-1", "0", "NaN", "inf"] {
            assert!(deadline(m, Some(bad), o).is_err(), "{bad}");
        }
    }
}
