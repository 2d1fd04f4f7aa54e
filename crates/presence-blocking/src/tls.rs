//! rustls for the agent: the trusted roots (bundled Mozilla roots with `rustls`, the
//! platform's store with `native-roots`, plus any added with `add_root_certificate`) and the
//! mapping of a refused server certificate onto [`Error::Certificate`].

use std::error::Error as StdError;
use std::sync::Arc;

use presence_proto::{CertificateProblem, Error, RootCertificates};
use rustls::CertificateError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// ureq's TLS settings: rustls with ring, and the roots described above as one list.
pub(crate) fn tls_config(added: &RootCertificates) -> Result<TlsConfig, Error> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    #[cfg(feature = "rustls")]
    roots.extend(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref())),
    );
    #[cfg(feature = "native-roots")]
    {
        // Certificates the platform store could not hand over are skipped, as rustls does.
        let native = rustls_native_certs::load_native_certs();
        roots.extend(
            native
                .certs
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
        );
    }
    for pem in added.iter() {
        roots.extend(
            parse_pem(pem)?
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
        );
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::from(roots))
        .build())
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
pub(crate) fn certificate_problem(error: &ureq::Error) -> Option<CertificateProblem> {
    if let ureq::Error::Rustls(rustls::Error::InvalidCertificate(cert)) = error {
        return Some(problem(cert));
    }
    let mut current: Option<&(dyn StdError + 'static)> = match error {
        ureq::Error::Io(io) => Some(io),
        _ => None,
    };
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
        let direct =
            ureq::Error::Rustls(rustls::Error::InvalidCertificate(CertificateError::Expired));
        assert_eq!(
            certificate_problem(&direct),
            Some(CertificateProblem::Expired)
        );
        let wrapped = ureq::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        assert_eq!(
            certificate_problem(&wrapped),
            Some(CertificateProblem::UnknownIssuer)
        );
        assert_eq!(certificate_problem(&ureq::Error::ConnectionFailed), None);
    }

    #[test]
    fn bad_pem_is_invalid_input() {
        let err = parse_pem(b"not a certificate").unwrap_err();
        assert_eq!(err.kind(), presence_proto::ErrorKind::InvalidInput);
        assert!(tls_config(&RootCertificates::default()).is_ok());
    }
}
