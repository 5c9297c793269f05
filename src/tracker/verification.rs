//! Verification of closed days: which store-days still need their whole-day re-pull (the
//! `klk_verificaciones` macro, shared with the gaps), what a re-pull found, and the lines the
//! API no longer returns.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use duckdb::types::Value;
use duckdb::{Connection, params};
use serde::Serialize;

use super::TrackerError;
use super::gaps::verification_minutes;
use super::sql::{Filter, timestamp};
use crate::config::TrackingSettings;

/// A closed store-day not verified yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingDay {
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha: NaiveDate,
    /// When the day closed (re-pulls start from here).
    pub cierre: NaiveDateTime,
    /// When an unverified day becomes a gap.
    pub plazo: NaiveDateTime,
    /// Failed re-pulls since it closed.
    pub intentos: i64,
    pub ultimo_intento: Option<NaiveDateTime>,
    pub vencido: bool,
}

/// Closed days of `stores` (all when empty) inside the horizon that no whole-day re-pull has
/// verified and none is re-pulling now, oldest first. Empty when verification is off.
pub fn pending(
    conn: &Connection,
    now_local: NaiveDateTime,
    tracking: &TrackingSettings,
    stores: &[String],
) -> Result<Vec<PendingDay>, TrackerError> {
    if !tracking.verification.enabled {
        return Ok(Vec::new());
    }
    let mut filter = Filter::default();
    filter.one_of("ubicacion_id", stores);
    let sql = format!(
        "SELECT ubicacion_id, ubicacion_nombre, fecha, cierre, plazo, intentos, ultimo_intento, vencido \
         FROM klk_verificaciones(CAST(? AS TIMESTAMP), ?, ?, ?, ?) \
         WHERE verificado_en IS NULL AND NOT en_curso AND {} \
         ORDER BY fecha, ubicacion_id",
        filter.sql()
    );
    let params = filter.values_after(vec![
        timestamp(now_local),
        Value::BigInt((tracking.horizon.as_secs() / 60) as i64),
        Value::BigInt(verification_minutes(tracking, |v| v.closes_after)),
        Value::BigInt(verification_minutes(tracking, |v| v.deadline)),
        Value::BigInt((tracking.stuck_after.as_secs() / 60) as i64),
    ]);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
        Ok(PendingDay {
            ubicacion_id: r.get(0)?,
            ubicacion_nombre: r.get(1)?,
            fecha: r.get(2)?,
            cierre: r.get(3)?,
            plazo: r.get(4)?,
            intentos: r.get(5)?,
            ultimo_intento: r.get(6)?,
            vencido: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a whole-day re-pull of a closed day found, against what the table held before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerificationDiff {
    /// Lines the re-pull loaded that the table did not have (missed by the incremental runs).
    pub tardias: i64,
    /// Lines the table had whose values the re-pull changed.
    pub cambiadas: i64,
    /// Lines of that day the table has and the API no longer returns (kept; see
    /// `etl_lineas_desaparecidas`).
    pub desaparecidas: i64,
}

/// Records on the execution what its re-pull found (inside the load's transaction).
pub fn record_diff(
    conn: &Connection,
    id: i64,
    diff: &VerificationDiff,
) -> Result<(), TrackerError> {
    conn.execute(
        "UPDATE etl_ejecuciones SET lineas_tardias = ?, lineas_cambiadas = ?, lineas_desaparecidas = ? WHERE id = ?",
        params![diff.tardias, diff.cambiadas, diff.desaparecidas, id],
    )?;
    Ok(())
}

/// A sales line the API stopped returning for its day, still in `ventas` unless deleted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VanishedLine {
    pub ubicacion_id: String,
    pub numero_factura: String,
    pub linea: i32,
    pub fecha: NaiveDate,
    pub hora: Option<NaiveTime>,
    pub venta_total_usd: Option<f64>,
    /// The execution that loaded it.
    pub cargada_por: i64,
    /// The re-pull that no longer found it.
    pub detectada_por: i64,
    pub detectada_en: NaiveDateTime,
    /// When `klk-etl vanished --delete` removed it from `ventas`.
    pub eliminada_en: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct VanishedQuery {
    pub stores: Vec<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Also the ones already deleted from `ventas`.
    pub include_deleted: bool,
}

pub fn vanished(
    conn: &Connection,
    query: &VanishedQuery,
) -> Result<Vec<VanishedLine>, TrackerError> {
    let mut filter = Filter::default();
    filter.one_of("ubicacion_id", &query.stores);
    filter.date_at_least("fecha", query.from);
    filter.date_at_most("fecha", query.to);
    if !query.include_deleted {
        filter.condition("eliminada_en IS NULL");
    }
    let sql = format!(
        "SELECT ubicacion_id, numero_factura, linea, fecha, hora, venta_total_usd, cargada_por, \
         detectada_por, detectada_en, eliminada_en FROM etl_lineas_desaparecidas WHERE {} \
         ORDER BY fecha, ubicacion_id, numero_factura, linea",
        filter.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(
        duckdb::params_from_iter(filter.values_after(Vec::new())),
        |r| {
            Ok(VanishedLine {
                ubicacion_id: r.get(0)?,
                numero_factura: r.get(1)?,
                linea: r.get(2)?,
                fecha: r.get(3)?,
                hora: r.get(4)?,
                venta_total_usd: r.get(5)?,
                cargada_por: r.get(6)?,
                detectada_por: r.get(7)?,
                detectada_en: r.get(8)?,
                eliminada_en: r.get(9)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes `lines` from `ventas` and marks them deleted, in one transaction (the caller's).
/// Returns the sales rows deleted.
pub fn delete_vanished(
    conn: &Connection,
    lines: &[VanishedLine],
    now_local: NaiveDateTime,
) -> Result<usize, TrackerError> {
    let mut deleted = 0;
    for line in lines {
        deleted += conn.execute(
            "DELETE FROM ventas WHERE ubicacion_id = ? AND numero_factura = ? AND linea = ? AND ejecucion_id = ?",
            params![line.ubicacion_id, line.numero_factura, line.linea, line.cargada_por],
        )?;
        conn.execute(
            "UPDATE etl_lineas_desaparecidas SET eliminada_en = ? \
             WHERE ubicacion_id = ? AND numero_factura = ? AND linea = ?",
            params![
                now_local,
                line.ubicacion_id,
                line.numero_factura,
                line.linea
            ],
        )?;
    }
    Ok(deleted)
}
