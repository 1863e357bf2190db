//! Reads sign-ins live from Microsoft Graph (`GET {graph}/{beta|v1.0}/auditLogs/signIns`)
//! with a bearer token, page after page, into the same `Rows` sink the export
//! readers feed (each page goes through the JSON export reader, so a record
//! means the same from Graph as from a downloaded file, and memory holds one
//! page at a time whatever the tenant's size).
//!
//! Facts behind the reading (Microsoft Graph's reference for `signIns`,
//! https://learn.microsoft.com/en-us/graph/api/signin-list, and its throttling
//! and paging guides):
//! - pages of at most 1,000 records, newest first, the next in `@odata.nextLink`
//!   (followed only to the host the user named: the token goes nowhere else);
//! - throttling at 5 requests per 10 seconds, answered `429` with `Retry-After`:
//!   waited (bounded by `max_retry_after` and the read's deadline), then the same
//!   request again;
//! - skiptokens live 5 to 10 minutes ("Token not found: token is either invalid
//!   or expired"): the query is asked again from the oldest sign-in of the last
//!   page read, skipping the records of that instant already read;
//! - a filter OR-ing many `clientAppUsed` values times out: at most
//!   `APPS_PER_QUERY` per query, more in several queries;
//! - a query over too wide a window times out: the window is halved (newer half
//!   first) down to `MIN_WINDOW`;
//! - v1.0 holds interactive sign-ins only; beta holds the non-interactive ones
//!   too (asked with `signInEventTypes/any(t: t eq 'nonInteractiveUser')`) and
//!   fields v1.0 lacks (the user agent); the summary says which was read.
//!
//! Every exchange has its deadline (`timeout`) and so has the whole read
//! (`deadline`). Server text that reaches an error is scrubbed of the token and
//! cut short.

use super::input::Rows;
use super::SignIn;
use crate::net::http::{self, HttpsError, HttpsUrl, Request};
use crate::net::scrub::Scrubber;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Client apps OR-ed in one query at most.
pub const APPS_PER_QUERY: usize = 4;
/// The narrowest window a timed-out query is cut into.
pub const MIN_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// Consecutive 429 answers waited out before giving up.
pub const MAX_THROTTLES: u32 = 8;
/// Restarts after an expired skiptoken, per query.
pub const MAX_RESUMES: u32 = 8;
/// The largest page accepted (1,000 beta records run to a few MiB).
pub const MAX_PAGE: usize = 32 * 1024 * 1024;

/// Which Graph version is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Beta,
    V1,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Beta => "beta",
            Version::V1 => "v1.0",
        }
    }
}

/// Interactive or non-interactive user sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Interactive,
    NonInteractive,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Interactive => "interactive",
            Kind::NonInteractive => "non-interactive",
        }
    }
}

/// What to read, from where, within which deadlines.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: HttpsUrl,
    pub version: Version,
    pub kinds: Vec<Kind>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Only these client apps (several queries when many); empty: all.
    pub client_apps: Vec<String>,
    /// Only this user (lowercase UPN; `startsWith`, as Graph matches case-sensitively).
    pub user: Option<String>,
    pub page_size: u32,
    /// Each exchange (connect, TLS, request and answer).
    pub timeout: Duration,
    /// The whole read.
    pub deadline: tokio::time::Instant,
    pub max_retry_after: Duration,
    pub extra_roots: Vec<Vec<u8>>,
    pub dns_server: Option<std::net::SocketAddr>,
}

/// What one query read.
#[derive(Debug, Clone, Default)]
pub struct QueryReport {
    pub kind: Option<Kind>,
    pub client_apps: Vec<String>,
    pub rows: u64,
    pub pages: u64,
    pub pages_with_next_link: u64,
}

/// How the reading went.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The endpoint read, e.g. `https://graph.microsoft.com/beta/auditLogs/signIns`.
    pub endpoint: String,
    pub queries: Vec<QueryReport>,
    pub requests: u64,
    pub throttled: u64,
    pub waited: Duration,
    pub resumed: u64,
    pub narrowed: u64,
}

impl Summary {
    /// Plain sentences on what was read and what the reading met.
    pub fn notes(&self, version: Version) -> Vec<String> {
        let pages: u64 = self.queries.iter().map(|q| q.pages).sum();
        let mut notes = vec![format!(
            "read live from Microsoft Graph {} ({}): {} queries, {} pages, {} requests",
            self.endpoint,
            match version {
                Version::Beta => "beta: interactive and non-interactive sign-ins, with the user agent",
                Version::V1 => "v1.0: interactive sign-ins only, without the user agent; --graph-version beta reads the non-interactive ones too",
            },
            self.queries.len(),
            pages,
            self.requests
        )];
        if self.queries.iter().any(|q| !q.client_apps.is_empty()) && self.queries.len() > 1 {
            notes.push(format!(
                "the client-app filter was asked in queries of at most {APPS_PER_QUERY} apps (Graph times out on long OR filters)"
            ));
        }
        if self.throttled > 0 {
            notes.push(format!(
                "Graph throttled {} requests (429); waited {} s as its Retry-After said",
                self.throttled,
                self.waited.as_secs()
            ));
        }
        if self.resumed > 0 {
            notes.push(format!(
                "{} skiptokens had expired; each query went on from the oldest sign-in of the last page read",
                self.resumed
            ));
        }
        if self.narrowed > 0 {
            notes.push(format!(
                "{} queries timed out and were asked again over narrower time windows",
                self.narrowed
            ));
        }
        notes.push(
            "sign-ins of the last minutes may be missing: Microsoft says the logs can lag, up to two hours".into(),
        );
        notes
    }
}

/// Why the sign-ins could not be read. Each has its code, and its fix in its text.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("GRAPH_LICENSE_REQUIRED: Microsoft Graph refused the sign-in logs: the tenant has no Microsoft Entra ID P1 or P2 licence (403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: \"{message}\"). Reading sign-in logs through Graph needs P1 or P2; without it, download the log in the Entra admin center (Entra ID > Monitoring & health > Sign-in logs > Download, CSV or JSON) and run `mailbox-doctor signins FILE`")]
    Licence { message: String },
    #[error("GRAPH_PERMISSION_MISSING: the token lacks the AuditLog.Read.All permission ({status} {code}: \"{message}\"). Grant AuditLog.Read.All (delegated or application; Microsoft's page also names Directory.Read.All) with admin consent, and get a new token")]
    Permission {
        status: u16,
        code: String,
        message: String,
    },
    #[error("GRAPH_ROLE_MISSING: the signed-in user may not read sign-in logs ({status} {code}: \"{message}\"). The user needs one of the roles Reports Reader, Security Reader or Global Reader (or Security Operator, Security Administrator, Global Administrator), and the token the AuditLog.Read.All permission")]
    Role {
        status: u16,
        code: String,
        message: String,
    },
    #[error("GRAPH_WRONG_AUDIENCE: Microsoft Graph refused the token: it was issued for another resource ({message}{aud}). Ask for a token for Microsoft Graph (scope https://graph.microsoft.com/.default or AuditLog.Read.All), not for Exchange Online")]
    Audience { message: String, aud: String },
    #[error("GRAPH_TOKEN_REJECTED: Microsoft Graph refused the token (401 {code}: \"{message}\"); it may have expired or be for another tenant. Get a new token")]
    Token { code: String, message: String },
    #[error("GRAPH_TIMEOUT: {0}")]
    Timeout(String),
    #[error("GRAPH_ERROR: {0}")]
    Other(String),
}

impl GraphError {
    pub fn code(&self) -> &'static str {
        match self {
            GraphError::Licence { .. } => "GRAPH_LICENSE_REQUIRED",
            GraphError::Permission { .. } => "GRAPH_PERMISSION_MISSING",
            GraphError::Role { .. } => "GRAPH_ROLE_MISSING",
            GraphError::Audience { .. } => "GRAPH_WRONG_AUDIENCE",
            GraphError::Token { .. } => "GRAPH_TOKEN_REJECTED",
            GraphError::Timeout(_) => "GRAPH_TIMEOUT",
            GraphError::Other(_) => "GRAPH_ERROR",
        }
    }
}

/// A time as the filters write it: UTC with seven fractional digits (ticks).
fn filter_time(t: DateTime<Utc>) -> String {
    use chrono::Timelike as _;
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.nanosecond() % 1_000_000_000 / 100
    )
}

fn odata_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `$filter` of one query.
pub fn filter(
    kind: Kind,
    apps: &[String],
    user: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let mut parts = vec![
        format!("createdDateTime ge {}", filter_time(from)),
        format!("createdDateTime le {}", filter_time(to)),
    ];
    if !apps.is_empty() {
        let alts: Vec<String> = apps
            .iter()
            .map(|a| format!("clientAppUsed eq {}", odata_quote(a)))
            .collect();
        parts.push(if alts.len() == 1 {
            alts.join("")
        } else {
            format!("({})", alts.join(" or "))
        });
    }
    if let Some(u) = user {
        parts.push(format!(
            "startsWith(userPrincipalName,{})",
            odata_quote(&u.to_lowercase())
        ));
    }
    if kind == Kind::NonInteractive {
        parts.push("signInEventTypes/any(t: t eq 'nonInteractiveUser')".into());
    }
    parts.join(" and ")
}

/// One time window of one query, and the records of its newest instant already read.
#[derive(Debug, Clone)]
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    skip: Option<(DateTime<Utc>, u64)>,
}

/// Passes rows on, skipping the ones a resumed query reads again, and keeps the
/// oldest instant seen (and how many rows had it).
struct Tracking<'a> {
    inner: &'a mut dyn Rows,
    skip: Option<(DateTime<Utc>, u64)>,
    oldest: Option<DateTime<Utc>>,
    at_oldest: u64,
    rows: u64,
}

impl Rows for Tracking<'_> {
    fn sign_in(&mut self, row: SignIn) {
        match self.oldest {
            Some(o) if row.time == o => self.at_oldest += 1,
            Some(o) if row.time > o => {}
            _ => {
                self.oldest = Some(row.time);
                self.at_oldest = 1;
            }
        }
        if let Some((t, left)) = &mut self.skip {
            if row.time == *t && *left > 0 {
                *left -= 1;
                return;
            }
        }
        self.rows += 1;
        self.inner.sign_in(row);
    }

    fn malformed(&mut self, line: u64, reason: &str) {
        self.rows += 1;
        self.inner.malformed(line, reason);
    }
}

/// What one request came to.
enum Fetched {
    Page(String),
    TimedOut(String),
    Expired,
}

/// Graph's error body: `{"error":{"code":..,"message":..}}`.
fn error_of(body: &str, scrub: &Scrubber) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let cut = |s: &str| {
        let s = scrub.scrub(s);
        match s.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s,
        }
    };
    (
        cut(v["error"]["code"].as_str().unwrap_or_default()),
        cut(v["error"]["message"].as_str().unwrap_or_default()),
    )
}

/// The audience a JWT names, for the wrong-audience error (not secret).
fn audience(token: &Secret) -> String {
    crate::oauth::decode_claims(token.expose())
        .map(|c| c.audience.join(", "))
        .filter(|a| !a.is_empty())
        .map(|a| format!("; the token's audience is {a}"))
        .unwrap_or_default()
}

struct Client<'a> {
    opts: &'a Options,
    token: &'a Secret,
    scrub: &'a Scrubber,
    route: http::Route,
    summary: Summary,
}

impl Client<'_> {
    fn left(&self) -> Result<Duration, GraphError> {
        let now = tokio::time::Instant::now();
        if now >= self.opts.deadline {
            return Err(GraphError::Timeout(
                "the read's deadline passed before every page was read (raise --graph-deadline, or narrow --since)".into(),
            ));
        }
        Ok(self.opts.deadline - now)
    }

    async fn fetch(&mut self, path: &str) -> Result<Fetched, GraphError> {
        let mut throttles = 0;
        loop {
            let left = self.left()?;
            let auth = zeroize::Zeroizing::new(format!("Bearer {}", self.token.expose()));
            let authority = self.opts.url.authority();
            let headers = [
                ("Authorization", auth.as_str()),
                ("Accept", "application/json"),
            ];
            let req = Request {
                path,
                host_header: &authority,
                headers: &headers,
                max_body: MAX_PAGE,
            };
            self.summary.requests += 1;
            let answer = http::https_exchange(
                &self.route,
                &self.opts.url.host,
                self.opts.url.port,
                &req,
                &self.opts.extra_roots,
                self.opts.timeout.min(left),
            )
            .await;
            drop(auth);
            let r = match answer {
                Ok(r) => r,
                Err(HttpsError::Timeout(e)) => return Ok(Fetched::TimedOut(self.scrub.scrub(&e))),
                Err(HttpsError::Other(e)) => {
                    return Err(GraphError::Other(format!(
                        "asking {} for sign-ins: {}",
                        self.opts.url.host,
                        self.scrub.scrub(&e)
                    )))
                }
            };
            if r.status == 200 {
                return Ok(Fetched::Page(r.body));
            }
            let (code, message) = error_of(&r.body, self.scrub);
            if r.status == 429 {
                throttles += 1;
                self.summary.throttled += 1;
                if throttles > MAX_THROTTLES {
                    return Err(GraphError::Other(format!(
                        "Microsoft Graph throttled {MAX_THROTTLES} requests in a row (429); try again later"
                    )));
                }
                let secs = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == "retry-after")
                    .and_then(|(_, v)| v.trim().parse::<u64>().ok())
                    .unwrap_or(10);
                let wait = Duration::from_secs(secs).min(self.opts.max_retry_after);
                if wait >= self.left()? {
                    return Err(GraphError::Timeout(format!(
                        "Microsoft Graph asked to wait {secs} s (429 Retry-After), past the read's deadline"
                    )));
                }
                self.summary.waited += wait;
                tokio::time::sleep(wait).await;
                continue;
            }
            if r.status == 504 || r.status == 503 && message.to_lowercase().contains("timed out") {
                return Ok(Fetched::TimedOut(format!("{} {code}: {message}", r.status)));
            }
            let lower = message.to_lowercase();
            if lower.contains("token is either invalid or expired") {
                return Ok(Fetched::Expired);
            }
            let status = r.status;
            return Err(match code.as_str() {
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant" => {
                    GraphError::Licence { message }
                }
                "Authentication_MSGraphPermissionMissing"
                | "Authentication_ApplicationHasNoReadAuditLogDataAccess"
                | "Authentication_ApplicationHasNoDirectoryReadAccess" => GraphError::Permission {
                    status,
                    code,
                    message,
                },
                _ if lower.contains("not in the allowed roles")
                    || code.contains("UnsupportedUserRole") =>
                {
                    GraphError::Role {
                        status,
                        code,
                        message,
                    }
                }
                _ if status == 401 && lower.contains("audience") => GraphError::Audience {
                    message: format!("401 {code}: \"{message}\""),
                    aud: audience(self.token),
                },
                _ if status == 401 => GraphError::Token { code, message },
                _ if status == 403 && lower.contains("permission") => GraphError::Permission {
                    status,
                    code,
                    message,
                },
                _ => GraphError::Other(format!(
                    "Microsoft Graph answered {status} {code}: \"{message}\""
                )),
            });
        }
    }

    /// The path of a nextLink, when it points to the host the user named.
    fn next_path(&self, link: &str) -> Result<String, GraphError> {
        let u = http::parse_https_url(link).filter(|u| {
            u.host.eq_ignore_ascii_case(&self.opts.url.host) && u.port == self.opts.url.port
        });
        match u {
            Some(u) if u.base.starts_with('/') => Ok(u.base),
            Some(_) => Ok(link
                .split_once("://")
                .and_then(|(_, r)| r.find('/').map(|i| r[i..].to_string()))
                .unwrap_or_else(|| "/".into())),
            None => Err(GraphError::Other(format!(
                "Microsoft Graph's next page points to another host ({}); not followed, the token goes only to {}",
                self.scrub.scrub(link.split('/').nth(2).unwrap_or_default()),
                self.opts.url.host
            ))),
        }
    }

    async fn query(
        &mut self,
        kind: Kind,
        apps: &[String],
        rows: &mut dyn Rows,
    ) -> Result<QueryReport, GraphError> {
        let mut report = QueryReport {
            kind: Some(kind),
            client_apps: apps.to_vec(),
            ..Default::default()
        };
        let mut stack = vec![Window {
            from: self.opts.since,
            to: self.opts.until,
            skip: None,
        }];
        let mut resumes = 0;
        while let Some(w) = stack.pop() {
            let mut track = Tracking {
                inner: &mut *rows,
                skip: w.skip,
                oldest: None,
                at_oldest: 0,
                rows: 0,
            };
            let f = filter(kind, apps, self.opts.user.as_deref(), w.from, w.to);
            let mut path = format!(
                "{}/{}/auditLogs/signIns?$top={}&$filter={}",
                self.opts.url.base,
                self.opts.version.as_str(),
                self.opts.page_size,
                http::query_value(&f)
            );
            loop {
                match self.fetch(&path).await? {
                    Fetched::Page(body) => {
                        #[derive(serde::Deserialize)]
                        struct Meta {
                            #[serde(rename = "@odata.nextLink")]
                            next: Option<String>,
                        }
                        let meta: Meta = serde_json::from_str(&body).map_err(|_| {
                            GraphError::Other(
                                "Microsoft Graph answered with something that is not a page of sign-ins".into(),
                            )
                        })?;
                        super::json_input::read(body.as_bytes(), 0, &mut track).map_err(|_| {
                            GraphError::Other(
                                "Microsoft Graph answered with something that is not a page of sign-ins".into(),
                            )
                        })?;
                        report.pages += 1;
                        match meta.next {
                            Some(link) => {
                                report.pages_with_next_link += 1;
                                path = self.next_path(&link)?;
                            }
                            None => break,
                        }
                    }
                    Fetched::Expired => {
                        resumes += 1;
                        self.summary.resumed += 1;
                        if resumes > MAX_RESUMES {
                            return Err(GraphError::Other(format!(
                                "Microsoft Graph's skiptokens expired {MAX_RESUMES} times in one query; try again with a narrower --since"
                            )));
                        }
                        let (to, skip) = match track.oldest {
                            Some(o) => (o, Some((o, track.at_oldest))),
                            None => (w.to, w.skip),
                        };
                        stack.push(Window {
                            from: w.from,
                            to,
                            skip,
                        });
                        break;
                    }
                    Fetched::TimedOut(why) => {
                        let (to, skip) = match track.oldest {
                            Some(o) => (o, Some((o, track.at_oldest))),
                            None => (w.to, w.skip),
                        };
                        if to - w.from <= MIN_WINDOW {
                            return Err(GraphError::Timeout(format!(
                                "a query over {} to {} timed out even at its narrowest ({why})",
                                w.from.format("%Y-%m-%d %H:%M"),
                                to.format("%Y-%m-%d %H:%M")
                            )));
                        }
                        self.summary.narrowed += 1;
                        let mid = w.from + (to - w.from) / 2;
                        stack.push(Window {
                            from: w.from,
                            to: mid - chrono::Duration::nanoseconds(100),
                            skip: None,
                        });
                        stack.push(Window {
                            from: mid,
                            to,
                            skip: skip.filter(|(t, _)| *t >= mid),
                        });
                        break;
                    }
                }
            }
            report.rows += track.rows;
        }
        Ok(report)
    }
}

/// Reads every sign-in the options ask for into `rows`.
pub async fn read(
    opts: &Options,
    token: &Secret,
    scrub: &Scrubber,
    rows: &mut dyn Rows,
) -> Result<Summary, GraphError> {
    let mut client = Client::new(opts, token, scrub).await?;
    let groups: Vec<Vec<String>> = if opts.client_apps.is_empty() {
        vec![Vec::new()]
    } else {
        opts.client_apps
            .chunks(APPS_PER_QUERY)
            .map(<[String]>::to_vec)
            .collect()
    };
    for &kind in &opts.kinds {
        if kind == Kind::NonInteractive && opts.version == Version::V1 {
            continue;
        }
        for apps in &groups {
            let q = client.query(kind, apps, rows).await?;
            client.summary.queries.push(q);
        }
    }
    Ok(client.summary)
}

/// The records (raw Graph objects) of the first query the options ask for, at
/// most `max` of them: for looking up one sign-in, whose query is narrow.
pub async fn records(
    opts: &Options,
    token: &Secret,
    scrub: &Scrubber,
    max: usize,
) -> Result<(Vec<serde_json::Value>, Summary), GraphError> {
    let mut client = Client::new(opts, token, scrub).await?;
    let kind = opts.kinds.first().copied().unwrap_or(Kind::Interactive);
    let f = filter(
        kind,
        &opts.client_apps,
        opts.user.as_deref(),
        opts.since,
        opts.until,
    );
    let mut path = format!(
        "{}/{}/auditLogs/signIns?$top={}&$filter={}",
        opts.url.base,
        opts.version.as_str(),
        opts.page_size,
        http::query_value(&f)
    );
    let mut out = Vec::new();
    loop {
        let body = match client.fetch(&path).await? {
            Fetched::Page(b) => b,
            Fetched::TimedOut(why) => return Err(GraphError::Timeout(why)),
            Fetched::Expired => {
                return Err(GraphError::Other(
                    "Microsoft Graph's skiptoken expired".into(),
                ))
            }
        };
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(rename = "@odata.nextLink")]
            next: Option<String>,
            #[serde(default)]
            value: Vec<serde_json::Value>,
        }
        let page: Page = serde_json::from_str(&body).map_err(|_| {
            GraphError::Other(
                "Microsoft Graph answered with something that is not a page of sign-ins".into(),
            )
        })?;
        out.extend(page.value.into_iter().take(max.saturating_sub(out.len())));
        match page.next {
            Some(link) if out.len() < max => path = client.next_path(&link)?,
            _ => break,
        }
    }
    Ok((out, client.summary))
}

impl<'a> Client<'a> {
    /// A client on the route HTTPS_PROXY and NO_PROXY choose to the Graph host.
    async fn new(
        opts: &'a Options,
        token: &'a Secret,
        scrub: &'a Scrubber,
    ) -> Result<Client<'a>, GraphError> {
        let resolver = crate::net::resolver::Resolver::new(opts.dns_server, opts.timeout)
            .map_err(GraphError::Other)?;
        let left = opts
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let route = tokio::time::timeout(
            opts.timeout.min(left),
            http::route_for(&resolver, &opts.url.host, opts.url.port),
        )
        .await
        .map_err(|_| GraphError::Timeout(format!("resolving {} timed out", opts.url.host)))?
        .map_err(|e| GraphError::Other(format!("{}: {e}", opts.url.host)))?;
        Ok(Client {
            opts,
            token,
            scrub,
            route,
            summary: Summary {
                endpoint: endpoint(opts),
                ..Default::default()
            },
        })
    }
}

fn endpoint(opts: &Options) -> String {
    format!(
        "https://{}{}/{}/auditLogs/signIns",
        opts.url.authority(),
        opts.url.base,
        opts.version.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_quote_values_and_name_the_event_type() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        let f = filter(
            Kind::NonInteractive,
            &["IMAP4".into(), "POP3".into()],
            Some("O'Brien@Contoso.com"),
            t("2026-11-24T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
        );
        assert_eq!(
            f,
            "createdDateTime ge 2026-11-24T00:00:00.0000000Z and createdDateTime le 2026-12-01T00:00:00.0000000Z and (clientAppUsed eq 'IMAP4' or clientAppUsed eq 'POP3') and startsWith(userPrincipalName,'o''brien@contoso.com') and signInEventTypes/any(t: t eq 'nonInteractiveUser')"
        );
    }
}
