//! UTF-16 exports (Excel's "Unicode text" and PowerShell 5's `Out-File` write
//! it): told from the first bytes (a byte-order mark, or the zero byte an ASCII
//! character has in UTF-16) and transcoded to UTF-8 as they stream, so the
//! readers see the text they expect and memory stays bounded. An unpaired
//! surrogate or a last odd byte becomes U+FFFD.

use std::io::{self, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// The byte order of a UTF-16 input and the length of its byte-order mark, from
/// its first bytes; None for anything else (UTF-8 text has no zero byte in its
/// first two, and its byte-order mark is EF BB BF).
pub fn detect(head: &[u8]) -> Option<(Endian, usize)> {
    match head {
        [0xFF, 0xFE, ..] => Some((Endian::Little, 2)),
        [0xFE, 0xFF, ..] => Some((Endian::Big, 2)),
        [a, 0, ..] if *a != 0 => Some((Endian::Little, 0)),
        [0, b, ..] if *b != 0 => Some((Endian::Big, 0)),
        _ => None,
    }
}

/// Reads UTF-16 from `inner`, gives UTF-8.
pub struct Decoder<R> {
    inner: R,
    endian: Endian,
    raw: Vec<u8>,
    /// A byte of the last read that did not make a whole code unit.
    odd: Option<u8>,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
    out: Vec<u8>,
    out_at: usize,
    eof: bool,
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R, endian: Endian) -> Decoder<R> {
        Decoder {
            inner,
            endian,
            raw: vec![0; 64 * 1024],
            odd: None,
            high: None,
            out: Vec::with_capacity(96 * 1024),
            out_at: 0,
            eof: false,
        }
    }

    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                return;
            }
            self.push('\u{FFFD}');
        }
        if (0xD800..0xDC00).contains(&u) {
            self.high = Some(u);
        } else {
            self.push(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'));
        }
    }

    /// Decodes the next piece of input into `out`; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_at = 0;
        if self.eof {
            return Ok(false);
        }
        let n = loop {
            match self.inner.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
            if self.high.take().is_some() {
                self.push('\u{FFFD}');
            }
            if self.odd.take().is_some() {
                self.push('\u{FFFD}');
            }
            return Ok(!self.out.is_empty());
        }
        let mut i = 0;
        if let Some(a) = self.odd.take() {
            let u = self.join(a, self.raw[0]);
            self.unit(u);
            i = 1;
        }
        while i + 1 < n {
            let u = self.join(self.raw[i], self.raw[i + 1]);
            self.unit(u);
            i += 2;
        }
        if i < n {
            self.odd = Some(self.raw[i]);
        }
        Ok(true)
    }

    fn join(&self, a: u8, b: u8) -> u16 {
        match self.endian {
            Endian::Little => u16::from_le_bytes([a, b]),
            Endian::Big => u16::from_be_bytes([a, b]),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_at >= self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(s: &str, e: Endian) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| match e {
                Endian::Little => u.to_le_bytes(),
                Endian::Big => u.to_be_bytes(),
            })
            .collect()
    }

    #[test]
    fn both_byte_orders_with_and_without_a_mark_decode_in_any_piece_size() {
        let text = "Date (UTC),User\né\u{1F600},x\n";
        for e in [Endian::Little, Endian::Big] {
            let bytes = encode(text, e);
            assert_eq!(detect(&bytes), Some((e, 0)));
            let mut marked = encode("\u{FEFF}", e);
            marked.extend_from_slice(&bytes);
            assert_eq!(detect(&marked), Some((e, 2)));
            for piece in [1, 3, 64 * 1024] {
                let rd = std::io::BufReader::with_capacity(piece, bytes.as_slice());
                let mut out = String::new();
                Decoder::new(rd, e)
                    .read_to_string(&mut out)
                    .expect("decodes");
                assert_eq!(out, text);
            }
        }
        assert_eq!(detect(b"Date"), None);
        assert_eq!(detect(&[0xEF, 0xBB, 0xBF, b'D']), None);
        let mut out = String::new();
        Decoder::new(&[0x00, 0xD8, b'a'][..], Endian::Little)
            .read_to_string(&mut out)
            .expect("decodes");
        assert_eq!(out, "\u{FFFD}\u{FFFD}");
    }
}
