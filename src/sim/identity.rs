//! A simulated Microsoft identity endpoint over HTTPS on 127.0.0.1, for tests and
//! `demo`: answers `getuserrealm.srf?login=..&xml=1` and
//! `/{domain}/.well-known/openid-configuration` for a set of domains, with bodies
//! shaped like Microsoft's (see the sources next to each shape). It can wait a
//! fixed delay before its TLS handshake and before every answer (the benchmarks).

use crate::sim::pki::ServerCert;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// How a domain signs in, as the identity platform would say.
#[derive(Debug, Clone)]
pub enum TenantKind {
    Managed {
        brand: String,
        tenant_id: String,
    },
    Federated {
        brand: String,
        tenant_id: String,
        auth_url: String,
    },
    /// A tenant in a national cloud: `cloud` is e.g. "microsoftonline.us".
    Sovereign {
        brand: String,
        tenant_id: String,
        cloud: String,
        scope: String,
    },
}

/// The simulated contoso.com's tenant id: its sign-in domain's answers and the
/// tokens the simulated platform issues name it.
pub const CONTOSO_TENANT_ID: &str = "00000000-c0de-4d0c-b0e5-000000000001";

/// The tenants of `demo` and the sign-in tests: contoso.com, managed.
pub fn contoso_tenants() -> HashMap<String, TenantKind> {
    HashMap::from([(
        "contoso.com".to_string(),
        TenantKind::Managed {
            brand: "Contoso".into(),
            tenant_id: CONTOSO_TENANT_ID.into(),
        },
    )])
}

pub struct IdentityServer {
    addr: SocketAddr,
    /// The OAuth endpoints' script and memory (`sim::oauth`).
    pub platform: Arc<super::oauth::Platform>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for IdentityServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl IdentityServer {
    /// Starts serving on 127.0.0.1 (ephemeral port) with the given certificate.
    pub async fn start(
        cert: &ServerCert,
        tenants: HashMap<String, TenantKind>,
    ) -> std::io::Result<IdentityServer> {
        IdentityServer::start_delayed(cert, tenants, std::time::Duration::ZERO).await
    }

    /// Like `start`, with the OAuth endpoints following `script`.
    pub async fn start_scripted(
        cert: &ServerCert,
        tenants: HashMap<String, TenantKind>,
        script: super::oauth::Script,
    ) -> std::io::Result<IdentityServer> {
        let platform = Arc::new(super::oauth::Platform::new(script));
        IdentityServer::start_with(cert, tenants, std::time::Duration::ZERO, platform).await
    }

    /// Like `start`, waiting `delay` before the TLS handshake and before the answer:
    /// each a round trip on a real network.
    pub async fn start_delayed(
        cert: &ServerCert,
        tenants: HashMap<String, TenantKind>,
        delay: std::time::Duration,
    ) -> std::io::Result<IdentityServer> {
        let platform = Arc::new(super::oauth::Platform::new(Default::default()));
        IdentityServer::start_with(cert, tenants, delay, platform).await
    }

    async fn start_with(
        cert: &ServerCert,
        tenants: HashMap<String, TenantKind>,
        delay: std::time::Duration,
        platform: Arc<super::oauth::Platform>,
    ) -> std::io::Result<IdentityServer> {
        let cfg = cert
            .server_config()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let tenants = Arc::new(tenants);
        let serving = platform.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let tenants = tenants.clone();
                let platform = serving.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    if !delay.is_zero() {
                        crate::sim::pause(delay).await;
                    }
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some((req, req_body)) = super::oauth::read_request(&mut tls).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let mut words = req.split_whitespace();
                    let method = words.next().unwrap_or("GET").to_string();
                    let path = words.next().unwrap_or("/").to_string();
                    let resp = if super::oauth::Platform::serves(&path) {
                        match platform.answer(&method, &path, &req_body) {
                            super::oauth::Answer::Json((status, body)) => format!(
                                "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            ),
                            super::oauth::Answer::Redirect(to) => format!(
                                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            ),
                        }
                    } else {
                        let (status, ctype, body) = answer(&tenants, &path);
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    if !delay.is_zero() {
                        crate::sim::pause(delay).await;
                    }
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Ok(IdentityServer {
            addr,
            platform,
            requests,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn query_param<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    let q = path.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// Percent-decodes a query value.
pub(super) fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn answer(
    tenants: &HashMap<String, TenantKind>,
    path: &str,
) -> (&'static str, &'static str, String) {
    if path.contains("/getuserrealm.srf") {
        let login = decode(query_param(path, "login").unwrap_or_default());
        let domain = login
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        return (
            "200 OK",
            "text/xml; charset=utf-8",
            realm_xml(&login, &domain, tenants.get(&domain)),
        );
    }
    if let Some(rest) = path.strip_suffix("/.well-known/openid-configuration") {
        let domain = decode(rest.rsplit('/').next().unwrap_or_default()).to_ascii_lowercase();
        return match tenants.get(&domain) {
            Some(t) => ("200 OK", "application/json; charset=utf-8", openid_json(t)),
            // Body shape: https://github.com/Azure/azure-cli/issues/22145
            None => (
                "400 Bad Request",
                "application/json; charset=utf-8",
                format!(
                    "{{\"error\":\"invalid_tenant\",\"error_description\":\"AADSTS90002: Tenant '{domain}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.\",\"error_codes\":[90002],\"error_uri\":\"https://login.microsoftonline.com/error?code=90002\"}}"
                ),
            ),
        };
    }
    ("404 Not Found", "text/plain", "not found".into())
}

// Shape: https://github.com/toneillcodes/EntraID-API-Library/blob/95caa673cd50a7e54b85d789ecc22088820fd09c/apis/web/recon/user-realm-discovery.md
fn realm_xml(login: &str, domain: &str, t: Option<&TenantKind>) -> String {
    let (ns, brand, cloud, extra) = match t {
        None => (
            "Unknown",
            String::new(),
            "microsoftonline.com".to_string(),
            String::new(),
        ),
        Some(TenantKind::Managed { brand, .. }) => (
            "Managed",
            brand.clone(),
            "microsoftonline.com".into(),
            String::new(),
        ),
        Some(TenantKind::Federated {
            brand, auth_url, ..
        }) => (
            "Federated",
            brand.clone(),
            "microsoftonline.com".into(),
            format!("<AuthURL>{auth_url}</AuthURL>"),
        ),
        Some(TenantKind::Sovereign { brand, cloud, .. }) => {
            ("Managed", brand.clone(), cloud.clone(), String::new())
        }
    };
    let federated = ns == "Federated";
    format!(
        "<RealmInfo Success=\"true\"><State>4</State><UserState>1</UserState><Login>{login}</Login><NameSpaceType>{ns}</NameSpaceType><DomainName>{domain}</DomainName><IsFederatedNS>{federated}</IsFederatedNS><FederationBrandName>{brand}</FederationBrandName>{extra}<CloudInstanceName>{cloud}</CloudInstanceName><CloudInstanceIssuerUri>urn:federation:MicrosoftOnline</CloudInstanceIssuerUri></RealmInfo>"
    )
}

// Fields: https://github.com/panva/wellknown/blob/99a4b3ae9d1de76decf16c46cd945d29aa9b2a63/issuers/entra-common/entra-common.mjs
fn openid_json(t: &TenantKind) -> String {
    let (tid, scope, sub, cloud) = match t {
        TenantKind::Managed { tenant_id, .. } | TenantKind::Federated { tenant_id, .. } => (
            tenant_id.clone(),
            "NA".to_string(),
            None,
            "microsoftonline.com".to_string(),
        ),
        TenantKind::Sovereign {
            tenant_id,
            cloud,
            scope,
            ..
        } => (
            tenant_id.clone(),
            scope.clone(),
            Some("DODCON"),
            cloud.clone(),
        ),
    };
    serde_json::json!({
        "token_endpoint": format!("https://login.{cloud}/{tid}/oauth2/token"),
        "issuer": format!("https://sts.windows.net/{tid}/"),
        "tenant_region_scope": scope,
        "tenant_region_sub_scope": sub,
        "cloud_instance_name": cloud,
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
    .to_string()
}
