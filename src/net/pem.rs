//! Certificates out of PEM text (RFC 7468), for the trust store and `--ca-file`.
//!
//! A trust store is public data, so it is decoded with the ordinary base64
//! engine rather than a constant-time one: a distribution's bundle (about 150
//! certificates, often read twice through `SSL_CERT_DIR`) costs each process a
//! small part of what a constant-time decoder spends on it.
//!
//! Rules, as RFC 7468 gives them for a "lax" parser: text outside the
//! encapsulation boundaries is ignored; only `CERTIFICATE` blocks are returned
//! (other labels, such as keys or `TRUSTED CERTIFICATE`, are skipped whole);
//! whitespace inside a block is ignored; a block without its end line, or whose
//! text is not base64, is an error for that block alone.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls::pki_types::CertificateDer;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Why one block could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemError {
    /// A `BEGIN` line without the matching `END` line.
    Unterminated,
    /// The text of a block is not base64.
    NotBase64,
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PemError::Unterminated => f.write_str("a certificate block has no END line"),
            PemError::NotBase64 => f.write_str("a certificate block is not base64"),
        }
    }
}

impl std::error::Error for PemError {}

/// Every `CERTIFICATE` block of `text`, in order, each decoded or the reason it
/// could not be.
pub fn certificates(text: &[u8]) -> Vec<Result<CertificateDer<'static>, PemError>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&text[at..], BEGIN) {
        let start = at + found;
        let label_at = start + BEGIN.len();
        // The label ends on its own line: looked for there only, so that a text
        // of many lines that merely start like a boundary is read once.
        let line_end =
            memchr::memchr(b'\n', &text[label_at..]).map_or(text.len(), |i| label_at + i);
        let Some(label_len) = memchr::memmem::find(&text[label_at..line_end], DASHES) else {
            // Not a boundary line: look again after it.
            at = label_at;
            continue;
        };
        let label = &text[label_at..label_at + label_len];
        let body_at = label_at + label_len + DASHES.len();
        let mut end_line = Vec::with_capacity(END.len() + label.len() + DASHES.len());
        end_line.extend_from_slice(END);
        end_line.extend_from_slice(label);
        end_line.extend_from_slice(DASHES);
        let Some(body_len) = memchr::memmem::find(&text[body_at..], &end_line) else {
            if label == b"CERTIFICATE" {
                out.push(Err(PemError::Unterminated));
            }
            break;
        };
        at = body_at + body_len + end_line.len();
        if label != b"CERTIFICATE" {
            continue;
        }
        // Line by line: a block is lines of 64 characters, each copied whole.
        let raw = &text[body_at..body_at + body_len];
        let mut body: Vec<u8> = Vec::with_capacity(raw.len());
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', raw).chain([raw.len()]) {
            body.extend_from_slice(raw[from..nl].trim_ascii());
            from = nl + 1;
        }
        let der = STANDARD.decode(&body).or_else(|_| {
            // Whitespace inside a line, which the RFC allows.
            body.retain(|b| !b.is_ascii_whitespace());
            STANDARD.decode(&body)
        });
        out.push(match der {
            Ok(der) if !der.is_empty() => Ok(CertificateDer::from(der)),
            _ => Err(PemError::NotBase64),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "-----BEGIN CERTIFICATE-----\nAQID\nBAU=\n-----END CERTIFICATE-----\n";

    #[test]
    fn reads_blocks_and_skips_other_labels_and_text() {
        let text = format!(
            "comment line\n{ONE}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\r\n\
             -----BEGIN CERTIFICATE-----\r\n  Bg cI\r\n-----END CERTIFICATE-----"
        );
        let got: Vec<Vec<u8>> = certificates(text.as_bytes())
            .into_iter()
            .map(|c| c.expect("a certificate").to_vec())
            .collect();
        assert_eq!(got, vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8]]);
    }

    #[test]
    fn a_bad_block_is_an_error_of_its_own() {
        let text = format!("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n{ONE}");
        let got = certificates(text.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], Err(PemError::NotBase64));
        assert_eq!(
            got[1].as_ref().expect("the good block").as_ref(),
            &[1, 2, 3, 4, 5]
        );
        let cut = &ONE[..ONE.len() - 26];
        assert_eq!(
            certificates(cut.as_bytes()),
            vec![Err(PemError::Unterminated)]
        );
        assert!(certificates(b"no pem here").is_empty());
        assert!(certificates(b"-----BEGIN ").is_empty());
    }

    #[test]
    fn lines_that_only_start_like_a_boundary_are_read_once() {
        let mut text = "-----BEGIN x\n".repeat(200_000);
        text.push_str(ONE);
        let got = certificates(text.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].as_ref().expect("the block").as_ref(),
            &[1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn agrees_with_the_reference_parser() {
        use rustls::pki_types::pem::PemObject as _;
        let mut text = String::new();
        for n in 0..3 {
            let key = rcgen::KeyPair::generate().expect("a key");
            let params =
                rcgen::CertificateParams::new(vec![format!("h{n}.example")]).expect("parameters");
            text.push_str(&params.self_signed(&key).expect("a certificate").pem());
            text.push_str("# between blocks\n");
        }
        // This machine's bundle too, where there is one.
        if let Ok(bundle) = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt") {
            text.push_str(&bundle);
        }
        let ours: Vec<_> = certificates(text.as_bytes())
            .into_iter()
            .map(|c| c.expect("ours"))
            .collect();
        let theirs: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes())
            .map(|c| c.expect("theirs"))
            .collect();
        assert!(ours.len() >= 3);
        assert_eq!(ours, theirs);
    }
}
