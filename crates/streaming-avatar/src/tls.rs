//! The rustls client configuration: the ring provider, the public web roots (for the real
//! service), and any extra roots the caller adds (for a mock's self-signed certificate).

use crate::Error;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

pub fn client_config(extra_roots_pem: &[String]) -> Result<rustls::ClientConfig, Error> {
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
