//! Folds sign-ins into bounded aggregates as they stream by: one entry per user
//! and legacy client app, per error code, per device that fails with a bad
//! password, and per user, place and address outside the expected countries.
//! Every set kept inside an entry has a cap (the rest is counted), and so has
//! the number of entries of each kind (rows beyond it are counted, not dropped
//! silently). Nothing here formats or prints.

use super::input::Rows;
use super::redact::Redactor;
use super::{CaStatus, Outcome, SignIn};
use crate::knowledge::Knowledge;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The caps that bound memory whatever the size of the export.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Distinct IP addresses (and user agents) listed per entry.
    pub values: usize,
    /// Users listed per error code.
    pub users: usize,
    /// Entries of each kind (legacy rows, devices, places).
    pub entries: usize,
    /// Malformed rows listed with their line (all are counted).
    pub malformed: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            values: 10,
            users: 20,
            entries: 50_000,
            malformed: 100,
        }
    }
}

/// Up to `cap` distinct values, and how many sign-ins had a value not kept.
#[derive(Debug, Clone, Default)]
pub struct Bounded {
    pub items: Vec<String>,
    pub omitted: u64,
}

impl Bounded {
    fn add(&mut self, v: &str, cap: usize) {
        if v.is_empty() || self.items.iter().any(|i| i == v) {
            return;
        }
        if self.items.len() < cap {
            self.items.push(v.to_string());
        } else {
            self.omitted += 1;
        }
    }
}

/// First and last time seen.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Span {
    fn new(t: DateTime<Utc>) -> Span {
        Span { first: t, last: t }
    }
    fn add(&mut self, t: DateTime<Utc>) {
        self.first = self.first.min(t);
        self.last = self.last.max(t);
    }
}

#[derive(Debug, Clone)]
pub struct Legacy {
    pub span: Span,
    pub successes: u64,
    pub failures: u64,
    pub last_success: Option<DateTime<Utc>>,
    pub ips: Bounded,
    pub user_agents: Bounded,
    /// Sign-ins that no Conditional Access policy applied to, and how many of them succeeded.
    pub ca_not_applied: u64,
    pub ca_not_applied_successes: u64,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub span: Span,
    pub count: u64,
    pub legacy: u64,
    pub users: Bounded,
    pub client_apps: Bounded,
    /// The log's own failure reason, the first one seen.
    pub reason: String,
}

/// A device: one user from one address, user agent and client app.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    pub user: String,
    pub ip: String,
    pub user_agent: String,
    pub client_app: String,
}

#[derive(Debug, Clone)]
pub struct Lockout {
    pub bad_password: u64,
    pub bad_span: Option<Span>,
    pub locked: u64,
    pub locked_span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub user: String,
    pub country: String,
    pub ip: String,
    pub client_app: String,
}

#[derive(Debug, Clone)]
pub struct PlaceCount {
    pub span: Span,
    pub successes: u64,
    pub failures: u64,
}

#[derive(Debug, Clone)]
pub struct MalformedRow {
    pub input: String,
    pub line: u64,
    pub reason: String,
}

/// Rows not itemized because an entry cap was reached (they are in the totals).
#[derive(Debug, Clone, Default)]
pub struct Omitted {
    pub legacy_rows: u64,
    pub lockout_rows: u64,
    pub place_rows: u64,
}

/// Everything gathered from all inputs.
pub struct Aggregate<'k> {
    kb: &'k Knowledge,
    limits: Limits,
    since: DateTime<Utc>,
    expected: Vec<String>,
    redactor: Option<&'k Redactor>,
    /// The input being read (for malformed rows).
    pub current: String,
    pub current_rows: u64,
    pub current_malformed: u64,
    pub rows_read: u64,
    pub rows_malformed: u64,
    pub rows_outside_window: u64,
    pub rows_without_location: u64,
    pub legacy_rows: u64,
    pub span: Option<Span>,
    pub malformed: Vec<MalformedRow>,
    pub legacy: HashMap<(String, String), Legacy>,
    pub failures: HashMap<u32, Failure>,
    pub lockout: HashMap<Device, Lockout>,
    pub places: HashMap<Place, PlaceCount>,
    pub omitted: Omitted,
}

impl<'k> Aggregate<'k> {
    pub fn new(
        kb: &'k Knowledge,
        limits: Limits,
        since: DateTime<Utc>,
        expected: Vec<String>,
        redactor: Option<&'k Redactor>,
    ) -> Aggregate<'k> {
        Aggregate {
            kb,
            limits,
            since,
            expected,
            redactor,
            current: String::new(),
            current_rows: 0,
            current_malformed: 0,
            rows_read: 0,
            rows_malformed: 0,
            rows_outside_window: 0,
            rows_without_location: 0,
            legacy_rows: 0,
            span: None,
            malformed: Vec::new(),
            legacy: HashMap::new(),
            failures: HashMap::new(),
            lockout: HashMap::new(),
            places: HashMap::new(),
            omitted: Omitted::default(),
        }
    }

    /// Starts counting for the next input.
    pub fn begin(&mut self, name: String) {
        self.current = name;
        self.current_rows = 0;
        self.current_malformed = 0;
    }

    /// The name the logs use for a client app, canonical when the knowledge base knows it.
    fn canonical_app(&self, name: &str) -> (String, bool) {
        match self.kb.entra.client_app(name) {
            Some(def) => (def.name.clone(), def.legacy),
            None => (name.to_string(), !name.is_empty()),
        }
    }

    fn add(&mut self, mut s: SignIn) {
        if s.time < self.since {
            self.rows_outside_window += 1;
            return;
        }
        if let Some(r) = self.redactor {
            s.user = r.user(&s.user);
            s.ip = r.ip(&s.ip);
            s.user_agent = r.text(&s.user_agent);
            s.failure_reason = r.text(&s.failure_reason);
        }
        match &mut self.span {
            Some(span) => span.add(s.time),
            None => self.span = Some(Span::new(s.time)),
        }
        let (app, legacy) = self.canonical_app(&s.client_app);
        let ok = s.outcome == Outcome::Success;
        if legacy {
            self.legacy_rows += 1;
            self.add_legacy(&s, &app, ok);
        }
        if !ok {
            self.add_failure(&s, &app, legacy);
        }
        let lock = &self.kb.entra.lockout;
        if lock.bad_password.contains(&s.error_code) || lock.locked.contains(&s.error_code) {
            self.add_lockout(&s, &app);
        }
        if !self.expected.is_empty() {
            if s.country.is_empty() {
                self.rows_without_location += 1;
            } else if !self.expected.contains(&s.country) {
                self.add_place(&s, &app, ok);
            }
        }
    }

    fn add_legacy(&mut self, s: &SignIn, app: &str, ok: bool) {
        let key = (s.user.clone(), app.to_string());
        if self.legacy.len() >= self.limits.entries && !self.legacy.contains_key(&key) {
            self.omitted.legacy_rows += 1;
            return;
        }
        let entry = self.legacy.entry(key).or_insert_with(|| Legacy {
            span: Span::new(s.time),
            successes: 0,
            failures: 0,
            last_success: None,
            ips: Bounded::default(),
            user_agents: Bounded::default(),
            ca_not_applied: 0,
            ca_not_applied_successes: 0,
        });
        entry.span.add(s.time);
        if ok {
            entry.successes += 1;
            entry.last_success = entry.last_success.max(Some(s.time));
        } else {
            entry.failures += 1;
        }
        entry.ips.add(&s.ip, self.limits.values);
        entry.user_agents.add(&s.user_agent, self.limits.values);
        if s.ca == CaStatus::NotApplied {
            entry.ca_not_applied += 1;
            entry.ca_not_applied_successes += u64::from(ok);
        }
    }

    fn add_failure(&mut self, s: &SignIn, app: &str, legacy: bool) {
        let limits = self.limits;
        let entry = self
            .failures
            .entry(s.error_code)
            .or_insert_with(|| Failure {
                span: Span::new(s.time),
                count: 0,
                legacy: 0,
                users: Bounded::default(),
                client_apps: Bounded::default(),
                reason: s.failure_reason.clone(),
            });
        entry.span.add(s.time);
        entry.count += 1;
        entry.legacy += u64::from(legacy);
        entry.users.add(&s.user, limits.users);
        entry.client_apps.add(app, limits.values);
    }

    fn add_lockout(&mut self, s: &SignIn, app: &str) {
        let key = Device {
            user: s.user.clone(),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            client_app: app.to_string(),
        };
        if self.lockout.len() >= self.limits.entries && !self.lockout.contains_key(&key) {
            self.omitted.lockout_rows += 1;
            return;
        }
        let entry = self.lockout.entry(key).or_insert(Lockout {
            bad_password: 0,
            bad_span: None,
            locked: 0,
            locked_span: None,
        });
        let (count, span) = if self.kb.entra.lockout.locked.contains(&s.error_code) {
            (&mut entry.locked, &mut entry.locked_span)
        } else {
            (&mut entry.bad_password, &mut entry.bad_span)
        };
        *count += 1;
        match span {
            Some(sp) => sp.add(s.time),
            None => *span = Some(Span::new(s.time)),
        }
    }

    fn add_place(&mut self, s: &SignIn, app: &str, ok: bool) {
        let key = Place {
            user: s.user.clone(),
            country: s.country.clone(),
            ip: s.ip.clone(),
            client_app: app.to_string(),
        };
        if self.places.len() >= self.limits.entries && !self.places.contains_key(&key) {
            self.omitted.place_rows += 1;
            return;
        }
        let entry = self.places.entry(key).or_insert(PlaceCount {
            span: Span::new(s.time),
            successes: 0,
            failures: 0,
        });
        entry.span.add(s.time);
        if ok {
            entry.successes += 1;
        } else {
            entry.failures += 1;
        }
    }
}

impl Rows for Aggregate<'_> {
    fn sign_in(&mut self, row: SignIn) {
        self.rows_read += 1;
        self.current_rows += 1;
        self.add(row);
    }

    fn malformed(&mut self, line: u64, reason: &str) {
        self.rows_read += 1;
        self.current_rows += 1;
        self.rows_malformed += 1;
        self.current_malformed += 1;
        if self.malformed.len() < self.limits.malformed {
            self.malformed.push(MalformedRow {
                input: self.current.clone(),
                line,
                reason: reason.to_string(),
            });
        }
    }
}
