//! The daemon's HTTP face: `/healthz` (the loop is alive), `/readyz` (the first observation
//! succeeded), `/metrics` (Prometheus text format) and `/status` (JSON).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::engine::status::StatusBoard;
use crate::telemetry::Telemetry;

#[derive(Debug, Clone)]
struct AppState {
    status: StatusBoard,
    telemetry: Telemetry,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("binding {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
}

pub fn router(status: StatusBoard, telemetry: Telemetry) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status_json))
        .with_state(AppState { status, telemetry })
}

/// Binds now (so a busy port fails start-up) and serves until `shutdown` fires.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// What a connection may take. The defaults keep the endpoints answering under a flood of
/// idle or slow connections: a client that has not sent its request headers within
/// `header_read` is cut off, every connection is closed after `lifetime` (Prometheus and the
/// ECS agent reconnect), and past `max_connections` new connections are closed at once rather
/// than holding file descriptors the health check needs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read: std::time::Duration,
    pub lifetime: std::time::Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: std::time::Duration::from_secs(5),
            lifetime: std::time::Duration::from_secs(60),
            max_connections: 64,
        }
    }
}

pub async fn serve(
    listener: TcpListener,
    status: StatusBoard,
    telemetry: Telemetry,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    serve_with(
        listener,
        router(status, telemetry),
        Limits::default(),
        shutdown,
    )
    .await
}

/// Serves `app` on `listener` within `limits` until `shutdown` fires, then lets requests in
/// flight finish (a connection outlives the shutdown by at most `header_read`).
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait a moment rather than spin.
            Err(e) => {
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(
                limit = limits.max_connections,
                "HTTP connection limit reached; closing a new connection"
            );
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let stop = shutdown.clone();
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let lifetime = tokio::time::sleep(limits.lifetime);
            let done = tokio::select! {
                _ = conn.as_mut() => true,
                () = lifetime => false,
                () = stop.cancelled() => false,
            };
            if !done {
                // The request in flight, if any, completes; an idle connection closes now.
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limits.header_read, conn).await;
            }
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

async fn healthz(State(s): State<AppState>) -> Response {
    if s.status.healthy() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no cycle has completed within 3 intervals\n",
        )
            .into_response()
    }
}

async fn readyz(State(s): State<AppState>) -> Response {
    if s.status.ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first observation\n",
        )
            .into_response()
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.telemetry.render(),
    )
        .into_response()
}

async fn page(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        redact_emails(&crate::page::render(&s.status.snapshot())),
    )
        .into_response()
}

async fn status_json(State(s): State<AppState>) -> Response {
    // /status is for anyone who can reach the port: subscribers' addresses (in change ids,
    // reasons and errors) are shown as `o***@example.com`.
    match serde_json::to_string(&s.status.snapshot()) {
        Ok(text) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            redact_emails(&text),
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("status: {e}"),
        )
            .into_response(),
    }
}

/// One `GET /healthz` to a daemon, with a deadline: `Ok` on 200. For `trimtab healthcheck`,
/// the container's health check; a plain blocking request needs no HTTP client.
pub fn probe(addr: SocketAddr, timeout: std::time::Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("sending: {e}"))?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).map_err(|e| format!("reading: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.lines().next().unwrap_or("");
    if status.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("/healthz answered {status:?}"))
    }
}

/// Replaces the local part of every e-mail address in `text` by its first character and
/// `***`, keeping the domain (which says whose it is without saying who).
pub fn redact_emails(text: &str) -> String {
    // Byte-wise: every character either class admits is ASCII, so a scan that stops at any
    // other byte stops on a character boundary. `/status` at 1,000 functions is about 2 MB,
    // and a copy as `char`s was four times that again.
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'@') {
        out.push_str(&text[copied..at]);
        copied = at;
        // The local part is what was just copied (after any earlier redaction): where it began.
        let kept = out.as_bytes();
        let start = kept.len() - kept.iter().rev().take_while(|b| local(**b)).count();
        let dom = bytes[at + 1..].iter().take_while(|b| domain(**b));
        if start < kept.len() && dom.clone().any(|b| *b == b'.') {
            let first = char::from(kept[start]);
            out.truncate(start);
            out.push(first);
            out.push_str("***");
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_emails;

    #[test]
    fn addresses_keep_their_first_letter_and_domain() {
        let cases = [
            (
                "trimtab-alerts/oncall@example.com",
                "trimtab-alerts/o***@example.com",
            ),
            (
                "\"a.b+c@x.co\" and z@y.org.",
                "\"a***@x.co\" and z***@y.org.",
            ),
            (
                "no address @ all, a@b (no dot)",
                "no address @ all, a@b (no dot)",
            ),
            ("ünïcode before x@ex.com", "ünïcode before x***@ex.com"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_emails(input), want, "{input}");
        }
    }

    /// The first version, character by character: the byte-wise one must agree with it.
    fn by_chars(text: &str) -> String {
        let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
        let domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        for (i, c) in chars.iter().enumerate() {
            if *c == '@' {
                let start = out
                    .char_indices()
                    .rev()
                    .take_while(|(_, c)| local(*c))
                    .last()
                    .map_or(out.len(), |(pos, _)| pos);
                let dom: String = chars[i + 1..].iter().take_while(|c| domain(**c)).collect();
                if start < out.len() && dom.contains('.') {
                    let first = out[start..].chars().next().unwrap_or('*');
                    out.truncate(start);
                    out.push(first);
                    out.push_str("***");
                }
            }
            out.push(*c);
        }
        out
    }

    #[test]
    fn byte_wise_agrees_with_the_char_wise_version() {
        let alphabet = [
            'a', 'Z', '7', '.', '@', '-', '+', '_', '%', ' ', 'é', '字', '"', '/',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let mut x = seed;
            for _ in 0..len {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            assert_eq!(redact_emails(&text), by_chars(&text), "{text:?}");
        }
        assert_eq!(redact_emails("a@b.co@c.com"), "a***@b***@c.com");
    }
}
