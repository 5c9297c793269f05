//! HTTP proxies: which destination goes through which proxy (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, or the `[proxy]` table of the configuration), and the CONNECT
//! tunnel for protocols other than HTTP (SMTP).
//!
//! A proxy URL may hold credentials: it is a [`Secret`], and no message here quotes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::secret::Secret;

/// Which proxy, if any, outbound connections use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyConfig {
    /// For `https://` destinations and other tunnelled protocols (SMTP).
    pub https: Option<Secret>,
    /// For `http://` destinations.
    pub http: Option<Secret>,
    /// Destinations reached directly (the `NO_PROXY` list).
    pub no_proxy: NoProxy,
}

impl ProxyConfig {
    /// The proxy for a connection to `host:port`; `tls_or_tunnel` for `https://` and SMTP.
    pub fn for_destination(&self, tls_or_tunnel: bool, host: &str, port: u16) -> Option<&Secret> {
        if self.no_proxy.matches(host, port) {
            return None;
        }
        if tls_or_tunnel {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }
    }

    /// `[proxy] url` (`"none"`: no proxy whatever the environment says), else the environment
    /// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` as a fallback for both); `[proxy] no_proxy`,
    /// else `NO_PROXY`.
    pub fn resolve(
        configured: Option<&Secret>,
        configured_no_proxy: Option<&str>,
        env: &ProxyEnv,
    ) -> ProxyConfig {
        let (https, http) = match configured {
            Some(url) if url.expose().trim().eq_ignore_ascii_case("none") => (None, None),
            Some(url) => (Some(url.clone()), Some(url.clone())),
            None => (
                env.https.clone().or_else(|| env.all.clone()),
                env.http.clone().or_else(|| env.all.clone()),
            ),
        };
        let no_proxy = configured_no_proxy
            .or(env.no_proxy.as_deref())
            .map(NoProxy::parse)
            .unwrap_or_default();
        ProxyConfig {
            https,
            http,
            no_proxy,
        }
    }
}

/// The proxy variables of the environment (upper or lower case), read once by the CLI.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    pub https: Option<Secret>,
    pub http: Option<Secret>,
    pub all: Option<Secret>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    pub fn from_env() -> ProxyEnv {
        let var = |names: [&str; 2]| {
            names
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .find(|value| !value.trim().is_empty())
        };
        ProxyEnv {
            https: var(["HTTPS_PROXY", "https_proxy"]).map(Secret::from),
            http: var(["HTTP_PROXY", "http_proxy"]).map(Secret::from),
            all: var(["ALL_PROXY", "all_proxy"]).map(Secret::from),
            no_proxy: var(["NO_PROXY", "no_proxy"]),
        }
    }
}

/// `NO_PROXY`: comma-separated host names (a name also covers its subdomains; a leading
/// dot or `*.` is allowed), IP addresses, CIDR ranges (`10.0.0.0/8`), optionally with
/// `:port`; `*` alone matches everything. As in curl, nothing is exempt unless listed
/// (not even localhost).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoProxy {
    rules: Vec<NoProxyRule>,
}

#[derive(Debug, Clone, PartialEq)]
enum NoProxyRule {
    All,
    Domain {
        name: String,
        port: Option<u16>,
    },
    Ip {
        net: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let rules = list
            .split([',', ' '])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter_map(|entry| {
                if entry == "*" {
                    return Some(NoProxyRule::All);
                }
                let (host, port) = split_port(entry);
                let host = host.trim_start_matches("*.").trim_start_matches('.');
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if let Some((net, prefix)) = host.split_once('/') {
                    let net: IpAddr = net.parse().ok()?;
                    let prefix: u8 = prefix.parse().ok()?;
                    return Some(NoProxyRule::Ip { net, prefix, port });
                }
                if let Ok(ip) = host.parse::<IpAddr>() {
                    let prefix = if ip.is_ipv4() { 32 } else { 128 };
                    return Some(NoProxyRule::Ip {
                        net: ip,
                        prefix,
                        port,
                    });
                }
                Some(NoProxyRule::Domain {
                    name: host.to_ascii_lowercase(),
                    port,
                })
            })
            .collect();
        NoProxy { rules }
    }

    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.rules.iter().any(|rule| match rule {
            NoProxyRule::All => true,
            NoProxyRule::Domain { name, port: p } => {
                p.is_none_or(|p| p == port)
                    && (host == *name || host.ends_with(&format!(".{name}")))
            }
            NoProxyRule::Ip {
                net,
                prefix,
                port: p,
            } => p.is_none_or(|p| p == port) && ip.is_some_and(|ip| in_network(ip, *net, *prefix)),
        })
    }
}

fn split_port(entry: &str) -> (&str, Option<u16>) {
    // "[::1]:8080", "host:8080"; a bare IPv6 address has several colons and no port.
    if let Some(rest) = entry.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let prefix = u32::from(prefix.min(32));
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let prefix = u32::from(prefix.min(128));
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// A parsed proxy URL: `http://[user:password@]host[:port]`.
#[derive(Clone)]
pub struct ProxySpec {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl std::fmt::Debug for ProxySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "credentials",
                &self.user.as_ref().map(|_| crate::secret::REDACTED),
            )
            .finish()
    }
}

impl ProxySpec {
    /// Parses a proxy URL; the error never quotes it (it may hold credentials).
    pub fn parse(url: &Secret) -> Result<ProxySpec, String> {
        let raw = url.expose().trim();
        // A bare "host:port" (common in HTTPS_PROXY) means http://.
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("http://{raw}")
        };
        let parsed = url::Url::parse(&with_scheme)
            .map_err(|e| format!("the proxy URL is not a valid URL ({e})"))?;
        if parsed.scheme() != "http" {
            return Err(format!(
                "the proxy URL has scheme {}://; only http:// proxies are supported (the \
                 connection through them is still TLS end to end)",
                parsed.scheme()
            ));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the proxy URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |text: &str| {
            percent_decode(text).ok_or("the proxy URL's credentials are not valid UTF-8")
        };
        let user = (!parsed.username().is_empty())
            .then(|| decode(parsed.username()))
            .transpose()?;
        let password = parsed
            .password()
            .map(|p| decode(p).map(Secret::from))
            .transpose()?;
        Ok(ProxySpec {
            host,
            port: parsed.port().unwrap_or(80),
            user,
            password,
        })
    }

    /// `Proxy-Authorization` value, when the proxy has credentials.
    pub fn authorization(&self) -> Option<Secret> {
        let user = self.user.as_deref()?;
        let password = self.password.as_ref().map_or("", Secret::expose);
        Some(Secret::new(format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes())
        )))
    }

    /// The proxy for ureq (plain HTTP proxies; CONNECT for https:// destinations).
    pub fn to_ureq(&self) -> Result<ureq::Proxy, String> {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let credentials = match (&self.user, &self.password) {
            (Some(user), Some(password)) => format!("{user}:{}@", password.expose()),
            (Some(user), None) => format!("{user}:@"),
            _ => String::new(),
        };
        ureq::Proxy::new(format!("http://{credentials}{host}:{}", self.port))
            .map_err(|_| "the proxy URL cannot be used".to_string())
    }

    /// Opens a TCP connection to `host:port` through the proxy (HTTP CONNECT), within
    /// `timeout` for the connect and the proxy's answer.
    pub fn tunnel(&self, host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
        let deadline = Instant::now() + timeout;
        let mut stream = connect((self.host.as_str(), self.port), timeout)
            .map_err(|e| format!("cannot reach the proxy: {e}"))?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = stream.set_read_timeout(Some(left));
        let _ = stream.set_write_timeout(Some(left));
        self.open_tunnel(&mut stream, host, port)?;
        let _ = stream.set_read_timeout(None);
        let _ = stream.set_write_timeout(None);
        Ok(stream)
    }

    /// Asks the proxy, over `stream` (connected to it), for a tunnel to `host:port`; on
    /// success the stream leads to the destination.
    pub fn open_tunnel(
        &self,
        stream: &mut (impl Read + Write + ?Sized),
        host: &str,
        port: u16,
    ) -> Result<(), String> {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut request = format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: klk-etl/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(auth) = self.authorization() {
            request.push_str(&format!("Proxy-Authorization: {}\r\n", auth.expose()));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| format!("the proxy closed the connection: {e}"))?;
        // Read the answer byte by byte up to its blank line: nothing of the tunnel's own
        // traffic may be swallowed by a buffer.
        let mut reader = BufReader::with_capacity(1, stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .map_err(|e| format!("no answer from the proxy: {e}"))?;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return Err("the proxy closed the connection".to_string()),
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
                Err(e) => return Err(format!("no answer from the proxy: {e}")),
            }
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("the proxy did not answer in HTTP")?;
        match status {
            200..=299 => Ok(()),
            407 => Err("the proxy refused the credentials (HTTP 407)".to_string()),
            other => Err(format!(
                "the proxy refused the tunnel to {authority} (HTTP {other})"
            )),
        }
    }

    /// A ureq agent builder that reaches `https://host:port` through this proxy: a CONNECT
    /// tunnel, then TLS with `tls` end to end, and requests in origin form (ureq's own
    /// proxy support would send `POST https://host/path` inside the tunnel, which servers
    /// such as the KLK API answer with 404).
    pub fn https_through(
        &self,
        builder: ureq::AgentBuilder,
        port: u16,
        tls: std::sync::Arc<rustls::ClientConfig>,
    ) -> ureq::AgentBuilder {
        let proxy = self.clone();
        let (proxy_host, proxy_port) = (self.host.clone(), self.port);
        builder
            // The destination's name resolves to the proxy: ureq connects there...
            .resolver(move |_: &str| {
                (proxy_host.as_str(), proxy_port)
                    .to_socket_addrs()
                    .map(Iterator::collect)
            })
            // ...and the "TLS connector" asks for the tunnel before the handshake.
            .tls_connector(std::sync::Arc::new(TunnelThenTls { proxy, port, tls }))
    }
}

struct TunnelThenTls {
    proxy: ProxySpec,
    port: u16,
    tls: std::sync::Arc<rustls::ClientConfig>,
}

impl ureq::TlsConnector for TunnelThenTls {
    fn connect(
        &self,
        dns_name: &str,
        mut io: Box<dyn ureq::ReadWrite>,
    ) -> Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        let host = dns_name.trim_start_matches('[').trim_end_matches(']');
        self.proxy
            .open_tunnel(&mut *io, host, self.port)
            .map_err(|why| std::io::Error::new(std::io::ErrorKind::PermissionDenied, why))?;
        self.tls.connect(dns_name, io)
    }
}

/// Connects to the first address of `addr` that answers within `timeout`.
pub fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> std::io::Result<TcpStream> {
    let mut last = None;
    for address in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the host")
    }))
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// Standard, padded base64 (Basic credentials of a proxy, SMTP AUTH).
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_names_domains_ips_and_ranges() {
        let list = NoProxy::parse("localhost, .lan,example.com:8443,10.0.0.0/8,::1,192.168.1.5");
        assert!(list.matches("localhost", 80));
        assert!(list.matches("klk.lan", 443));
        assert!(list.matches("a.b.lan", 443));
        assert!(!list.matches("lan.example.org", 443));
        assert!(list.matches("api.example.com", 8443));
        assert!(!list.matches("api.example.com", 443));
        assert!(list.matches("10.20.30.40", 443));
        assert!(!list.matches("11.0.0.1", 443));
        assert!(list.matches("[::1]", 25));
        assert!(list.matches("192.168.1.5", 587));
        assert!(
            !list.matches("127.0.0.1", 443),
            "nothing is exempt unless listed"
        );
        assert!(NoProxy::parse("*").matches("anything.example", 1));
        assert!(!NoProxy::default().matches("localhost", 80));
    }

    #[test]
    fn the_configuration_overrides_the_environment() {
        let env = ProxyEnv {
            https: Some("http://env-https:3128".into()),
            http: None,
            all: Some("http://env-all:3128".into()),
            no_proxy: Some("internal".into()),
        };
        let from_env = ProxyConfig::resolve(None, None, &env);
        assert_eq!(from_env.https.unwrap().expose(), "http://env-https:3128");
        assert_eq!(from_env.http.unwrap().expose(), "http://env-all:3128");
        assert!(from_env.no_proxy.matches("a.internal", 443));
        let configured = ProxyConfig::resolve(Some(&"http://cfg:8080".into()), Some(""), &env);
        assert_eq!(configured.https.unwrap().expose(), "http://cfg:8080");
        assert!(!configured.no_proxy.matches("a.internal", 443));
        let none = ProxyConfig::resolve(Some(&"none".into()), None, &env);
        assert!(none.https.is_none() && none.http.is_none());
    }

    #[test]
    fn proxy_urls_parse_without_quoting_credentials() {
        let spec = ProxySpec::parse(&"http://user:p%40ss@proxy.example:3128".into()).unwrap();
        assert_eq!(spec.host, "proxy.example");
        assert_eq!(spec.port, 3128);
        assert_eq!(spec.user.as_deref(), Some("user"));
        assert_eq!(spec.password.as_ref().unwrap().expose(), "p@ss");
        assert_eq!(
            spec.authorization().unwrap().expose(),
            format!("Basic {}", base64(b"user:p@ss"))
        );
        assert!(!format!("{spec:?}").contains("p@ss"));
        let bare = ProxySpec::parse(&"proxy.example:8080".into()).unwrap();
        assert_eq!((bare.host.as_str(), bare.port), ("proxy.example", 8080));
        let err = ProxySpec::parse(&"https://user:SECRET@proxy:3128".into()).unwrap_err();
        assert!(
            !err.contains("SECRET") && err.contains("only http://"),
            "{err}"
        );
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
