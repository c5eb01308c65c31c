//! TLS (`wss://`) with rustls: a listener that completes handshakes off the accept loop, so a
//! slow or hostile handshake never holds up other connections.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::ServerError;
use crate::guard::{Guard, GuardedIo, HeadWatch, Peer};

/// What a TLS connection is once accepted: the guard sees the raw socket (so the handshake
/// counts as "pending"), the head watcher the decrypted bytes.
pub type TlsIo = HeadWatch<TlsStream<GuardedIo<TcpStream>>>;

/// A loaded certificate chain and key.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl TlsConfig {
    /// Load PEM files: the certificate chain and its private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, ServerError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display())))?;
        if certs.is_empty() {
            return Err(ServerError::Tls(format!("{}: no certificate", cert.display())));
        }
        // The key's contents never reach an error message: only the path.
        let key_path = key;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|_| ServerError::Tls(format!("{}: no readable private key", key_path.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ServerError::Tls(format!("{} with {}: {e}", cert.display(), key_path.display())))?;
        Ok(TlsConfig { acceptor: TlsAcceptor::from(Arc::new(config)) })
    }
}

/// An axum listener yielding finished TLS streams.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsIo, Peer)>,
    addr: SocketAddr,
}

impl TlsListener {
    pub fn new(listener: TcpListener, tls: TlsConfig, guard: Guard, stop: CancellationToken) -> Self {
        let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = tokio::select! {
                    _ = stop.cancelled() => return,
                    r = listener.accept() => match r {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::debug!(cause = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let _ = tcp.set_nodelay(true);
                let (tcp, peer_info) = guard.wrap(tcp, peer);
                let acceptor = tls.acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => {
                            let io = HeadWatch::new(s, peer_info.admission.clone());
                            let _ = tx.send((io, peer_info)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, cause = %e, "tls handshake failed"),
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                });
            }
        });
        TlsListener { rx, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsIo;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The accept loop stopped (shutdown): wait for axum's graceful shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Peer> {
        Err(std::io::Error::other(format!("a guarded listener on {}", self.addr)))
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}
