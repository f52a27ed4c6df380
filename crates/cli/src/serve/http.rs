//! The HTTP side of `tern serve`: just enough HTTP/1.1 to hand out one page and to pass the
//! signaling WebSocket through to the in-process signaling server. Every request head is read
//! into a bounded buffer within a deadline; anything that is not a well-formed `GET` of a known
//! path gets a short error response and the connection is closed.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest request head (request line + headers) we buffer.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing a response may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After a response, unread request bytes are drained for at most this long and this much before
/// the socket is closed: closing with unread data makes the kernel send a RST, which can destroy
/// the response before the client reads it (RFC 9112 §9.6, "lingering close").
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestLine {
    pub method: String,
    /// The path without the query string.
    pub path: String,
}

/// Why a request head was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The head is longer than [`MAX_HEAD`] (431).
    TooLarge,
    /// Not `METHOD SP origin-form SP HTTP/1.x` (400).
    Malformed,
}

/// Parses the request line of a complete head (`buf` holds at least the head). `Ok(None)` means
/// the head is not complete yet.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<(RequestLine, usize)>, HeadError> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() >= MAX_HEAD {
            Err(HeadError::TooLarge)
        } else {
            Ok(None)
        };
    };
    let head_len = end + 4;
    if head_len > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let line_end = find(buf, b"\r\n").unwrap_or(end);
    let line = std::str::from_utf8(buf.get(..line_end).unwrap_or_default())
        .map_err(|_| HeadError::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(HeadError::Malformed);
    }
    if target.bytes().any(|b| b.is_ascii_control()) {
        return Err(HeadError::Malformed);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    Ok(Some((
        RequestLine {
            method: method.to_string(),
            path,
        },
        head_len,
    )))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Serves one connection: the page, the WebSocket pass-through, or an error.
pub(crate) async fn handle(mut stream: TcpStream, page: &str, signaling: SocketAddr) {
    let mut buf = Vec::with_capacity(1024);
    let head = tokio::time::timeout(HEAD_TIMEOUT, async {
        let mut chunk = [0u8; 2048];
        loop {
            match parse_head(&buf) {
                Ok(None) => {}
                other => return other,
            }
            let n = match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => n,
            };
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if buf.len() > MAX_HEAD && find(&buf, b"\r\n\r\n").is_none() {
                return Err(HeadError::TooLarge);
            }
        }
    })
    .await;
    let request = match head {
        Err(_) | Ok(Ok(None)) => return, // timed out or closed before a full head
        Ok(Err(HeadError::TooLarge)) => {
            return respond(
                &mut stream,
                431,
                "text/plain",
                b"request header too large\n",
            )
            .await;
        }
        Ok(Err(HeadError::Malformed)) => {
            return respond(&mut stream, 400, "text/plain", b"bad request\n").await;
        }
        Ok(Ok(Some((request, _)))) => request,
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/" | "/index.html") => {
            respond(
                &mut stream,
                200,
                "text/html; charset=utf-8",
                page.as_bytes(),
            )
            .await
        }
        ("GET", "/ws") => proxy(stream, &buf, signaling).await,
        ("GET", _) => respond(&mut stream, 404, "text/plain", b"not found\n").await,
        _ => respond(&mut stream, 405, "text/plain", b"method not allowed\n").await,
    }
}

/// Hands the connection, with the bytes already read, to the signaling server.
async fn proxy(mut browser: TcpStream, already_read: &[u8], signaling: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(signaling).await else {
        return respond(&mut browser, 503, "text/plain", b"signaling unavailable\n").await;
    };
    if server.write_all(already_read).await.is_err() {
        return;
    }
    // The signaling server bounds frame sizes and rates and times idle connections out, which
    // ends this copy too.
    let _ = tokio::io::copy_bidirectional(&mut browser, &mut server).await;
}

async fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.shutdown().await
    })
    .await;
    let _ = tokio::time::timeout(LINGER_TIMEOUT, async {
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(method: &str, path: &str) -> RequestLine {
        RequestLine {
            method: method.into(),
            path: path.into(),
        }
    }

    #[test]
    fn parses_a_get() {
        let head = b"GET /?room=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        assert_eq!(
            parse_head(head).unwrap(),
            Some((line("GET", "/"), head.len()))
        );
    }

    #[test]
    fn waits_for_the_end_of_the_head() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap(), None);
        assert_eq!(parse_head(b"").unwrap(), None);
    }

    #[test]
    fn bad_input_serve_http_malformed_request_lines() {
        for head in [
            &b"\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET http://x/ HTTP/1.1\r\n\r\n",
            b"GET / SPDY/3\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\r\n\r\n",
        ] {
            assert_eq!(parse_head(head), Err(HeadError::Malformed), "{head:?}");
        }
    }

    #[test]
    fn bad_input_serve_http_oversized_head() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        while head.len() < MAX_HEAD {
            head.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(parse_head(&head), Err(HeadError::TooLarge));
        head.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&head), Err(HeadError::TooLarge));
    }
}
