//! The evidence that Microsoft is in play for a mailbox (so that the tenant check
//! may judge at all), and what the domain's MX adds to a tenant that exists.

use super::{is_microsoft, Realm};
use crate::checks::Ctx;
use crate::vocab::{CheckId, Finding, Severity};

/// The evidence that Microsoft is in play, if any.
pub(super) async fn microsoft_evidence(ctx: &Ctx) -> Option<&'static str> {
    if is_microsoft(&ctx.target.provider) {
        return Some("provider");
    }
    let by_name = ctx.target.endpoints.iter().any(|e| {
        crate::knowledge::provider_for_server(ctx.kb, &e.host).is_some_and(|p| is_microsoft(&p))
    });
    if by_name {
        return Some("server");
    }
    let mx = ctx
        .target
        .discovery
        .as_ref()
        .and_then(|d| d.mx_provider.as_deref());
    if mx.is_some_and(is_microsoft) {
        return Some("mx");
    }
    // Only a greeting is left to tell: wait for the servers to be reached.
    let tested = ctx
        .target
        .endpoints
        .iter()
        .any(|e| ctx.selected.contains(&e.protocol.check_id()));
    if tested && crate::checks::will_run(ctx, CheckId::Tls) {
        let greetings = ctx.shared.greetings.get().await;
        if greetings
            .iter()
            .any(|(_, fp)| fp.as_deref() == Some("exchange-online"))
        {
            return Some("greeting");
        }
    }
    None
}

/// The domain's best MX host and the provider it names: from discovery, else from
/// the dns check (which always answers once it runs).
pub(super) async fn domain_mx(ctx: &Ctx) -> (String, Option<String>) {
    if let Some(d) = &ctx.target.discovery {
        let host = d.mx.first().map(|m| m.host.clone()).unwrap_or_default();
        return (host, d.mx_provider.clone());
    }
    if !crate::checks::will_run(ctx, CheckId::Dns) {
        return (String::new(), None);
    }
    let records = ctx.shared.domain.get().await;
    let host = records
        .mx
        .first()
        .map(|(_, h)| h.clone())
        .unwrap_or_default();
    (host, crate::knowledge::provider_for_mx(ctx.kb, &records.mx))
}

/// A tenant whose domain's MX names another provider: the tenant exists (for
/// Teams or other services) but mail for the domain is not in Exchange Online.
pub(super) fn mail_elsewhere(
    ctx: &Ctx,
    domain: &str,
    realm: Option<&Realm>,
    namespace: &str,
    mx: &str,
    mx_provider: Option<String>,
) -> Option<Finding> {
    let elsewhere = mx_provider.filter(|p| !is_microsoft(p))?;
    let elsewhere = elsewhere.as_str();
    let name = ctx
        .kb
        .provider(elsewhere)
        .map(|p| p.name.as_str())
        .unwrap_or(elsewhere);
    let brand = realm
        .and_then(|r| r.federation_brand_name.clone())
        .filter(|b| !b.is_empty())
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    Some(
        Finding::new(
            "NOT_MICROSOFT_365",
            Severity::Warning,
            format!(
                "{domain} has a Microsoft 365 tenant{brand}, {namespace}, but its MX names {name} ({mx}): the tenant serves other things (Teams, say), and mail for the domain is handled by {name}; try --provider {elsewhere}"
            ),
        )
        .with_evidence(format!("MX {mx}")),
    )
}
