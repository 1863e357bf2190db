//! A simulated Microsoft Graph `auditLogs/signIns` endpoint over HTTPS on
//! 127.0.0.1, for the tests and the benchmark: it serves the sign-in records it
//! is given (Graph objects, as the tests' generator writes them), newest first,
//! in pages with `@odata.nextLink`, filtered by the `$filter` forms the reader
//! sends (`createdDateTime ge/le`, `clientAppUsed eq` joined by `or`,
//! `startsWith(userPrincipalName,...)`, `signInEventTypes/any(...)`). A filter it
//! does not understand is a 400, as an unsupported query is on Graph.
//!
//! It scripts what Graph does to a reader (texts and codes with their sources at
//! each answer): a 429 with `Retry-After`; an expired skiptoken; the 403 of a
//! tenant without Entra ID P1; the 403 of a token without AuditLog.Read.All and
//! of a user without a reports role; the 401 of a token for another audience;
//! fields only beta returns (`userAgent`, `signInEventTypes`), and
//! non-interactive sign-ins only on beta and only when asked; a record that
//! appears some time after the server started (log latency); a query that times
//! out when it OR-s too many client apps or spans too wide a time window.
//!
//! Records may also come from a generator function, so a million of them can be
//! served without holding them (the benchmark): then filters other than time are
//! applied to each generated record as it is made.

use super::identity::decode;
use crate::sim::pki::ServerCert;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// What a bearer token is, to the simulated Graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Delegated or app-only, with AuditLog.Read.All and a reports role.
    Good,
    /// Without the AuditLog.Read.All permission.
    NoPermission,
    /// A delegated token of a user in none of the reports roles.
    NoRole,
    /// Issued for another resource (e.g. Exchange Online).
    WrongAudience,
}

/// The records of one generated tenant: `count` of them, record `i` made by `make(i)`,
/// newest first (record `i` is never newer than record `i - 1`).
pub type Generator = Arc<dyn Fn(usize) -> serde_json::Value + Send + Sync>;

/// The tenant and what Graph does to the reader.
#[derive(Clone)]
pub struct GraphTenant {
    /// Interactive sign-ins (Graph objects).
    pub interactive: Vec<serde_json::Value>,
    /// Non-interactive sign-ins: only on beta, only with the event-type filter.
    pub non_interactive: Vec<serde_json::Value>,
    /// Interactive records that appear only this long after the server started.
    pub delayed: Vec<(Duration, serde_json::Value)>,
    /// Instead of `interactive`: a generator of this many records.
    pub generated: Option<(usize, Generator)>,
    /// Whether the tenant has Entra ID P1 or P2 (else every request is a 403).
    pub premium: bool,
    pub tokens: HashMap<String, TokenKind>,
    /// Records per page at most (Graph: 1,000), and `$top` when smaller.
    pub page_size: usize,
    /// Request numbers (1-based, over the server's life) answered 429.
    pub throttle: Vec<usize>,
    pub retry_after_secs: u64,
    /// Uses of a skiptoken (1-based, over the server's life) that find it expired.
    pub expire: Vec<usize>,
    /// A filter OR-ing more client apps than this times out (504).
    pub max_apps: Option<usize>,
    /// A query spanning a longer window than this holds its answer `hold`, then 504.
    pub max_window: Option<chrono::Duration>,
    pub hold: Duration,
}

impl Default for GraphTenant {
    fn default() -> GraphTenant {
        GraphTenant {
            interactive: Vec::new(),
            non_interactive: Vec::new(),
            delayed: Vec::new(),
            generated: None,
            premium: true,
            tokens: HashMap::new(),
            page_size: 1000,
            throttle: Vec::new(),
            retry_after_secs: 1,
            expire: Vec::new(),
            max_apps: None,
            max_window: None,
            hold: Duration::from_secs(3),
        }
    }
}

pub struct GraphServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    tenant: GraphTenant,
    started: Instant,
    requests: Mutex<usize>,
    skiptokens: Mutex<usize>,
    log: Arc<Mutex<Vec<String>>>,
}

impl GraphServer {
    /// Starts serving on 127.0.0.1 (ephemeral port) with `cert`.
    pub async fn start(cert: &ServerCert, mut tenant: GraphTenant) -> std::io::Result<GraphServer> {
        let cfg = cert
            .server_config()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Newest first, as Graph returns them.
        let newest_first = |v: &mut Vec<serde_json::Value>| {
            v.sort_by_key(|r| std::cmp::Reverse(time_of(r)));
        };
        newest_first(&mut tenant.interactive);
        newest_first(&mut tenant.non_interactive);
        let log: Arc<Mutex<Vec<String>>> = Default::default();
        let state = Arc::new(State {
            tenant,
            started: Instant::now(),
            requests: Mutex::new(0),
            skiptokens: Mutex::new(0),
            log: log.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, state) = (acceptor.clone(), state.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some(head) = super::read_head(&mut tls).await else {
                        return;
                    };
                    let answer = state.answer(&head);
                    if !answer.hold.is_zero() {
                        tokio::time::sleep(answer.hold).await;
                    }
                    let extra = answer
                        .retry_after
                        .map(|s| format!("Retry-After: {s}\r\n"))
                        .unwrap_or_default();
                    let head = format!(
                        "HTTP/1.1 {}\r\nContent-Type: application/json; charset=utf-8\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                        answer.status,
                        answer.body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(answer.body.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Ok(GraphServer { addr, log, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`, for `--graph-url`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The request target (path and query, decoded) of every request so far, and
    /// the status answered: `"200 /beta/auditLogs/signIns?..."`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

struct Answer {
    status: &'static str,
    body: String,
    retry_after: Option<u64>,
    hold: Duration,
}

impl Answer {
    fn json(status: &'static str, body: String) -> Answer {
        Answer {
            status,
            body,
            retry_after: None,
            hold: Duration::ZERO,
        }
    }

    /// Graph's error body: `{"error":{"code":..,"message":..,"innerError":{..}}}`.
    fn error(status: &'static str, code: &str, message: &str) -> Answer {
        let body = serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": "2026-12-01T08:00:00",
                    "request-id": "00000000-0000-4000-8000-000000000000",
                    "client-request-id": "00000000-0000-4000-8000-000000000000"
                }
            }
        });
        Answer::json(status, body.to_string())
    }
}

fn time_of(r: &serde_json::Value) -> Option<DateTime<Utc>> {
    r["createdDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// What a `$filter` asks for.
#[derive(Debug, Default)]
struct Filter {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    apps: Vec<String>,
    user_prefix: Option<String>,
    non_interactive: bool,
}

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Splits at ` and ` outside parentheses and quotes.
fn conjuncts(f: &str) -> Vec<String> {
    let (mut depth, mut quote, mut out, mut cur) = (0i32, false, Vec::new(), String::new());
    let b = f.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c == '\'' {
            quote = !quote;
        } else if !quote && c == '(' {
            depth += 1;
        } else if !quote && c == ')' {
            depth -= 1;
        } else if !quote && depth == 0 && f[i..].starts_with(" and ") {
            out.push(std::mem::take(&mut cur));
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    out.push(cur);
    out
}

fn parse_filter(f: &str) -> Option<Filter> {
    let mut out = Filter::default();
    for c in conjuncts(f) {
        let c = c.trim();
        let c = c
            .strip_prefix('(')
            .and_then(|x| x.strip_suffix(')'))
            .unwrap_or(c);
        if let Some(t) = c.strip_prefix("createdDateTime ge ") {
            out.from = Some(
                DateTime::parse_from_rfc3339(t.trim())
                    .ok()?
                    .with_timezone(&Utc),
            );
        } else if let Some(t) = c.strip_prefix("createdDateTime le ") {
            out.to = Some(
                DateTime::parse_from_rfc3339(t.trim())
                    .ok()?
                    .with_timezone(&Utc),
            );
        } else if c.starts_with("clientAppUsed eq ") {
            for alt in c.split(" or ") {
                out.apps
                    .push(quoted(alt.trim().strip_prefix("clientAppUsed eq ")?)?);
            }
        } else if let Some(rest) = c.strip_prefix("startsWith(userPrincipalName,") {
            out.user_prefix = Some(quoted(rest.strip_suffix(')')?)?);
        } else if c == "signInEventTypes/any(t: t eq 'nonInteractiveUser')" {
            out.non_interactive = true;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Fields only beta returns [MS signIn resource, beta vs v1.0].
const BETA_ONLY: &[&str] = &[
    "userAgent",
    "signInEventTypes",
    "authenticationRequirement",
    "authenticationProtocol",
];

impl State {
    fn answer(&self, head: &str) -> Answer {
        let n = match self.requests.lock() {
            Ok(mut g) => {
                *g += 1;
                *g
            }
            Err(_) => 0,
        };
        let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let a = self.answer_inner(n, head, &target);
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{} {}", &a.status[..3], decode(&target)));
        }
        a
    }

    fn answer_inner(&self, n: usize, head: &str, target: &str) -> Answer {
        let t = &self.tenant;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let beta = match path {
            "/beta/auditLogs/signIns" => true,
            "/v1.0/auditLogs/signIns" => false,
            _ => {
                return Answer::error(
                    "404 Not Found",
                    "BadRequest",
                    "Resource not found for the segment.",
                )
            }
        };
        let bearer = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("authorization")
                .then(|| v.trim().strip_prefix("Bearer ").map(str::to_string))?
        });
        // Texts: https://github.com/microsoftgraph/microsoft-graph-docs/issues/16208
        // (wrong audience), https://github.com/microsoftgraph/microsoft-graph-explorer-v4/issues/2731
        // (missing permission), the Entra support article on the P1 403
        // (https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/users-groups-entra-apis/b2c-or-tenant-premium-license-sign-in-activities),
        // "User is not in the allowed roles" (Graph's signin-list reference); the
        // code of that last one is this simulation's guess.
        match bearer.as_deref().and_then(|b| t.tokens.get(b)) {
            None => {
                return Answer::error(
                    "401 Unauthorized",
                    "InvalidAuthenticationToken",
                    "Access token validation failure.",
                )
            }
            Some(TokenKind::WrongAudience) => {
                return Answer::error(
                    "401 Unauthorized",
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                )
            }
            Some(TokenKind::NoPermission) => return Answer::error(
                "403 Forbidden",
                "Authentication_MSGraphPermissionMissing",
                "Calling principal does not have required MSGraph permissions AuditLog.Read.All",
            ),
            Some(TokenKind::NoRole) => {
                return Answer::error(
                    "403 Forbidden",
                    "Authentication_RequestFromUnsupportedUserRole",
                    "User is not in the allowed roles",
                )
            }
            Some(TokenKind::Good) => {}
        }
        if !t.premium {
            return Answer::error(
                "403 Forbidden",
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            );
        }
        if t.throttle.contains(&n) {
            // Text: "This request is throttled. Please try again after the value
            // (in seconds) specified in the Retry-After header." (modern-auth.md)
            let mut a = Answer::error("429 Too Many Requests", "UnknownError", "Too Many Requests");
            a.retry_after = Some(t.retry_after_secs);
            return a;
        }
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((decode(k), decode(v)))
            })
            .collect();
        let offset: usize = match params.get("$skiptoken") {
            None => 0,
            Some(tok) => {
                let used = match self.skiptokens.lock() {
                    Ok(mut g) => {
                        *g += 1;
                        *g
                    }
                    Err(_) => 0,
                };
                if t.expire.contains(&used) {
                    // Text: the AAD Reporting API TSG (modern-auth.md).
                    return Answer::error(
                        "400 Bad Request",
                        "UnknownError",
                        "Token not found: token is either invalid or expired",
                    );
                }
                match tok.strip_prefix('o').and_then(|o| o.parse().ok()) {
                    Some(o) => o,
                    None => {
                        return Answer::error(
                            "400 Bad Request",
                            "UnknownError",
                            "Token not found: token is either invalid or expired",
                        )
                    }
                }
            }
        };
        let top = params
            .get("$top")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(t.page_size)
            .clamp(1, t.page_size.max(1));
        let filter = match params.get("$filter") {
            None => Filter::default(),
            Some(f) => match parse_filter(f) {
                Some(f) => f,
                None => {
                    return Answer::error("400 Bad Request", "BadRequest", "Invalid filter clause")
                }
            },
        };
        if t.max_apps.is_some_and(|m| filter.apps.len() > m) {
            return Answer::error(
                "504 Gateway Timeout",
                "UnknownError",
                "The request timed out.",
            );
        }
        if let Some(max) = t.max_window {
            let from = filter.from.unwrap_or(DateTime::<Utc>::MIN_UTC);
            let to = filter.to.unwrap_or_else(Utc::now);
            if to - from > max {
                let mut a = Answer::error(
                    "504 Gateway Timeout",
                    "UnknownError",
                    "The request timed out.",
                );
                a.hold = t.hold;
                return a;
            }
        }
        let keep = |r: &serde_json::Value| -> bool {
            let Some(time) = time_of(r) else {
                return true;
            };
            if filter.from.is_some_and(|f| time < f) || filter.to.is_some_and(|x| time > x) {
                return false;
            }
            let app = r["clientAppUsed"].as_str().unwrap_or_default();
            if !filter.apps.is_empty() && !filter.apps.iter().any(|a| a == app) {
                return false;
            }
            if let Some(p) = &filter.user_prefix {
                if !r["userPrincipalName"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(p.as_str())
                {
                    return false;
                }
            }
            true
        };
        let shape = |r: &serde_json::Value| -> serde_json::Value {
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                if beta {
                    let kind = if filter.non_interactive {
                        "nonInteractiveUser"
                    } else {
                        "interactiveUser"
                    };
                    o.insert("signInEventTypes".into(), serde_json::json!([kind]));
                } else {
                    for k in BETA_ONLY {
                        o.remove(*k);
                    }
                }
            }
            r
        };
        let mut page = Vec::new();
        let mut more = false;
        let mut next_offset = 0;
        let mut matched = 0usize;
        let mut take = |r: &serde_json::Value| -> bool {
            if !keep(r) {
                return true;
            }
            matched += 1;
            if matched <= offset {
                return true;
            }
            if page.len() == top {
                more = true;
                return false;
            }
            page.push(shape(r));
            true
        };
        if filter.non_interactive {
            if beta {
                for r in &t.non_interactive {
                    if !take(r) {
                        break;
                    }
                }
            }
        } else if let Some((count, make)) = &t.generated {
            // Served in the generator's order; the skiptoken is the index of the
            // next record to make, so no page makes the ones before it again.
            let mut i = offset;
            while i < *count {
                let r = make(i);
                if keep(&r) {
                    if page.len() == top {
                        more = true;
                        break;
                    }
                    page.push(shape(&r));
                }
                i += 1;
            }
            next_offset = i;
        } else {
            let up = self.started.elapsed();
            let mut visible: Vec<&serde_json::Value> = t.interactive.iter().collect();
            visible.extend(t.delayed.iter().filter(|(d, _)| up >= *d).map(|(_, r)| r));
            visible.sort_by_key(|r| std::cmp::Reverse(time_of(r)));
            for r in visible {
                if !take(r) {
                    break;
                }
            }
        }
        let version = if beta { "beta" } else { "v1.0" };
        let mut body = serde_json::json!({
            "@odata.context": format!("https://graph.microsoft.com/{version}/$metadata#auditLogs/signIns"),
        });
        if more {
            // The request's own query, as it was sent, with the next skiptoken.
            let mut q: Vec<String> = query
                .split('&')
                .filter(|kv| !kv.is_empty() && !decode(kv).starts_with("$skiptoken="))
                .map(str::to_string)
                .collect();
            let next = if t.generated.is_some() {
                next_offset
            } else {
                offset + page.len()
            };
            q.push(format!("$skiptoken=o{next}"));
            body["@odata.nextLink"] = serde_json::Value::String(format!(
                "https://{}{path}?{}",
                head_host(head),
                q.join("&")
            ));
        }
        body["value"] = serde_json::Value::Array(page);
        Answer::json("200 OK", body.to_string())
    }
}

/// The request's Host header (with its port), for the nextLink.
fn head_host(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_the_reader_sends_parse() {
        let f = parse_filter("createdDateTime ge 2026-11-01T00:00:00Z and createdDateTime le 2026-12-01T00:00:00.0000000Z and (clientAppUsed eq 'IMAP4' or clientAppUsed eq 'POP3') and startsWith(userPrincipalName,'o''brien@contoso.com') and signInEventTypes/any(t: t eq 'nonInteractiveUser')").expect("parses");
        assert_eq!(f.apps, ["IMAP4", "POP3"]);
        assert_eq!(f.user_prefix.as_deref(), Some("o'brien@contoso.com"));
        assert!(f.non_interactive && f.from.is_some() && f.to.is_some());
        assert!(parse_filter("riskLevel eq 'high'").is_none());
    }
}
