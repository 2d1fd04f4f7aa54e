//! rustls for the default client: the trusted roots (bundled Mozilla roots with `rustls`, the
//! platform's store with `native-roots`, plus any added with `add_root_certificate`) and the
//! mapping of a refused server certificate onto [`Error::Certificate`].

use std::error::Error as StdError;
use std::sync::Arc;

use presence_proto::{CertificateProblem, Error, RootCertificates};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The rustls client configuration: ring, TLS 1.2 and 1.3, the roots described above.
pub(crate) fn client_config(added: &RootCertificates) -> Result<ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "rustls")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(%error, "a platform root certificate could not be loaded");
        }
        let (loaded, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(loaded, ignored, "platform root certificates");
    }
    for der in added.der()? {
        roots
            .add(CertificateDer::from(der))
            .map_err(|e| Error::InvalidConfig {
                field: "root_certificate",
                reason: e.to_string(),
            })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig {
            field: "tls",
            reason: format!("rustls could not be configured: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Why the server's certificate was refused, when a TLS verification failure is in the chain.
pub(crate) fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<CertificateProblem> {
    match presence_proto::find_in_chain::<rustls::Error>(error)? {
        rustls::Error::InvalidCertificate(cert) => {
            Some(CertificateProblem::from_verifier(&format!("{cert:?}")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rustls::CertificateError;

    use super::*;

    #[test]
    fn verification_failures_are_classified() {
        let wrapped = |e: CertificateError| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(e),
            )
        };
        for (error, expected) in [
            (
                CertificateError::UnknownIssuer,
                CertificateProblem::UnknownIssuer,
            ),
            (
                CertificateError::NotValidForName,
                CertificateProblem::NameMismatch,
            ),
            (CertificateError::Expired, CertificateProblem::Expired),
            (CertificateError::BadSignature, CertificateProblem::Other),
        ] {
            assert_eq!(certificate_problem(&wrapped(error)), Some(expected));
        }
        let other = std::io::Error::other("reset");
        assert_eq!(certificate_problem(&other), None);
    }

    #[test]
    fn bad_pem_is_invalid_input() {
        let options = presence_proto::ClientOptions::default().add_root_certificate(b"nope");
        let err = client_config(options.get_root_certificates()).unwrap_err();
        assert_eq!(err.kind(), presence_proto::ErrorKind::InvalidInput);
        assert!(client_config(&RootCertificates::default()).is_ok());
    }
}
