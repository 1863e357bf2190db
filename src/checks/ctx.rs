//! What a check may read and what checks hand on to each other for one mailbox
//! (`Ctx`, `Shared`), and what every mailbox of one run shares (`Common`: the
//! resolver, the tenant answers). Nothing here runs a check; the runner builds a
//! `Ctx` and the checks read it.

use crate::knowledge::Knowledge;
use crate::net::transcript::Transcript;
use crate::secret::Secret;
use crate::target::discovery::Discovery;
use crate::target::Target;
use crate::vocab::CheckId;
use crate::vocab::Protocol;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Network settings shared by every check.
#[derive(Debug, Clone)]
pub struct NetOptions {
    pub timeout: Duration,
    pub dns_server: Option<std::net::SocketAddr>,
    /// Extra trust anchors (DER), from `--ca-file`.
    pub extra_roots: Vec<Vec<u8>>,
    pub allow_plaintext: bool,
    /// Base URL of the Microsoft identity platform (`--identity-url`).
    pub identity_url: String,
    /// Days before a certificate's end or a dated deadline that make a warning,
    /// and a critical (`--warning-days`, `--critical-days`).
    pub warning_days: i64,
    pub critical_days: i64,
    /// The HTTPS port of autoconfig look-ups (443; `--autoconfig-port`).
    pub autoconfig_port: u16,
    /// Hosts found by discovery that the user trusts with credentials all the
    /// same (`--trust-discovered`; `checks::gate` reads it).
    pub trust_discovered: Vec<String>,
    /// Host names outside the domain the user said yes to at the terminal's
    /// prompt, for this run (never an address).
    pub confirmed: Vec<String>,
}

/// Everything a check may read. Built once per mailbox.
pub struct Ctx {
    pub target: Target,
    pub secret: Option<Secret>,
    /// An OAuth 2.0 access token (XOAUTH2) that replaces the password.
    pub token: Option<Secret>,
    pub kb: &'static Knowledge,
    pub net: NetOptions,
    pub today: chrono::NaiveDate,
    pub transcript: Transcript,
    pub shared: Shared,
    /// The resolver and what holds for a whole domain, shared with the run's other
    /// mailboxes.
    pub common: std::sync::Arc<Common>,
    /// The checks that run in this pass.
    pub selected: std::collections::BTreeSet<CheckId>,
    /// The run's scrubber: what a check keeps of a server's words passes it.
    pub scrub: std::sync::Arc<crate::net::scrub::Scrubber>,
    /// The diagnosis code of a sign-in that gave no token (`--sign-in`, or a
    /// saved refresh token): why the protocol checks log in with nothing.
    pub signin_failed: Option<String>,
}

impl Ctx {
    /// What a protocol check says when it has nothing to log in with: no
    /// password was given, or the sign-in failed (naming its diagnosis).
    pub fn login_not_tested(&self) -> String {
        match &self.signin_failed {
            Some(code) => format!(
                "login not tested: the sign-in failed ({code}), so there was no token to log in with"
            ),
            None => "login not tested (no password)".to_string(),
        }
    }
}

/// A value set once by one check and awaited by others.
pub struct Slot<T: Clone> {
    tx: watch::Sender<Option<T>>,
}

impl<T: Clone> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            tx: watch::channel(None).0,
        }
    }
}

impl<T: Clone> Slot<T> {
    pub fn set(&self, value: T) {
        self.tx.send_replace(Some(value));
    }
    /// Waits until the value is set.
    pub async fn get(&self) -> T {
        let mut rx = self.tx.subscribe();
        loop {
            if let Some(v) = rx.borrow_and_update().clone() {
                return v;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `self`, so this cannot happen while we hold `&self`.
                std::future::pending::<()>().await;
            }
        }
    }
    pub fn peek(&self) -> Option<T> {
        self.tx.borrow().clone()
    }
}

/// The greeting fingerprint (or none known) of each server reached, by protocol.
pub type Greetings = Vec<(Protocol, Option<String>)>;

/// A host's addresses, or why there are none.
pub type HostAddresses = Result<Vec<std::net::IpAddr>, String>;

/// Each host's addresses, handed on by the dns check the moment that host can be
/// connected to (both its answers, or the first with addresses and at most 50 ms
/// for the other: RFC 8305's resolution delay), so that each connection starts when its own host resolves, not
/// when every look-up of the run has ended.
#[derive(Default)]
pub struct Addresses {
    hosts: Mutex<HashMap<String, std::sync::Arc<Slot<HostAddresses>>>>,
    done: Slot<()>,
}

impl Addresses {
    fn slot(&self, host: &str) -> std::sync::Arc<Slot<HostAddresses>> {
        match self.hosts.lock() {
            Ok(mut m) => m.entry(host.to_string()).or_default().clone(),
            Err(_) => Default::default(),
        }
    }
    /// Hands on `host`'s addresses; the first word stands.
    pub fn publish(&self, host: &str, addrs: HostAddresses) {
        let slot = self.slot(host);
        if slot.peek().is_none() {
            slot.set(addrs);
        }
    }
    /// No more hosts will be published (the dns check ended, or never ran).
    pub fn finish(&self) {
        self.done.set(());
    }
    /// Waits for `host`'s addresses; None when the dns check ended without them.
    pub async fn get(&self, host: &str) -> Option<HostAddresses> {
        let slot = self.slot(host);
        tokio::select! {
            biased;
            v = slot.get() => Some(v),
            _ = self.done.get() => slot.peek(),
        }
    }
}

/// Calls `finish` when dropped: whatever way the dns check ends (a deadline
/// included), no connecting check waits for it for ever.
pub struct FinishOnDrop<'a>(pub &'a Addresses);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// What the domain's own records say, for provider detection and the report;
/// the dns check sets it, the tenant check reads it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DomainRecords {
    pub mx: Vec<(u16, String)>,
    pub spf: Vec<String>,
    pub autodiscover: Option<String>,
}

/// What checks learn and hand on to each other, for one mailbox.
#[derive(Default)]
pub struct Shared {
    /// Resolved addresses per host name, handed on by the dns check.
    pub addresses: Addresses,
    /// The mailbox domain's MX, SPF and autodiscover records, set by the dns check.
    pub domain: Slot<std::sync::Arc<DomainRecords>>,
    /// The sessions the tls check opened, one slot per protocol (smtp, imap, pop).
    pub sessions: [Slot<Handover>; 3],
    /// The greeting fingerprint of each server the tls check reached, set once
    /// it has tried them all (empty when it reached none).
    pub greetings: Slot<std::sync::Arc<Greetings>>,
}

/// What every mailbox of one run shares: one DNS resolver, whose cache answers the
/// same name once per run (within its TTL), and what holds for a whole domain:
/// its discovered servers and its tenant answers. A batch of one tenant's thousand
/// mailboxes discovers the domain and asks the identity platform about the tenant
/// once, not a thousand times.
#[derive(Default)]
pub struct Common {
    resolver: std::sync::OnceLock<Result<crate::net::resolver::Resolver, String>>,
    tenant: Mutex<
        HashMap<String, std::sync::Arc<tokio::sync::OnceCell<crate::checks::tenant::Answers>>>,
    >,
    discovery: Mutex<HashMap<String, std::sync::Arc<tokio::sync::OnceCell<Discovery>>>>,
    /// Knows every secret of the run (every mailbox's, in a batch): a server may
    /// quote one mailbox's password to another mailbox's connection.
    scrub: std::sync::Arc<crate::net::scrub::Scrubber>,
}

impl Common {
    /// What a run with these credentials shares.
    pub fn new(scrub: crate::net::scrub::Scrubber) -> Common {
        Common {
            scrub: std::sync::Arc::new(scrub),
            ..Common::default()
        }
    }

    /// The run's scrubber.
    pub fn scrubber(&self) -> std::sync::Arc<crate::net::scrub::Scrubber> {
        self.scrub.clone()
    }

    /// The run's resolver, made on first use from the run's options (the same for
    /// every mailbox).
    pub fn resolver(
        &self,
        net: &crate::checks::NetOptions,
    ) -> Result<crate::net::resolver::Resolver, String> {
        self.resolver
            .get_or_init(|| crate::net::resolver::Resolver::new(net.dns_server, net.timeout))
            .clone()
    }

    /// The tenant answers for `key` (identity URL and domain), asked by `ask` on
    /// first use; concurrent callers wait for that one look-up.
    /// `ask` makes the look-up only when this caller is the one to run it, on the
    /// heap: the many mailboxes that wait for it hold no look-up of their own.
    pub async fn tenant<F, Fut>(&self, key: String, ask: F) -> crate::checks::tenant::Answers
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = crate::checks::tenant::Answers>,
    {
        let cell = match self.tenant.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            Err(_) => Default::default(),
        };
        cell.get_or_init(|| Box::pin(ask())).await.clone()
    }

    /// What discovery found for `domain`, found by `ask` on first use; concurrent
    /// callers wait for that one discovery.
    pub async fn discovery<F, Fut>(&self, domain: &str, ask: F) -> Discovery
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Discovery>,
    {
        let cell = match self.discovery.lock() {
            Ok(mut m) => m.entry(domain.to_ascii_lowercase()).or_default().clone(),
            Err(_) => Default::default(),
        };
        cell.get_or_init(|| Box::pin(ask())).await.clone()
    }
}

/// An opened session, or why there is none; taken once by the protocol check.
pub type Handover = std::sync::Arc<Mutex<Option<Result<crate::net::session::Session, String>>>>;

impl Shared {
    pub fn session_slot(&self, p: crate::vocab::Protocol) -> &Slot<Handover> {
        match p {
            Protocol::Smtp => &self.sessions[0],
            Protocol::Imap => &self.sessions[1],
            Protocol::Pop => &self.sessions[2],
        }
    }
    /// Waits for the tls check's result for `p` and takes it.
    pub async fn take_session(
        &self,
        p: crate::vocab::Protocol,
    ) -> Result<crate::net::session::Session, String> {
        let h = self.session_slot(p).get().await;
        let taken = h.lock().ok().and_then(|mut g| g.take());
        taken.unwrap_or_else(|| Err("the session was already used".into()))
    }
    pub fn give_session(
        &self,
        p: crate::vocab::Protocol,
        s: Result<crate::net::session::Session, String>,
    ) {
        self.session_slot(p)
            .set(std::sync::Arc::new(Mutex::new(Some(s))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slot_wakes_waiters() {
        let slot: std::sync::Arc<Slot<u32>> = Default::default();
        let s2 = slot.clone();
        let waiter = tokio::spawn(async move { s2.get().await });
        tokio::task::yield_now().await;
        slot.set(7);
        assert_eq!(waiter.await.expect("joins"), 7);
    }
}
