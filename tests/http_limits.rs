//! The HTTP server under hostile clients: idle connections, a slow client that never finishes
//! its headers, and more connections than the limit. The endpoints keep answering, and nothing
//! holds a connection open for good. (Small limits so the test is quick; the bounds below are
//! generous ceilings for "eventually closed", not timings.)

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use trimtab::server::{Limits, serve_with};

const LIMITS: Limits = Limits {
    header_read: Duration::from_millis(300),
    lifetime: Duration::from_millis(1_500),
    max_connections: 8,
};
/// Far longer than any limit: a connection still open after this is held for good.
const CEILING: Duration = Duration::from_secs(10);

async fn start() -> (std::net::SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/healthz", get(|| async { "ok\n" }));
    let stop = CancellationToken::new();
    tokio::spawn(serve_with(listener, app, LIMITS, stop.clone()));
    (addr, stop)
}

/// Waits for the server to close the connection (EOF or reset); false if it never does.
async fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(CEILING, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthz(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    let _ = tokio::time::timeout(CEILING, s.read_to_string(&mut out)).await;
    out
}

#[tokio::test]
async fn idle_and_slow_connections_are_cut_off_and_the_endpoints_keep_answering() {
    let (addr, stop) = start().await;
    // Twice the limit of connections that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..2 * LIMITS.max_connections {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Every one of them is closed: the ones over the limit at once, the others once their
    // headers are overdue.
    for s in &mut idle {
        assert!(closed(s).await, "an idle connection was held open");
    }
    assert!(
        healthz(addr).await.starts_with("HTTP/1.1 200"),
        "after the flood"
    );

    // A slow client: half a request, then nothing.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    assert!(closed(&mut slow).await, "a slow client held its connection");

    // A kept-alive connection serves requests, and is closed after its lifetime.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        closed(&mut kept).await,
        "a kept-alive connection outlived its lifetime"
    );

    stop.cancel();
}
