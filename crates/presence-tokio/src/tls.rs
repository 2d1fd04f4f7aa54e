//! rustls for the default client: the trusted roots (bundled Mozilla roots with `rustls`, the
//! platform's store with `native-roots`, plus any added with `add_root_certificate`) and the
//! mapping of a refused server certificate onto [`Error::Certificate`].

use std::error::Error as StdError;
use std::sync::Arc;

use presence_proto::{CertificateProblem, Error, RootCertificates};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{CertificateError, ClientConfig, RootCertStore};

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
    for pem in added.iter() {
        for cert in parse_pem(pem)? {
            roots.add(cert).map_err(|e| invalid_root(&e.to_string()))?;
        }
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

/// The `CERTIFICATE` blocks of a PEM document (at least one).
pub(crate) fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid_root(&format!("unreadable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid_root("no CERTIFICATE block in the PEM"));
    }
    Ok(certs)
}

fn invalid_root(reason: &str) -> Error {
    Error::InvalidConfig {
        field: "root_certificate",
        reason: reason.to_owned(),
    }
}

/// Why the server's certificate was refused, when a TLS verification failure is in the chain
/// (rustls reports it inside an `io::Error`, whose `source()` skips it: look inside).
pub(crate) fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<CertificateProblem> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        let found = e.downcast_ref::<rustls::Error>();
        if let Some(rustls::Error::InvalidCertificate(cert)) = found {
            return Some(problem(cert));
        }
        // An `io::Error`'s `source()` is its inner error's source: step into the inner error.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

fn problem(error: &CertificateError) -> CertificateProblem {
    match error {
        CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertificateProblem::NameMismatch
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            CertificateProblem::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CertificateProblem::NotYetValid
        }
        CertificateError::Revoked => CertificateProblem::Revoked,
        _ => CertificateProblem::Other,
    }
}

#[cfg(test)]
mod tests {
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
        let err = parse_pem(b"not a certificate").unwrap_err();
        assert_eq!(err.kind(), presence_proto::ErrorKind::InvalidInput);
        assert!(client_config(&RootCertificates::default()).is_ok());
    }
}
