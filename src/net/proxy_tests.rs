//! Tests of the proxy settings, NO_PROXY matching and the CONNECT exchange.

use super::*;

fn set(v: &str) -> Option<(&'static str, String)> {
    Some(("HTTPS_PROXY", v.to_string()))
}

#[test]
fn proxy_urls_parse_and_credentials_are_dropped() {
    let p = |s: &str| parse_url("HTTPS_PROXY", s).map(|p| p.to_string());
    assert_eq!(p("http://proxy.corp:3128").expect("ok"), "proxy.corp:3128");
    assert_eq!(p("http://proxy.corp:3128/").expect("ok"), "proxy.corp:3128");
    assert_eq!(p("proxy.corp:8080").expect("ok"), "proxy.corp:8080");
    assert_eq!(p("HTTP://Proxy.Corp").expect("ok"), "proxy.corp:80");
    assert_eq!(p("http://[::1]:3128").expect("ok"), "[::1]:3128");
    assert_eq!(p("10.0.0.1:3128").expect("ok"), "10.0.0.1:3128");
    let with_user = p("http://bob:S3cret%40x@proxy.corp:3128").expect("ok");
    assert_eq!(with_user, "proxy.corp:3128");
    for bad in [
        "https://proxy.corp:3128",
        "socks5://proxy.corp:1080",
        "http://proxy.corp:99999",
        "http://proxy.corp:0",
        "http://",
        "http://pro xy:3128",
        "http://[::1",
    ] {
        let e = parse_url("HTTPS_PROXY", bad).expect_err(bad).to_string();
        assert!(e.starts_with("HTTPS_PROXY is not a usable proxy"), "{e}");
    }
    // A bad URL never echoes what may be a password.
    let e = parse_url("HTTPS_PROXY", "socks5://bob:S3cret@proxy:1080")
        .expect_err("bad")
        .to_string();
    assert!(!e.contains("S3cret"), "{e}");
}

#[test]
fn no_proxy_matches_domains_addresses_ranges_and_ports() {
    let b = |list: &str, host: &str, port: u16| bypassed(list, host, port);
    assert!(b("*", "login.microsoftonline.com", 443));
    assert!(b("microsoftonline.com", "login.microsoftonline.com", 443));
    assert!(b(".microsoftonline.com", "login.microsoftonline.com", 443));
    assert!(b("*.microsoftonline.com", "login.microsoftonline.com", 443));
    assert!(b(
        "a.test, Login.MicrosoftOnline.com.",
        "login.microsoftonline.com",
        443
    ));
    assert!(!b("online.com", "login.microsoftonline.com", 443));
    assert!(!b("corp.example", "login.microsoftonline.com", 443));
    assert!(b(
        "login.microsoftonline.com:443",
        "login.microsoftonline.com",
        443
    ));
    assert!(!b(
        "login.microsoftonline.com:8443",
        "login.microsoftonline.com",
        443
    ));
    assert!(b("10.0.0.0/8", "10.1.2.3", 443));
    assert!(!b("10.0.0.0/8", "11.1.2.3", 443));
    assert!(b("192.0.2.7", "192.0.2.7", 443));
    assert!(b("2001:db8::/32", "2001:db8::1", 443));
    assert!(b("[2001:db8::1]:443", "2001:db8::1", 443));
    assert!(!b("", "a.test", 443));
    assert!(!b(" , ,", "a.test", 443));
}

#[test]
fn loopback_and_no_proxy_hosts_go_direct() {
    let c = |host: &str, no: Option<&str>| {
        choose(set("http://proxy.corp:3128"), no, host, 443).expect("ok")
    };
    assert_eq!(c("127.0.0.1", None), None);
    assert_eq!(c("[::1]", None), None);
    assert_eq!(c("localhost", None), None);
    assert_eq!(c("login.example.test", Some("example.test")), None);
    assert_eq!(
        c("login.example.test", Some("other.test")),
        Some(Proxy {
            host: "proxy.corp".into(),
            port: 3128
        })
    );
    assert_eq!(
        choose(None, None, "login.example.test", 443).expect("ok"),
        None
    );
}

async fn answer_with(reply: &'static [u8]) -> (Result<(), ProxyError>, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.expect("accept");
        let mut got = vec![0u8; 1024];
        let n = s.read(&mut got).await.expect("read");
        s.write_all(reply).await.expect("write");
        String::from_utf8_lossy(&got[..n]).into_owned()
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let p = Proxy {
        host: "127.0.0.1".into(),
        port: addr.port(),
    };
    let r = connect(
        &mut c,
        &p,
        "login.example.test",
        443,
        Duration::from_secs(2),
    )
    .await;
    (r, server.await.expect("join"))
}

#[tokio::test]
async fn connect_asks_for_host_and_port_only_and_reads_the_verdict() {
    let (r, req) = answer_with(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
    assert!(r.is_ok(), "{r:?}");
    assert!(
        req.starts_with(
            "CONNECT login.example.test:443 HTTP/1.1\r\nHost: login.example.test:443\r\n"
        ),
        "{req}"
    );
    assert!(!req.to_ascii_lowercase().contains("authorization"), "{req}");
    let (r, _) = answer_with(b"HTTP/1.1 403 Forbidden\x07 by policy\r\n\r\n").await;
    let e = r.expect_err("refused").to_string();
    assert!(e.contains("403 Forbidden? by policy"), "{e}");
    let (r, _) = answer_with(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
    )
    .await;
    assert!(matches!(r, Err(ProxyError::AuthRequired { .. })), "{r:?}");
    let (r, _) = answer_with(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    assert!(matches!(r, Err(ProxyError::Malformed { .. })), "{r:?}");
}

#[tokio::test]
async fn a_silent_or_dribbling_proxy_is_cut_off_at_the_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.expect("accept");
        loop {
            if s.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let p = Proxy {
        host: "127.0.0.1".into(),
        port: addr.port(),
    };
    let start = std::time::Instant::now();
    let r = connect(&mut c, &p, "a.test", 443, Duration::from_millis(400)).await;
    assert!(matches!(r, Err(ProxyError::Timeout { .. })), "{r:?}");
    assert!(
        start.elapsed() < Duration::from_millis(1400),
        "{:?}",
        start.elapsed()
    );
}
