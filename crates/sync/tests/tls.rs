//! `wss://`: the server with a rustls certificate (self-signed by `openssl`, Debian's), a client
//! that trusts it completes the hello; a bad key file is a clear error without its contents.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use streampai_sync::protocol::{decode_server, ServerMsg};
use streampai_sync::server::{self, tls::TlsConfig, ServerConfig};
use tokio_tungstenite::tungstenite::Message;

fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (scripts/relay-deps.sh installs it)");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

#[tokio::test]
async fn wss_with_a_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let tls = TlsConfig::from_pem_files(&cert, &key).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = server::start(l, ServerConfig::default(), users(), Some(tls), None).await.unwrap();

    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(srv.local_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp).await.unwrap();
    let url = format!("wss://127.0.0.1:{}/sync", srv.local_addr().port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let hello = json!({"type": "hello", "version": 1, "token": ALICE, "device_id": "phone",
        "device_name": "Phone", "role": "device"});
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("no welcome") };
    assert!(matches!(decode_server(t.as_bytes(), 1 << 20).unwrap(), ServerMsg::Welcome { .. }));

    // A plain-text client gets nowhere on the TLS port.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/sync", srv.local_addr())).await;
    assert!(plain.is_err());
    srv.shutdown().await;

    // Bad key file: the error names the file, never its contents.
    std::fs::write(
        dir.path().join("bad.pem"),
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = TlsConfig::from_pem_files(&cert, &dir.path().join("bad.pem")).err().unwrap().to_string();
    assert!(e.contains("bad.pem") && !e.contains("c2VjcmV0"), "{e}");
}
