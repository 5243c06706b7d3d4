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

async fn status_json(State(s): State<AppState>) -> Response {
    axum::Json(s.status.snapshot()).into_response()
}
