//! A platform that stops accepting data: a TCP proxy in front of nginx that forwards the first
//! `pass` bytes from the client, then never reads from it again (the connection stays open).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

pub async fn stalling(upstream: SocketAddr, pass: usize) -> (SocketAddr, JoinHandle<()>) {
    let socket = TcpSocket::new_v4().unwrap();
    // A small receive window, so the stall reaches the relay's socket quickly.
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, upstream, pass));
        }
    });
    (addr, task)
}

async fn serve(client: TcpStream, upstream: SocketAddr, pass: usize) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
    });
    let mut left = pass;
    let mut buf = vec![0u8; 16 * 1024];
    while left > 0 {
        let want = left.min(buf.len());
        match cr.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if sw.write_all(&buf[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
        }
    }
    // Stalled: keep both halves open, read nothing more.
    std::future::pending::<()>().await;
    drop((cr, sw));
}
