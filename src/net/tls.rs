//! TLS for every outbound connection: rustls (no OpenSSL), certificates verified against
//! Mozilla's roots (built in) plus the system's store, plus an optional `ca_file` per
//! destination (a private CA). There is no way to skip verification, except the one
//! PostgreSQL's own `sslmode` values define (`require`/`prefer` encrypt without verifying,
//! `verify-ca` checks the chain only), for a database URL that asks for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// A `ca_file` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ca_file {}: {reason}", path.display())]
pub struct CaFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// Mozilla's roots and the system's, read once per process.
fn public_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // The system's store adds what an administrator installed (e.g. a company CA); a
        // missing or unreadable one leaves Mozilla's roots.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        roots
    })
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let fail = |reason: String| CaFileError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("is not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(fail(
            "holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)".to_string(),
        ));
    }
    Ok(certs)
}

/// The client configuration for destinations that trust `ca_file` (if any) on top of the
/// public roots. Built once per file and process.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, CaFileError> {
    static CONFIGS: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<ClientConfig>>>> = OnceLock::new();
    let key = ca_file.map(Path::to_path_buf);
    let cache = CONFIGS.get_or_init(Default::default);
    if let Some(config) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(config);
    }
    let mut roots = public_roots().clone();
    if let Some(path) = ca_file {
        add_ca_file(&mut roots, path)?;
    }
    let config = Arc::new(
        builder(ca_file)?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    if let Ok(mut cache) = cache.lock() {
        cache.insert(key, Arc::clone(&config));
    }
    Ok(config)
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), CaFileError> {
    for (i, cert) in read_ca_file(path)?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| CaFileError {
            path: path.to_path_buf(),
            reason: format!("certificate #{} cannot be a trust anchor: {e}", i + 1),
        })?;
    }
    Ok(())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder(
    ca_file: Option<&Path>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, CaFileError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CaFileError {
            path: ca_file.map(Path::to_path_buf).unwrap_or_default(),
            reason: format!("TLS set-up failed: {e}"),
        })
}

/// PostgreSQL's `sslmode=verify-ca`: the chain must lead to `ca_file` (and only to it: a
/// public CA would vouch for any name), the host name is not checked.
pub fn client_config_chain_only(ca_file: &Path) -> Result<ClientConfig, CaFileError> {
    let mut roots = RootCertStore::empty();
    add_ca_file(&mut roots, ca_file)?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| CaFileError {
            path: ca_file.to_path_buf(),
            reason: format!("TLS set-up failed: {e}"),
        })?;
    Ok(builder(Some(ca_file))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
        .with_no_client_auth())
}

/// PostgreSQL's `sslmode=require` and `prefer` without a CA file: encrypted, the certificate
/// not verified (libpq's meaning of those modes; `verify-full` is the one to use).
pub fn client_config_unverified() -> Result<ClientConfig, CaFileError> {
    Ok(builder(None)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(provider())))
        .with_no_client_auth())
}

#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain first and the name last: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS failure somewhere in `err`'s chain of causes, in words: why the certificate was
/// refused (not trusted, name mismatch, expired...) or why the handshake failed.
pub fn describe_chain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        // `io::Error::source` skips the error it wraps: look inside it too.
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(describe(tls));
        }
        next = cause.source();
    }
    None
}

/// One TLS error in words, starting with "TLS: ".
pub fn describe(err: &rustls::Error) -> String {
    use rustls::Error;
    let what = match err {
        Error::InvalidCertificate(cert) => describe_certificate(cert),
        Error::AlertReceived(alert) => {
            format!("the server refused the handshake (alert {alert:?})")
        }
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => {
            "the server did not answer in TLS (is it plain HTTP, or another protocol, on this port?)"
                .to_string()
        }
        Error::PeerIncompatible(why) => {
            format!("no TLS version or cipher suite in common with the server ({why:?})")
        }
        Error::NoCertificatesPresented => "the server presented no certificate".to_string(),
        other => format!("handshake failed: {other}"),
    };
    format!("TLS: {what}")
}

fn describe_certificate(err: &CertificateError) -> String {
    match err {
        CertificateError::UnknownIssuer => "certificate not trusted: issued by an unknown \
             certificate authority (a private CA? give its certificate in ca_file)"
            .to_string(),
        CertificateError::NotValidForName => {
            "certificate name mismatch: it is not valid for this host name".to_string()
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "certificate name mismatch: it is for {} but the address names {}",
            if presented.is_empty() {
                "no name".to_string()
            } else {
                presented
                    .iter()
                    .map(|name| presented_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            expected.to_str()
        ),
        CertificateError::Expired => "certificate expired".to_string(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("certificate expired on {}", unix_date(not_after.as_secs()))
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate not valid yet (is this host's clock right?)".to_string()
        }
        CertificateError::Revoked => "certificate revoked".to_string(),
        CertificateError::BadSignature => "certificate has a bad signature".to_string(),
        CertificateError::BadEncoding => "certificate is malformed".to_string(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate is not for TLS servers".to_string()
        }
        other => format!("certificate refused ({other:?})"),
    }
}

/// rustls lists the certificate's names as `DnsName("klk.example")`, `IpAddress(..)`: the
/// name alone reads better.
fn presented_name(name: &str) -> String {
    match name.split_once('(') {
        Some((_, inner)) => inner.trim_end_matches(')').trim_matches('"').to_string(),
        None => name.to_string(),
    }
}

fn unix_date(secs: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_name_their_cause() {
        let unknown = describe(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert!(
            unknown.starts_with("TLS: certificate not trusted"),
            "{unknown}"
        );
        assert!(unknown.contains("ca_file"));
        let name = describe(&rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        assert!(name.contains("name mismatch"), "{name}");
        let expired = describe(&rustls::Error::InvalidCertificate(
            CertificateError::Expired,
        ));
        assert!(expired.contains("expired"), "{expired}");
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        assert!(err.to_string().contains("cannot be read"), "{err}");
        let dir = std::env::temp_dir().join(format!("klk-etl-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let err = client_config(Some(&dir)).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
    }

    #[test]
    fn the_public_roots_are_loaded() {
        assert!(public_roots().len() > 50);
        assert!(client_config(None).is_ok());
    }
}
