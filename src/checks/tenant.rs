//! The `tenant` check (Microsoft 365): asks the identity endpoint, without
//! credentials, how the mailbox's domain signs in (managed, federated, unknown) and
//! in which cloud its tenant lives. The two look-ups (user realm and OpenID
//! configuration) run concurrently; their answers become findings such as
//! TENANT_NOT_FOUND, FEDERATED_DOMAIN and SOVEREIGN_CLOUD_ENDPOINT. The answers
//! hold for the whole domain, so a run asks once per domain (`checks::ctx::Common`).
//! The look-ups honour HTTPS_PROXY and NO_PROXY, and the report says whether a
//! proxy carried them.
//!
//! It judges only where Microsoft is in play: the provider is Microsoft 365 (by
//! flag, domain, server names or MX), a server tested is Microsoft's by name, the
//! MX is Microsoft's, or a server's greeting is Exchange Online's. Anywhere else
//! it is skipped ("not a Microsoft 365 domain") and asks nothing, so
//! TENANT_NOT_FOUND never speaks of a mailbox that was never Microsoft's. A tenant
//! whose domain's MX names another provider makes NOT_MICROSOFT_365 precise.
//!
//! It never sends the password; it only reads public discovery documents.

use super::{BoxFuture, Check, CheckResult, Ctx};
use crate::net::http;
use crate::vocab::{CheckId, Finding, Severity, Status};

mod evidence;

use evidence::{domain_mx, mail_elsewhere, microsoft_evidence};

pub struct Tenant;

impl Check for Tenant {
    fn id(&self) -> CheckId {
        CheckId::Tenant
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "Microsoft 365 tenant look-up: managed or federated, which cloud"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

/// A parsed `https://host[:port][/base]` identity URL.
pub type IdentityUrl = http::HttpsUrl;

pub fn parse_identity_url(url: &str) -> Option<IdentityUrl> {
    http::parse_https_url(url)
}

fn is_microsoft(provider: &str) -> bool {
    provider.starts_with("microsoft365")
}

/// The identity platform of the provider's cloud, unless `--identity-url` says
/// otherwise.
pub fn identity_url(ctx: &Ctx) -> String {
    if ctx.net.identity_url != crate::vocab::DEFAULT_IDENTITY_URL {
        return ctx.net.identity_url.clone();
    }
    match ctx.target.provider.as_str() {
        "microsoft365-usgov" => "https://login.microsoftonline.us".into(),
        "microsoft365-china" => "https://login.partner.microsoftonline.cn".into(),
        _ => ctx.net.identity_url.clone(),
    }
}

async fn run(ctx: &Ctx) -> CheckResult {
    if microsoft_evidence(ctx).await.is_none() {
        let mx = ctx
            .target
            .discovery
            .as_ref()
            .and_then(|d| d.mx.first())
            .map(|m| format!(", MX {}", m.host))
            .unwrap_or_default();
        return CheckResult::skip(format!(
            "not a Microsoft 365 domain (provider {}{mx})",
            ctx.target.provider
        ));
    }
    let Some(domain) = ctx.target.domain.clone() else {
        return CheckResult::skip("the user name has no domain to look up");
    };
    let (realm, openid, via) = match answers(ctx, &domain).await {
        Ok(a) => a,
        Err(Lookup::BadUrl) => {
            return CheckResult::new(
                Status::Error,
                format!(
                    "--identity-url {} is not an https:// URL",
                    ctx.net.identity_url
                ),
            )
        }
        Err(Lookup::Proxy(host, e)) => {
            let r = CheckResult::new(
                Status::Warn,
                format!("could not ask {host} about the tenant: {e}"),
            );
            return with_route(r, None);
        }
    };
    let id = parse_identity_url(&identity_url(ctx)).unwrap_or(IdentityUrl {
        host: String::new(),
        port: 443,
        base: String::new(),
    });
    let (realm, openid) = match (realm, openid) {
        (Err(e), _) | (_, Err(e)) => {
            let msg = format!("could not ask {} about the tenant: {e}", id.host);
            let r = CheckResult::new(Status::Warn, msg.clone()).with_findings(vec![Finding::new(
                "TENANT_LOOKUP_FAILED",
                Severity::Warning,
                msg,
            )]);
            return with_route(r, via.as_deref());
        }
        (Ok(r), Ok(o)) => (r, o),
    };
    let mut r = assess(ctx, realm.as_ref(), openid.as_ref());
    if !r.findings.iter().any(|f| f.code == "TENANT_NOT_FOUND") {
        let namespace = realm
            .as_ref()
            .map_or("Unknown", |r| r.namespace_type.as_str());
        let (mx, mx_provider) = domain_mx(ctx).await;
        if let Some(f) = mail_elsewhere(ctx, &domain, realm.as_ref(), namespace, &mx, mx_provider) {
            r.findings.push(f);
            r.status = CheckResult::status_from(&r.findings);
        }
    }
    with_route(r, via.as_deref())
}

/// Why the tenant could not be asked at all.
pub enum Lookup {
    BadUrl,
    Proxy(String, String),
}

/// The tenant answers for the mailbox's domain (asked once per run and domain,
/// shared by the tenant check and the sign-in), and the proxy that carried them.
pub async fn answers(
    ctx: &Ctx,
    domain: &str,
) -> Result<
    (
        Result<Option<Realm>, String>,
        Result<Option<OpenId>, String>,
        Option<String>,
    ),
    Lookup,
> {
    let url = identity_url(ctx);
    let Some(id) = parse_identity_url(&url) else {
        return Err(Lookup::BadUrl);
    };
    let realm_path = format!(
        "{}/getuserrealm.srf?login={}&xml=1",
        id.base,
        crate::net::http::query_value(&ctx.target.user)
    );
    let openid_path = format!(
        "{}/{}/.well-known/openid-configuration",
        id.base,
        crate::net::http::query_value(domain)
    );
    // HTTPS_PROXY and NO_PROXY decide, the same for every mailbox of the run.
    let proxy = match crate::net::proxy::from_env(&id.host, id.port) {
        Ok(p) => p,
        Err(e) => return Err(Lookup::Proxy(id.host.clone(), e.to_string())),
    };
    let via = proxy.as_ref().map(|p| p.to_string());
    let ask = || async {
        // One look-up (of the identity host, or of the proxy) serves both requests.
        let route = match &proxy {
            Some(p) => match resolve(ctx, &p.host).await {
                Ok(addrs) => http::Route::Proxy {
                    proxy: p.clone(),
                    addrs,
                },
                Err(e) => {
                    let e = format!("the proxy {p} could not be resolved: {e}");
                    return (Err(e.clone()), Err(e));
                }
            },
            None => match resolve(ctx, &id.host).await {
                Ok(addrs) => http::Route::Direct(addrs),
                Err(e) => return (Err(e.clone()), Err(e)),
            },
        };
        let (realm, openid) = tokio::join!(
            fetch(ctx, &id, &route, &realm_path),
            fetch(ctx, &id, &route, &openid_path)
        );
        (
            realm.map(|r| parse_realm(&r.body)),
            openid.map(|r| parse_openid(&r.body)),
        )
    };
    let (realm, openid) = ctx
        .common
        .tenant(format!("{url} {}", domain.to_ascii_lowercase()), ask)
        .await;
    Ok((realm, openid, via))
}

/// Says in the summary and the details whether the look-ups went through a proxy.
fn with_route(mut r: CheckResult, proxy: Option<&str>) -> CheckResult {
    if let Some(p) = proxy {
        r.summary.push_str(&format!(" (through the proxy {p})"));
    }
    match r.details.as_object_mut() {
        Some(d) => {
            d.insert("proxy".into(), serde_json::json!(proxy));
        }
        None => r.details = serde_json::json!({ "proxy": proxy }),
    }
    r
}

/// What the user realm and the OpenID configuration said, or why they could not be
/// asked: the same for every mailbox of a domain.
pub type Answers = (
    Result<Option<Realm>, String>,
    Result<Option<OpenId>, String>,
);

/// Turns the look-up answers into findings.
pub fn assess(ctx: &Ctx, realm: Option<&Realm>, openid: Option<&OpenId>) -> CheckResult {
    let domain = ctx.target.domain.as_deref().unwrap_or_default();
    let mut findings = Vec::new();
    let cloud = cloud_of(realm, openid);
    let namespace = realm
        .map(|r| r.namespace_type.as_str())
        .unwrap_or("Unknown");
    let unknown =
        namespace.eq_ignore_ascii_case("Unknown") && openid.is_none_or(|o| o.tenant_id.is_none());
    let details = serde_json::json!({
        "namespace_type": namespace,
        "federation_brand_name": realm.and_then(|r| r.federation_brand_name.clone()),
        "auth_url": realm.and_then(|r| r.auth_url.clone()),
        "cloud_instance_name": realm.and_then(|r| r.cloud_instance_name.clone())
            .or_else(|| openid.and_then(|o| o.cloud_instance_name.clone())),
        "tenant_id": openid.and_then(|o| o.tenant_id.clone()),
        "tenant_region_scope": openid.and_then(|o| o.tenant_region_scope.clone()),
        "tenant_region_sub_scope": openid.and_then(|o| o.tenant_region_sub_scope.clone()),
        "cloud": cloud,
    });
    if unknown {
        findings.push(Finding::new(
            "TENANT_NOT_FOUND",
            Severity::Critical,
            format!("no Microsoft 365 tenant has the domain {domain}"),
        ));
        let r = CheckResult::new(Status::Fail, format!("{domain}: no Microsoft 365 tenant"));
        return r.with_findings(findings).with_details(details);
    }
    let mut summary = format!("{domain}: {namespace}");
    if let Some(t) = openid.and_then(|o| o.tenant_id.as_deref()) {
        summary.push_str(&format!(", tenant {t}"));
    }
    if namespace.eq_ignore_ascii_case("Federated") {
        let brand = realm
            .and_then(|r| r.federation_brand_name.clone())
            .unwrap_or_else(|| domain.to_string());
        let idp = realm
            .and_then(|r| r.auth_url.as_deref())
            .and_then(|u| u.split('/').nth(2))
            .map(|h| format!(" at {h}"))
            .unwrap_or_default();
        findings.push(Finding::new(
            "FEDERATED_DOMAIN",
            Severity::Warning,
            format!("passwords for {domain} are checked by {brand}'s own identity provider{idp}, not by Microsoft"),
        ));
    }
    let global_endpoints: Vec<&str> = ctx
        .target
        .endpoints
        .iter()
        .filter(|e| e.host.ends_with("office365.com") || e.host.ends_with("outlook.com"))
        .map(|e| e.host.as_str())
        .collect();
    if cloud != Cloud::Global {
        summary.push_str(match cloud {
            Cloud::UsGovernment => ", US Government cloud",
            Cloud::China => ", cloud operated by 21Vianet",
            Cloud::Global => "",
        });
        if !global_endpoints.is_empty() {
            let right = match cloud {
                Cloud::UsGovernment => {
                    "outlook.office365.us (GCC High) or outlook-dod.office365.us (DoD)"
                }
                _ => "partner.outlook.cn",
            };
            findings.push(Finding::new(
                "SOVEREIGN_CLOUD_ENDPOINT",
                Severity::Critical,
                format!(
                    "the tenant lives in a national cloud but the test used the global endpoints ({}); use {right}",
                    global_endpoints.join(", ")
                ),
            ));
        }
    }
    let status = CheckResult::status_from(&findings);
    CheckResult::new(status, summary)
        .with_findings(findings)
        .with_details(details)
}

async fn fetch(
    ctx: &Ctx,
    id: &IdentityUrl,
    route: &http::Route,
    path: &str,
) -> Result<http::Response, String> {
    let t = ctx.net.timeout;
    http::get_https(route, &id.host, id.port, path, &ctx.net.extra_roots, t).await
}

/// Through the tool's own resolver, so `--dns-server` applies here too.
async fn resolve(ctx: &Ctx, host: &str) -> Result<Vec<std::net::IpAddr>, String> {
    let r = ctx.common.resolver(&ctx.net)?;
    r.addresses(host).await.map_err(|e| e.to_string())
}

/// What `getuserrealm.srf?xml=1` says about a login name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Realm {
    pub namespace_type: String,
    pub domain_name: Option<String>,
    pub federation_brand_name: Option<String>,
    pub cloud_instance_name: Option<String>,
    pub auth_url: Option<String>,
}

/// The text inside the first `<tag>...</tag>` (no attributes on the closing tag,
/// entities decoded for the five XML basics). Enough for the flat RealmInfo body.
fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    let raw = body[start..start + len].trim();
    (!raw.is_empty()).then(|| {
        let text = raw
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        crate::net::scrub::escape_controls(&text).into_owned()
    })
}

/// Parses the RealmInfo XML; None when the body is not a RealmInfo document.
pub fn parse_realm(body: &str) -> Option<Realm> {
    if !body.contains("<RealmInfo") {
        return None;
    }
    Some(Realm {
        namespace_type: xml_tag(body, "NameSpaceType").unwrap_or_else(|| "Unknown".into()),
        domain_name: xml_tag(body, "DomainName"),
        federation_brand_name: xml_tag(body, "FederationBrandName"),
        cloud_instance_name: xml_tag(body, "CloudInstanceName"),
        auth_url: xml_tag(body, "AuthURL"),
    })
}

/// What the tenant's OpenID configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OpenId {
    pub tenant_id: Option<String>,
    pub tenant_region_scope: Option<String>,
    pub tenant_region_sub_scope: Option<String>,
    pub cloud_instance_name: Option<String>,
    /// AADSTS error code when the tenant is unknown (e.g. 90002).
    pub error_code: Option<u64>,
}

pub fn parse_openid(body: &str) -> Option<OpenId> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(|x| crate::net::scrub::escape_controls(x).into_owned())
    };
    let tenant_id = s("issuer").and_then(|iss| {
        iss.split('/')
            .find(|part| part.len() == 36 && part.chars().filter(|c| *c == '-').count() == 4)
            .map(str::to_string)
    });
    let error_code = v
        .get("error_codes")
        .and_then(|c| c.as_array())
        .and_then(|a| a.first())
        .and_then(|c| c.as_u64());
    Some(OpenId {
        tenant_id,
        tenant_region_scope: s("tenant_region_scope"),
        tenant_region_sub_scope: s("tenant_region_sub_scope"),
        cloud_instance_name: s("cloud_instance_name"),
        error_code,
    })
}

/// The national cloud a tenant lives in, from what the look-ups said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    Global,
    UsGovernment,
    China,
}

pub fn cloud_of(realm: Option<&Realm>, openid: Option<&OpenId>) -> Cloud {
    let names = [
        realm.and_then(|r| r.cloud_instance_name.as_deref()),
        openid.and_then(|o| o.cloud_instance_name.as_deref()),
    ];
    for n in names.into_iter().flatten() {
        let n = n.to_ascii_lowercase();
        if n.ends_with("microsoftonline.us") {
            return Cloud::UsGovernment;
        }
        if n.ends_with("microsoftonline.cn") || n.contains("chinacloudapi") {
            return Cloud::China;
        }
    }
    match openid.and_then(|o| o.tenant_region_scope.as_deref()) {
        Some(s) if s.eq_ignore_ascii_case("USGov") || s.eq_ignore_ascii_case("USG") => {
            Cloud::UsGovernment
        }
        _ => Cloud::Global,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shape from https://github.com/toneillcodes/EntraID-API-Library/blob/95caa673cd50a7e54b85d789ecc22088820fd09c/apis/web/recon/user-realm-discovery.md
    const MANAGED: &str = r#"<RealmInfo Success="true"><State>4</State><UserState>1</UserState><Login>example.com</Login><NameSpaceType>Managed</NameSpaceType><DomainName>example.com</DomainName><IsFederatedNS>false</IsFederatedNS><FederationBrandName>Example Corp</FederationBrandName><CloudInstanceName>microsoftonline.com</CloudInstanceName><CloudInstanceIssuerUri>urn:federation:MicrosoftOnline</CloudInstanceIssuerUri></RealmInfo>"#;

    #[test]
    fn identity_urls_parse() {
        assert_eq!(
            parse_identity_url("https://login.microsoftonline.com"),
            Some(IdentityUrl {
                host: "login.microsoftonline.com".into(),
                port: 443,
                base: String::new()
            })
        );
        assert_eq!(
            parse_identity_url("https://127.0.0.1:8443/id/"),
            Some(IdentityUrl {
                host: "127.0.0.1".into(),
                port: 8443,
                base: "/id".into()
            })
        );
        assert!(parse_identity_url("http://x").is_none());
        assert!(parse_identity_url("https://").is_none());
        assert!(parse_identity_url("https://h:99999").is_none());
    }

    #[test]
    fn managed_realm_parses() {
        let r = parse_realm(MANAGED).expect("realm");
        assert_eq!(r.namespace_type, "Managed");
        assert_eq!(r.federation_brand_name.as_deref(), Some("Example Corp"));
        assert_eq!(cloud_of(Some(&r), None), Cloud::Global);
    }

    #[test]
    fn not_a_realm_document_is_none_and_garbage_never_panics() {
        assert!(parse_realm("<html>oops</html>").is_none());
        for s in [
            "<RealmInfo",
            "<RealmInfo><NameSpaceType>",
            "<RealmInfo></NameSpaceType><NameSpaceType>",
        ] {
            let _ = parse_realm(s);
        }
    }

    #[test]
    fn openid_gives_tenant_id_scope_and_unknown_tenant_error() {
        let body = r#"{"issuer":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","tenant_region_scope":"USGov","tenant_region_sub_scope":"DODCON","cloud_instance_name":"microsoftonline.us"}"#;
        let o = parse_openid(body).expect("json");
        assert_eq!(
            o.tenant_id.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(cloud_of(None, Some(&o)), Cloud::UsGovernment);
        let err = r#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nosuch.example' not found.","error_codes":[90002]}"#;
        assert_eq!(parse_openid(err).expect("json").error_code, Some(90002));
    }
}
