//! A `BufRead` wrapper that counts lines (for error messages) and refuses any single XML token
//! longer than a limit, so a gigabyte-long attribute or text node is an error after reading
//! the limit, not a gigabyte buffer.

use std::io::{self, BufRead, Read};

/// Counts newlines consumed and bytes consumed since [`Counted::start_token`].
pub(crate) struct Counted<R> {
    inner: R,
    /// Newlines consumed so far.
    pub newlines: u64,
    since_token: u64,
    limit: u64,
    /// Set when the limit was hit (the read error that follows is reported as `TooLarge`).
    pub over: bool,
}

impl<R: BufRead> Counted<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Counted { inner, newlines: 0, since_token: 0, limit, over: false }
    }

    /// A new XML event starts here.
    pub(crate) fn start_token(&mut self) {
        self.since_token = 0;
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_token > self.limit {
            self.over = true;
            return Err(io::Error::other(format!("XML token longer than {} bytes", self.limit)));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.since_token = self.since_token.saturating_add(amt as u64);
        self.inner.consume(amt);
    }
}
