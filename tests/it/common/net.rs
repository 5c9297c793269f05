//! Local servers for the integration tests, all on 127.0.0.1 and started by the tests: a
//! private CA generated at test time (rcgen), HTTP(S) receivers that record what they get, a
//! TLS-terminating forwarder (to put the plain simulator behind TLS), an HTTP CONNECT proxy
//! and the SMTP server (tests/python/smtp_server.py, on Python's aiosmtpd).
//!
//! Included with `#[path = "common/net.rs"] mod net;` by the tests that need it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A private certificate authority made for one test.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pub pem: String,
}

/// A server certificate and its key, as rustls wants them and as PEM.
pub struct ServerCert {
    pub config: Arc<ServerConfig>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl ServerCert {
    /// Writes `cert.pem` and `key.pem` into `dir` (for servers outside this process).
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let cert = dir.join("server-cert.pem");
        let key = dir.join("server-key.pem");
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { params, key, pem }
    }

    /// Writes the CA certificate (what `ca_file` points at) into `dir`.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    /// A server certificate for `names` (IP addresses or DNS names) signed by this CA;
    /// `expired` makes it valid only in 2020.
    pub fn server(&self, names: &[&str], expired: bool) -> ServerCert {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("server"),
        );
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .unwrap();
        ServerCert {
            config: Arc::new(config),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// One HTTP request as a receiver saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query's value for `key` (percent-decoded).
    pub fn query(&self, key: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

/// Reads one request (head, then `Content-Length` bytes of body).
fn read_request(stream: &mut dyn Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// How a receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer with this status.
    Status(u16),
    /// Answer 500 with the whole request (URL, headers, body) as the body.
    Echo,
    /// Read the request, then never answer.
    Hang,
}

/// An HTTP or HTTPS server recording every request.
pub struct Receiver {
    pub base_url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub fn http() -> Receiver {
        Receiver::start(None)
    }

    pub fn https(cert: &ServerCert) -> Receiver {
        Receiver::start(Some(Arc::clone(&cert.config)))
    }

    fn start(tls: Option<Arc<ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::Status(200)));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping, answer) = (
            Arc::clone(&requests),
            Arc::clone(&stop),
            Arc::clone(&behaviour),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (log, answer, tls) = (Arc::clone(&log), Arc::clone(&answer), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    match tls {
                        None => serve_one(stream, &log, &answer),
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let tls = rustls::StreamOwned::new(connection, stream);
                            serve_one(tls, &log, &answer);
                        }
                    }
                });
            }
        });
        Receiver {
            base_url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            requests,
            behaviour,
            stop,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits up to 5 s for at least `n` requests.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let until = Instant::now() + Duration::from_secs(5);
        while self.requests.lock().unwrap().len() < n && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.requests()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one<S: Read + Write>(mut stream: S, log: &Mutex<Vec<Request>>, answer: &Mutex<Behaviour>) {
    let Some(request) = read_request(&mut stream) else {
        // What a plain HTTP server says to bytes it cannot read (e.g. a TLS handshake).
        let _ = stream.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    };
    log.lock().unwrap().push(request.clone());
    let behaviour = *answer.lock().unwrap();
    let (status, body) = match behaviour {
        Behaviour::Status(status) => (status, "ok".to_string()),
        Behaviour::Echo => (
            500,
            format!(
                "{} {} {:?} {}",
                request.method, request.target, request.headers, request.body
            ),
        ),
        Behaviour::Hang => {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A port where nothing listens (a service that is down).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Accepts TLS on 127.0.0.1 and forwards the plaintext to `backend` (the simulator): the KLK
/// API behind TLS. Returns the `https://` base URL.
pub fn tls_forwarder(cert: &ServerCert, backend: SocketAddr) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::clone(&cert.config);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                if let Ok(connection) = rustls::ServerConnection::new(config) {
                    forward(connection, client, backend);
                }
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

fn write_all_nonblocking(stream: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn forward(mut tls: rustls::ServerConnection, mut client: TcpStream, backend: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(backend) else {
        return;
    };
    let _ = client.set_nonblocking(true);
    let _ = server.set_nonblocking(true);
    // rustls buffers 64 KiB of plaintext by default and then accepts nothing (`write_all`
    // fails with WriteZero): a large answer arriving faster than the client reads it would
    // cut the connection. The forwarder relays whatever the simulator sends.
    tls.set_buffer_limit(None);
    let mut buf = vec![0u8; 64 * 1024];
    let mut backend_done = false;
    loop {
        let mut progress = false;
        if tls.wants_read() {
            match tls.read_tls(&mut client) {
                Ok(0) => return,
                Ok(_) => {
                    progress = true;
                    if tls.process_new_packets().is_err() {
                        let _ = tls.write_tls(&mut client);
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    progress = true;
                    if write_all_nonblocking(&mut server, &buf[..n]).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if !backend_done {
            match server.read(&mut buf) {
                Ok(0) => backend_done = true,
                Ok(n) => {
                    progress = true;
                    if tls.writer().write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => backend_done = true,
            }
        }
        while tls.wants_write() {
            match tls.write_tls(&mut client) {
                Ok(_) => progress = true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        if backend_done {
            tls.send_close_notify();
            while tls.wants_write() {
                if tls.write_tls(&mut client).is_err() {
                    break;
                }
            }
            return;
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// `(request line, Proxy-Authorization)` of every request a [`Proxy`] got.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// An HTTP proxy: CONNECT tunnels (and plain absolute-form requests), optionally requiring
/// `Proxy-Authorization`. Records what it was asked.
pub struct Proxy {
    pub url: String,
    pub port: u16,
    /// `(request line, Proxy-Authorization)` of every request.
    pub seen: Seen,
}

impl Proxy {
    /// `credentials`: `Some(("user", "password"))` requires them.
    pub fn start(credentials: Option<(&str, &str)>) -> Proxy {
        use base64::Engine as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let expected = credentials.map(|(user, password)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                let expected = expected.clone();
                std::thread::spawn(move || proxy_one(client, &log, expected.as_deref()));
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
        }
    }

    pub fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

/// `Basic <token>`: the scheme in any case (RFC 9110), the token exactly.
pub fn same_credentials(a: &str, b: &str) -> bool {
    match (a.split_once(' '), b.split_once(' ')) {
        (Some((sa, ta)), Some((sb, tb))) => sa.eq_ignore_ascii_case(sb) && ta.trim() == tb.trim(),
        _ => false,
    }
}

fn proxy_one(
    mut client: TcpStream,
    log: &Mutex<Vec<(String, Option<String>)>>,
    expected: Option<&str>,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    // The head, byte by byte: nothing after it may be swallowed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let auth = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    log.lock()
        .unwrap()
        .push((request_line.clone(), auth.clone()));
    if let Some(expected) = expected
        && !auth
            .as_deref()
            .is_some_and(|auth| same_credentials(auth, expected))
    {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let (authority, first_bytes) = if method == "CONNECT" {
        (target.to_string(), Vec::new())
    } else {
        // http://host:port/path -> origin form, the rest of the head as it came.
        let Some(rest) = target.strip_prefix("http://") else {
            return;
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut rewritten = format!("{method} {path} HTTP/1.1\r\n");
        for line in head.lines().skip(1) {
            if !line.to_ascii_lowercase().starts_with("proxy-") && !line.is_empty() {
                rewritten.push_str(line);
                rewritten.push_str("\r\n");
            }
        }
        rewritten.push_str("\r\n");
        (authority.to_string(), rewritten.into_bytes())
    };
    let Ok(mut upstream) = TcpStream::connect(&authority) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if method == "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
        let _ = upstream.write_all(&first_bytes);
    }
    let _ = client.set_read_timeout(None);
    let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// The SMTP server (aiosmtpd, tests/python/smtp_server.py): STARTTLS or implicit TLS with `cert`,
/// AUTH required with `user`/`password`; what it receives is read with [`Smtp::messages`].
pub struct Smtp {
    pub port: u16,
    child: std::process::Child,
    out: PathBuf,
}

/// The Python that runs the test servers: `KLK_ETL_PYTHON` (set by .ci/run) or `python3`;
/// it must have aiosmtpd, or the test fails saying so.
pub fn python_with(module: &str) -> String {
    let candidate = std::env::var("KLK_ETL_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = std::process::Command::new(&candidate)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs Python's {module} for its local server: run `bash .ci/run`, or set \
         KLK_ETL_PYTHON to a python with `pip install {module}` (tried {candidate})"
    );
    candidate
}

impl Smtp {
    pub fn start(mode: &str, cert: &ServerCert, user: &str, password: &str, dir: &Path) -> Smtp {
        let python = python_with("aiosmtpd");
        let (cert_file, key_file) = cert.write(dir);
        let out = dir.join(format!("smtp-{mode}.jsonl"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/smtp_server.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .args(["--mode", mode, "--user", user, "--password", password])
            .arg("--cert")
            .arg(&cert_file)
            .arg("--key")
            .arg(&key_file)
            .arg("--out")
            .arg(&out)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start tests/python/smtp_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"));
        Smtp { port, child, out }
    }

    /// Every message received so far (waits up to 5 s for at least `n`).
    pub fn messages(&self, n: usize) -> Vec<serde_json::Value> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            let messages: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if messages.len() >= n || Instant::now() >= until {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses Prometheus text with Python's `prometheus_client` (strict); returns
/// `{family: [type, samples]}` (the parser strips `_total` from counters' names).
pub fn strict_prometheus(text: &str) -> serde_json::Value {
    let python = python_with("prometheus_client");
    let mut child = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\n\
             fams = list(text_string_to_metric_families(sys.stdin.read()))\n\
             print(json.dumps({f.name: [f.type, len(f.samples)] for f in fams}))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "strict parser rejected it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
