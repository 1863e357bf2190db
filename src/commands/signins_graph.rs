//! `mailbox-doctor signins --graph --token-stdin`: the same report as from an
//! export, read live from Microsoft Graph (`signins::graph`) into the same
//! bounded aggregates. The token is a `Secret` read from standard input, never
//! from argv; every error text is scrubbed of it (and, under `--redact`, of user
//! names and addresses).

use super::Outcome;
use crate::cli::{GraphVersion, SigninsArgs, SigninsFormat};
use crate::knowledge::Knowledge;
use crate::net::scrub::{Credential, Scrubber};
use crate::secret::{input, Secret};
use crate::signins::aggregate::{Aggregate, Limits};
use crate::signins::graph::{self, Kind, Version};
use crate::signins::input::Format;
use crate::signins::model::InputReport;
use crate::signins::verdict;
use std::time::Duration;

/// The client apps that count as legacy authentication, with their aliases (the
/// `clientAppUsed` filter of `--legacy-only` and the monitoring formats).
pub fn legacy_apps(kb: &Knowledge) -> Vec<String> {
    kb.entra
        .client_apps
        .iter()
        .filter(|a| a.legacy)
        .flat_map(|a| std::iter::once(a.name.clone()).chain(a.aliases.iter().cloned()))
        .collect()
}

/// A token of a tenant ID other than `--tenant` is refused before it is sent.
fn check_tenant(token: &Secret, tenant: Option<&str>) -> anyhow::Result<()> {
    let Some(t) = tenant else { return Ok(()) };
    let is_id = t.len() == 36 && t.chars().filter(|c| *c == '-').count() == 4;
    let tid = crate::oauth::decode_claims(token.expose()).and_then(|c| c.tenant_id);
    if let (true, Some(tid)) = (is_id, tid) {
        if !tid.eq_ignore_ascii_case(t) {
            anyhow::bail!(
                "GRAPH_WRONG_TENANT: the token was issued for tenant {tid}, not --tenant {t}; nothing was sent"
            );
        }
    }
    Ok(())
}

pub fn run(kb: &'static Knowledge, args: SigninsArgs) -> anyhow::Result<Outcome> {
    let g = &args.graph;
    let url = crate::net::http::parse_https_url(g.graph_url.trim_end_matches('/'))
        .ok_or_else(|| anyhow::anyhow!("--graph-url {} is not an https:// URL", g.graph_url))?;
    let now = args.now.unwrap_or_else(chrono::Utc::now);
    let since = args.since.resolve(now);
    let raw = input::from_stdin("the Graph access token")?;
    let token = Secret::new(raw.expose().trim().to_string());
    drop(raw);
    if token.is_empty() {
        anyhow::bail!("the Graph access token from standard input is empty; nothing was sent");
    }
    check_tenant(&token, g.tenant.as_deref())?;
    let tenant = g
        .tenant
        .clone()
        .or_else(|| crate::oauth::decode_claims(token.expose()).and_then(|c| c.tenant_id))
        .unwrap_or_else(|| "default".into());
    let scrub = Scrubber::new(&[Credential {
        user: "",
        secret: &token,
        token: true,
    }]);
    let extra_roots = match &g.ca_file {
        Some(p) => super::load_roots(p)?,
        None => Vec::new(),
    };
    let monitoring = matches!(
        args.format(),
        SigninsFormat::Prometheus | SigninsFormat::Nagios
    );
    let version = match g.graph_version {
        GraphVersion::Beta => Version::Beta,
        GraphVersion::V1 => Version::V1,
    };
    let runtime = super::runtime()?;
    let opts = graph::Options {
        url,
        version,
        kinds: vec![Kind::Interactive, Kind::NonInteractive],
        since,
        until: now,
        client_apps: if g.legacy_only || monitoring {
            legacy_apps(kb)
        } else {
            Vec::new()
        },
        user: None,
        page_size: g.page_size,
        timeout: Duration::from_secs_f64(g.timeout),
        deadline: tokio::time::Instant::now() + Duration::from_secs_f64(g.graph_deadline),
        max_retry_after: Duration::from_secs_f64(g.max_retry_after),
        extra_roots,
        dns_server: g.dns_server,
    };
    let redactor = super::signins::redactor(&args)?;
    let mut agg = Aggregate::new(
        kb,
        Limits::default(),
        since,
        args.expected_country.clone(),
        redactor.as_ref(),
    );
    agg.begin(format!(
        "https://{}{}/{}/auditLogs/signIns",
        opts.url.authority(),
        opts.url.base,
        version.as_str()
    ));
    let summary = runtime.block_on(graph::read(&opts, &token, &scrub, &mut agg));
    drop(token);
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            let text = scrub.scrub(&e.to_string());
            let text = match &redactor {
                Some(r) => r.text(&text),
                None => text,
            };
            anyhow::bail!("{text}");
        }
    };
    let inputs = vec![InputReport {
        name: summary.endpoint.clone(),
        format: Format::GraphPages,
        rows: agg.current_rows,
        malformed: agg.current_malformed,
        pages: Some(summary.queries.iter().map(|q| q.pages).sum()),
        pages_with_next_link: Some(summary.queries.iter().map(|q| q.pages_with_next_link).sum()),
    }];
    let mut report = verdict::build(
        kb,
        agg,
        inputs,
        super::signins::verdict_options(&args, now, since),
    );
    report.notes.extend(summary.notes(version));
    if !opts.client_apps.is_empty() {
        report
            .notes
            .push("only the legacy client apps' sign-ins were read".into());
    }
    super::signins::render_report(&report, &args, &tenant)
}
