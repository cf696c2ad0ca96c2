//! The rustls client configuration: the ring provider, the public web roots (for the real
//! service), and any extra roots the caller adds (for a mock's self-signed certificate).

use crate::Error;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::{Arc, OnceLock};

/// The configuration the SDK's HTTP and WebSocket clients use.
///
/// Without extra roots, every client shares one configuration (its root store and TLS
/// session cache) instead of building its own: a bench holds thousands of clients.
///
/// # Errors
/// `Error::Config` when an extra root is not a PEM certificate.
pub fn client_config(extra_roots_pem: &[String]) -> Result<rustls::ClientConfig, Error> {
    static PUBLIC_ROOTS_ONLY: OnceLock<rustls::ClientConfig> = OnceLock::new();
    if extra_roots_pem.is_empty() {
        if let Some(config) = PUBLIC_ROOTS_ONLY.get() {
            return Ok(config.clone());
        }
        let config = build(&[])?;
        return Ok(PUBLIC_ROOTS_ONLY.get_or_init(|| config).clone());
    }
    build(extra_roots_pem)
}

fn build(extra_roots_pem: &[String]) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for pem in extra_roots_pem {
        let mut found = false;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| Error::Config(format!("root certificate PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("root certificate: {e}")))?;
            found = true;
        }
        if !found {
            return Err(Error::Config(
                "a root certificate PEM holds no certificate".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
