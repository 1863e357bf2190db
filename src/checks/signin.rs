//! The `signin` check: signs in with OAuth 2.0 (device code, browser with PKCE,
//! or app-only) before the protocol checks run, and hands them the access token
//! they log in with (XOAUTH2). It runs first, on its own deadline (a person may
//! take minutes to enter a code), and is reported like any check: its steps and
//! their timings in the details, and every blocker the identity platform names
//! (AADSTS…) as a finding with its own code, who acts, and the fix.
//!
//! Which app signs in is the user's choice: their organisation's registration
//! (`--client-id`), or another vendor's public client only when asked for by
//! name, and then the report says whose. Scopes are exactly the protocols under
//! test (plus `offline_access` only when a refresh token is to be saved).
//!
//! Every secret of the flow (device code, authorization code, verifier, client
//! secret, assertion, tokens) is taught to the run's scrubber the moment it
//! exists (`oauth::endpoint::Client::learn`); nothing is written to disk unless
//! `--save-token` names a file.

use super::{CheckResult, Ctx};
use crate::oauth::endpoint::{authority_host_for_cloud, Authority, Client, Failure, Tokens};
use crate::oauth::{app, browser, device, Notify, Steps};
use crate::secret::Secret;
use crate::vocab::{Finding, Protocol, Severity, Status};
use std::time::Duration;

/// How the token is got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Device,
    Browser,
    App,
    /// A saved refresh token traded for an access token (monitoring).
    Refresh,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Device => "device code",
            Flow::Browser => "browser (authorization code with PKCE)",
            Flow::App => "app-only (client credentials)",
            Flow::Refresh => "a saved refresh token",
        }
    }
}

/// Mozilla Thunderbird's registered public client for Microsoft accounts.
/// Source: https://github.com/mozilla/releases-comm-central/blob/master/mailnews/base/src/OAuth2Providers.sys.mjs
pub const THUNDERBIRD_CLIENT_ID: &str = "9e5f94bc-e8a4-4e73-b8be-63364c29d753";

/// Everything a sign-in needs, from the command line (`cli::SignInArgs`).
pub struct Plan {
    pub flow: Flow,
    pub client_id: String,
    /// Whose client this is, when it is not the organisation's own.
    pub borrowed_from: Option<&'static str>,
    pub tenant: Option<String>,
    pub timeout: Option<Duration>,
    pub open_browser: bool,
    pub client_secret: Option<Secret>,
    pub certificate: Option<std::sync::Arc<app::Certificate>>,
    pub save_token: Option<std::path::PathBuf>,
    pub notify: Notify,
    /// The saved refresh token `Flow::Refresh` trades.
    pub refresh_token: Option<Secret>,
    /// The file that saved refresh token came from: a new one the platform
    /// hands back (rotation) replaces it there, atomically.
    pub rotate_into: Option<std::path::PathBuf>,
}

impl Plan {
    /// Trading the refresh token saved in `file` (batch rows and serve
    /// targets): no one at a terminal, so no browser and nothing printed; a
    /// rotated token replaces the one in `file`.
    pub fn refresh(
        client_id: String,
        tenant: Option<String>,
        client_secret: Option<Secret>,
        token: Secret,
        file: Option<std::path::PathBuf>,
    ) -> Plan {
        Plan {
            flow: Flow::Refresh,
            client_id,
            borrowed_from: None,
            tenant,
            timeout: None,
            open_browser: false,
            client_secret,
            certificate: None,
            save_token: None,
            notify: std::sync::Arc::new(|_: &str| {}),
            refresh_token: Some(token),
            rotate_into: file,
        }
    }
}

/// What the sign-in gives the run: its check result and the access token.
pub struct SignedIn {
    pub result: CheckResult,
    pub token: Option<Secret>,
}

/// The delegated scope of each protocol on Exchange Online.
/// Source: https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
pub fn exchange_scope(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "https://outlook.office.com/SMTP.Send",
        Protocol::Imap => "https://outlook.office.com/IMAP.AccessAsUser.All",
        Protocol::Pop => "https://outlook.office.com/POP.AccessAsUser.All",
    }
}

/// Google's scope for IMAP, POP and SMTP.
/// Source: https://support.google.com/cloud/answer/13464325
pub const GMAIL_SCOPE: &str = crate::oauth::google::SCOPE;

/// The protocols this run logs in to.
pub fn protocols_under_test(ctx: &Ctx) -> Vec<Protocol> {
    [Protocol::Smtp, Protocol::Imap, Protocol::Pop]
        .into_iter()
        .filter(|p| ctx.selected.contains(&p.check_id()) && ctx.target.endpoint(*p).is_some())
        .collect()
}

fn is_google(ctx: &Ctx) -> bool {
    let p = ctx.target.provider.as_str();
    p.starts_with("gmail") || p.starts_with("google")
}

/// Signs in. Never fails: what went wrong is the check's result.
pub async fn sign_in(ctx: &Ctx, plan: &Plan) -> SignedIn {
    let mut steps = Steps::default();
    let protocols = protocols_under_test(ctx);
    let google = is_google(ctx);
    let scopes = match plan.flow {
        _ if google => GMAIL_SCOPE.to_string(),
        Flow::App => app::EXCHANGE_DEFAULT_SCOPE.to_string(),
        _ => {
            let mut s: Vec<&str> = protocols.iter().map(|p| exchange_scope(*p)).collect();
            if plan.save_token.is_some() || plan.flow == Flow::Refresh {
                s.push("offline_access");
            }
            s.join(" ")
        }
    };
    let mut details = serde_json::json!({
        "flow": plan.flow.as_str(),
        "client_id": plan.client_id,
        "client": plan.borrowed_from.map_or_else(
            || if google {
                "your own Google Cloud OAuth client (--client-id)".to_string()
            } else {
                "your organisation's app registration (--client-id)".to_string()
            },
            |v| format!("{v}'s public client, borrowed (--borrow-client)"),
        ),
        "scopes_requested": scopes,
    });
    let fail = |status: Status, f: Finding, steps: &Steps, mut details: serde_json::Value| {
        details["steps"] = serde_json::json!(steps.items);
        SignedIn {
            result: CheckResult::new(status, f.message.clone())
                .with_findings(vec![f])
                .with_details(details),
            token: None,
        }
    };
    if is_google(ctx) && plan.flow == Flow::Device {
        let f = Finding::new(
            "OAUTH_FLOW_NOT_ALLOWED",
            Severity::Critical,
            "Google's device flow does not allow the Gmail scope (https://mail.google.com/): it was not tried. Sign in with --sign-in browser and your own Desktop-app client (--client-id, --client-secret-file).",
        );
        steps.push(
            "device code",
            "not tried: Gmail scopes are not allowed in Google's device flow",
        );
        return fail(Status::Fail, f, &steps, details);
    }
    if google && plan.flow == Flow::App {
        let f = Finding::new(
            "OAUTH_FLOW_NOT_ALLOWED",
            Severity::Critical,
            "Google has no app-only (client credentials) sign-in for a Gmail mailbox: it was not tried. Sign in with --sign-in browser and your own Desktop-app client (--client-id, --client-secret-file).",
        );
        return fail(Status::Fail, f, &steps, details);
    }
    let authority = if google {
        match google_authority(ctx) {
            Ok(a) => {
                steps.push("authority", format!("Google ({})", a.url()));
                a
            }
            Err(e) => {
                let f = Finding::new("OAUTH_SIGN_IN_FAILED", Severity::Critical, e);
                return fail(Status::Error, f, &steps, details);
            }
        }
    } else {
        match microsoft_authority(ctx, plan, &mut steps).await {
            Ok(a) => a,
            Err(e) => {
                let f = Finding::new("OAUTH_SIGN_IN_FAILED", Severity::Critical, e);
                return fail(Status::Error, f, &steps, details);
            }
        }
    };
    details["authority"] = serde_json::json!(authority.url());
    let route = match ctx.common.resolver(&ctx.net) {
        Ok(r) => crate::net::http::route_for(&r, &authority.host, authority.port).await,
        Err(e) => Err(e),
    };
    let route = match route {
        Ok(r) => r,
        Err(e) => {
            let f = unreachable(&authority.host, &e);
            return fail(Status::Fail, f, &steps, details);
        }
    };
    let client = Client {
        authority,
        route,
        extra_roots: ctx.net.extra_roots.clone(),
        timeout: ctx.net.timeout,
        scrub: ctx.scrub.clone(),
        user: ctx.target.user.clone(),
    };
    let got = run_flow(ctx, plan, &client, &scopes, &mut steps).await;
    let tokens = match got {
        Ok(t) => t,
        Err(e) => {
            let f = finding_for(plan.flow, &e);
            return fail(Status::Fail, f, &steps, details);
        }
    };
    signed_in(ctx, plan, tokens, steps, details)
}

/// Google's authority, or the one `--identity-url` names instead.
fn google_authority(ctx: &Ctx) -> Result<Authority, String> {
    if ctx.net.identity_url == crate::vocab::DEFAULT_IDENTITY_URL {
        return Ok(crate::oauth::google::authority(None));
    }
    let id = super::tenant::parse_identity_url(&ctx.net.identity_url).ok_or_else(|| {
        format!(
            "--identity-url {} is not an https:// URL",
            ctx.net.identity_url
        )
    })?;
    Ok(crate::oauth::google::authority(Some((
        id.host, id.port, id.base,
    ))))
}

/// The Microsoft authority: the tenant named, or the one the identity platform
/// knows for the domain, on its cloud's login host.
async fn microsoft_authority(
    ctx: &Ctx,
    plan: &Plan,
    steps: &mut Steps,
) -> Result<Authority, String> {
    let mut cloud = None;
    let tenant = match &plan.tenant {
        Some(t) => {
            steps.push("tenant", format!("{t} (--tenant)"));
            t.clone()
        }
        None => match tenant_of_domain(ctx).await {
            Some((id, c)) => {
                steps.push("tenant", format!("{id}, found from the address's domain"));
                cloud = c;
                id
            }
            None => {
                steps.push(
                    "tenant",
                    "not found from the address; signing in through /organizations",
                );
                "organizations".to_string()
            }
        },
    };
    authority(ctx, &tenant, cloud.as_deref())
}

async fn run_flow(
    ctx: &Ctx,
    plan: &Plan,
    client: &Client,
    scopes: &str,
    steps: &mut Steps,
) -> Result<Tokens, Failure> {
    match plan.flow {
        Flow::Device => {
            device::sign_in(
                client,
                &plan.client_id,
                scopes,
                plan.timeout,
                &plan.notify,
                steps,
            )
            .await
        }
        Flow::Browser => {
            let how = if plan.open_browser {
                browser::Browser::Open
            } else {
                browser::Browser::PrintOnly
            };
            browser::sign_in(
                client,
                &plan.client_id,
                plan.client_secret.as_ref(),
                scopes,
                &ctx.target.user,
                how,
                plan.timeout.unwrap_or(Duration::from_secs(300)),
                &plan.notify,
                steps,
            )
            .await
        }
        Flow::App => {
            let credential = match (&plan.client_secret, &plan.certificate) {
                (Some(s), _) => app::Credential::Secret(s.clone()),
                (None, Some(c)) => app::Credential::Certificate(c.clone()),
                (None, None) => {
                    return Err(Failure::Refused(
                        "app-only sign-in needs --client-secret-file or --client-certificate"
                            .into(),
                    ))
                }
            };
            app::sign_in(client, &plan.client_id, &credential, scopes, steps).await
        }
        Flow::Refresh => {
            let Some(refresh) = &plan.refresh_token else {
                return Err(Failure::Refused("no refresh token to trade".into()));
            };
            app::refresh(
                client,
                &plan.client_id,
                refresh,
                scopes,
                plan.client_secret.as_ref(),
                steps,
            )
            .await
        }
    }
}

/// The authority: `--identity-url` when it was given (private setups, tests),
/// else the login host of the tenant's cloud.
fn authority(ctx: &Ctx, tenant: &str, cloud: Option<&str>) -> Result<Authority, String> {
    if ctx.net.identity_url != crate::vocab::DEFAULT_IDENTITY_URL {
        let id = super::tenant::parse_identity_url(&ctx.net.identity_url).ok_or_else(|| {
            format!(
                "--identity-url {} is not an https:// URL",
                ctx.net.identity_url
            )
        })?;
        return Ok(Authority {
            host: id.host,
            port: id.port,
            base: id.base,
            tenant: tenant.to_string(),
            dialect: crate::oauth::endpoint::Dialect::Microsoft,
        });
    }
    let host = match (cloud, ctx.target.provider.as_str()) {
        (Some(c), _) => authority_host_for_cloud(c),
        (None, "microsoft365-usgov") => "login.microsoftonline.us",
        (None, "microsoft365-china") => "login.partner.microsoftonline.cn",
        _ => "login.microsoftonline.com",
    };
    Ok(Authority {
        host: host.to_string(),
        port: 443,
        base: String::new(),
        tenant: tenant.to_string(),
        dialect: crate::oauth::endpoint::Dialect::Microsoft,
    })
}

/// The tenant id and cloud instance the identity platform gives for the
/// address's domain (the tenant check's look-up, shared with it).
async fn tenant_of_domain(ctx: &Ctx) -> Option<(String, Option<String>)> {
    let domain = ctx.target.domain.clone()?;
    let (realm, openid, _) = super::tenant::answers(ctx, &domain).await.ok()?;
    let openid = openid.ok()??;
    let id = openid.tenant_id.clone()?;
    let cloud = openid
        .cloud_instance_name
        .clone()
        .or_else(|| realm.ok().flatten().and_then(|r| r.cloud_instance_name));
    Some((id, cloud))
}

/// The finding for an authority that could not be asked.
fn unreachable(host: &str, why: &str) -> Finding {
    Finding::new(
        "OAUTH_AUTHORITY_UNREACHABLE",
        Severity::Critical,
        format!("the identity platform {host} could not be asked: {why}"),
    )
}

/// What a failed sign-in means, by the platform's AADSTS number or OAuth error.
pub fn finding_for(flow: Flow, e: &Failure) -> Finding {
    let critical = |code: &str, msg: String| Finding::new(code, Severity::Critical, msg);
    match e {
        Failure::Transport(why) => critical(
            "OAUTH_AUTHORITY_UNREACHABLE",
            format!("the identity platform could not be asked: {why}"),
        ),
        Failure::Malformed(why) => critical("OAUTH_SIGN_IN_FAILED", why.clone()),
        Failure::Refused(why) => critical("OAUTH_SIGN_IN_REFUSED", why.clone()),
        Failure::Deadline(why) => critical(
            "OAUTH_SIGN_IN_EXPIRED",
            format!(
                "{why}; run again and sign in sooner, or give more time with --sign-in-timeout"
            ),
        ),
        Failure::OAuth(o) => {
            let said = format!(
                "the identity platform said: {}: {}",
                o.error,
                o.description.trim_end_matches('.')
            );
            let code = if o.has_code(7000218) {
                "OAUTH_PUBLIC_CLIENT_DISABLED"
            } else if o.has_code(90094) || o.has_code(65001) || o.error == "consent_required" {
                "OAUTH_ADMIN_CONSENT_REQUIRED"
            } else if o.has_code(53003) {
                let mut f = critical("OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS", said);
                if flow == Flow::Device {
                    f.message.push_str(". Microsoft-managed Conditional Access policies block the device code flow in many tenants: run again with --sign-in browser");
                }
                return f;
            } else if o.has_code(700016) {
                "OAUTH_APP_NOT_IN_TENANT"
            } else if o.has_code(7000215) {
                "OAUTH_CLIENT_SECRET_INVALID"
            } else if o.has_code(7000222) {
                "OAUTH_CLIENT_SECRET_EXPIRED"
            } else if o.has_code(700082) {
                "OAUTH_REFRESH_TOKEN_EXPIRED"
            } else if o.has_code(50173) {
                "OAUTH_GRANT_REVOKED"
            } else if o.error == "expired_token" {
                "OAUTH_SIGN_IN_EXPIRED"
            } else if o.error == "authorization_declined" || o.error == "access_denied" {
                "OAUTH_SIGN_IN_DECLINED"
            } else if o.codes.is_empty() {
                // Google's refusals carry no numbers: read by their words.
                crate::oauth::google::code_of(&o.error, &o.description)
                    .unwrap_or("OAUTH_SIGN_IN_FAILED")
            } else {
                "OAUTH_SIGN_IN_FAILED"
            };
            critical(code, said)
        }
    }
}

/// The token is in: what its claims say, the roles an app-only token needs, the
/// certificate's days left, and the refresh token saved when asked.
fn signed_in(
    ctx: &Ctx,
    plan: &Plan,
    tokens: Tokens,
    steps: Steps,
    mut details: serde_json::Value,
) -> SignedIn {
    let mut findings = Vec::new();
    let claims = crate::oauth::decode_claims(tokens.access.expose());
    let mut summary = format!("signed in with {}", plan.flow.as_str());
    if let Some(c) = &claims {
        if let Some(u) = &c.user {
            summary.push_str(&format!(" as {u}"));
        }
        details["token"] = serde_json::json!({
            "audience": c.audience,
            "scopes": c.scopes,
            "roles": c.roles,
            "user": c.user,
            "expires": c.expires,
            "tenant_id": c.tenant_id,
        });
    }
    if let Some(s) = &tokens.scope {
        details["scopes_granted"] = serde_json::json!(s);
    }
    if let Some(e) = tokens.expires_in {
        details["expires_in"] = serde_json::json!(e);
        summary.push_str(&format!("; token valid {} min", e / 60));
    }
    if let Some(v) = plan.borrowed_from {
        summary.push_str(&format!(" (through {v}'s public client)"));
    }
    if plan.flow == Flow::App {
        let protocols = protocols_under_test(ctx);
        let roles = claims.as_ref().map(|c| c.roles.clone()).unwrap_or_default();
        let has = |role: &str| roles.iter().any(|r| r.eq_ignore_ascii_case(role));
        let missing: Vec<&str> = protocols
            .iter()
            .map(|p| crate::oauth::needed(*p).1)
            .filter(|r| !has(r))
            .collect();
        if !missing.is_empty() {
            findings.push(Finding::new(
                "APP_ONLY_NO_ROLES",
                Severity::Critical,
                format!(
                    "the app-only token has no {} role (it has: {}): the Exchange Online application permission is missing or not consented",
                    missing.join(", "),
                    if roles.is_empty() { "none".to_string() } else { roles.join(", ") }
                ),
            ));
        }
        if let Some(cert) = &plan.certificate {
            let days = cert.days_left(chrono::Utc::now());
            details["certificate"] = serde_json::json!({
                "subject": cert.subject,
                "not_after": cert.not_after.to_rfc3339(),
                "days_left": days,
                "x5t": cert.thumbprint,
            });
            let sev = if days <= ctx.net.critical_days {
                Some(Severity::Critical)
            } else if days <= ctx.net.warning_days {
                Some(Severity::Warning)
            } else {
                None
            };
            if let Some(sev) = sev {
                findings.push(Finding::new(
                    "OAUTH_CLIENT_CERTIFICATE_EXPIRING",
                    sev,
                    format!(
                        "the app's client certificate ends in {days} days ({})",
                        cert.not_after.date_naive()
                    ),
                ));
            }
        }
    }
    if let (Some(path), Some(refresh)) = (&plan.save_token, &tokens.refresh) {
        match save_refresh_token(path, refresh) {
            Ok(()) => summary.push_str(&format!("; refresh token saved to {}", path.display())),
            Err(e) => findings.push(Finding::new(
                "OAUTH_TOKEN_NOT_SAVED",
                Severity::Warning,
                format!(
                    "the refresh token could not be saved to {}: {e}",
                    path.display()
                ),
            )),
        }
    } else if plan.save_token.is_some() {
        findings.push(Finding::new(
            "OAUTH_TOKEN_NOT_SAVED",
            Severity::Warning,
            "the platform gave no refresh token to save",
        ));
    }
    let mut steps = steps;
    if let (Flow::Refresh, Some(path), Some(new)) = (plan.flow, &plan.rotate_into, &tokens.refresh)
    {
        let same = plan
            .refresh_token
            .as_ref()
            .is_some_and(|old| old.expose() == new.expose());
        if same {
            steps.push("refresh token", "unchanged");
        } else {
            match crate::secret::store::replace(path, new) {
                Ok(()) => steps.push(
                    "refresh token",
                    format!(
                        "rotated: the new one replaced the old in {}",
                        path.display()
                    ),
                ),
                Err(e) => {
                    steps.push("refresh token", "rotated, but not saved");
                    findings.push(Finding::new(
                        "OAUTH_TOKEN_NOT_SAVED",
                        Severity::Warning,
                        format!(
                            "the platform handed back a new refresh token, and it could not replace the old one in {}: {e}; the saved one may stop working",
                            path.display()
                        ),
                    ));
                }
            }
        }
    }
    details["steps"] = serde_json::json!(steps.items);
    let status = CheckResult::status_from(&findings);
    let status = if findings.is_empty() {
        Status::Pass
    } else {
        status
    };
    SignedIn {
        result: CheckResult::new(status, summary)
            .with_findings(findings)
            .with_details(details),
        token: Some(tokens.access),
    }
}

/// Writes the refresh token alone to a new file only its owner can read.
fn save_refresh_token(path: &std::path::Path, token: &Secret) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(token.expose().as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}
