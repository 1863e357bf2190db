//! Limits on probes: at most `concurrency` probes at once over all targets, and at
//! most `per_domain` at once for one mail domain, so that one tenant is not
//! hammered however many of its mailboxes are scraped at the same moment.
//!
//! Waiting for a slot is bounded by the caller's deadline; this module never
//! probes and never decides what is cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Limits {
    all: Arc<Semaphore>,
    per_domain: usize,
    domains: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The right to run one probe; dropping it frees the slots.
pub struct Slot {
    _all: OwnedSemaphorePermit,
    _domain: OwnedSemaphorePermit,
}

impl Limits {
    pub fn new(concurrency: usize, per_domain: usize) -> Limits {
        Limits {
            all: Arc::new(Semaphore::new(concurrency.max(1))),
            per_domain: per_domain.max(1),
            domains: Mutex::new(HashMap::new()),
        }
    }

    fn domain(&self, domain: &str) -> Arc<Semaphore> {
        let mut m = self.domains.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(domain.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_domain)))
            .clone()
    }

    /// Waits for a slot for a mailbox of `domain` (the domain first, so a busy
    /// tenant does not hold slots the other domains could use).
    pub async fn acquire(&self, domain: &str) -> Option<Slot> {
        let d = self.domain(domain).acquire_owned().await.ok()?;
        let all = self.all.clone().acquire_owned().await.ok()?;
        Some(Slot {
            _all: all,
            _domain: d,
        })
    }

    /// Probes running right now.
    pub fn running(&self, concurrency: usize) -> usize {
        concurrency.saturating_sub(self.all.available_permits())
    }

    /// Forgets the per-domain limits of domains no longer configured (their
    /// running probes keep their slots until they end).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut m = self.domains.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|d, s| keep(d) || s.available_permits() < self.per_domain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_domain_gets_at_most_its_share() {
        let l = Limits::new(8, 2);
        let a = l.acquire("contoso.com").await;
        let b = l.acquire("Contoso.com").await;
        assert!(a.is_some() && b.is_some());
        let third = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            l.acquire("contoso.com"),
        )
        .await;
        assert!(third.is_err(), "a third probe of one domain waits");
        let other = l.acquire("fabrikam.com").await;
        assert!(other.is_some(), "another domain is not held back");
        assert_eq!(l.running(8), 3);
    }
}
