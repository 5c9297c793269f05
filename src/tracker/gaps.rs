//! Gaps: windows that should hold data and are not covered by a success. The logic is the
//! `klk_gaps` table macro (see `schema/duckdb/logic/5_gaps.sql`), shared with the view `v_gaps_por_recuperar`.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use duckdb::Connection;
use serde::Serialize;

use super::TrackerError;
use super::engine::{Session, Value};
use super::sql::Filter;
use super::vocab::EtlTipo;
use crate::config::TrackingSettings;

/// The `causa` of a closed day no whole-day re-pull verified by its deadline.
pub const CAUSA_SIN_VERIFICAR: &str = "sin_verificar";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha_desde: NaiveDate,
    pub fecha_hasta: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    /// `23:59:59` when the gap runs to the end of the day.
    pub hora_hasta: Option<NaiveTime>,
    /// The first failed attempt at any of the gap's slots, or when the earliest slot fell due.
    pub fecha_fallo: NaiveDateTime,
    /// The latest attempt's error type, or `sin_ejecucion` when nothing was attempted.
    pub error_tipo: String,
    pub error_mensaje: Option<String>,
    pub horas_desde_fallo: f64,
    /// `fallido`, `parcial`, `atascado` (stuck `en_proceso`), `sin_ejecucion`,
    /// `desactualizado` (inventory older than the staleness threshold), or `sin_verificar` (a
    /// closed day no whole-day re-pull verified by its deadline, or whose re-pull failed).
    pub causa: String,
    /// Distinct executions that tried some of its slots and did not succeed.
    pub intentos: i64,
    /// Number of slots (ventas only).
    pub slots: Option<i64>,
    pub ultima_ejecucion_id: Option<i64>,
    /// When the latest failed attempt started.
    pub ultimo_intento: Option<NaiveDateTime>,
    /// Failed attempts made after the store had succeeded again since the gap began: the
    /// window itself fails (a poison window), not the store's API. Recovery backs off on these.
    pub intentos_tras_exito: i64,
}

#[derive(Debug, Clone)]
pub struct GapQuery {
    pub now_local: NaiveDateTime,
    pub tracking: TrackingSettings,
    /// Look-back horizon (the seed's `max_horas`).
    pub horizon: Duration,
    pub etl_tipo: Option<EtlTipo>,
    pub stores: Vec<String>,
}

fn minutes(d: Duration) -> i64 {
    (d.as_secs() / 60) as i64
}

/// A verification setting in minutes; the sentinel -1 turns verification off (a NULL would
/// mean "the stored setting").
pub(crate) fn verification_minutes(
    tracking: &TrackingSettings,
    setting: impl Fn(&crate::config::VerificationSettings) -> Duration,
) -> i64 {
    if tracking.verification.enabled {
        minutes(setting(&tracking.verification))
    } else {
        -1
    }
}

/// Gaps oldest first, as `klk-etl gaps` lists them (DuckDB).
pub fn list(conn: &Connection, query: &GapQuery) -> Result<Vec<Gap>, TrackerError> {
    list_in(&mut Session::DuckDb(conn), query)
}

/// Gaps oldest first, on either engine (`klk_gaps` is a table macro on DuckDB and a
/// function on PostgreSQL, with the same parameters and columns).
pub fn list_in(session: &mut Session, query: &GapQuery) -> Result<Vec<Gap>, TrackerError> {
    let mut filter = Filter::default();
    filter.equals("etl_tipo", query.etl_tipo.map(|t| t.as_str().to_string()));
    filter.one_of("ubicacion_id", &query.stores);
    let sql = format!(
        "SELECT etl_tipo, ubicacion_id, ubicacion_nombre, fecha_desde, fecha_hasta, hora_desde, \
         hora_hasta, fecha_fallo, error_tipo, error_mensaje, horas_desde_fallo, causa, intentos, \
         slots, ultima_ejecucion_id, ultimo_intento, intentos_tras_exito \
         FROM klk_gaps(CAST($1 AS TIMESTAMP), $2, $3, $4, $5, $6, $7, $8) WHERE {} \
         ORDER BY fecha_fallo, ubicacion_id, etl_tipo, fecha_desde, hora_desde",
        filter.numbered_sql(9)
    );
    let t = &query.tracking;
    let mut params = vec![
        Value::Timestamp(query.now_local),
        minutes(query.horizon).into(),
        i64::from(t.slot_minutes).into(),
        minutes(t.stuck_after).into(),
        minutes(t.gap_grace).into(),
        minutes(t.inventory_stale_after).into(),
        verification_minutes(t, |v| v.closes_after).into(),
        verification_minutes(t, |v| v.deadline).into(),
    ];
    params.extend(filter.engine_values());
    session
        .query(&sql, &params)?
        .iter()
        .map(|r| {
            Ok(Gap {
                etl_tipo: r.get(0)?,
                ubicacion_id: r.get(1)?,
                ubicacion_nombre: r.get(2)?,
                fecha_desde: r.get(3)?,
                fecha_hasta: r.get(4)?,
                hora_desde: r.get(5)?,
                hora_hasta: r.get(6)?,
                fecha_fallo: r.get(7)?,
                error_tipo: r.get(8)?,
                error_mensaje: r.get(9)?,
                horas_desde_fallo: r.get(10)?,
                causa: r.get(11)?,
                intentos: r.get(12)?,
                slots: r.get(13)?,
                ultima_ejecucion_id: r.get(14)?,
                ultimo_intento: r.get(15)?,
                intentos_tras_exito: r.get(16)?,
            })
        })
        .collect()
}
