//! Questions asked of the loaded knowledge base: a diagnosis by code, a provider
//! by id, by mail domain, by MX host, by server host name or by greeting
//! fingerprint, a dated fact by id.

use super::{DiagnosisDef, FactDef, Knowledge, ProviderDef};

impl Knowledge {
    pub fn diagnosis(&self, code: &str) -> Option<&DiagnosisDef> {
        self.by_code.get(code).map(|&i| &self.diagnoses[i])
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderDef> {
        self.providers.iter().find(|p| p.id == id)
    }

    pub fn fact(&self, id: &str) -> Option<&FactDef> {
        self.facts.iter().find(|f| f.id == id)
    }

    /// The question that tells the diagnoses `a` and `b` apart, in either order.
    pub fn question(&self, a: &str, b: &str) -> Option<&super::QuestionDef> {
        self.questions.iter().find(|q| {
            q.between.iter().any(|c| c == a) && q.between.iter().any(|c| c == b) && a != b
        })
    }

    /// What Microsoft documents for the AADSTS code `code`.
    pub fn entra(&self, code: u32) -> Option<&super::entra::EntraCode> {
        self.entra.code(code)
    }
}

/// The provider whose MX patterns match the best (lowest preference) MX host.
pub fn provider_for_mx(kb: &Knowledge, mx: &[(u16, String)]) -> Option<String> {
    let mut sorted: Vec<&(u16, String)> = mx.iter().collect();
    sorted.sort();
    sorted.iter().find_map(|(_, host)| {
        kb.provider_mx
            .iter()
            .find(|(_, mxs, _)| mxs.iter().any(|r| r.is_match(host)))
            .map(|(id, _, _)| id.clone())
    })
}

/// The provider a mail domain belongs to (gmail.com, outlook.com, ...).
pub fn provider_for_domain(kb: &Knowledge, domain: &str) -> Option<String> {
    kb.provider_mx
        .iter()
        .find(|(_, _, domains)| domains.iter().any(|r| r.is_match(domain)))
        .map(|(id, _, _)| id.clone())
}

/// The provider whose servers include `host`: a host of its profile's endpoints or
/// of its `servers` list (smtp.office365.com is Microsoft 365's, smtp.gmail.com is
/// Google's). Any other host is that host's own server: None.
pub fn provider_for_server(kb: &Knowledge, host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    kb.providers
        .iter()
        .find(|p| {
            [&p.smtp, &p.imap, &p.pop]
                .into_iter()
                .flatten()
                .map(|e| e.host.as_str())
                .chain(p.servers.iter().map(String::as_str))
                .any(|h| h.eq_ignore_ascii_case(host))
        })
        .map(|p| p.id.clone())
}

/// The provider a greeting fingerprint (e.g. "exchange-online") belongs to.
pub fn provider_for_fingerprint(kb: &Knowledge, fingerprint: &str) -> Option<String> {
    kb.providers
        .iter()
        .find(|p| p.fingerprints.iter().any(|f| f == fingerprint))
        .map(|p| p.id.clone())
}
