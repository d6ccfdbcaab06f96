//! The byte stream under every reader: buffered, BOM-free, bounded lines.
//!
//! Readers never hold more than one record, and a record larger than the
//! limit is skipped without being stored, so memory is bounded by the limit
//! whatever the input.

use std::io::{self, BufRead, BufReader, Read};

use super::ReadError;

/// Bytes read from the source at a time.
const BUFFER_BYTES: usize = 64 * 1024;

/// A UTF-8 byte order mark, which some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A buffered source of bytes, and the I/O error that stopped it, if any.
pub(super) struct Input {
    reader: BufReader<Box<dyn Read>>,
    /// Set once reading failed; the reader yields nothing after that.
    pub(super) error: Option<io::Error>,
}

/// What [`Input::read_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// The end of the input: no line.
    End,
    /// A whole line, in the buffer without its line end.
    Whole,
    /// A line longer than the limit: its first bytes are in the buffer, the
    /// rest has been skipped.
    TooLong,
}

impl Input {
    /// A buffered input over `reader`.
    pub(super) fn new(reader: Box<dyn Read>) -> Self {
        Input {
            reader: BufReader::with_capacity(BUFFER_BYTES, reader),
            error: None,
        }
    }

    /// Skip a UTF-8 byte order mark at the start.
    pub(super) fn skip_bom(&mut self) -> io::Result<()> {
        let mut head = Vec::with_capacity(3);
        while head.len() < BOM.len() {
            let chunk = self.fill()?;
            let Some(&byte) = chunk.first() else { break };
            if byte != BOM[head.len()] {
                break;
            }
            head.push(byte);
            self.reader.consume(1);
        }
        if head.is_empty() || head == BOM {
            return Ok(());
        }
        // Part of a BOM and then something else: put the bytes back in front.
        let rest = std::mem::replace(&mut self.reader, BufReader::new(Box::new(io::empty())));
        *self = Input::new(Box::new(io::Cursor::new(head).chain(rest)));
        Ok(())
    }

    /// The buffered bytes, reading more if none are left; empty at the end.
    pub(super) fn fill(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.reader.fill_buf() {
                Ok(_) => return Ok(self.reader.buffer()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Mark `count` buffered bytes as read.
    pub(super) fn consume(&mut self, count: usize) {
        self.reader.consume(count);
    }

    /// The first buffered byte that is not JSON whitespace, without consuming
    /// anything (reads ahead into a side buffer when the whitespace is long).
    pub(super) fn peek_past_whitespace(&mut self) -> io::Result<Option<u8>> {
        let chunk = self.fill()?;
        if let Some(&byte) = chunk.iter().find(|b| !is_json_whitespace(**b)) {
            return Ok(Some(byte));
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        // Whitespace to the end of the buffer: read on, keeping the bytes.
        let mut skipped = Vec::new();
        let found = loop {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                break None;
            }
            if let Some(&byte) = chunk.iter().find(|b| !is_json_whitespace(**b)) {
                break Some(byte);
            }
            skipped.extend_from_slice(chunk);
            let n = chunk.len();
            self.consume(n);
        };
        let rest = std::mem::replace(&mut self.reader, BufReader::new(Box::new(io::empty())));
        *self = Input::new(Box::new(io::Cursor::new(skipped).chain(rest)));
        Ok(found)
    }

    /// Read one line into `buf` (cleared first), without its `\n` or `\r\n`.
    ///
    /// A line of more than `max` bytes is not stored: its first bytes stay in
    /// `buf` for the error message and the rest is skipped up to the next
    /// line, so one huge line costs no memory.
    pub(super) fn read_line(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
        buf.clear();
        let limit = max.saturating_add(2);
        let n = (&mut self.reader).take(limit as u64).read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(Line::End);
        }
        let ended = buf.last() == Some(&b'\n');
        if !ended && n >= limit {
            self.skip_line()?;
            return Ok(Line::TooLong);
        }
        strip_line_end(buf);
        Ok(if buf.len() > max {
            Line::TooLong
        } else {
            Line::Whole
        })
    }

    /// Skip bytes up to and including the next `\n`.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                return Ok(());
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = chunk.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Keep `error` as the reason the input stopped, and turn it into the
    /// error of the record that was being read.
    pub(super) fn fail(&mut self, error: io::Error, number: u64, line: u64) -> ReadError {
        let message = format!("cannot read the input any further: {error}; the rest is not read");
        self.error = Some(error);
        ReadError::bare(number, line, message)
    }
}

/// Remove a trailing `\n`, `\r\n` (or a lone `\r` on a last line).
fn strip_line_end(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
}

/// Space, tab, line feed, carriage return: the whitespace JSON allows.
pub(super) fn is_json_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &'static [u8]) -> Input {
        Input::new(Box::new(bytes))
    }

    fn lines(bytes: &'static [u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        let mut input = input(bytes);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let line = input.read_line(&mut buf, max).unwrap();
            if line == Line::End {
                return out;
            }
            out.push((line, buf.clone()));
        }
    }

    #[test]
    fn lines_lose_their_ends() {
        let got = lines(b"a\r\nb\n\nc\r", 10);
        let texts: Vec<&[u8]> = got.iter().map(|(_, t)| t.as_slice()).collect();
        assert_eq!(texts, [&b"a"[..], b"b", b"", b"c"]);
        assert!(got.iter().all(|(l, _)| *l == Line::Whole));
    }

    #[test]
    fn long_lines_are_skipped_to_the_next_line() {
        let got = lines(b"12345\n1234567890abc\n12\n123456\r\n", 5);
        let kinds: Vec<Line> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(kinds, [Line::Whole, Line::TooLong, Line::Whole, Line::TooLong]);
        assert_eq!(got[2].1, b"12");
    }

    #[test]
    fn a_line_at_the_limit_with_crlf_fits() {
        let got = lines(b"12345\r\n", 5);
        assert_eq!(got, [(Line::Whole, b"12345".to_vec())]);
    }

    #[test]
    fn bom_is_skipped_and_partial_bom_kept() {
        let mut whole = input(b"\xEF\xBB\xBF{}");
        whole.skip_bom().unwrap();
        assert_eq!(whole.fill().unwrap(), b"{}");
        let mut partial = input(b"\xEF\xBBx");
        partial.skip_bom().unwrap();
        let mut rest = Vec::new();
        partial.reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"\xEF\xBBx");
    }

    #[test]
    fn peeking_consumes_nothing() {
        let mut i = input(b"  \n [1]");
        assert_eq!(i.peek_past_whitespace().unwrap(), Some(b'['));
        assert_eq!(i.fill().unwrap(), b"  \n [1]");
        let mut long = Input::new(Box::new(io::Cursor::new(
            [vec![b' '; 100_000], b"{}".to_vec()].concat(),
        )));
        assert_eq!(long.peek_past_whitespace().unwrap(), Some(b'{'));
        let mut rest = Vec::new();
        long.reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest.len(), 100_002);
        assert_eq!(input(b" \n ").peek_past_whitespace().unwrap(), None);
    }
}
