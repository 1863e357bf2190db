//! Windows' own proxy setting (Internet Options, per user), used when neither
//! `HTTPS_PROXY` nor `https_proxy` is set. It lives in the registry under
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`:
//! `ProxyEnable` (1 = on), `ProxyServer` (`host:port` for every protocol, or
//! `http=host:port;https=host:port;...`) and `ProxyOverride` (hosts that bypass
//! it, `;`-separated, with `<local>` for names without a dot).
//!
//! An automatic configuration script (PAC, `AutoConfigURL`, or WPAD) is not
//! run: with one of those, set `HTTPS_PROXY`. The translation is plain text
//! work, tested on every platform; only the registry read is Windows code.

/// What the setting means for HTTPS: the proxy (as a URL for `proxy::choose`)
/// and the bypass list in `NO_PROXY` form, and whether names without a dot
/// bypass it (`<local>`). None when the setting names no proxy for HTTPS.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    pub url: String,
    pub no_proxy: String,
    pub local_bypass: bool,
}

/// Reads `ProxyServer` and `ProxyOverride` as Windows does for an HTTPS request.
pub fn translate(enabled: bool, server: &str, overrides: &str) -> Option<Setting> {
    if !enabled {
        return None;
    }
    let server = server.trim();
    let hostport = if server.contains('=') {
        // Per scheme: only the https entry serves HTTPS; without one, direct.
        server.split(';').find_map(|e| {
            let (scheme, hp) = e.split_once('=')?;
            scheme
                .trim()
                .eq_ignore_ascii_case("https")
                .then(|| hp.trim())
        })?
    } else {
        server.split(';').next().unwrap_or("").trim()
    };
    let hostport = hostport
        .trim_start_matches("http://")
        .trim_start_matches("HTTP://");
    if hostport.is_empty() {
        return None;
    }
    let mut local_bypass = false;
    let mut list = Vec::new();
    for e in overrides
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if e.eq_ignore_ascii_case("<local>") {
            local_bypass = true;
        } else {
            list.push(e);
        }
    }
    Some(Setting {
        url: format!("http://{hostport}"),
        no_proxy: list.join(","),
        local_bypass,
    })
}

/// The current user's setting, from the registry; None when it cannot be read
/// or names no proxy.
#[cfg(windows)]
pub fn read() -> Option<Setting> {
    use winreg::enums::HKEY_CURRENT_USER;
    let key = winreg::RegKey::predef(HKEY_CURRENT_USER)
        .open_subkey(r"Software\Microsoft\Windows\CurrentVersion\Internet Settings")
        .ok()?;
    let enabled = key.get_value::<u32, _>("ProxyEnable").unwrap_or(0) == 1;
    let server: String = key.get_value("ProxyServer").unwrap_or_default();
    let overrides: String = key.get_value("ProxyOverride").unwrap_or_default();
    translate(enabled, &server, &overrides)
}

/// Not Windows: there is no such setting.
#[cfg(not(windows))]
pub fn read() -> Option<Setting> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_proxy_for_every_protocol() {
        let s = translate(
            true,
            "proxy.contoso.com:8080",
            "*.contoso.com;10.1.2.3;<local>",
        )
        .expect("a proxy");
        assert_eq!(s.url, "http://proxy.contoso.com:8080");
        assert_eq!(s.no_proxy, "*.contoso.com,10.1.2.3");
        assert!(s.local_bypass);
    }

    #[test]
    fn per_scheme_settings_use_the_https_entry_or_none() {
        let s = translate(true, "http=web:80;https=secure:8443;ftp=f:21", "").expect("a proxy");
        assert_eq!(s.url, "http://secure:8443");
        assert!(!s.local_bypass);
        assert_eq!(translate(true, "http=web:80;ftp=f:21", ""), None);
    }

    #[test]
    fn a_disabled_or_empty_setting_is_no_proxy() {
        assert_eq!(translate(false, "proxy:8080", ""), None);
        assert_eq!(translate(true, "", ""), None);
        assert_eq!(translate(true, "https=", ""), None);
    }
}
