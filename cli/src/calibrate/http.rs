//! The little HTTP/1.1 both ends of a calibration speak: a request or
//! response head read line by line (bounded), its headers, and a body by
//! `content-length` (chunked bodies are read too, for proxies that use
//! them).

use std::io::{BufRead, Read};

/// Longest head read: a calibration's heads are a few hundred bytes.
const MAX_HEAD: usize = 64 << 10;

/// A request or response head.
pub(crate) struct Head {
    /// The first line (`GET / HTTP/1.1`, `HTTP/1.1 200 OK`).
    pub(crate) start: String,
    /// Headers, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The connection closes after this message.
    pub(crate) close: bool,
}

impl Head {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A response's status code.
    pub(crate) fn status(&self) -> Option<u16> {
        self.start.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Whether `e` is a read timeout.
pub(crate) fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Reads a head; `None` when the peer closed before one began.
pub(crate) fn read_head<R: BufRead>(input: &mut R) -> std::io::Result<Option<Head>> {
    let mut start = String::new();
    let mut total = 0;
    loop {
        start.clear();
        let n = input.read_line(&mut start)?;
        if n == 0 {
            return Ok(None);
        }
        total += n;
        if !start.trim().is_empty() {
            break;
        }
        if total > MAX_HEAD {
            return Err(std::io::Error::other("head too long"));
        }
    }
    let mut headers = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = input.read_line(&mut line)?;
        total += n;
        if n == 0 {
            return Err(std::io::Error::other("connection closed inside a head"));
        }
        if total > MAX_HEAD {
            return Err(std::io::Error::other("head too long"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let close = headers
        .iter()
        .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"))
        || start.trim_end().ends_with("HTTP/1.0");
    Ok(Some(Head {
        start: start.trim_end().to_string(),
        headers,
        close,
    }))
}

/// Reads and drops the body `head` announces.
pub(crate) fn skip_body<R: BufRead>(input: &mut R, head: &Head) -> std::io::Result<()> {
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut line = String::new();
        loop {
            line.clear();
            input.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if size > MAX_HEAD * 16 {
                return Err(std::io::Error::other("chunk too large"));
            }
            let mut chunk = vec![0u8; size + 2];
            input.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(());
            }
        }
    }
    let len: u64 = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if len > (MAX_HEAD * 16) as u64 {
        return Err(std::io::Error::other("body too large"));
    }
    std::io::copy(&mut input.take(len), &mut std::io::sink())?;
    Ok(())
}
