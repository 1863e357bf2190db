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

/// Waits `d`, as a network's round trip would, to within a fraction of a
/// millisecond. tokio's timer wakes on whole milliseconds and is late by one or
/// two, which over a check's eight flights would add ten milliseconds the
/// network model does not hold: the last stretch is slept on a thread of the
/// blocking pool, by the kernel's high-resolution timer.
pub async fn pause(d: std::time::Duration) {
    const COARSE_MARGIN: std::time::Duration = std::time::Duration::from_millis(3);
    if d.is_zero() {
        return;
    }
    let until = std::time::Instant::now() + d;
    if d > COARSE_MARGIN {
        tokio::time::sleep(d - COARSE_MARGIN).await;
    }
    let left = until.saturating_duration_since(std::time::Instant::now());
    if !left.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(left)).await;
    }
}
