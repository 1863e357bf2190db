//! Batch scheduling: many mailboxes through the one-mailbox pipeline, with bounded
//! concurrency overall and per domain (so one tenant is not hammered), sharing the
//! run's resolver and tenant answers. Mailboxes of an unknown domain with no
//! servers given are placed by their domain's MX first, one look-up per domain.
//! Each mailbox still gets at most one authentication attempt per protocol.

use crate::checks::ctx::Common;
use crate::checks::NetOptions;
use crate::knowledge::Knowledge;
use crate::report::model::Report;
use crate::runner::{self, Spec};
use crate::target;
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
    common: &Common,
    net: &NetOptions,
    mut specs: Vec<Spec>,
    by_mx: Vec<(usize, String, target::Overrides)>,
    limits: Limits,
    mut on_report: impl FnMut(Report),
) {
    place_by_mx(kb, common, net, &mut specs, by_mx, limits.concurrency).await;
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

/// Moves the mailboxes `by_mx` names (index, domain, overrides) to the provider
/// their domain's MX points at, asking each domain once.
async fn place_by_mx(
    kb: &'static Knowledge,
    common: &Common,
    net: &NetOptions,
    specs: &mut [Spec],
    by_mx: Vec<(usize, String, target::Overrides)>,
    concurrency: usize,
) {
    let Ok(resolver) = common.resolver(net) else {
        return;
    };
    let mut domains: Vec<&str> = by_mx.iter().map(|(_, d, _)| d.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    let found: HashMap<String, Option<String>> = futures::stream::iter(domains)
        .map(|d| {
            let resolver = &resolver;
            async move { (d.to_string(), target::provider_by_mx(kb, resolver, d).await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (i, domain, overrides) in by_mx {
        let Some(Some(id)) = found.get(&domain) else {
            continue;
        };
        let spec = &mut specs[i];
        if let Ok(mut t) = target::Target::build(kb, &spec.target.user, id, &overrides) {
            t.provider_source = "mx";
            spec.target = t;
        }
    }
}

/// The worst status of all mailboxes (critical beats unknown beats warning).
pub fn aggregate(reports: &[Report]) -> OverallStatus {
    let rank = |s: OverallStatus| match s {
        OverallStatus::Ok => 0,
        OverallStatus::Warning => 1,
        OverallStatus::Unknown => 2,
        OverallStatus::Critical => 3,
    };
    reports
        .iter()
        .map(|r| r.status)
        .max_by_key(|s| rank(*s))
        .unwrap_or(OverallStatus::Unknown)
}
