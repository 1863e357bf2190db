//! Simulated servers on 127.0.0.1 for the tests and for `demo`: real sockets,
//! scripted answers. Nothing here is used by `check` against real servers.

pub mod dns;
pub mod graph;
pub mod identity;
pub mod oauth;
pub mod paths;
pub mod pki;
pub mod replay;
pub mod web;

/// Reads an HTTP request head (up to the blank line, at most 8 KiB), as the
/// simulated web servers take it; None when the client went away first.
pub async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 8192];
    let mut n = 0;
    while n < buf.len() {
        match stream.read(&mut buf[n..]).await {
            Ok(0) | Err(_) => return None,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}
