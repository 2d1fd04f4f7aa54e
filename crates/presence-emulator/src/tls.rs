//! HTTPS for the emulator: a certificate and key (from PEM files, or a self-signed pair made
//! at start with rcgen) and the rustls acceptor the accept loop runs each connection through.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and private key the emulator serves HTTPS with.
///
/// ```
/// use presence_emulator::{EmulatorBuilder, TlsIdentity};
/// let identity = TlsIdentity::self_signed(["localhost", "127.0.0.1"])?;
/// assert!(identity.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// let builder = EmulatorBuilder::new().tls(identity);
/// assert!(builder.tls_certificate_pem().is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsIdentity {
    cert_pem: String,
    key_pem: Arc<str>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

impl TlsIdentity {
    /// A new self-signed certificate (and key) for these DNS names and IP addresses; clients
    /// trust it by adding [`certificate_pem`](Self::certificate_pem) as a root.
    ///
    /// ```
    /// let identity = presence_emulator::TlsIdentity::self_signed(["localhost"])?;
    /// assert!(identity.certificate_pem().contains("CERTIFICATE"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn self_signed<I, S>(names: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        Ok(Self {
            cert_pem: certified.cert.pem(),
            key_pem: Arc::from(certified.key_pair.serialize_pem()),
        })
    }

    /// A certificate chain and private key in PEM (checked now).
    ///
    /// ```
    /// use presence_emulator::TlsIdentity;
    /// let made = TlsIdentity::self_signed(["localhost"])?;
    /// assert!(TlsIdentity::from_pem("not pem", "not pem").is_err());
    /// # let _ = made;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem(cert_pem: impl Into<String>, key_pem: impl Into<String>) -> io::Result<Self> {
        let identity = Self {
            cert_pem: cert_pem.into(),
            key_pem: Arc::from(key_pem.into()),
        };
        identity.server_config()?;
        Ok(identity)
    }

    /// Reads the certificate chain and the private key from PEM files (`--tls-cert`,
    /// `--tls-key`).
    ///
    /// ```no_run
    /// let identity = presence_emulator::TlsIdentity::from_files("cert.pem", "key.pem")?;
    /// # let _ = identity;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        Self::from_pem(
            std::fs::read_to_string(cert)?,
            std::fs::read_to_string(key)?,
        )
    }

    /// The certificate chain in PEM: what a client adds as a trusted root for a self-signed
    /// certificate.
    ///
    /// ```
    /// let identity = presence_emulator::TlsIdentity::self_signed(["localhost"])?;
    /// std::fs::write(std::env::temp_dir().join("emulator-ca.pem"), identity.certificate_pem())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    fn server_config(&self) -> io::Result<rustls::ServerConfig> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
        let certs = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&format!("TLS certificate: {e}")))?;
        if certs.is_empty() {
            return Err(invalid("TLS certificate: no CERTIFICATE block"));
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| invalid(&format!("TLS key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(&format!("TLS certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// The acceptor the accept loop hands each connection to.
    pub(crate) fn acceptor(&self) -> io::Result<tokio_rustls::TlsAcceptor> {
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(
            self.server_config()?,
        )))
    }
}
