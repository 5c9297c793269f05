//! klk-etl's own API (`/api/v1/`): the same JSON as `--format json` (docs/json.md) and the
//! same filters as the command line; `/health` for load balancers; `/metrics` for
//! Prometheus.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::http::{self, ApiError, json, query_pairs, with_db};
use crate::monitor::health::{self, Health, Status};
use crate::monitor::{snapshot, views};
use crate::tracker::executions::{self, ExecutionFilter};
use crate::tracker::gaps::{self, GapQuery};
use crate::tracker::metrics::{self, MetricsQuery};
use crate::tracker::vocab::{Estado, EtlTipo, Modo};

fn tipo(pairs: &[(String, String)]) -> Result<Option<EtlTipo>, ApiError> {
    http::vocabulary(pairs, "tipo", EtlTipo::parse, EtlTipo::ALL, EtlTipo::as_str)
}

fn store_filter(state: &Shared, pairs: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let stores = http::all(pairs, "store");
    http::check_stores(state, &stores)?;
    Ok(stores)
}

/// The health of now, as `klk-etl health --format json` prints it (UNKNOWN when the check
/// cannot run).
pub async fn evaluate(state: &Shared) -> Health {
    let monitoring = state.config.monitoring.clone();
    let config = state.read_config.clone();
    let result = state
        .cache
        .get("health".to_string(), || {
            with_db(state, move |db, now_local| {
                let snap = snapshot(db, &config, now_local)?;
                Ok(health::evaluate(&snap, &monitoring))
            })
        })
        .await;
    match result {
        Ok(health) => health.as_ref().clone(),
        Err(err) => Health::unknown(&err.message),
    }
}

/// 200 for OK and WARNING, 503 for CRITICAL and UNKNOWN; the body is `health --format json`
/// (only `status` when reading needs a token and none was given).
pub async fn health(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let anonymous_but_private = match state.auth.reader(&headers, peer.ip()) {
        Ok(_) => false,
        Err(err) if err.status == StatusCode::UNAUTHORIZED && state.auth.read_requires_token() => {
            headers.get(header::AUTHORIZATION).is_none()
        }
        Err(err) => return err.into_response(),
    };
    let report = evaluate(&state).await;
    let code = match report.status {
        Status::Ok | Status::Warning => StatusCode::OK,
        Status::Critical | Status::Unknown => StatusCode::SERVICE_UNAVAILABLE,
    };
    if anonymous_but_private {
        return (code, json(&serde_json::json!({ "status": report.status }))).into_response();
    }
    (code, json(&report)).into_response()
}

/// `metrics --format prometheus`.
pub async fn metrics(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let config = state.read_config.clone();
        let worker = state.clone();
        let text = state
            .cache
            .get("prometheus".to_string(), move || async move {
                let _permit =
                    worker.db_slots.acquire().await.map_err(|_| {
                        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
                    })?;
                let clock = worker.clock;
                tokio::task::spawn_blocking(move || {
                    crate::monitor::prometheus_text(&config, clock.now_utc(), clock.now_local())
                })
                .await
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                .map_err(|e| ApiError::from_tracker(&e))
            })
            .await?;
        Ok::<_, ApiError>(
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text.as_ref().clone(),
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn gaps(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(raw.as_deref(), &["tipo", "store", "max_hours"], false)?;
        let etl_tipo = tipo(&pairs)?;
        let stores = store_filter(&state, &pairs)?;
        let horizon = match http::last(&pairs, "max_hours") {
            None => state.config.tracking.horizon,
            Some(_) => {
                Duration::from_secs(u64::from(http::number(&pairs, "max_hours", 0, 1, 720)?) * 3600)
            }
        };
        let tracking = state.config.tracking;
        let key = format!("v1-gaps?{etl_tipo:?}&{stores:?}&{}", horizon.as_secs());
        let found = state
            .cache
            .get(key, || {
                with_db(&state, move |db, now_local| {
                    gaps::list_in(
                        db,
                        &GapQuery {
                            now_local,
                            tracking,
                            horizon,
                            etl_tipo,
                            stores,
                        },
                    )
                })
            })
            .await?;
        Ok::<_, ApiError>(json(found.as_ref()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `metrics::report` for today and the `days - 1` before, read when the cache needs it.
pub(super) fn read_metrics(
    state: &Shared,
    days: u32,
    etl_tipo: Option<EtlTipo>,
    stores: Vec<String>,
) -> impl std::future::Future<Output = Result<metrics::MetricsReport, ApiError>> + Send + 'static {
    with_db(state, move |db, now_local| {
        metrics::report_in(
            db,
            &MetricsQuery {
                now_local,
                days,
                etl_tipo,
                stores,
            },
        )
    })
}

pub async fn metrics_json(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(raw.as_deref(), &["days", "tipo", "store"], false)?;
        let days = http::number(&pairs, "days", 7, 1, 366)?;
        let etl_tipo = tipo(&pairs)?;
        let stores = store_filter(&state, &pairs)?;
        let key = format!("v1-metrics?{days}&{etl_tipo:?}&{stores:?}");
        let read = read_metrics(&state, days, etl_tipo, stores);
        let body = state
            .cache
            .get(key, || async move { http::json_bytes(&read.await?) })
            .await?;
        Ok::<_, ApiError>(http::json_body(&body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn executions(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(
            raw.as_deref(),
            &["tipo", "store", "estado", "modo", "limit"],
            false,
        )?;
        let filter = ExecutionFilter {
            etl_tipo: tipo(&pairs)?,
            stores: store_filter(&state, &pairs)?,
            estado: http::vocabulary(&pairs, "estado", Estado::parse, Estado::ALL, Estado::as_str)?,
            modo: http::vocabulary(&pairs, "modo", Modo::parse, Modo::ALL, Modo::as_str)?,
            window: None,
            limit: http::number(&pairs, "limit", 10, 1, 1000)? as usize,
        };
        let key = format!("v1-executions?{filter:?}");
        let rows = state
            .cache
            .get(key, || {
                with_db(&state, move |db, _| executions::list_in(db, &filter))
            })
            .await?;
        Ok::<_, ApiError>(json(rows.as_ref()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn status(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(raw.as_deref(), &["limit"], false)?;
        let limit = http::number(&pairs, "limit", 10, 1, 1000)? as usize;
        let config = state.config.clone();
        let shown = state.read_config.database_display();
        let report = state
            .cache
            .get(format!("v1-status?{limit}"), || {
                with_db(&state, move |db, now_local| {
                    views::status_in(db, &config, &shown, now_local, limit)
                })
            })
            .await?;
        Ok::<_, ApiError>(json(report.as_ref()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn stores(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        query_pairs(raw.as_deref(), &[], false)?;
        Ok::<_, ApiError>(json(&views::stores(&state.config)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
