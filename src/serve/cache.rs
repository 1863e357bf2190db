//! The lockout budget and the result cache: the heart of `serve`.
//!
//! Two tables, under one lock:
//! - the **ledger**: per mailbox (lower-cased address) and protocol, when the last
//!   probe that could log in over that protocol started. A probe starts only when
//!   every protocol it logs in with has been idle for the target's `min_interval`,
//!   and it books them all before it starts. The ledger is keyed by mailbox, not
//!   by module, and it survives reloads, so neither a second module for the same
//!   mailbox nor a changed config buys an extra login.
//! - the **results**: per (mailbox, module), the last probe's result and the probe
//!   in flight, if any. A scrape within `min_interval` of the last probe gets that
//!   result; concurrent scrapes of one target wait for the one probe in flight.
//!
//! This module decides; it never probes, never sleeps and never does I/O, so that
//! every decision is testable with an injected clock.

use crate::vocab::Protocol;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What a probe produced, shared by every scrape that gets it.
pub type Answer<T> = Result<Arc<T>, Arc<str>>;

type Key = (String, String);

struct Stored<T> {
    value: Arc<T>,
    /// When the probe that produced it started (the login time).
    started: Instant,
    fingerprint: String,
}

struct Entry<T> {
    last: Option<Stored<T>>,
    inflight: Option<watch::Receiver<Option<Answer<T>>>>,
}

impl<T> Default for Entry<T> {
    fn default() -> Self {
        Entry {
            last: None,
            inflight: None,
        }
    }
}

struct State<T> {
    results: HashMap<Key, Entry<T>>,
    ledger: HashMap<(String, Protocol), Instant>,
}

pub struct Cache<T> {
    state: Mutex<State<T>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            state: Mutex::new(State {
                results: HashMap::new(),
                ledger: HashMap::new(),
            }),
        }
    }
}

/// What one probe request asks about.
pub struct Request<'a> {
    pub mailbox: &'a str,
    pub module: &'a str,
    pub fingerprint: &'a str,
    pub logins: &'a [Protocol],
    pub min_interval: Duration,
}

/// What a scrape should do.
pub enum Decision<T> {
    /// Answer with this result of a probe that started `age` ago.
    Cached { value: Arc<T>, age: Duration },
    /// Wait for the probe in flight.
    Join(watch::Receiver<Option<Answer<T>>>),
    /// Run the probe, then hand its outcome to `Cache::finish` with this ticket.
    Start(Ticket<T>),
    /// No login is allowed yet (another module or an older config of this mailbox
    /// logged in over `protocol` recently), and there is no result to show.
    Deferred {
        protocol: Protocol,
        retry_after: Duration,
    },
}

/// The right to run one probe; the ledger is already booked.
pub struct Ticket<T> {
    key: Key,
    fingerprint: String,
    started: Instant,
    booked: Vec<((String, Protocol), Option<Instant>)>,
    tx: watch::Sender<Option<Answer<T>>>,
}

impl<T> Ticket<T> {
    pub fn started(&self) -> Instant {
        self.started
    }
}

/// How a probe ended.
pub enum Outcome<T> {
    /// It ran (it may have logged in): cache it.
    Ran(Arc<T>),
    /// It never reached the network (no probe slot before the deadline, or the
    /// secret could not be read): the booking is returned, nothing is cached.
    NotStarted(Answer<T>),
}

impl<T> Cache<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A poisoned lock only means a panic elsewhere; the tables stay consistent
        // because every update below is a single insert or remove.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides what the scrape described by `r` does at time `now`.
    pub fn decide(&self, r: &Request, now: Instant) -> Decision<T> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let key = (r.mailbox.to_string(), r.module.to_string());
        let entry = st.results.entry(key.clone()).or_default();
        if let Some(rx) = &entry.inflight {
            return Decision::Join(rx.clone());
        }
        let last = entry.last.as_ref().map(|s| {
            (
                s.value.clone(),
                now.saturating_duration_since(s.started),
                s.fingerprint == r.fingerprint,
            )
        });
        if let Some((value, age, same)) = &last {
            if *same && *age < r.min_interval {
                return Decision::Cached {
                    value: value.clone(),
                    age: *age,
                };
            }
        }
        // A new probe is due: only if no protocol it logs in with was used lately.
        for p in r.logins {
            if let Some(t) = st.ledger.get(&(r.mailbox.to_string(), *p)) {
                let since = now.saturating_duration_since(*t);
                if since < r.min_interval {
                    return match last {
                        Some((value, age, _)) => Decision::Cached { value, age },
                        None => Decision::Deferred {
                            protocol: *p,
                            retry_after: r.min_interval - since,
                        },
                    };
                }
            }
        }
        let booked = r
            .logins
            .iter()
            .map(|p| {
                let k = (r.mailbox.to_string(), *p);
                let before = st.ledger.insert(k.clone(), now);
                (k, before)
            })
            .collect();
        let (tx, rx) = watch::channel(None);
        if let Some(e) = st.results.get_mut(&key) {
            e.inflight = Some(rx);
        }
        Decision::Start(Ticket {
            key,
            fingerprint: r.fingerprint.to_string(),
            started: now,
            booked,
            tx,
        })
    }

    /// Records how the probe of `ticket` ended and wakes the scrapes waiting for it.
    pub fn finish(&self, ticket: Ticket<T>, outcome: Outcome<T>) -> Answer<T> {
        let mut st = self.lock();
        let answer = match outcome {
            Outcome::Ran(value) => {
                if let Some(e) = st.results.get_mut(&ticket.key) {
                    e.last = Some(Stored {
                        value: value.clone(),
                        started: ticket.started,
                        fingerprint: ticket.fingerprint.clone(),
                    });
                }
                Ok(value)
            }
            Outcome::NotStarted(answer) => {
                // Nothing reached the network: give the booking back, unless a
                // later probe booked the same protocol meanwhile.
                for (k, before) in &ticket.booked {
                    if st.ledger.get(k) == Some(&ticket.started) {
                        match before {
                            Some(t) => st.ledger.insert(k.clone(), *t),
                            None => st.ledger.remove(k),
                        };
                    }
                }
                answer
            }
        };
        if let Some(e) = st.results.get_mut(&ticket.key) {
            e.inflight = None;
        }
        ticket.tx.send_replace(Some(answer.clone()));
        answer
    }

    /// After a reload: results of (mailbox, module) pairs no longer configured are
    /// dropped (a probe in flight still finishes). Results of changed targets are
    /// kept and shown until their next probe is allowed. Ledger entries are kept
    /// while any configured interval could still count them.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool, longest: Duration, now: Instant) {
        let mut st = self.lock();
        st.results
            .retain(|(mb, m), e| e.inflight.is_some() || keep(mb, m));
        st.ledger
            .retain(|_, t| now.saturating_duration_since(*t) < longest);
    }

    /// How many (mailbox, module) results are held.
    pub fn len(&self) -> usize {
        self.lock()
            .results
            .values()
            .filter(|e| e.last.is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMTP: &[Protocol] = &[Protocol::Smtp];

    fn req<'a>(module: &'a str, fp: &'a str, logins: &'a [Protocol]) -> Request<'a> {
        Request {
            mailbox: "scanner@contoso.com",
            module,
            fingerprint: fp,
            logins,
            min_interval: Duration::from_secs(300),
        }
    }

    fn start(c: &Cache<u32>, r: &Request, now: Instant) -> Ticket<u32> {
        match c.decide(r, now) {
            Decision::Start(t) => t,
            _ => panic!("expected a probe to start"),
        }
    }

    #[test]
    fn within_min_interval_the_result_is_cached_and_after_it_a_probe_starts() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("m", "a", SMTP), t0);
        let _ = c.finish(t, Outcome::Ran(Arc::new(1)));
        for s in [1, 100, 299] {
            match c.decide(&req("m", "a", SMTP), t0 + Duration::from_secs(s)) {
                Decision::Cached { value, age } => {
                    assert_eq!((*value, age.as_secs()), (1, s));
                }
                _ => panic!("cached at {s} s"),
            }
        }
        start(&c, &req("m", "a", SMTP), t0 + Duration::from_secs(300));
    }

    #[test]
    fn concurrent_scrapes_join_the_probe_in_flight() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("m", "a", SMTP), t0);
        let Decision::Join(mut rx) = c.decide(&req("m", "a", SMTP), t0) else {
            panic!("expected to join");
        };
        let _ = c.finish(t, Outcome::Ran(Arc::new(7)));
        let got = rx.borrow_and_update().clone();
        assert_eq!(got.and_then(|a| a.ok()).map(|v| *v), Some(7));
    }

    #[test]
    fn another_module_of_the_same_mailbox_and_protocol_waits_for_the_budget() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("smtp_a", "a", SMTP), t0);
        let _ = c.finish(t, Outcome::Ran(Arc::new(1)));
        let later = t0 + Duration::from_secs(60);
        match c.decide(&req("smtp_b", "b", SMTP), later) {
            Decision::Deferred {
                protocol,
                retry_after,
            } => assert_eq!((protocol, retry_after.as_secs()), (Protocol::Smtp, 240)),
            _ => panic!("a second login within min_interval"),
        }
        // A module that logs in over another protocol is not held back.
        start(&c, &req("imap", "c", &[Protocol::Imap]), later);
    }

    #[test]
    fn a_changed_config_shows_the_old_result_until_the_budget_allows() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("m", "old", SMTP), t0);
        let _ = c.finish(t, Outcome::Ran(Arc::new(1)));
        match c.decide(&req("m", "new", SMTP), t0 + Duration::from_secs(10)) {
            Decision::Cached { value, .. } => assert_eq!(*value, 1),
            _ => panic!("no login for the changed config yet"),
        }
        start(&c, &req("m", "new", SMTP), t0 + Duration::from_secs(300));
    }

    #[test]
    fn a_probe_that_never_started_gives_its_booking_back() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("m", "a", SMTP), t0);
        let _ = c.finish(t, Outcome::NotStarted(Err("no slot".into())));
        start(&c, &req("m", "a", SMTP), t0 + Duration::from_secs(1));
    }

    #[test]
    fn a_reload_keeps_the_ledger_and_unchanged_results() {
        let c = Cache::default();
        let t0 = Instant::now();
        let t = start(&c, &req("m", "a", SMTP), t0);
        let _ = c.finish(t, Outcome::Ran(Arc::new(1)));
        c.retain(|_, m| m == "other", Duration::from_secs(300), t0);
        assert!(c.is_empty());
        match c.decide(&req("m", "a", SMTP), t0 + Duration::from_secs(5)) {
            Decision::Deferred { .. } => {}
            _ => panic!("the ledger must survive the reload"),
        }
    }
}
