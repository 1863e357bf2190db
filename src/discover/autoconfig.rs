//! The domain's own autoconfig document (Thunderbird's `config-v1.1.xml` format, as
//! the IETF draft `draft-ietf-mailmaint-autoconfig` describes it), over HTTPS only:
//! `https://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=ADDRESS`, then
//! `https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`. Both are asked at
//! once, the first preferred. The certificate is verified; a redirect is followed
//! only within the domain (at most two); the whole look-up sits under one timeout.
//!
//! What the document says is untrusted: only host names that are host names, port
//! numbers, the three socket types and the known sign-in methods are kept.

use crate::net::http;
use crate::net::resolver::Resolver;
use crate::target::discovery::{Published, Step};
use crate::vocab::{Protocol, TlsMode};

/// At most this many server entries are read from one document.
const MAX_SERVERS: usize = 32;
/// Redirects followed within the domain.
const MAX_REDIRECTS: usize = 2;

/// What the autoconfig look-up found.
#[derive(Debug, Clone, Default)]
pub struct AutoconfigAnswer {
    pub found: Vec<Published>,
    pub step: Option<Step>,
}

/// The two places, in order of preference: (host, path).
pub fn places(address: &str, domain: &str) -> [(String, String); 2] {
    [
        (
            format!("autoconfig.{domain}"),
            format!(
                "/mail/config-v1.1.xml?emailaddress={}",
                crate::net::http::query_value(address)
            ),
        ),
        (
            domain.to_string(),
            "/.well-known/autoconfig/mail/config-v1.1.xml".to_string(),
        ),
    ]
}

/// Asks both places at once; the first that gives a document with servers wins.
pub async fn lookup(
    resolver: &Resolver,
    opts: &super::Options,
    address: &str,
    domain: &str,
) -> AutoconfigAnswer {
    let [first, second] = places(address, domain);
    let ask = |(host, path): (String, String)| async move {
        let url = format!("https://{host}{}", path.split('?').next().unwrap_or(""));
        let r = tokio::time::timeout(opts.timeout, fetch(resolver, opts, domain, host, path))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", opts.timeout.as_secs_f64())))
            .and_then(|(body, url)| parse(&body, domain, &url).map(|f| (f, url)));
        (url, r)
    };
    let (a, b) = tokio::join!(ask(first), ask(second));
    let mut notes = Vec::new();
    let mut out = AutoconfigAnswer::default();
    let mut failed = false;
    for (url, r) in [a, b] {
        match r {
            Ok((found, _)) if !found.is_empty() && out.found.is_empty() => {
                notes.push(format!("{url}: {} servers", found.len()));
                out.found = found;
            }
            Ok((found, _)) if !found.is_empty() => {
                notes.push(format!("{url}: {} servers (not used)", found.len()));
            }
            Ok(_) => notes.push(format!("{url}: no IMAP, POP3 or SMTP server")),
            Err(why) => {
                failed |= !why.starts_with("HTTP 404") && !why.contains("does not exist");
                notes.push(format!("{url}: {why}"));
            }
        }
    }
    let outcome = if !out.found.is_empty() {
        "found"
    } else if failed {
        "failed"
    } else {
        "none"
    };
    out.step = Some(Step {
        source: "autoconfig",
        outcome,
        detail: notes.join("; "),
    });
    out
}

/// GET with redirects followed inside `domain` only; the body and the final URL.
async fn fetch(
    resolver: &Resolver,
    opts: &super::Options,
    domain: &str,
    mut host: String,
    mut path: String,
) -> Result<(String, String), String> {
    let mut port = opts.port;
    for _ in 0..=MAX_REDIRECTS {
        let route = http::route_for(resolver, &host, port).await?;
        let resp =
            http::get_https(&route, &host, port, &path, &opts.extra_roots, opts.timeout).await?;
        let url = format!("https://{host}{}", path.split('?').next().unwrap_or(""));
        match resp.status {
            200 => return Ok((resp.body, url)),
            301 | 302 | 303 | 307 | 308 => {
                let location = resp
                    .headers
                    .iter()
                    .find(|(k, _)| k == "location")
                    .map(|(_, v)| v.trim().to_string())
                    .ok_or("a redirect without a Location")?;
                (host, port, path) = redirect_target(&location, &host, port, domain)?;
            }
            s => return Err(format!("HTTP {s}")),
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Where a redirect points, if it stays on HTTPS inside `domain`.
pub fn redirect_target(
    location: &str,
    host: &str,
    port: u16,
    domain: &str,
) -> Result<(String, u16, String), String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Ok((host.to_string(), port, location.to_string()));
    }
    let Some(rest) = location.strip_prefix("https://") else {
        return Err("redirected away from HTTPS: not followed".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (h, p) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| "a redirect with a bad port")?,
        ),
        None => (authority, 443),
    };
    let h = h.to_ascii_lowercase();
    let inside = h == domain || h.ends_with(&format!(".{domain}"));
    if !inside || !super::valid_host(&h) {
        return Err(format!(
            "redirected to another domain ({}): not followed",
            crate::net::excerpt(&h)
        ));
    }
    // A redirect that names no port keeps the one in use (tests, private setups).
    let p = if authority.contains(':') { p } else { port };
    Ok((h, p, path))
}

/// The IMAP, POP3 and SMTP servers of a config-v1.1 document, in its order.
pub fn parse(xml: &str, domain: &str, via: &str) -> Result<Vec<Published>, String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 20_000,
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|_| "not a well-formed XML document".to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "clientConfig" {
        return Err("not an autoconfig document (no clientConfig)".into());
    }
    let text = |n: roxmltree::Node, tag: &str| {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == tag)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let mut out = Vec::new();
    let servers = root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "emailProvider")
        .flat_map(|p| p.children())
        .filter(|n| {
            n.is_element() && matches!(n.tag_name().name(), "incomingServer" | "outgoingServer")
        });
    for s in servers.take(MAX_SERVERS) {
        let protocol = match s.attribute("type") {
            Some("imap") => Protocol::Imap,
            Some("pop3") => Protocol::Pop,
            Some("smtp") => Protocol::Smtp,
            _ => continue,
        };
        let Some(host) = text(s, "hostname").map(|h| h.replace("%EMAILDOMAIN%", domain)) else {
            continue;
        };
        let Some(port) = text(s, "port")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p > 0)
        else {
            continue;
        };
        if !super::valid_host(&host) {
            continue;
        }
        let tls = match text(s, "socketType").as_deref() {
            Some("SSL") => TlsMode::Implicit,
            Some("STARTTLS") => TlsMode::Starttls,
            Some("plain") => TlsMode::None,
            _ => crate::target::tls_mode_for_port(protocol, port),
        };
        let auth = s
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "authentication")
            .filter_map(|c| c.text())
            .map(|t| known_auth(t.trim()))
            .take(8)
            .collect();
        out.push(Published {
            protocol,
            host: host.to_ascii_lowercase(),
            port,
            tls,
            source: "autoconfig",
            via: via.to_string(),
            auth,
        });
    }
    Ok(out)
}

/// The sign-in methods the format defines; anything else is "other".
fn known_auth(t: &str) -> String {
    const KNOWN: &[&str] = &[
        "password-cleartext",
        "password-encrypted",
        "OAuth2",
        "NTLM",
        "GSSAPI",
        "TLS-client-cert",
        "client-IP-address",
        "none",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(t))
        .map_or_else(|| "other".to_string(), |k| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.net">
    <domain>example.net</domain>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>OAuth2</authentication>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.net</hostname><port>1110</port><socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.net</hostname><port>2465</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><authentication>x-made-up</authentication>
    </outgoingServer>
    <incomingServer type="ews"><url>https://example.net/ews</url></incomingServer>
    <incomingServer type="imap"><hostname>bad host/name</hostname><port>993</port></incomingServer>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn servers_ports_socket_types_and_sign_in_methods_are_read() {
        let found = parse(
            DOC,
            "example.net",
            "https://autoconfig.example.net/mail/config-v1.1.xml",
        )
        .expect("parses");
        let got: Vec<(Protocol, &str, u16, TlsMode)> = found
            .iter()
            .map(|p| (p.protocol, p.host.as_str(), p.port, p.tls))
            .collect();
        assert_eq!(
            got,
            vec![
                (Protocol::Imap, "imap.example.net", 993, TlsMode::Implicit),
                (Protocol::Pop, "pop.example.net", 1110, TlsMode::Starttls),
                (Protocol::Smtp, "smtp.example.net", 2465, TlsMode::Implicit),
            ]
        );
        assert!(found[0].oauth2_only());
        assert_eq!(found[2].auth, vec!["password-cleartext", "other"]);
        assert!(!found[2].oauth2_only());
    }

    #[test]
    fn garbage_dtds_and_other_documents_are_errors_not_panics() {
        for bad in [
            "",
            "<html><body>not found</body></html>",
            "<clientConfig><emailProvider>",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><clientConfig>&a;</clientConfig>",
        ] {
            assert!(parse(bad, "example.net", "u").is_err(), "{bad:?}");
        }
        assert_eq!(parse("<clientConfig/>", "example.net", "u"), Ok(Vec::new()));
    }

    #[test]
    fn redirects_stay_inside_the_domain_and_on_https() {
        let t = |l: &str| redirect_target(l, "example.net", 8443, "example.net");
        assert_eq!(
            t("https://www.example.net/a"),
            Ok(("www.example.net".into(), 8443, "/a".into()))
        );
        assert_eq!(t("/b"), Ok(("example.net".into(), 8443, "/b".into())));
        assert_eq!(
            t("https://example.net:9443/c"),
            Ok(("example.net".into(), 9443, "/c".into()))
        );
        assert!(t("https://evil.example/x").is_err());
        assert!(t("https://notexample.net/x").is_err());
        assert!(t("http://example.net/x").is_err());
        assert!(t("//evil.example/x").is_err());
    }

    #[test]
    fn the_address_is_percent_encoded_in_the_query() {
        let [(h, p), (h2, _)] = places("a+b@example.net", "example.net");
        assert_eq!(h, "autoconfig.example.net");
        assert_eq!(p, "/mail/config-v1.1.xml?emailaddress=a%2Bb@example.net");
        assert_eq!(h2, "example.net");
    }
}
