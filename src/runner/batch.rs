//! Batch scheduling: many mailboxes through the one-mailbox pipeline, with bounded
//! concurrency overall and per domain (so one tenant is not hammered), sharing the
//! run's resolver, each domain's discovered servers (its MX, SRV records and
//! autoconfig are asked once per domain) and its tenant answers. Each mailbox
//! still gets at most one authentication attempt per protocol.

use crate::knowledge::Knowledge;
use crate::report::model::Report;
use crate::runner::{self, Spec};
use crate::vocab::OverallStatus;
use futures::StreamExt as _;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many mailboxes run at once, overall and per domain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub per_domain: usize,
}

/// Checks every mailbox; `on_report` is told of each report as it completes.
pub async fn check_all(
    kb: &'static Knowledge,
    specs: Vec<Spec>,
    limits: Limits,
    mut on_report: impl FnMut(Report),
) {
    let per_domain: Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>> = Default::default();
    let limit = limits.per_domain;
    let stream = futures::stream::iter(specs.into_iter().map(|spec| {
        let domain = spec.target.domain.clone().unwrap_or_default();
        let sem = per_domain
            .lock()
            .map(|mut m| {
                m.entry(domain)
                    .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                    .clone()
            })
            .unwrap_or_else(|_| Arc::new(Semaphore::new(limit)));
        async move {
            let _permit = sem.acquire_owned().await.ok();
            runner::check_mailbox(kb, spec).await
        }
    }))
    .buffer_unordered(limits.concurrency);
    futures::pin_mut!(stream);
    while let Some(report) = stream.next().await {
        on_report(report);
    }
}

/// The worst status of all mailboxes (critical beats unknown beats warning).
pub fn aggregate(statuses: impl IntoIterator<Item = OverallStatus>) -> OverallStatus {
    let rank = |s: OverallStatus| match s {
        OverallStatus::Ok => 0,
        OverallStatus::Warning => 1,
        OverallStatus::Unknown => 2,
        OverallStatus::Critical => 3,
    };
    statuses
        .into_iter()
        .max_by_key(|s| rank(*s))
        .unwrap_or(OverallStatus::Unknown)
}
