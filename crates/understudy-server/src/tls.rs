//! TLS material for the HTTPS listener: a certificate generated with rcgen for localhost,
//! 127.0.0.1, ::1 and any names asked for, or a given PEM pair.
//!
//! Generated material is written to a directory and reused on the next start while the names
//! match, so a browser or OS that was told to trust it keeps trusting it. The SHA-256 of the
//! key's SubjectPublicKeyInfo is reported for Chromium's `--ignore-certificate-errors-spki-list`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Names every generated certificate covers.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Where the HTTPS listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Generate (or reuse) a self-signed certificate in `dir` for the default names plus `names`.
    Generated { dir: PathBuf, names: Vec<String> },
    /// Use this certificate chain and private key, both PEM.
    Files { cert: PathBuf, key: PathBuf },
}

impl TlsSource {
    /// A generated certificate in the system temp directory.
    pub fn generated(names: Vec<String>) -> Self {
        TlsSource::Generated {
            dir: std::env::temp_dir().join("understudy-tls"),
            names,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path} holds no usable PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate and key ready to serve, and where clients can find the certificate.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: String,
    /// The PEM file clients should trust.
    pub cert_path: PathBuf,
    /// Base64 SHA-256 of the SubjectPublicKeyInfo, for `--ignore-certificate-errors-spki-list`.
    pub spki_sha256: Option<String>,
}

impl TlsMaterial {
    /// Loads or generates the material `source` describes.
    ///
    /// # Errors
    /// Unreadable or unwritable files, PEM that holds no certificate or key, or a failure to
    /// generate one.
    pub fn load(source: &TlsSource) -> Result<Self, TlsError> {
        match source {
            TlsSource::Generated { dir, names } => generate_or_reuse(dir, names),
            TlsSource::Files { cert, key } => {
                let cert_pem = read(cert)?;
                let key_pem = read(key)?;
                let spki_sha256 = rcgen::KeyPair::from_pem(&key_pem)
                    .ok()
                    .map(|k| spki_hash(&k));
                Ok(Self {
                    cert_pem,
                    key_pem,
                    cert_path: cert.clone(),
                    spki_sha256,
                })
            }
        }
    }

    /// A rustls server configuration on the ring provider, offering HTTP/2 and HTTP/1.1.
    ///
    /// # Errors
    /// PEM without a certificate or key, or a key that does not fit the certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|_| TlsError::Pem {
                    path: self.cert_path.clone(),
                    what: "certificate",
                })?;
        if certs.is_empty() {
            return Err(TlsError::Pem {
                path: self.cert_path.clone(),
                what: "certificate",
            });
        }
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|_| TlsError::Pem {
                path: self.cert_path.clone(),
                what: "private key",
            })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn generate_or_reuse(dir: &Path, extra: &[String]) -> Result<TlsMaterial, TlsError> {
    let mut names: Vec<String> = DEFAULT_NAMES
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let names_path = dir.join("names.txt");
    let wanted = names.join("\n");

    if let (Ok(cert_pem), Ok(key_pem), Ok(stored)) = (
        std::fs::read_to_string(&cert_path),
        std::fs::read_to_string(&key_path),
        std::fs::read_to_string(&names_path),
    ) {
        if stored == wanted {
            if let Ok(key) = rcgen::KeyPair::from_pem(&key_pem) {
                return Ok(TlsMaterial {
                    cert_pem,
                    key_pem,
                    cert_path,
                    spki_sha256: Some(spki_hash(&key)),
                });
            }
        }
    }

    let certified = rcgen::generate_simple_self_signed(names)?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_owned(),
        source,
    })?;
    write(&cert_path, &cert_pem, 0o644)?;
    write(&key_path, &key_pem, 0o600)?;
    write(&names_path, &wanted, 0o644)?;
    Ok(TlsMaterial {
        spki_sha256: Some(spki_hash(&certified.signing_key)),
        cert_pem,
        key_pem,
        cert_path,
    })
}

fn spki_hash(key: &rcgen::KeyPair) -> String {
    use rcgen::PublicKeyData;
    STANDARD.encode(Sha256::digest(key.subject_public_key_info()))
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents` to a file created with `mode` (the private key: 0600, readable by its
/// owner only), replacing what was there: the mode is set on the new file before a byte of it
/// is written.
fn write(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    // A file left by an older run may have wider permissions; start afresh.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_is_reused_while_the_names_match() {
        let dir = std::env::temp_dir().join(format!("understudy-tls-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let source = TlsSource::Generated {
            dir: dir.clone(),
            names: vec!["api.mock.test".into()],
        };
        let first = TlsMaterial::load(&source).unwrap();
        let again = TlsMaterial::load(&source).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |name: &str| {
            std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        let key_file = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.contains("key"))
            .expect("a key file");
        assert_eq!(
            mode(&key_file),
            0o600,
            "the private key is its owner's only"
        );
        assert_eq!(first.cert_pem, again.cert_pem);
        assert!(first.server_config().is_ok());

        let other = TlsSource::Generated {
            dir: dir.clone(),
            names: vec!["other.test".into()],
        };
        assert_ne!(TlsMaterial::load(&other).unwrap().cert_pem, first.cert_pem);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
