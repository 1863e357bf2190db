//! SASL payloads shared by SMTP, IMAP and POP3: PLAIN (RFC 4616), LOGIN, XOAUTH2,
//! and decoding of server challenges.
//!
//! Every value that carries a credential comes back as `Zeroizing<String>` and
//! is built in zeroized buffers; nothing here logs, formats or keeps it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Longest challenge text worth decoding.
pub const MAX_CHALLENGE_LEN: usize = 16 * 1024;

fn encode_secret(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(
        base64::encoded_len(bytes.len(), true).unwrap_or(0),
    ));
    STANDARD.encode_string(bytes, &mut out);
    out
}

/// The PLAIN initial response: base64 of `\0user\0password` (empty authzid).
pub fn plain_initial(user: &str, password: &str) -> Zeroizing<String> {
    let mut msg = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 2));
    msg.push(0);
    msg.extend_from_slice(user.as_bytes());
    msg.push(0);
    msg.extend_from_slice(password.as_bytes());
    encode_secret(&msg)
}

/// The LOGIN answer to the `Username:` prompt.
pub fn login_user(user: &str) -> String {
    STANDARD.encode(user.as_bytes())
}

/// The LOGIN answer to the `Password:` prompt.
pub fn login_password(password: &str) -> Zeroizing<String> {
    encode_secret(password.as_bytes())
}

/// The XOAUTH2 initial response: base64 of
/// `user=<user>\x01auth=Bearer <token>\x01\x01`.
pub fn xoauth2(user: &str, token: &str) -> Zeroizing<String> {
    let mut msg = Zeroizing::new(Vec::with_capacity(user.len() + token.len() + 22));
    msg.extend_from_slice(b"user=");
    msg.extend_from_slice(user.as_bytes());
    msg.extend_from_slice(b"\x01auth=Bearer ");
    msg.extend_from_slice(token.as_bytes());
    msg.extend_from_slice(b"\x01\x01");
    encode_secret(&msg)
}

/// Decodes a server challenge: the text after `334 ` (SMTP) or `+ ` (IMAP, POP3),
/// e.g. `VXNlcm5hbWU6` -> `Username:`. Invalid UTF-8 is replaced; None when
/// the text is not base64 or is too long to be a challenge.
pub fn decode_challenge(text: &str) -> Option<String> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.len() > MAX_CHALLENGE_LEN {
        return None;
    }
    let bytes = STANDARD.decode(text).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_initial_matches_rfc4616_layout() {
        // "\0tim\0tanstaaftanstaaf" from RFC 4616 section 4.
        assert_eq!(
            plain_initial("tim", "tanstaaftanstaaf").as_str(),
            "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
    }

    #[test]
    fn login_helpers_encode_each_answer() {
        assert_eq!(login_user("user@example.com"), "dXNlckBleGFtcGxlLmNvbQ==");
        assert_eq!(login_password("p").as_str(), "cA==");
    }

    #[test]
    fn xoauth2_layout_matches_the_documented_example() {
        // The example in Microsoft's XOAUTH2 documentation:
        // user=test@contoso.onmicrosoft.com^Aauth=Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA^A^A
        assert_eq!(
            xoauth2(
                "test@contoso.onmicrosoft.com",
                "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"
            )
            .as_str(),
            "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="
        );
    }

    #[test]
    fn challenges_decode_to_prompts() {
        assert_eq!(
            decode_challenge("VXNlcm5hbWU6").as_deref(),
            Some("Username:")
        );
        assert_eq!(
            decode_challenge(" UGFzc3dvcmQ6\r\n").as_deref(),
            Some("Password:")
        );
        assert_eq!(decode_challenge("").as_deref(), Some(""));
        assert_eq!(decode_challenge("not base64!"), None);
        // Google's XOAUTH2 error challenge.
        assert_eq!(
            decode_challenge("eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K").as_deref(),
            Some("{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":\"https://mail.google.com/\"}\n")
        );
    }
}
