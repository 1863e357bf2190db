//! The one scrubber for untrusted text. Built once per run from every secret the
//! run holds, it knows each secret in every form a server could quote it back:
//! the value as given, trimmed and cleaned (quotes, spaces, dashes and invisible
//! characters removed), escaped as in an IMAP quoted string or JSON, URL-encoded,
//! hex, base64 (standard and URL-safe) at every alignment inside a longer payload,
//! and the exact SASL payloads this tool sends (AUTH PLAIN, AUTH LOGIN, XOAUTH2).
//! Every piece of server text passes through `scrub` before it is stored: each form,
//! and any stretch of one of at least 10 characters (12 for base64: a quote cut
//! short or split over lines), becomes `<redacted>` (a base64 match takes the whole
//! base64 run around it), then
//! control and bidirectional-format characters are shown escaped (`\x1b`,
//! `\u{202e}`), so no renderer can send a terminal escape.
//!
//! The forms are held as `Secret`s; this module never formats, logs or returns
//! them, and it touches no network.

use crate::secret::{Secret, REDACTED};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use std::borrow::Cow;
use zeroize::Zeroizing;

/// Base64 slices shorter than this are not looked for: they would match ordinary words.
const MIN_ENCODED: usize = 4;
/// A stretch of a secret's text this long (in bytes) is redacted wherever it
/// shows, even without the rest: a quote cut short or split over lines.
const PLAIN_WINDOW: usize = 10;
/// The same for base64 forms (12 characters carry 9 bytes).
const ENCODED_WINDOW: usize = 12;

/// Needles and two indexes: on the first eight bytes of each needle (and of every
/// `window`-byte stretch of one, so that a fragment of a secret, such as a quote
/// cut short or split over lines, is found as well as the whole), and on the
/// first four bytes of needles shorter than eight. Eight bytes keep the number of
/// candidates per position small even for a batch's many secrets, whatever text
/// a server sends.
struct Needles {
    items: Vec<Secret>,
    /// Fragments this long or longer are found; 0 finds only whole needles.
    window: usize,
    /// [first eight bytes as a number, needle index, offset, length], sorted.
    long: Zeroizing<Vec<[u64; 4]>>,
    /// The same on four bytes, for needles of four to seven bytes.
    mid: Zeroizing<Vec<[u64; 4]>>,
    /// Needles shorter than four bytes, searched one by one.
    short: Vec<usize>,
}

impl Needles {
    fn new(window: usize) -> Self {
        Needles {
            items: Vec::new(),
            window,
            long: Zeroizing::new(Vec::new()),
            mid: Zeroizing::new(Vec::new()),
            short: Vec::new(),
        }
    }

    fn add(&mut self, form: String) {
        if !form.is_empty() {
            self.items.push(Secret::new(form));
        }
    }

    fn build(mut self) -> Self {
        self.items
            .sort_unstable_by(|a, b| a.expose().cmp(b.expose()));
        self.items.dedup_by(|a, b| a.expose() == b.expose());
        let mut long = Zeroizing::new(Vec::new());
        let mut mid = Zeroizing::new(Vec::new());
        for (i, s) in self.items.iter().enumerate() {
            let text = s.expose();
            let b = text.as_bytes();
            let entry = |k: u64, off: usize, len: usize| [k, i as u64, off as u64, len as u64];
            if let Some(k) = key8(b) {
                long.push(entry(k, 0, b.len()));
            } else if let Some(k) = key4(b) {
                mid.push(entry(u64::from(k), 0, b.len()));
                continue;
            } else {
                self.short.push(i);
                continue;
            }
            if self.window < 8 || b.len() <= self.window {
                continue;
            }
            for off in 0..=b.len() - self.window {
                let end = off + self.window;
                if !text.is_char_boundary(off) || !text.is_char_boundary(end) {
                    continue;
                }
                if let Some(k) = key8(&b[off..]) {
                    long.push(entry(k, off, self.window));
                }
            }
        }
        long.sort_unstable();
        mid.sort_unstable();
        self.long = long;
        self.mid = mid;
        self
    }

    /// Byte ranges of `hay` where a needle, or a window of one, occurs.
    fn find(&self, hay: &[u8], out: &mut Vec<(usize, usize)>) {
        if self.items.is_empty() {
            return;
        }
        let scan = |index: &[[u64; 4]], k: u64, i: usize, out: &mut Vec<(usize, usize)>| {
            let start = index.partition_point(|e| e[0] < k);
            for e in &index[start..] {
                if e[0] != k {
                    break;
                }
                let (item, off, len) = (e[1] as usize, e[2] as usize, e[3] as usize);
                let n = &self.items[item].expose().as_bytes()[off..off + len];
                if hay[i..].starts_with(n) {
                    out.push((i, i + n.len()));
                }
            }
        };
        for i in 0..hay.len() {
            if let Some(k) = key8(&hay[i..]) {
                scan(&self.long, k, i, out);
            }
            if !self.mid.is_empty() {
                if let Some(k) = key4(&hay[i..]) {
                    scan(&self.mid, u64::from(k), i, out);
                }
            }
            for &s in &self.short {
                let n = self.items[s].expose().as_bytes();
                if hay[i..].starts_with(n) {
                    out.push((i, i + n.len()));
                }
            }
        }
    }
}

impl Default for Needles {
    fn default() -> Self {
        Needles::new(0)
    }
}

fn key8(b: &[u8]) -> Option<u64> {
    b.get(..8)
        .map(|p| u64::from_be_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]))
}

fn key4(b: &[u8]) -> Option<u32> {
    b.get(..4)
        .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
}

/// Knows every form of every secret of one run. Cheap to share (`Arc`).
#[derive(Default)]
pub struct Scrubber {
    /// Matched without regard to ASCII letter case (stored lowercased), and so is
    /// any `PLAIN_WINDOW` stretch of one.
    plain: Needles,
    /// Decoded payloads and token claims: they hold the user name and audience,
    /// which a report names on purpose, so only the whole is looked for.
    whole: Needles,
    /// Base64 forms, matched exactly and widened to the whole base64 run.
    encoded: Needles,
    /// Secrets learned after the run began (an OAuth sign-in's codes and tokens,
    /// each the moment it exists), every one known in the same forms.
    learned: std::sync::RwLock<Vec<Scrubber>>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Scrubber({} forms)",
            self.plain.items.len() + self.whole.items.len() + self.encoded.items.len()
        )
    }
}

/// One credential of the run: the account it belongs to and the secret.
pub struct Credential<'a> {
    pub user: &'a str,
    pub secret: &'a Secret,
    /// An access token (sent with XOAUTH2) rather than a password.
    pub token: bool,
}

impl Scrubber {
    /// A scrubber that only escapes control characters (a run without secrets).
    pub fn empty() -> Scrubber {
        Scrubber::default()
    }

    pub fn new(credentials: &[Credential<'_>]) -> Scrubber {
        let mut plain = Needles::new(PLAIN_WINDOW);
        let mut whole = Needles::new(0);
        let mut encoded = Needles::new(ENCODED_WINDOW);
        for c in credentials {
            let raw = c.secret.expose();
            if raw.is_empty() {
                continue;
            }
            for v in variants(raw).iter() {
                plain_forms(v, &mut plain);
                encoded_forms(v.as_bytes(), &mut encoded);
            }
            // The exact payloads the clients send.
            let sent = if c.token {
                vec![crate::net::sasl::xoauth2(c.user, raw)]
            } else {
                vec![
                    crate::net::sasl::plain_initial(c.user, raw),
                    crate::net::sasl::login_password(raw),
                ]
            };
            for p in sent {
                encoded.add(p.to_string());
                // A server may quote the payload decoded: `user=..\x01auth=Bearer ..`.
                if let Ok(bytes) = STANDARD.decode(p.as_bytes()) {
                    let bytes = Zeroizing::new(bytes);
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        whole.add(text.to_ascii_lowercase());
                    }
                }
            }
            if c.token {
                jwt_forms(raw, &mut whole);
            }
        }
        Scrubber {
            plain: plain.build(),
            whole: whole.build(),
            encoded: encoded.build(),
            learned: Default::default(),
        }
    }

    /// Learns more secrets while the run goes on: from now on every holder of
    /// this scrubber (the run's connections and reports) redacts them too.
    pub fn learn(&self, credentials: &[Credential<'_>]) {
        let more = Scrubber::new(credentials);
        if more.is_empty() {
            return;
        }
        match self.learned.write() {
            Ok(mut l) => l.push(more),
            Err(poisoned) => poisoned.into_inner().push(more),
        }
    }

    /// Whether it knows no secret (it then only escapes control characters).
    pub fn is_empty(&self) -> bool {
        self.own_is_empty()
            && self
                .learned
                .read()
                .map(|l| l.iter().all(Scrubber::is_empty))
                .unwrap_or(false)
    }

    fn own_is_empty(&self) -> bool {
        self.plain.items.is_empty() && self.whole.items.is_empty() && self.encoded.items.is_empty()
    }

    /// Replaces every form of every secret with `<redacted>` and escapes control
    /// characters (line breaks included): what every piece of server text goes
    /// through before it is stored.
    pub fn scrub(&self, text: &str) -> String {
        escape_controls(&self.redact(text)).into_owned()
    }

    /// Like `scrub`, but keeps `\n`: for text this tool assembled from lines it
    /// had already scrubbed one by one (a multi-line reply joined with `\n`).
    pub fn scrub_keeping_lines(&self, text: &str) -> String {
        text.split('\n')
            .map(|l| self.scrub(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Replaces every form of every secret with `<redacted>`.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = self.redact_own(text);
        let learned = match self.learned.read() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        for more in learned.iter() {
            if let Cow::Owned(o) = more.redact(&out) {
                out = Cow::Owned(o);
            }
        }
        out
    }

    fn redact_own<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.own_is_empty() {
            return Cow::Borrowed(text);
        }
        let mut ranges = Vec::new();
        let folded = Zeroizing::new(text.to_ascii_lowercase());
        self.plain.find(folded.as_bytes(), &mut ranges);
        self.whole.find(folded.as_bytes(), &mut ranges);
        let bytes = text.as_bytes();
        let mut wide = Vec::new();
        self.encoded.find(bytes, &mut wide);
        for (mut s, mut e) in wide {
            while s > 0 && is_b64(bytes[s - 1]) {
                s -= 1;
            }
            while e < bytes.len() && is_b64(bytes[e]) {
                e += 1;
            }
            ranges.push((s, e));
        }
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in merged {
            // Needles are whole UTF-8 strings and widening only crosses ASCII, so
            // both ends are character boundaries.
            out.push_str(text.get(at..s).unwrap_or_default());
            out.push_str(REDACTED);
            at = e;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Cow::Owned(out)
    }

    /// A server's SASL challenge decoded from base64, and only then shown: scrubbed
    /// like any server text (a server may send back what it was sent).
    pub fn decoded_challenge(&self, text: &str) -> Option<String> {
        crate::net::sasl::decode_challenge(text).map(|c| self.scrub(&c))
    }

    /// Scrubs every string of a JSON value, keys included.
    pub fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.scrub_keeping_lines(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.scrub_json(x)),
            serde_json::Value::Object(m) => {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    self.scrub_json(&mut x);
                    m.insert(self.scrub(&k), x);
                }
            }
            _ => {}
        }
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// The secret as given, trimmed, and cleaned of what a paste adds.
fn variants(raw: &str) -> Vec<Zeroizing<String>> {
    let mut out: Vec<Zeroizing<String>> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !out.iter().any(|o| o.as_str() == s) {
            out.push(Zeroizing::new(s.to_string()));
        }
    };
    push(raw);
    let trimmed = raw.trim();
    push(trimmed);
    let unquoted = crate::vocab::QUOTE_PAIRS
        .iter()
        .find_map(|(a, b)| trimmed.strip_prefix(*a).and_then(|r| r.strip_suffix(*b)))
        .unwrap_or(trimmed)
        .trim();
    push(unquoted);
    let invisible = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{00A0}' | '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}'
            )
    };
    let cleaned = Zeroizing::new(unquoted.replace(invisible, ""));
    push(&cleaned);
    let ungrouped = Zeroizing::new(cleaned.replace('-', ""));
    push(&ungrouped);
    out
}

/// Text forms of one variant, lowercased (they are matched case-blind).
fn plain_forms(v: &str, plain: &mut Needles) {
    plain.add(v.to_ascii_lowercase());
    // An IMAP quoted string (RFC 3501) escapes `\` and `"`.
    plain.add(
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .to_ascii_lowercase(),
    );
    // A JSON string.
    if let Ok(json) = serde_json::to_string(v) {
        let json = Zeroizing::new(json);
        if let Some(inner) = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
            plain.add(inner.to_ascii_lowercase());
        }
    }
    let mut pct = Zeroizing::new(String::new());
    let mut form = Zeroizing::new(String::new());
    let mut every = Zeroizing::new(String::new());
    let mut hex = Zeroizing::new(String::new());
    for b in v.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        let esc = format!("%{b:02x}");
        if unreserved {
            pct.push(b as char);
            form.push(b as char);
        } else {
            pct.push_str(&esc);
            form.push_str(if b == b' ' { "+" } else { &esc });
        }
        every.push_str(&esc);
        hex.push_str(&format!("{b:02x}"));
    }
    for f in [pct, form, every, hex] {
        plain.add(f.to_ascii_lowercase());
    }
}

/// Base64 of the bytes at each of the three alignments a longer payload can put
/// them at: only the characters that depend on these bytes alone.
fn encoded_forms(bytes: &[u8], encoded: &mut Needles) {
    let n = bytes.len();
    for k in 0..3usize {
        let mut buf = Zeroizing::new(vec![0u8; k]);
        buf.extend_from_slice(bytes);
        buf.extend_from_slice(&[0, 0]);
        let from = (8 * k).div_ceil(6);
        let to = (8 * (k + n)) / 6;
        if to <= from || to - from < MIN_ENCODED {
            continue;
        }
        for engine in [&STANDARD, &URL_SAFE] {
            let full = Zeroizing::new(engine.encode(&buf[..]));
            if let Some(core) = full.get(from..to) {
                encoded.add(core.to_string());
            }
        }
    }
}

/// The parts of a JWT access token, and its claims decoded: a server may quote either.
fn jwt_forms(token: &str, whole: &mut Needles) {
    let token = token.trim();
    if token.matches('.').count() != 2 {
        return;
    }
    for part in token.split('.') {
        if part.len() >= 16 {
            whole.add(part.to_ascii_lowercase());
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .ok()
                .map(Zeroizing::new);
            if let Some(text) = decoded.as_deref().and_then(|d| std::str::from_utf8(d).ok()) {
                if text.len() >= 16 {
                    whole.add(text.to_ascii_lowercase());
                }
            }
        }
    }
}

/// Whether a character can move the cursor, recolour or reorder what a terminal
/// shows: C0 and C1 controls, DEL, and the Unicode format characters that change
/// direction or hide text.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Shows control characters escaped: `\x1b` for ASCII ones, `\u{202e}` for others.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod tests;
