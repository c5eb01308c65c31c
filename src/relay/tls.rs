//! TLS for RTMPS outputs: rustls with the ring provider, the web PKI roots (Mozilla's set, built
//! in, so it behaves the same on every OS) plus any PEM certificates from `extra_ca_file`.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::RelayError;

/// Build the client configuration once per relay.
pub(crate) fn client_config(extra_ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, RelayError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = extra_ca_file {
        let tls_err =
            |e: String| RelayError::Tls { message: format!("extra_ca_file {}: {e}", path.display()) };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| tls_err(e.to_string()))? {
            let cert = cert.map_err(|e| tls_err(e.to_string()))?;
            roots.add(cert).map_err(|e| tls_err(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(tls_err("no PEM certificate found".into()));
        }
        tracing::info!(file = %path.display(), added, "relay: extra TLS roots loaded");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RelayError::Tls { message: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_the_web_roots_and_rejects_a_file_without_certificates() {
        client_config(None).expect("web roots only");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(matches!(client_config(Some(&empty)), Err(RelayError::Tls { .. })));
        let missing = dir.path().join("missing.pem");
        assert!(matches!(client_config(Some(&missing)), Err(RelayError::Tls { .. })));
    }
}
