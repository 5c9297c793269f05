//! Where each store's loaded sales end: the runner's incremental watermark.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::TrackerError;
use super::engine::{Session, Value};

/// Per store, the latest end of a successful sales window, never later than when that
/// execution started (a window cannot hold data from after its own fetch), counting a
/// `:59` end as the next second. Only windows reaching into `[since, ∞)` are read.
pub fn sales_watermarks(
    session: &mut Session,
    since: NaiveDateTime,
) -> Result<HashMap<String, NaiveDateTime>, TrackerError> {
    session
        .query(
            "SELECT ubicacion_id, max(least(fecha_inicio, \
                CASE WHEN hora_hasta IS NULL THEN CAST(fecha_hasta + 1 AS TIMESTAMP) \
                     WHEN floor(date_part('second', hora_hasta)) = 59 \
                          THEN fecha_hasta + hora_hasta + INTERVAL '1 second' \
                     ELSE fecha_hasta + hora_hasta END)) \
             FROM etl_ejecuciones \
             WHERE etl_tipo = 'ventas' AND estado = 'exitoso' \
               AND fecha_hasta >= CAST(CAST($1 AS TIMESTAMP) AS DATE) \
             GROUP BY ubicacion_id",
            &[Value::Timestamp(since)],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

/// Stores whose latest sales execution (finished) failed: their next incremental windows
/// are cut slot by slot, so one window the API cannot serve does not hold back the rest.
pub fn stores_whose_last_sales_failed(
    session: &mut Session,
) -> Result<HashSet<String>, TrackerError> {
    // Each store's latest finished start comes from the summary (`klk_resumen`); only the
    // executions started then are read, the highest id winning a tie.
    session
        .query(
            "WITH ultimo AS ( \
                 SELECT ubicacion_id, max(ultimo_inicio) AS fecha_inicio FROM klk_resumen() \
                 WHERE etl_tipo = 'ventas' AND estado <> 'en_proceso' GROUP BY ubicacion_id), \
             latest AS ( \
                 SELECT DISTINCT ON (e.ubicacion_id) e.ubicacion_id, e.estado \
                 FROM etl_ejecuciones e \
                 JOIN ultimo u ON e.ubicacion_id = u.ubicacion_id AND e.fecha_inicio = u.fecha_inicio \
                 WHERE e.etl_tipo = 'ventas' AND e.estado <> 'en_proceso' \
                 ORDER BY e.ubicacion_id, e.id DESC) \
             SELECT ubicacion_id FROM latest WHERE estado IN ('fallido', 'parcial')",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Per store gaps are computed for, when its sales are expected from (`klk_tiendas`: the
/// store's `since`, or its first sales window; `None` for a store with neither yet).
pub fn expected_sales_start(
    session: &mut Session,
) -> Result<HashMap<String, Option<NaiveDateTime>>, TrackerError> {
    session
        .query(
            "SELECT ubicacion_id, esperado_desde FROM klk_tiendas()",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}
