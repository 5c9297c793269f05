//! `klk-etl serve`: a small web server over the tracker core. The operators' dashboard
//! (`/`), the previous system's panel API (`/api/etl/tracking/`), klk-etl's own API
//! (`/api/v1/`), `/health` for load balancers and `/metrics` for Prometheus. See
//! docs/serve.md.
//!
//! The database is opened per request (read-only, through the reader gate that lets a
//! waiting `run` in first) on a blocking thread and closed right after, so an idle server
//! never holds the file. A recovery goes through `etl::run::run` under the same run lock as
//! cron's `run`.

mod auth;
mod cache;
mod http;
mod i18n;
mod legacy;
mod pages;
mod recover;
mod v1;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::clock::Clock;
use crate::config::Config;

/// Request bodies larger than this are refused (413) before they are read whole.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    /// The configuration with `[serve] lock_timeout` as the database lock timeout, for reads.
    pub read_config: Config,
    pub clock: Clock,
    pub auth: auth::Auth,
    pub cache: cache::Cache,
    /// DuckDB work at once (opens included): more would only queue inside DuckDB.
    pub db_slots: tokio::sync::Semaphore,
    /// Set by a second SIGINT/SIGTERM: recoveries in flight stop (as `run` does).
    pub interrupt: Arc<AtomicBool>,
}

pub type Shared = Arc<AppState>;

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/days", get(pages::days))
        .route("/gaps", get(pages::gaps_page))
        .route("/executions", get(pages::executions_page))
        .route("/fragments/live", get(pages::live_fragment))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/recover", post(pages::recover_form))
        .route("/assets/{name}", get(pages::asset))
        .route("/health", get(v1::health))
        .route("/metrics", get(v1::metrics))
        .route("/api/v1/health", get(v1::health))
        .route("/api/v1/gaps", get(v1::gaps))
        .route("/api/v1/metrics", get(v1::metrics_json))
        .route("/api/v1/executions", get(v1::executions))
        .route("/api/v1/status", get(v1::status))
        .route("/api/v1/stores", get(v1::stores))
        .route("/api/etl/tracking/ejecuciones", get(legacy::ejecuciones))
        .route("/api/etl/tracking/gaps", get(legacy::gaps))
        .route("/api/etl/tracking/metricas", get(legacy::metricas))
        .route("/api/etl/tracking/cron/status", get(legacy::cron_status))
        .route(
            "/api/etl/tracking/recuperar-gap",
            post(legacy::recuperar_gap),
        )
        .route(
            "/api/etl/tracking/connectivity/klk",
            get(legacy::connectivity),
        )
        .fallback(http::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::guard_and_log,
        ))
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM: the first stops accepting and lets the requests in
/// flight finish, then returns; a second one also interrupts recoveries in flight.
pub fn run(config: Config, clock: Clock, listener: std::net::TcpListener) -> anyhow::Result<()> {
    let mut read_config = config.clone();
    read_config.tracking.lock_timeout = config.serve.lock_timeout;
    let state = Arc::new(AppState {
        auth: auth::Auth::new(&config.serve),
        cache: cache::Cache::new(config.serve.cache_ttl),
        read_config,
        config,
        clock,
        db_slots: tokio::sync::Semaphore::new(2),
        interrupt: Arc::new(AtomicBool::new(false)),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .thread_name("klk-serve")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let interrupt = state.interrupt.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(stop_signal(interrupt))
            .await?;
        Ok::<_, anyhow::Error>(())
    })?;
    // Requests still running blocking work (a recovery) finish or see the interrupt.
    runtime.shutdown_timeout(Duration::from_secs(60));
    Ok(())
}

async fn stop_signal(interrupt: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without handlers the default action (exit) applies.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    http::log_line("stopping: no new connections; finishing the requests in flight");
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        http::log_line("second signal: interrupting recoveries in flight");
        interrupt.store(true, Ordering::SeqCst);
    });
}
