//! Every outbound connection: TLS ([`tls`]: rustls, public roots plus a per-destination
//! `ca_file`), proxies ([`proxy`]: the environment's `HTTPS_PROXY`/`NO_PROXY` or the
//! configuration's `[proxy]`), HTTP for the integrations ([`http`]) and SMTP ([`smtp`]).
//! No printing here, and no message quotes a secret.

pub mod http;
pub mod proxy;
pub mod smtp;
pub mod tls;
