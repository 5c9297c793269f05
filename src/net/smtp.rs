//! Submitting one e-mail over SMTP (RFC 5321): STARTTLS (RFC 3207) or implicit TLS
//! (RFC 8314), AUTH PLAIN or LOGIN, through the same TLS roots, `ca_file` and proxy tunnel as
//! every other outbound connection, within one deadline. The message itself (headers,
//! encodings) is built by `lettre`.
//!
//! No downgrade: with `starttls`, a server that does not offer STARTTLS is an error, and a
//! password is never sent over a connection that is not encrypted.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::proxy::{ProxySpec, base64};
use super::tls;
use crate::secret::Secret;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS before anything else (submission, port 587).
    Starttls,
    /// TLS from the first byte (submissions, port 465).
    Tls,
    /// No encryption (a relay on this host or the LAN); no password is ever sent over it.
    None,
}

impl Security {
    pub fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }
}

/// The server and how to talk to it.
#[derive(Debug, Clone)]
pub struct Server<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub username: Option<&'a str>,
    pub password: Option<&'a Secret>,
    pub ca_file: Option<&'a Path>,
    /// The proxy to tunnel through (HTTP CONNECT), when one applies.
    pub proxy: Option<ProxySpec>,
    pub timeout: Duration,
    /// This host's name, for EHLO.
    pub hello_name: &'a str,
}

/// One message: the envelope and the formatted RFC 5322 bytes.
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub message: &'a [u8],
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

struct Session<'a> {
    reader: BufReader<Stream>,
    deadline: Instant,
    server: &'a Server<'a>,
}

/// Sends `mail`; the error says which step failed and what the server answered.
pub fn send(server: &Server, mail: &Mail) -> Result<(), String> {
    if server.security == Security::None && server.username.is_some() {
        return Err(
            "refusing to send the SMTP password over a connection without TLS (security = \"none\")"
                .to_string(),
        );
    }
    let deadline = Instant::now() + server.timeout;
    let tcp = match &server.proxy {
        Some(proxy) => proxy.tunnel(server.host, server.port, server.timeout)?,
        None => super::proxy::connect((server.host, server.port), server.timeout)
            .map_err(|e| describe_io("cannot connect", &e))?,
    };
    let stream = if server.security == Security::Tls {
        Stream::Tls(Box::new(handshake(server, tcp, deadline)?))
    } else {
        Stream::Plain(tcp)
    };
    let mut session = Session {
        reader: BufReader::new(stream),
        deadline,
        server,
    };
    session.expect("the greeting", |code| code == 220)?;
    let mut extensions = session.ehlo()?;
    if server.security == Security::Starttls {
        if !offers(&extensions, "STARTTLS") {
            return Err(
                "the server does not offer STARTTLS (security = \"starttls\"); use \
                        security = \"tls\" for a TLS port such as 465"
                    .to_string(),
            );
        }
        session.command("STARTTLS", "STARTTLS", |code| code == 220)?;
        session.upgrade()?;
        extensions = session.ehlo()?;
    }
    if let Some(user) = server.username {
        session.authenticate(user, &extensions)?;
    }
    let body_8bit = !mail.message.is_ascii();
    let mut mail_from = format!("MAIL FROM:<{}>", mail.from);
    if body_8bit && offers(&extensions, "8BITMIME") {
        mail_from.push_str(" BODY=8BITMIME");
    }
    session.command(&mail_from, "the sender (MAIL FROM)", |code| code == 250)?;
    for to in mail.to {
        session.command(
            &format!("RCPT TO:<{to}>"),
            &format!("the recipient {to}"),
            |code| code == 250 || code == 251,
        )?;
    }
    session.command("DATA", "DATA", |code| code == 354)?;
    session.write(&dot_stuffed(mail.message))?;
    session.expect("the message", |code| code == 250)?;
    // The message is accepted; a failed goodbye changes nothing.
    let _ = session.command("QUIT", "QUIT", |code| code == 221);
    Ok(())
}

fn handshake(
    server: &Server,
    tcp: TcpStream,
    deadline: Instant,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let config = tls::client_config(server.ca_file).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server.host.to_string())
        .map_err(|_| format!("{} is not a valid host name for TLS", server.host))?;
    let connection = ClientConnection::new(Arc::clone(&config), name)
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let mut stream = StreamOwned::new(connection, tcp);
    set_timeouts(&stream.sock, deadline)?;
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| match tls::describe_chain(&e) {
                Some(tls) => tls,
                None => describe_io("TLS handshake failed", &e),
            })?;
    }
    Ok(stream)
}

fn set_timeouts(socket: &TcpStream, deadline: Instant) -> Result<(), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("the SMTP server did not finish within the time allowed".to_string());
    }
    socket
        .set_read_timeout(Some(left))
        .and_then(|()| socket.set_write_timeout(Some(left)))
        .map_err(|e| describe_io("connection failed", &e))
}

fn describe_io(what: &str, err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            "the SMTP server did not answer in time".to_string()
        }
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => "the SMTP server closed the connection".to_string(),
        _ => format!("{what}: {err}"),
    }
}

/// Whether the EHLO answer lists `keyword` (e.g. `STARTTLS`, `AUTH`).
fn offers(extensions: &[String], keyword: &str) -> bool {
    extensions.iter().any(|line| {
        line.split([' ', '='])
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
    })
}

fn auth_mechanisms(extensions: &[String]) -> Vec<String> {
    extensions
        .iter()
        .filter_map(|line| {
            let mut words = line.split([' ', '=']);
            let first = words.next()?;
            first
                .eq_ignore_ascii_case("AUTH")
                .then(|| words.map(str::to_ascii_uppercase).collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

/// CRLF line ends, a leading dot doubled (RFC 5321 4.5.2), and the final `.` line.
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let text = message.strip_suffix(b"\n").unwrap_or(message);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

impl Session<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        set_timeouts(self.reader.get_ref().socket(), self.deadline)?;
        let stream = self.reader.get_mut();
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| describe_io("sending failed", &e))
    }

    /// Reads one (possibly multi-line) answer: its code and its lines' text.
    fn read_answer(&mut self) -> Result<(u16, Vec<String>), String> {
        set_timeouts(self.reader.get_ref().socket(), self.deadline)?;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = self
                .reader
                .read_line(&mut line)
                .map_err(|e| describe_io("reading the answer failed", &e))?;
            if read == 0 {
                return Err("the SMTP server closed the connection".to_string());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| "the server does not speak SMTP".to_string())?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_string());
            if !more {
                return Ok((code, lines));
            }
            if lines.len() > 200 {
                return Err("the SMTP server's answer never ends".to_string());
            }
        }
    }

    fn expect(&mut self, what: &str, ok: impl Fn(u16) -> bool) -> Result<Vec<String>, String> {
        let (code, lines) = self.read_answer()?;
        if ok(code) {
            return Ok(lines);
        }
        let text: String = lines.join(" ").chars().take(200).collect();
        Err(format!("the SMTP server refused {what}: {code} {text}"))
    }

    fn command(
        &mut self,
        line: &str,
        what: &str,
        ok: impl Fn(u16) -> bool,
    ) -> Result<Vec<String>, String> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.expect(what, ok)
    }

    fn ehlo(&mut self) -> Result<Vec<String>, String> {
        let hello = format!("EHLO {}", self.server.hello_name);
        let lines = self.command(&hello, "EHLO", |code| code == 250)?;
        // The first line is the server's greeting, the others its extensions.
        Ok(lines.into_iter().skip(1).collect())
    }

    fn upgrade(&mut self) -> Result<(), String> {
        // Bytes the server sent after its "220" would be read as if they came over TLS: a
        // known injection attack.
        if !self.reader.buffer().is_empty() {
            return Err("the SMTP server sent data before the TLS handshake".to_string());
        }
        let placeholder = BufReader::new(Stream::Plain(
            self.reader
                .get_ref()
                .socket()
                .try_clone()
                .map_err(|e| describe_io("connection failed", &e))?,
        ));
        let stream = std::mem::replace(&mut self.reader, placeholder).into_inner();
        let Stream::Plain(tcp) = stream else {
            return Err("STARTTLS on a connection that is already TLS".to_string());
        };
        let tls = handshake(self.server, tcp, self.deadline)?;
        self.reader = BufReader::new(Stream::Tls(Box::new(tls)));
        Ok(())
    }

    fn authenticate(&mut self, user: &str, extensions: &[String]) -> Result<(), String> {
        if matches!(self.reader.get_ref(), Stream::Plain(_)) {
            return Err(
                "refusing to send the SMTP password over a connection without TLS".to_string(),
            );
        }
        let password = self.server.password.map_or("", Secret::expose);
        let mechanisms = auth_mechanisms(extensions);
        if mechanisms.iter().any(|m| m == "PLAIN") {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            self.command(
                &format!("AUTH PLAIN {token}"),
                "the credentials (AUTH PLAIN)",
                |code| code == 235,
            )?;
        } else if mechanisms.iter().any(|m| m == "LOGIN") {
            self.command("AUTH LOGIN", "AUTH LOGIN", |code| code == 334)?;
            self.command(
                &base64(user.as_bytes()),
                "the user name (AUTH LOGIN)",
                |code| code == 334,
            )?;
            self.command(
                &base64(password.as_bytes()),
                "the credentials (AUTH LOGIN)",
                |code| code == 235,
            )?;
        } else if mechanisms.is_empty() {
            return Err("the SMTP server does not offer authentication (AUTH), but a username is configured".to_string());
        } else {
            return Err(format!(
                "the SMTP server offers AUTH {} but klk-etl speaks PLAIN and LOGIN",
                mechanisms.join(" ")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        assert_eq!(
            dot_stuffed(b"Subject: x\n\n.hidden\nok\r\n..two\n"),
            b"Subject: x\r\n\r\n..hidden\r\nok\r\n...two\r\n.\r\n".to_vec()
        );
    }

    #[test]
    fn extensions_are_read_from_the_ehlo_answer() {
        let ext: Vec<String> = ["PIPELINING", "AUTH LOGIN PLAIN", "STARTTLS", "8BITMIME"]
            .map(String::from)
            .to_vec();
        assert!(offers(&ext, "starttls"));
        assert!(offers(&ext, "AUTH"));
        assert!(!offers(&ext, "SMTPUTF8"));
        assert_eq!(auth_mechanisms(&ext), vec!["LOGIN", "PLAIN"]);
        assert_eq!(auth_mechanisms(&["AUTH=PLAIN".to_string()]), vec!["PLAIN"]);
    }
}
