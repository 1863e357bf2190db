//! The one scrubber for untrusted text. Built once per run from every secret the
//! run holds, it knows each secret in every form a server could quote it back:
//! the value as given, trimmed and cleaned (quotes, spaces, dashes and invisible
//! characters removed), escaped as in an IMAP quoted string or JSON, URL-encoded,
//! hex, base64 (standard and URL-safe) at every alignment inside a longer payload,
//! and the exact SASL payloads this tool sends (AUTH PLAIN, AUTH LOGIN, XOAUTH2).
//! Every piece of server text passes through `scrub` before it is stored: each form,
//! and any stretch of one of at least 10 characters (12 for base64: a quote cut
//! short or split over lines), becomes `<redacted>` (a base64 match takes the whole
//! base64 run around it), in the text as sent and in the text with its JSON string
//! escapes decoded (`\/`, `\u0041`, surrogate pairs, mixed in any way), and in
//! every base64 run decoded (a SASL challenge is base64 of a JSON document that
//! may quote a secret under its escapes: the whole run goes); then
//! control and bidirectional-format characters are shown escaped (`\x1b`,
//! `\u{202e}`), so no renderer can send a terminal escape.
//!
//! All the forms go into two Aho-Corasick automatons (one matched without regard
//! to ASCII case, one exact for base64), so scrubbing is one pass over the text
//! whatever the number of forms, and linear even in a text that repeats a
//! repetitive secret thousands of times. The forms are held zeroized while the
//! automatons are built; the automatons' tables keep them, as the needles did
//! before. This module never formats, logs or returns them, and it touches no
//! network.

use crate::secret::{Secret, REDACTED};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
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
/// How many times a text is JSON-unescaped to look for secrets under the
/// escapes (a JSON document quoted inside another one escapes twice).
const UNESCAPE_LEVELS: usize = 2;
/// How deep base64 runs are decoded to look for secrets inside them (a SASL
/// challenge is base64 of a JSON document, which may quote a secret with its
/// escapes; a payload may be encoded twice).
const DECODE_LEVELS: usize = 2;
/// Base64 runs shorter than this are not decoded: their bytes could not hold a
/// `PLAIN_WINDOW` stretch of a secret.
const MIN_DECODED_RUN: usize = 12;
/// Decoded bytes are looked at only when they hold this many bytes of text in a
/// row (valid UTF-8, no control character): any form of a secret, escaped or
/// encoded, is such text, while words and host names decoded as base64 give
/// random bytes, which almost never do (about 0.4 of a chance per byte).
const MIN_DECODED_TEXT: usize = 8;

/// The forms of one kind, collected while the scrubber is built: each form and,
/// when `window` is not 0, every `window`-byte stretch of it (a fragment of a
/// secret, such as a quote cut short or split over lines, is found as well as
/// the whole). They are held zeroized and dropped once the automaton is built.
struct Forms {
    window: usize,
    items: Vec<Zeroizing<String>>,
}

impl Forms {
    fn new(window: usize) -> Self {
        Forms {
            window,
            items: Vec::new(),
        }
    }

    fn add(&mut self, form: String) {
        if !form.is_empty() {
            self.items.push(Zeroizing::new(form));
        }
    }

    /// Every pattern: the forms and their windows, sorted and without repeats
    /// (a repetitive secret has few distinct windows).
    fn patterns(&self, out: &mut Vec<Zeroizing<Vec<u8>>>) {
        for f in &self.items {
            let b = f.as_bytes();
            out.push(Zeroizing::new(b.to_vec()));
            if self.window == 0 || b.len() <= self.window {
                continue;
            }
            for off in 0..=b.len() - self.window {
                let end = off + self.window;
                if f.is_char_boundary(off) && f.is_char_boundary(end) {
                    out.push(Zeroizing::new(b[off..end].to_vec()));
                }
            }
        }
    }
}

/// One automaton over a set of patterns (Aho-Corasick: one pass over the text
/// whatever the number of patterns, and every match reported, overlapping ones
/// included, so the cost is linear in the text). `None` when the set is empty.
/// A set too large to build makes `Failed`: every text is then redacted whole.
enum Automaton {
    None,
    Built(AhoCorasick),
    Failed,
}

impl Automaton {
    fn build(forms: &[&Forms], case_blind: bool) -> Automaton {
        let mut pats: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for f in forms {
            f.patterns(&mut pats);
        }
        if pats.is_empty() {
            return Automaton::None;
        }
        pats.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        pats.dedup_by(|a, b| a.as_slice() == b.as_slice());
        // A contiguous NFA: built in a small part of a DFA's time (a run builds
        // one per secret it learns, and the texts it scrubs are short), and
        // still one pass over the text.
        match AhoCorasick::builder()
            .ascii_case_insensitive(case_blind)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(pats.iter().map(|p| p.as_slice()))
        {
            Ok(ac) => Automaton::Built(ac),
            Err(_) => Automaton::Failed,
        }
    }

    fn len(&self) -> usize {
        match self {
            Automaton::None => 0,
            Automaton::Built(ac) => ac.patterns_len(),
            Automaton::Failed => 1,
        }
    }

    /// Whether anything matches in `hay` (true when the automaton could not
    /// be built or run, so that the caller takes the careful path).
    fn any(&self, hay: &[u8]) -> bool {
        match self {
            Automaton::None => false,
            Automaton::Failed => true,
            Automaton::Built(ac) => ac
                .try_find(aho_corasick::Input::new(hay))
                .map_or(true, |m| m.is_some()),
        }
    }

    /// Calls `hit` with the byte range of every match in `hay`, overlapping
    /// ones included; false when the automaton could not be built.
    fn each(&self, hay: &[u8], hit: &mut dyn FnMut(usize, usize)) -> bool {
        match self {
            Automaton::None => true,
            Automaton::Failed => false,
            Automaton::Built(ac) => {
                let Ok(iter) = ac.try_find_overlapping_iter(hay) else {
                    return false;
                };
                for m in iter {
                    hit(m.start(), m.end());
                }
                true
            }
        }
    }
}

/// Covered byte ranges of one text: for each start, the farthest end of a range
/// starting there; merged in one sweep (no sort, memory linear in the text).
struct Cover {
    reach: Vec<usize>,
    any: bool,
}

impl Cover {
    fn new(len: usize) -> Cover {
        Cover {
            reach: vec![0; len + 1],
            any: false,
        }
    }

    fn add(&mut self, s: usize, e: usize) {
        if s < e && e < self.reach.len() {
            self.reach[s] = self.reach[s].max(e);
            self.any = true;
        }
    }

    /// The merged ranges, in order.
    fn merged(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        if !self.any {
            return out;
        }
        let mut open: Option<(usize, usize)> = None;
        for (i, &r) in self.reach.iter().enumerate() {
            if let Some((s, e)) = open {
                if i >= e {
                    out.push((s, e));
                    open = None;
                }
            }
            if r > i {
                open = match open {
                    Some((s, e)) => Some((s, e.max(r))),
                    None => Some((i, r)),
                };
            }
        }
        if let Some(o) = open {
            out.push(o);
        }
        out
    }
}
/// Knows every form of every secret of one run. Cheap to share (`Arc`).
pub struct Scrubber {
    /// The text forms (and any `PLAIN_WINDOW` stretch of one), and the decoded
    /// payloads and token claims (whole only: they hold the user name and
    /// audience, which a report names on purpose), matched without regard to
    /// ASCII letter case.
    folded: Automaton,
    /// Base64 forms and their `ENCODED_WINDOW` stretches, matched exactly and
    /// widened to the whole base64 run.
    encoded: Automaton,
    /// Secrets learned after the run began (an OAuth sign-in's codes and tokens,
    /// each the moment it exists), every one known in the same forms.
    learned: std::sync::RwLock<Vec<Scrubber>>,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber {
            folded: Automaton::None,
            encoded: Automaton::None,
            learned: Default::default(),
        }
    }
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Scrubber({} patterns)",
            self.folded.len() + self.encoded.len()
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
        let mut plain = Forms::new(PLAIN_WINDOW);
        let mut whole = Forms::new(0);
        let mut encoded = Forms::new(ENCODED_WINDOW);
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
            folded: Automaton::build(&[&plain, &whole], true),
            encoded: Automaton::build(&[&encoded], false),
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
        matches!(self.folded, Automaton::None) && matches!(self.encoded, Automaton::None)
    }

    /// Replaces every form of every secret with `<redacted>` and escapes control
    /// characters (line breaks included): what every piece of server text goes
    /// through before it is stored.
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_cow(text).into_owned()
    }

    /// `scrub`, borrowing the text when there is nothing to change in it.
    fn scrub_cow<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.redact(text) {
            Cow::Borrowed(b) => escape_controls(b),
            Cow::Owned(o) => Cow::Owned(escape_controls(&o).into_owned()),
        }
    }

    /// Like `scrub`, but keeps `\n`: for text this tool assembled from lines it
    /// had already scrubbed one by one (a multi-line reply joined with `\n`).
    pub fn scrub_keeping_lines(&self, text: &str) -> String {
        self.scrub_lines_cow(text).into_owned()
    }

    fn scrub_lines_cow<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !text.contains('\n') {
            return self.scrub_cow(text);
        }
        let lines: Vec<Cow<'_, str>> = text.split('\n').map(|l| self.scrub_cow(l)).collect();
        if lines.iter().all(|l| matches!(l, Cow::Borrowed(_))) {
            return Cow::Borrowed(text);
        }
        Cow::Owned(lines.join("\n"))
    }

    /// Replaces every form of every secret with `<redacted>`: in the text as it
    /// is, and under JSON string escapes (`\/`, `\"`, `\uXXXX` with surrogate
    /// pairs, `\n`...) mixed in any way, up to `UNESCAPE_LEVELS` deep. Linear in
    /// the text: each view is one pass of each automaton.
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
        self.redact_at(text, DECODE_LEVELS)
    }

    /// `redact_own`, decoding base64 runs `levels` deep.
    fn redact_at<'t>(&self, text: &'t str, levels: usize) -> Cow<'t, str> {
        if self.own_is_empty() {
            return Cow::Borrowed(text);
        }
        let bytes = text.as_bytes();
        // Most texts hold no secret, no escape and no base64 run that decodes to
        // one: a search of each automaton (and of each run's decoding) says so,
        // without the bookkeeping of every overlapping match.
        if !bytes.contains(&b'\\')
            && !self.folded.any(bytes)
            && !self.encoded.any(bytes)
            && (levels == 0
                || !b64_runs(bytes)
                    .any(|(s, e)| self.decoded_holds_secret(&bytes[s..e], levels - 1)))
        {
            return Cow::Borrowed(text);
        }
        let mut cover = Cover::new(bytes.len());
        let mut complete = self.mark(bytes, levels, &mut |s, e| cover.add(s, e));
        // Views with the JSON escapes decoded; `spans[i]` is the range of the
        // original text that byte `i` of the view came from.
        let mut view: Option<Unescaped> = None;
        for _ in 0..UNESCAPE_LEVELS {
            let src: &[u8] = match &view {
                Some((v, _)) => v,
                None => bytes,
            };
            if !src.contains(&b'\\') {
                break;
            }
            let (decoded, local) = json_unescape(src);
            let spans: Vec<(usize, usize)> = match &view {
                Some((_, outer)) => local
                    .iter()
                    .map(|&(s, e)| (outer[s].0, outer[e - 1].1))
                    .collect(),
                None => local,
            };
            complete &= self.mark(&decoded, levels, &mut |s, e| {
                cover.add(spans[s].0, spans[e - 1].1);
            });
            view = Some((decoded, spans));
        }
        drop(view);
        if !complete {
            return Cow::Owned(REDACTED.to_string());
        }
        let merged = cover.merged();
        if merged.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in merged {
            // A match that starts or ends inside a multibyte character takes
            // the whole of it.
            let mut s = s.max(at);
            while s > at && !text.is_char_boundary(s) {
                s -= 1;
            }
            let mut e = e;
            while e < text.len() && !text.is_char_boundary(e) {
                e += 1;
            }
            out.push_str(text.get(at..s).unwrap_or_default());
            out.push_str(REDACTED);
            at = e;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Cow::Owned(out)
    }

    /// Every match of every form in `hay`: the text forms as they are, the base64
    /// ones widened to the whole base64 run around them (each byte of a run is
    /// walked at most once, whatever the number of matches in it), and, `levels`
    /// deep, every base64 run whose decoded bytes hold a secret in any form this
    /// scrubber knows (the whole run). False when an automaton could not be
    /// built or run.
    fn mark(&self, hay: &[u8], levels: usize, add: &mut dyn FnMut(usize, usize)) -> bool {
        let mut ok = self.folded.each(hay, add);
        if levels > 0 {
            for (s, e) in b64_runs(hay) {
                if self.decoded_holds_secret(&hay[s..e], levels - 1) {
                    add(s, e);
                }
            }
        }
        if matches!(self.encoded, Automaton::None) {
            return ok;
        }
        let mut wide = Cover::new(hay.len());
        ok &= self.encoded.each(hay, &mut |s, e| wide.add(s, e));
        let mut done = 0;
        for (s, e) in wide.merged() {
            if e <= done {
                continue;
            }
            let (mut s, mut e) = (s.max(done), e);
            while s > done && is_b64(hay[s - 1]) {
                s -= 1;
            }
            while e < hay.len() && is_b64(hay[e]) {
                e += 1;
            }
            add(s, e);
            done = e;
        }
        ok
    }

    /// Whether a base64 run, decoded at any of the four alignments (a run may
    /// start with a character that is not part of the payload), holds a secret.
    /// Each decoding is scrubbed like any text, `levels` deep in turn.
    fn decoded_holds_secret(&self, run: &[u8], levels: usize) -> bool {
        // Base64 of 9 bytes or more (12 characters) mixes upper and lower case
        // but for a chance of about 1 in 250, and the longer the rarer; a run
        // of one case (a host name's label, a capability such as
        // ENHANCEDSTATUSCODES) is taken for what it is, not decoded.
        if !(run.iter().any(u8::is_ascii_lowercase) && run.iter().any(u8::is_ascii_uppercase)) {
            return false;
        }
        let body = match run.iter().rposition(|b| *b != b'=') {
            Some(last) => &run[..=last],
            None => return false,
        };
        // Both alphabets at once: a run may mix them (a payload glued to other
        // text), and each decodes alike. Server text is not secret until
        // decoded: the run itself needs no zeroizing.
        let mapped: Vec<u8>;
        let body = if body.iter().any(|b| matches!(b, b'-' | b'_')) {
            mapped = body
                .iter()
                .map(|&b| match b {
                    b'-' => b'+',
                    b'_' => b'/',
                    b => b,
                })
                .collect();
            &mapped[..]
        } else {
            body
        };
        let mut bytes: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
        for off in 0..4 {
            let Some(part) = body.get(off..) else {
                break;
            };
            if part.len() < MIN_DECODED_RUN {
                break;
            }
            // A length of 4n+1 has a character too many to decode.
            let part = &part[..part.len() - usize::from(part.len() % 4 == 1)];
            bytes.clear();
            if LENIENT.decode_vec(part, &mut bytes).is_err() || !holds_text(&bytes) {
                continue;
            }
            let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
            if matches!(self.redact_at(&text, levels), Cow::Owned(_)) {
                return true;
            }
        }
        false
    }

    /// A server's SASL challenge decoded from base64, and only then shown: scrubbed
    /// like any server text (a server may send back what it was sent).
    pub fn decoded_challenge(&self, text: &str) -> Option<String> {
        crate::net::sasl::decode_challenge(text).map(|c| self.scrub(&c))
    }

    /// Scrubs every string of a JSON value, keys included.
    pub fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(o) = self.scrub_lines_cow(s) {
                    *s = o;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.scrub_json(x)),
            serde_json::Value::Object(m) => {
                // Keys are this tool's own names, almost always: the map is
                // rebuilt only when one of them changes.
                if m.keys()
                    .all(|k| matches!(self.scrub_cow(k), Cow::Borrowed(_)))
                {
                    m.values_mut().for_each(|x| self.scrub_json(x));
                    return;
                }
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

/// A text with its escapes decoded, and where each of its bytes came from.
type Unescaped = (Zeroizing<Vec<u8>>, Vec<(usize, usize)>);

/// `hay` with JSON string escapes decoded, and for each byte of the result the
/// range of `hay` it came from. A backslash that starts no JSON escape is kept
/// as it is; a lone surrogate becomes U+FFFD.
fn json_unescape(hay: &[u8]) -> Unescaped {
    let mut out = Zeroizing::new(Vec::with_capacity(hay.len()));
    let mut spans = Vec::with_capacity(hay.len());
    let hex4 = |at: usize| -> Option<u32> {
        let h = hay.get(at..at + 4)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let mut i = 0;
    while i < hay.len() {
        let b = hay[i];
        let next = hay.get(i + 1).copied();
        let simple = match next {
            _ if b != b'\\' => None,
            Some(c @ (b'"' | b'\\' | b'/')) => Some(c),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            spans.push((i, i + 2));
            i += 2;
            continue;
        }
        let unit = (b == b'\\' && next == Some(b'u'))
            .then(|| hex4(i + 2))
            .flatten();
        let Some(u) = unit else {
            out.push(b);
            spans.push((i, i + 1));
            i += 1;
            continue;
        };
        let (c, len) = if (0xD800..0xDC00).contains(&u) {
            let low = (hay.get(i + 6..i + 8) == Some(b"\\u".as_slice()))
                .then(|| hex4(i + 8))
                .flatten()
                .filter(|l| (0xDC00..0xE000).contains(l));
            match low {
                Some(l) => (
                    char::from_u32(0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00)),
                    12,
                ),
                None => (None, 6),
            }
        } else {
            (char::from_u32(u), 6)
        };
        let mut buf = [0u8; 4];
        for &x in c.unwrap_or('\u{FFFD}').encode_utf8(&mut buf).as_bytes() {
            out.push(x);
            spans.push((i, i + len));
        }
        i += len;
    }
    (out, spans)
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Whether `bytes` hold `MIN_DECODED_TEXT` bytes of text in a row.
fn holds_text(bytes: &[u8]) -> bool {
    let mut run = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                run = 0;
            } else {
                run += c.len_utf8();
                if run >= MIN_DECODED_TEXT {
                    return true;
                }
            }
        }
        if !chunk.invalid().is_empty() {
            run = 0;
        }
    }
    false
}

/// A base64 engine that takes what servers write: padding or none, and stray
/// bits at the end.
static LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The runs of base64 characters in `hay` long enough to hide a stretch of a
/// secret, each with the padding that ends it: `=` only at a run's end, so
/// that `key=value` is two runs, not one.
fn b64_runs(hay: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let body = |b: u8| b != b'=' && is_b64(b);
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < hay.len() {
            while i < hay.len() && !body(hay[i]) {
                i += 1;
            }
            let s = i;
            while i < hay.len() && body(hay[i]) {
                i += 1;
            }
            let len = i - s;
            while i < hay.len() && hay[i] == b'=' && i - s < len + 2 {
                i += 1;
            }
            if len >= MIN_DECODED_RUN {
                return Some((s, i));
            }
        }
        None
    })
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
fn plain_forms(v: &str, plain: &mut Forms) {
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
fn encoded_forms(bytes: &[u8], encoded: &mut Forms) {
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
fn jwt_forms(token: &str, whole: &mut Forms) {
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

/// Whether a character can move the cursor, recolour, reorder or hide what a
/// terminal shows: C0 and C1 controls and DEL (Unicode's Cc), every format
/// character (Cf: direction marks and overrides, zero-width characters, the
/// soft hyphen, tag characters), and the line and paragraph separators (Zl, Zp).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Shows control characters escaped: `\x1b` for ASCII ones, `\u{202e}` for others.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    // Printable ASCII, the usual case, is seen a byte at a time.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) || !text.chars().any(is_unsafe_char) {
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
