//! rustls for the agent: the trusted roots (bundled Mozilla roots with `rustls`, the
//! platform's store with `native-roots`, plus any added with `add_root_certificate`) and the
//! mapping of a refused server certificate onto [`Error::Certificate`].

use std::sync::Arc;

use presence_proto::{CertificateProblem, Error, RootCertificates};
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
    for der in added.der()? {
        roots.push(Certificate::from_der(&der).to_owned());
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::from(roots))
        .build())
}

/// Why the server's certificate was refused, when a TLS verification failure is in the chain.
pub(crate) fn certificate_problem(error: &ureq::Error) -> Option<CertificateProblem> {
    let cert = match error {
        ureq::Error::Rustls(rustls::Error::InvalidCertificate(cert)) => cert,
        ureq::Error::Io(io) => match presence_proto::find_in_chain::<rustls::Error>(io)? {
            rustls::Error::InvalidCertificate(cert) => cert,
            _ => return None,
        },
        _ => return None,
    };
    Some(CertificateProblem::from_verifier(&format!("{cert:?}")))
}

#[cfg(test)]
mod tests {
    use rustls::CertificateError;

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
        let options = presence_proto::ClientOptions::default().add_root_certificate(b"nope");
        let err = tls_config(options.get_root_certificates()).unwrap_err();
        assert_eq!(err.kind(), presence_proto::ErrorKind::InvalidInput);
        assert!(tls_config(&RootCertificates::default()).is_ok());
    }
}
