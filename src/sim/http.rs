//! The little HTTP/1.1 the simulator needs: one request per connection, `Content-Length`
//! bodies, `Connection: close` answers. Written by hand so faults can act on the socket.

use std::io::{self, BufRead, Read, Write};

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub method: String,
    /// As sent: path and query.
    pub target: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed (or the server is stopping) before sending a request.
    Closed,
    /// Not an HTTP request we can answer: reply 400 with this reason.
    Bad(String),
    Io,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        Self::Io
    }
}

/// Reads one request. `interim` receives `100 Continue` when the client asks for it.
pub(crate) fn read_request(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
) -> Result<HttpRequest, ReadError> {
    let mut head_bytes = 0;
    let request_line = read_line(reader, &mut head_bytes)?.ok_or(ReadError::Closed)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(format!("bad request line {request_line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(format!("unsupported version {version:?}")));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut head_bytes)?
            .ok_or_else(|| ReadError::Bad("headers end early".to_owned()))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::Bad(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let (path, query) = split_target(target);
    let mut request = HttpRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        path,
        query,
        headers,
        body: Vec::new(),
    };
    if request
        .header("transfer-encoding")
        .is_some_and(|value| !value.eq_ignore_ascii_case("identity"))
    {
        return Err(ReadError::Bad(
            "chunked request bodies are not supported".to_owned(),
        ));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|length| *length <= MAX_BODY_BYTES)
            .ok_or_else(|| ReadError::Bad(format!("bad or too large Content-Length {value:?}")))?,
    };
    if length > 0
        && request
            .header("expect")
            .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }
    request.body = vec![0; length];
    reader.read_exact(&mut request.body)?;
    Ok(request)
}

fn read_line(
    reader: &mut impl BufRead,
    head_bytes: &mut usize,
) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let limit = (MAX_HEAD_BYTES - *head_bytes) as u64 + 1;
    let read = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    *head_bytes += read;
    if *head_bytes > MAX_HEAD_BYTES {
        return Err(ReadError::Bad("request head too large".to_owned()));
    }
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Bad("request head ends early".to_owned()));
    }
    while line
        .last()
        .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
    {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ReadError::Bad("request head is not UTF-8".to_owned()))
}

fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect();
    (percent_decode(path), pairs)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[index]) {
            (Some(byte), _) => {
                decoded.push(byte);
                index += 3;
            }
            (None, b'+') => {
                decoded.push(b' ');
                index += 1;
            }
            (None, byte) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Status line and headers of a `Connection: close` response.
pub(crate) fn response_head(
    status: u16,
    content_length: usize,
    extra: &[(&str, String)],
) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {content_length}\r\nConnection: close\r\n",
        reason_phrase(status)
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<HttpRequest, ReadError> {
        read_request(&mut raw.as_bytes(), &mut Vec::new())
    }

    #[test]
    fn reads_a_post_with_body_and_query() {
        let request = parse(
            "POST /maestra/almacenes/Reposicion?sucursal=SUC%20001 HTTP/1.1\r\n\
             Host: x\r\nContent-Length: 2\r\nAuthorization: Bearer t\r\n\r\n{}",
        )
        .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/maestra/almacenes/Reposicion");
        assert_eq!(request.query_value("sucursal"), Some("SUC 001"));
        assert_eq!(request.header("authorization"), Some("Bearer t"));
        assert_eq!(request.body, b"{}");
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(matches!(parse(""), Err(ReadError::Closed)));
        assert!(matches!(parse("GARBAGE\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"),
            Err(ReadError::Io)
        ));
    }
}
