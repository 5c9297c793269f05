//! Verification of closed days: which store-days still need their whole-day re-pull (the
//! `klk_verificaciones` macro, shared with the gaps), what a re-pull found, and the lines the
//! API no longer returns.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::TrackerError;
use super::engine::{Session, Value as EngineValue};
use super::gaps::verification_minutes;
use super::sql::Filter;
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
    session: &mut Session,
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
         FROM klk_verificaciones(CAST($1 AS TIMESTAMP), $2, $3, $4, $5) \
         WHERE verificado_en IS NULL AND NOT en_curso AND {} \
         ORDER BY fecha, ubicacion_id",
        filter.numbered_sql(6)
    );
    let mut params = vec![
        EngineValue::Timestamp(now_local),
        EngineValue::Int((tracking.horizon.as_secs() / 60) as i64),
        verification_minutes(tracking, |v| v.closes_after).into(),
        verification_minutes(tracking, |v| v.deadline).into(),
        EngineValue::Int((tracking.stuck_after.as_secs() / 60) as i64),
    ];
    params.extend(filter.engine_values());
    session
        .query(&sql, &params)?
        .iter()
        .map(|r| {
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
        })
        .collect()
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
    session: &mut Session,
    id: i64,
    diff: &VerificationDiff,
) -> Result<(), TrackerError> {
    session.execute(
        "UPDATE etl_ejecuciones SET lineas_tardias = $1, lineas_cambiadas = $2, lineas_desaparecidas = $3 WHERE id = $4",
        &[
            EngineValue::Int(diff.tardias),
            EngineValue::Int(diff.cambiadas),
            EngineValue::Int(diff.desaparecidas),
            EngineValue::Int(id),
        ],
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
    session: &mut Session,
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
        filter.numbered_sql(1)
    );
    session
        .query(&sql, &filter.engine_values())?
        .iter()
        .map(|r| {
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
        })
        .collect()
}

/// Deletes `lines` from `ventas` and marks them deleted, in one transaction. Returns the
/// sales rows deleted.
pub fn delete_vanished(
    session: &mut Session,
    lines: &[VanishedLine],
    now_local: NaiveDateTime,
) -> Result<usize, TrackerError> {
    session.transaction(|tx| {
        let mut deleted = 0;
        for line in lines {
            deleted += tx.execute(
                "DELETE FROM ventas WHERE ubicacion_id = $1 AND numero_factura = $2 AND linea = $3 \
                 AND ejecucion_id = $4",
                &[
                    line.ubicacion_id.as_str().into(),
                    line.numero_factura.as_str().into(),
                    line.linea.into(),
                    EngineValue::Int(line.cargada_por),
                ],
            )? as usize;
            tx.execute(
                "UPDATE etl_lineas_desaparecidas SET eliminada_en = $1 \
                 WHERE ubicacion_id = $2 AND numero_factura = $3 AND linea = $4",
                &[
                    EngineValue::Timestamp(now_local),
                    line.ubicacion_id.as_str().into(),
                    line.numero_factura.as_str().into(),
                    line.linea.into(),
                ],
            )?;
        }
        Ok(deleted)
    })
}
