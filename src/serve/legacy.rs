//! The previous system's panel API, unchanged: `/api/etl/tracking/...`, with its query
//! parameters, JSON field names, types and nulls, so its panels work against klk-etl as
//! they are. The numbers come from the tracker core (coverage-based gaps, real
//! recoveries), not from the original's stubs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::auth::{Identity, check_csrf};
use super::http::{self, ApiError, LoggedAs, json, query_pairs, with_db};
use super::recover::{self, RecoverAsk};
use crate::tracker::executions::{self, ExecutionFilter};
use crate::tracker::gaps::{self, GapQuery};
use crate::tracker::invocations;
use crate::tracker::metrics::{self, MetricsQuery};
use crate::tracker::vocab::{Estado, EtlTipo, Modo};

/// FastAPI answered errors as `{"detail": ...}`: the same text is there too.
fn legacy(err: ApiError) -> Response {
    let detail = err.message.clone();
    let extra = match err.extra.take_object() {
        Some(mut map) => {
            map.insert("detail".into(), detail.into());
            serde_json::Value::Object(map)
        }
        None => serde_json::json!({ "detail": detail }),
    };
    err.with(extra).into_response()
}

trait TakeObject {
    fn take_object(&self) -> Option<serde_json::Map<String, serde_json::Value>>;
}

impl TakeObject for Option<serde_json::Value> {
    fn take_object(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match self {
            Some(serde_json::Value::Object(map)) => Some(map.clone()),
            _ => None,
        }
    }
}

fn tipo(pairs: &[(String, String)], key: &str) -> Result<Option<EtlTipo>, ApiError> {
    http::vocabulary(pairs, key, EtlTipo::parse, EtlTipo::ALL, EtlTipo::as_str)
}

fn stores(state: &Shared, pairs: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let stores: Vec<String> = http::last(pairs, "ubicacion_id")
        .map(|s| vec![s.to_string()])
        .unwrap_or_default();
    http::check_stores(state, &stores)?;
    Ok(stores)
}

#[derive(Debug, Serialize)]
struct Ejecucion {
    id: i64,
    etl_tipo: String,
    ubicacion_id: String,
    ubicacion_nombre: String,
    fecha_inicio: NaiveDateTime,
    fecha_fin: Option<NaiveDateTime>,
    duracion_segundos: Option<f64>,
    fecha_desde: NaiveDate,
    fecha_hasta: NaiveDate,
    hora_desde: Option<NaiveTime>,
    hora_hasta: Option<NaiveTime>,
    estado: String,
    registros_extraidos: i64,
    registros_cargados: i64,
    error_mensaje: Option<String>,
    error_tipo: Option<String>,
    modo: Option<String>,
    version_etl: Option<String>,
    host: Option<String>,
}

pub async fn ejecuciones(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(
            raw.as_deref(),
            &["etl_tipo", "ubicacion_id", "modo", "estado", "limite"],
            true,
        )?;
        let filter = ExecutionFilter {
            etl_tipo: tipo(&pairs, "etl_tipo")?,
            stores: stores(&state, &pairs)?,
            estado: http::vocabulary(&pairs, "estado", Estado::parse, Estado::ALL, Estado::as_str)?,
            modo: http::vocabulary(&pairs, "modo", Modo::parse, Modo::ALL, Modo::as_str)?,
            window: None,
            limit: http::number(&pairs, "limite", 20, 1, 100)? as usize,
        };
        let key = format!("legacy-ejecuciones?{filter:?}");
        let rows = state
            .cache
            .get(key, || {
                with_db(&state, move |db, _| executions::list_in(db, &filter))
            })
            .await?;
        let body: Vec<Ejecucion> = rows
            .iter()
            .map(|r| Ejecucion {
                id: r.id,
                etl_tipo: r.etl_tipo.clone(),
                ubicacion_id: r.ubicacion_id.clone(),
                ubicacion_nombre: r.ubicacion_nombre.clone(),
                fecha_inicio: r.fecha_inicio,
                fecha_fin: r.fecha_fin,
                duracion_segundos: r.duracion_segundos,
                fecha_desde: r.fecha_desde,
                fecha_hasta: r.fecha_hasta,
                hora_desde: r.hora_desde,
                hora_hasta: r.hora_hasta,
                estado: r.estado.clone(),
                registros_extraidos: r.registros_extraidos.unwrap_or(0),
                registros_cargados: r.registros_cargados.unwrap_or(0),
                error_mensaje: r.error_mensaje.clone(),
                error_tipo: r.error_tipo.clone(),
                modo: r.modo.clone(),
                version_etl: r.version_etl.clone(),
                host: r.host.clone(),
            })
            .collect();
        Ok::<_, ApiError>(json(&body))
    }
    .await;
    result.unwrap_or_else(legacy)
}

#[derive(Debug, Serialize)]
struct GapRow {
    etl_tipo: String,
    ubicacion_id: String,
    ubicacion_nombre: String,
    fecha_desde: NaiveDate,
    fecha_hasta: NaiveDate,
    hora_desde: Option<NaiveTime>,
    hora_hasta: Option<NaiveTime>,
    fecha_fallo: NaiveDateTime,
    error_tipo: Option<String>,
    error_mensaje: Option<String>,
    horas_desde_fallo: f64,
}

pub async fn gaps(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(
            raw.as_deref(),
            &["etl_tipo", "ubicacion_id", "max_horas"],
            true,
        )?;
        let etl_tipo = tipo(&pairs, "etl_tipo")?;
        let stores = stores(&state, &pairs)?;
        let hours = http::number(&pairs, "max_horas", 168, 1, 720)?;
        let key = format!("legacy-gaps?{etl_tipo:?}&{stores:?}&{hours}");
        let tracking = state.config.tracking;
        let found = state
            .cache
            .get(key, || {
                with_db(&state, move |db, now_local| {
                    gaps::list_in(
                        db,
                        &GapQuery {
                            now_local,
                            tracking,
                            horizon: Duration::from_secs(u64::from(hours) * 3600),
                            etl_tipo,
                            stores,
                        },
                    )
                })
            })
            .await?;
        let body: Vec<GapRow> = found
            .iter()
            .map(|g| GapRow {
                etl_tipo: g.etl_tipo.clone(),
                ubicacion_id: g.ubicacion_id.clone(),
                ubicacion_nombre: g.ubicacion_nombre.clone(),
                fecha_desde: g.fecha_desde,
                fecha_hasta: g.fecha_hasta,
                hora_desde: g.hora_desde,
                hora_hasta: g.hora_hasta,
                fecha_fallo: g.fecha_fallo,
                error_tipo: Some(g.error_tipo.clone()),
                error_mensaje: g.error_mensaje.clone(),
                horas_desde_fallo: g.horas_desde_fallo,
            })
            .collect();
        Ok::<_, ApiError>(json(&body))
    }
    .await;
    result.unwrap_or_else(legacy)
}

#[derive(Debug, Serialize)]
struct Metrica {
    etl_tipo: String,
    ubicacion_id: String,
    ubicacion_nombre: String,
    fecha: NaiveDate,
    total_ejecuciones: i64,
    ejecuciones_exitosas: i64,
    ejecuciones_fallidas: i64,
    tasa_exito_pct: f64,
    duracion_promedio_seg: Option<f64>,
    total_registros_cargados: i64,
}

pub async fn metricas(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let pairs = query_pairs(raw.as_deref(), &["etl_tipo", "ubicacion_id", "dias"], true)?;
        let etl_tipo = tipo(&pairs, "etl_tipo")?;
        let stores = stores(&state, &pairs)?;
        // The original read `fecha >= CURRENT_DATE - dias days`: today and `dias` days before.
        let days = http::number(&pairs, "dias", 7, 1, 90)? + 1;
        let key = format!("legacy-metricas?{etl_tipo:?}&{stores:?}&{days}");
        let read = super::v1::read_metrics(&state, days, etl_tipo, stores);
        let body = state
            .cache
            .get(key, || async move {
                let report = read.await?;
                let mut body: Vec<Metrica> = report
                    .por_dia
                    .iter()
                    // A day with only a verification to show has no executions started (and no
                    // rate): the original view had no row for it.
                    .filter_map(|d| {
                        Some(Metrica {
                            etl_tipo: d.etl_tipo.clone(),
                            ubicacion_id: d.ubicacion_id.clone(),
                            ubicacion_nombre: d.ubicacion_nombre.clone(),
                            fecha: d.fecha,
                            total_ejecuciones: d.total_ejecuciones,
                            ejecuciones_exitosas: d.ejecuciones_exitosas,
                            ejecuciones_fallidas: d.ejecuciones_fallidas,
                            tasa_exito_pct: d.tasa_exito_pct.filter(|_| d.total_ejecuciones > 0)?,
                            duracion_promedio_seg: d.duracion_promedio_seg,
                            total_registros_cargados: d.total_registros_cargados,
                        })
                    })
                    .collect();
                body.sort_by(|a, b| {
                    b.fecha
                        .cmp(&a.fecha)
                        .then_with(|| a.ubicacion_id.cmp(&b.ubicacion_id))
                        .then_with(|| a.etl_tipo.cmp(&b.etl_tipo))
                });
                http::json_bytes(&body)
            })
            .await?;
        Ok::<_, ApiError>(http::json_body(&body))
    }
    .await;
    result.unwrap_or_else(legacy)
}

#[derive(Debug, Serialize)]
struct CronStatus {
    cron_activo: bool,
    frecuencia: String,
    proxima_ejecucion_estimada: Option<NaiveDateTime>,
    ejecuciones_hoy: i64,
    exitosas_hoy: i64,
    fallidas_hoy: i64,
}

/// "Cada 30 minutos", "Cada 2 horas", "Cada 90 segundos".
fn frequency_text(interval: Duration) -> String {
    let secs = interval.as_secs().max(1);
    let (n, unit, units) = if secs.is_multiple_of(3600) {
        (secs / 3600, "hora", "horas")
    } else if secs.is_multiple_of(60) {
        (secs / 60, "minuto", "minutos")
    } else {
        (secs, "segundo", "segundos")
    };
    if n == 1 {
        format!("Cada {unit}")
    } else {
        format!("Cada {n} {units}")
    }
}

pub async fn cron_status(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let (last_run, today, now_local) = state
            .cache
            .get("legacy-cron".to_string(), || {
                with_db(&state, move |db, now_local| {
                    let last = invocations::last(db, "run")?;
                    let today = metrics::report_in(
                        db,
                        &MetricsQuery {
                            now_local,
                            days: 1,
                            etl_tipo: None,
                            stores: Vec::new(),
                        },
                    )?;
                    Ok((last, today, now_local))
                })
            })
            .await?
            .as_ref()
            .clone();
        let monitoring = &state.config.monitoring;
        let interval = chrono::Duration::from_std(monitoring.run_interval)
            .unwrap_or(chrono::Duration::minutes(30));
        let expected_within = chrono::Duration::from_std(monitoring.last_run.0)
            .unwrap_or(chrono::Duration::minutes(65));
        // Active: a `run` was recorded within the expected interval (health's warning
        // threshold for the last run), not "assumed" as the original did.
        let cron_activo = last_run
            .as_ref()
            .is_some_and(|run| now_local - run.inicio <= expected_within);
        let proxima_ejecucion_estimada = match &last_run {
            Some(run) if cron_activo && interval > chrono::Duration::zero() => {
                let mut next = run.inicio + interval;
                while next < now_local {
                    next += interval;
                }
                Some(next)
            }
            _ => None,
        };
        let sum = |f: fn(&metrics::DayMetrics) -> i64| today.por_dia.iter().map(f).sum::<i64>();
        Ok::<_, ApiError>(json(&CronStatus {
            cron_activo,
            frecuencia: frequency_text(monitoring.run_interval),
            proxima_ejecucion_estimada,
            ejecuciones_hoy: sum(|d| d.total_ejecuciones),
            exitosas_hoy: sum(|d| d.ejecuciones_exitosas),
            fallidas_hoy: sum(|d| d.ejecuciones_fallidas),
        }))
    }
    .await;
    result.unwrap_or_else(legacy)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecuperarGap {
    etl_tipo: String,
    ubicacion_id: String,
    fecha_desde: String,
    fecha_hasta: String,
    #[serde(default)]
    hora_desde: Option<String>,
    #[serde(default)]
    hora_hasta: Option<String>,
}

/// A body as JSON, or a clear 400/413/415.
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than {} bytes",
                    super::MAX_BODY_BYTES
                ),
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON (Content-Type: application/json)",
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))
}

/// Who may change data: a Bearer token, or a session with its CSRF token in
/// `X-CSRF-Token`.
pub fn writer(state: &Shared, headers: &HeaderMap, peer: SocketAddr) -> Result<Identity, ApiError> {
    match state.auth.identify(headers, peer.ip())? {
        Some(who @ Identity::Bearer { .. }) => Ok(who),
        Some(Identity::Session { id, session }) => {
            let presented = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
            check_csrf(headers, &session, presented)?;
            Ok(Identity::Session { id, session })
        }
        None => Err(super::auth::unauthorized(
            "recovering needs a token: send Authorization: Bearer TOKEN",
        )),
    }
}

pub async fn recuperar_gap(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut who_logged = None;
    let result = async {
        let who = writer(&state, &headers, peer)?;
        who_logged = Some(who.name().to_string());
        let ask: RecuperarGap = json_body(&headers, body)?;
        let tipo = EtlTipo::parse(&ask.etl_tipo).ok_or_else(|| {
            ApiError::bad_request("etl_tipo must be ventas or inventario")
        })?;
        let fecha_desde = recover::parse_date(&ask.fecha_desde, "fecha_desde")?;
        let fecha_hasta = recover::parse_date(&ask.fecha_hasta, "fecha_hasta")?;
        let hora_desde = match ask.hora_desde.as_deref().filter(|t| !t.is_empty()) {
            Some(text) => {
                let (time, end_of_day) = recover::parse_time(text, "hora_desde")?;
                if end_of_day {
                    return Err(ApiError::bad_request("hora_desde cannot be the end of the day"));
                }
                Some(time)
            }
            None => None,
        };
        let hora_hasta = match ask.hora_hasta.as_deref().filter(|t| !t.is_empty()) {
            Some(text) => {
                let (time, end_of_day) = recover::parse_time(text, "hora_hasta")?;
                (!end_of_day).then_some(time)
            }
            None => None,
        };
        let started = Instant::now();
        let outcome = recover::execute(
            &state,
            RecoverAsk {
                tipo,
                store: ask.ubicacion_id.clone(),
                fecha_desde,
                fecha_hasta,
                hora_desde,
                hora_hasta,
            },
            who.name(),
        )
        .await?;
        let loaded = outcome.ejecuciones.iter().filter(|e| e.estado == "exitoso").count();
        let total = outcome.ejecuciones.len();
        let body = serde_json::json!({
            "message": format!("Gap recovery finished: {loaded} of {total} window(s) loaded in {:.1}s", started.elapsed().as_secs_f64()),
            "mensaje": format!("Recuperación terminada: {loaded} de {total} ventana(s) cargada(s)"),
            "etl_tipo": tipo.as_str(),
            "ubicacion_id": ask.ubicacion_id,
            "fecha_desde": fecha_desde,
            "fecha_hasta": fecha_hasta,
            "modo": "recuperacion",
            "estado": outcome.estado,
            "solicitado_por": outcome.solicitado_por,
            "execution_id": outcome.ejecuciones.iter().find_map(|e| e.ejecucion_id).map(|id| id.to_string()),
            "ejecuciones": outcome.ejecuciones,
        });
        // Every window loaded: 200. Some failed (the API, the data): 502 with the same
        // body, so a panel that only looks at the status shows an error.
        let status = if outcome.all_ok() { StatusCode::OK } else { StatusCode::BAD_GATEWAY };
        Ok::<_, ApiError>((status, json(&body)).into_response())
    }
    .await;
    let mut response = result.unwrap_or_else(legacy);
    if let Some(name) = who_logged {
        response.extensions_mut().insert(LoggedAs(name));
    }
    response
}

#[derive(Debug, Clone, Serialize)]
struct Connectivity {
    status: &'static str,
    http_status: Option<u16>,
    latencia_ms: Option<f64>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    timestamp: NaiveDateTime,
}

/// The base URL without credentials (`http://user:pass@host` → `http://host`).
pub fn public_url(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{authority}{path}")
}

/// How long the probe may take at most.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connectivity(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        state.auth.reader(&headers, peer.ip())?;
        let probe_state = state.clone();
        let answer = state
            .cache
            .get("legacy-connectivity".to_string(), || async move {
                tokio::task::spawn_blocking(move || probe(&probe_state))
                    .await
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
            })
            .await?;
        Ok::<_, ApiError>(json(answer.as_ref()))
    }
    .await;
    result.unwrap_or_else(legacy)
}

/// One small sales request (the first active store, today 00:00-00:01), no retries,
/// bounded by [`PROBE_TIMEOUT`].
fn probe(state: &Shared) -> Connectivity {
    let config = &state.config;
    let url = format!(
        "{}/ventas",
        public_url(config.api.base_url.trim_end_matches('/'))
    );
    let now = state.clock.now_local();
    let mut options = crate::etl::run::client_options(config);
    options.connect_timeout = options.connect_timeout.min(PROBE_TIMEOUT);
    options.read_timeout = options.read_timeout.min(PROBE_TIMEOUT);
    options.total_timeout = PROBE_TIMEOUT;
    options.retry.max_attempts = 1;
    let answer = |status, http_status, latencia_ms, error| Connectivity {
        status,
        http_status,
        latencia_ms,
        url: url.clone(),
        error,
        timestamp: now,
    };
    let Some(store) = config.stores.iter().find(|s| s.active) else {
        return answer(
            "error",
            None,
            None,
            Some("no active store is configured".to_string()),
        );
    };
    let client = match crate::klk::Client::new(options) {
        Ok(client) => client,
        Err(err) => return answer("error", None, None, Some(err.to_string())),
    };
    let request = crate::klk::SalesRequest {
        sucursal: store.sucursal.clone(),
        fecha_desde: now.date(),
        fecha_hasta: now.date(),
        hora_desde: Some(NaiveTime::MIN),
        hora_hasta: NaiveTime::from_hms_opt(0, 1, 0),
        almacen: None,
    };
    let started = Instant::now();
    let result = client.fetch_sales(&request);
    let latency = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    match result {
        Ok(_) => answer("disponible", Some(200), Some(latency), None),
        Err(err) => {
            let timed_out = matches!(err.kind(), crate::klk::ErrorKind::Timeout { .. });
            let status = if timed_out { "timeout" } else { "error" };
            let latency = err.status().map(|_| latency);
            answer(
                status,
                err.status(),
                latency,
                Some(crate::tracker::one_line(&err.to_string())),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_and_frequencies_read_in_spanish() {
        assert_eq!(public_url("http://u:p@host:7002/x"), "http://host:7002/x");
        assert_eq!(public_url("http://host:7002"), "http://host:7002");
        assert_eq!(frequency_text(Duration::from_secs(1800)), "Cada 30 minutos");
        assert_eq!(frequency_text(Duration::from_secs(3600)), "Cada hora");
    }
}
