//! Purge: delete old executions, but never one gap detection still needs.
//!
//! Kept whatever their age: `en_proceso` rows; rows whose window reaches into the gap
//! horizon; per store and tipo the earliest execution (it anchors when sales are expected
//! from) and the latest success (it anchors inventory staleness); inventory attempts after
//! the latest success (they are the current gap's history).

use std::time::Duration;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use super::TrackerError;
use super::sql::timestamp;

#[derive(Debug, Clone)]
pub struct PurgeOptions {
    pub now_local: NaiveDateTime,
    pub older_than: Duration,
    pub horizon: Duration,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PurgePlan {
    /// Executions started before this (store-local) are candidates.
    pub cutoff: NaiveDateTime,
    pub to_delete: i64,
    pub oldest_deleted: Option<NaiveDateTime>,
    pub newest_deleted: Option<NaiveDateTime>,
    /// Older than the cutoff but kept because they are `en_proceso`.
    pub kept_in_progress: i64,
    /// Older than the cutoff but kept because gap detection needs them.
    pub kept_for_gaps: i64,
    pub deleted: i64,
}

const CANDIDATES: &str = r#"
WITH p AS (SELECT CAST(? AS TIMESTAMP) AS cutoff, CAST(? AS TIMESTAMP) AS horizon_ts),
w AS (
    SELECT e.*,
        e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') AS w_start,
        CASE WHEN e.hora_hasta IS NULL THEN CAST(e.fecha_hasta + 1 AS TIMESTAMP)
             ELSE e.fecha_hasta + e.hora_hasta END AS w_end
    FROM etl_ejecuciones e
),
anchors AS (
    SELECT arg_min(id, w_start) AS id FROM w GROUP BY etl_tipo, ubicacion_id
    UNION
    SELECT arg_max(id, fecha_inicio) FROM w WHERE estado = 'exitoso' GROUP BY etl_tipo, ubicacion_id
),
last_inventory_ok AS (
    SELECT ubicacion_id, max(fecha_inicio) AS ok_at FROM w
    WHERE etl_tipo = 'inventario' AND estado = 'exitoso' GROUP BY ubicacion_id
),
old AS (
    SELECT w.*, (
        w.w_end >= p.horizon_ts
        OR w.id IN (SELECT id FROM anchors)
        OR (w.etl_tipo = 'inventario' AND w.estado <> 'exitoso'
            AND w.fecha_inicio > coalesce(
                (SELECT ok_at FROM last_inventory_ok o WHERE o.ubicacion_id = w.ubicacion_id),
                TIMESTAMP '1970-01-01'))
    ) AS needed_for_gaps
    FROM w, p
    WHERE w.fecha_inicio < p.cutoff
)
"#;

fn bounds(options: &PurgeOptions) -> (NaiveDateTime, NaiveDateTime) {
    let cutoff = options.now_local - chrono::Duration::seconds(options.older_than.as_secs() as i64);
    let horizon = options.now_local - chrono::Duration::seconds(options.horizon.as_secs() as i64);
    (cutoff, horizon)
}

pub fn plan(conn: &Connection, options: &PurgeOptions) -> Result<PurgePlan, TrackerError> {
    let (cutoff, horizon) = bounds(options);
    let sql = format!(
        "{CANDIDATES} SELECT \
           count(*) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           min(fecha_inicio) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           max(fecha_inicio) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           count(*) FILTER (WHERE estado = 'en_proceso'), \
           count(*) FILTER (WHERE estado <> 'en_proceso' AND needed_for_gaps) \
         FROM old"
    );
    let plan = conn.query_row(
        &sql,
        duckdb::params_from_iter([timestamp(cutoff), timestamp(horizon)]),
        |r| {
            Ok(PurgePlan {
                cutoff,
                to_delete: r.get(0)?,
                oldest_deleted: r.get(1)?,
                newest_deleted: r.get(2)?,
                kept_in_progress: r.get(3)?,
                kept_for_gaps: r.get(4)?,
                deleted: 0,
            })
        },
    )?;
    Ok(plan)
}

/// Deletes what `plan` lists, in one transaction; returns the plan with `deleted` set.
pub fn execute(conn: &mut Connection, options: &PurgeOptions) -> Result<PurgePlan, TrackerError> {
    let (cutoff, horizon) = bounds(options);
    let tx = conn.transaction()?;
    let mut plan = plan(&tx, options)?;
    let sql = format!(
        "DELETE FROM etl_ejecuciones WHERE id IN ({CANDIDATES} \
         SELECT id FROM old WHERE estado <> 'en_proceso' AND NOT needed_for_gaps)"
    );
    let deleted = tx.execute(
        &sql,
        duckdb::params_from_iter([timestamp(cutoff), timestamp(horizon)]),
    )?;
    tx.commit()?;
    plan.deleted = deleted as i64;
    Ok(plan)
}
