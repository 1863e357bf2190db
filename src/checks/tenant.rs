//! The `tenant` check (Microsoft 365): asks the identity endpoint, without
//! credentials, how the mailbox's domain signs in (managed, federated, unknown) and
//! in which cloud its tenant lives. The two look-ups (user realm and OpenID
//! configuration) run concurrently; their answers become findings such as
//! TENANT_NOT_FOUND, FEDERATED_DOMAIN and SOVEREIGN_CLOUD_ENDPOINT.
//!
//! It never sends the password; it only reads public discovery documents.

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

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
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
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
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
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
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
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
