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

pub async fn serve(
    listener: TcpListener,
    status: StatusBoard,
    telemetry: Telemetry,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    axum::serve(listener, router(status, telemetry))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(ServerError::Serve)
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

/// Replaces the local part of every e-mail address in `text` by its first character and
/// `***`, keeping the domain (which says whose it is without saying who).
pub fn redact_emails(text: &str) -> String {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            // The local part is what was just copied: find where it began.
            let mut start = out.len();
            for (pos, c) in out.char_indices().rev() {
                if local(c) {
                    start = pos;
                } else {
                    break;
                }
            }
            let dom_len = chars[i + 1..].iter().take_while(|c| domain(**c)).count();
            let dom: String = chars[i + 1..i + 1 + dom_len].iter().collect();
            if start < out.len() && dom.contains('.') {
                let first = out[start..].chars().next().unwrap_or('*');
                out.truncate(start);
                out.push(first);
                out.push_str("***");
            }
        }
        out.push(chars[i]);
        i += 1;
    }
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
}
