//! Where each store's loaded sales end: the runner's incremental watermark.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use duckdb::Connection;

use super::TrackerError;
use super::sql::timestamp;

/// Per store, the latest end of a successful sales window, never later than when that
/// execution started (a window cannot hold data from after its own fetch), counting a
/// `:59` end as the next second. Only windows reaching into `[since, ∞)` are read.
pub fn sales_watermarks(
    conn: &Connection,
    since: NaiveDateTime,
) -> Result<HashMap<String, NaiveDateTime>, TrackerError> {
    let mut stmt = conn.prepare(
        "SELECT ubicacion_id, max(least(fecha_inicio, \
            CASE WHEN hora_hasta IS NULL THEN CAST(fecha_hasta + 1 AS TIMESTAMP) \
                 WHEN second(hora_hasta) = 59 THEN fecha_hasta + hora_hasta + INTERVAL 1 SECOND \
                 ELSE fecha_hasta + hora_hasta END)) \
         FROM etl_ejecuciones \
         WHERE etl_tipo = 'ventas' AND estado = 'exitoso' AND fecha_hasta >= CAST(CAST(? AS TIMESTAMP) AS DATE) \
         GROUP BY ubicacion_id",
    )?;
    let rows = stmt.query_map(duckdb::params_from_iter([timestamp(since)]), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, NaiveDateTime>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores whose latest sales execution (finished) failed: their next incremental windows
/// are cut slot by slot, so one window the API cannot serve does not hold back the rest.
pub fn stores_whose_last_sales_failed(
    conn: &Connection,
) -> Result<std::collections::HashSet<String>, TrackerError> {
    // Each store's latest finished start comes from the summary (`klk_resumen`); only the
    // executions started then are read, the highest id winning a tie.
    let mut stmt = conn.prepare(
        "WITH ultimo AS ( \
             SELECT ubicacion_id, max(ultimo_inicio) AS fecha_inicio FROM klk_resumen() \
             WHERE etl_tipo = 'ventas' AND estado <> 'en_proceso' GROUP BY ubicacion_id) \
         SELECT e.ubicacion_id FROM etl_ejecuciones e \
         JOIN ultimo u ON e.ubicacion_id = u.ubicacion_id AND e.fecha_inicio = u.fecha_inicio \
         WHERE e.etl_tipo = 'ventas' AND e.estado <> 'en_proceso' \
         QUALIFY row_number() OVER (PARTITION BY e.ubicacion_id ORDER BY e.id DESC) = 1 \
         AND e.estado IN ('fallido', 'parcial')",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Per store gaps are computed for, when its sales are expected from (`klk_tiendas`: the
/// store's `since`, or its first sales window; `None` for a store with neither yet).
pub fn expected_sales_start(
    conn: &Connection,
) -> Result<HashMap<String, Option<NaiveDateTime>>, TrackerError> {
    let mut stmt = conn.prepare("SELECT ubicacion_id, esperado_desde FROM klk_tiendas()")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<NaiveDateTime>>(1)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
