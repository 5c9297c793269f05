//! Purge: delete old executions, but never one gap detection still needs.
//!
//! Kept whatever their age: `en_proceso` rows; rows whose window reaches into the gap
//! horizon; per store and tipo the earliest execution (it anchors when sales are expected
//! from) and the latest success (it anchors inventory staleness); inventory attempts after
//! the latest success (they are the current gap's history).

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::TrackerError;
use super::engine::{Dialect, Session, Value};

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

/// Executions started before the cutoff, each with whether gap detection still needs it.
/// The anchors (each store and tipo's earliest window and latest success, the latest
/// inventory success) are found through the summary (`klk_resumen`): only the few rows they
/// name are read, not the whole table; the rest of the work is the old rows themselves.
const CANDIDATES: &str = r#"
WITH p AS (SELECT CAST($1 AS TIMESTAMP) AS cutoff, CAST($2 AS TIMESTAMP) AS horizon_ts),
resumen AS (SELECT * FROM klk_resumen()),
primera AS (
    SELECT etl_tipo, ubicacion_id, min(primera_ventana) AS w_start
    FROM resumen GROUP BY etl_tipo, ubicacion_id
),
ultimo_ok AS (
    SELECT etl_tipo, ubicacion_id, max(ultimo_inicio) AS fecha_inicio
    FROM resumen WHERE estado = 'exitoso' GROUP BY etl_tipo, ubicacion_id
),
anchors AS (
    SELECT {first_id} AS id
    FROM etl_ejecuciones e
    JOIN primera f ON e.etl_tipo = f.etl_tipo AND e.ubicacion_id = f.ubicacion_id
     AND e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') = f.w_start
    WHERE e.fecha_desde <= (SELECT max(CAST(w_start AS DATE)) FROM primera)
    GROUP BY e.etl_tipo, e.ubicacion_id
    UNION
    SELECT {last_id}
    FROM etl_ejecuciones e
    JOIN ultimo_ok u ON e.etl_tipo = u.etl_tipo AND e.ubicacion_id = u.ubicacion_id
     AND e.fecha_inicio = u.fecha_inicio
    WHERE e.estado = 'exitoso' AND e.fecha_inicio >= (SELECT min(fecha_inicio) FROM ultimo_ok)
    GROUP BY e.etl_tipo, e.ubicacion_id
),
old AS (
    SELECT e.id, e.estado, e.fecha_inicio, (
        (CASE WHEN e.hora_hasta IS NULL THEN CAST(e.fecha_hasta + 1 AS TIMESTAMP)
              ELSE e.fecha_hasta + e.hora_hasta END) >= p.horizon_ts
        OR e.id IN (SELECT id FROM anchors)
        OR (e.etl_tipo = 'inventario' AND e.estado <> 'exitoso'
            AND e.fecha_inicio > coalesce(o.fecha_inicio, TIMESTAMP '1970-01-01'))
    ) AS needed_for_gaps
    FROM etl_ejecuciones e
    CROSS JOIN p
    LEFT JOIN ultimo_ok o ON o.etl_tipo = 'inventario' AND o.ubicacion_id = e.ubicacion_id
    WHERE e.fecha_inicio < p.cutoff
)
"#;

/// [`CANDIDATES`] in the session's dialect. In each anchor's group every row has the same
/// window start (or start), so any one of them anchors: DuckDB takes whichever `arg_min`
/// meets first, PostgreSQL the lowest id.
fn candidates(dialect: Dialect) -> String {
    let (first_id, last_id) = match dialect {
        Dialect::DuckDb => (
            "arg_min(e.id, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00'))",
            "arg_max(e.id, e.fecha_inicio)",
        ),
        Dialect::Postgres => ("min(e.id)", "max(e.id)"),
    };
    CANDIDATES
        .replace("{first_id}", first_id)
        .replace("{last_id}", last_id)
}

fn bounds(options: &PurgeOptions) -> (NaiveDateTime, NaiveDateTime) {
    let cutoff = options.now_local - chrono::Duration::seconds(options.older_than.as_secs() as i64);
    let horizon = options.now_local - chrono::Duration::seconds(options.horizon.as_secs() as i64);
    (cutoff, horizon)
}

pub fn plan(session: &mut Session, options: &PurgeOptions) -> Result<PurgePlan, TrackerError> {
    let (cutoff, horizon) = bounds(options);
    let sql = format!(
        "{} SELECT \
           count(*) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           min(fecha_inicio) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           max(fecha_inicio) FILTER (WHERE estado <> 'en_proceso' AND NOT needed_for_gaps), \
           count(*) FILTER (WHERE estado = 'en_proceso'), \
           count(*) FILTER (WHERE estado <> 'en_proceso' AND needed_for_gaps) \
         FROM old",
        candidates(session.dialect())
    );
    let r = session.query_one(&sql, &[Value::Timestamp(cutoff), Value::Timestamp(horizon)])?;
    Ok(PurgePlan {
        cutoff,
        to_delete: r.get(0)?,
        oldest_deleted: r.get(1)?,
        newest_deleted: r.get(2)?,
        kept_in_progress: r.get(3)?,
        kept_for_gaps: r.get(4)?,
        deleted: 0,
    })
}

/// Deletes what `plan` lists, in one transaction; returns the plan with `deleted` set.
pub fn execute(session: &mut Session, options: &PurgeOptions) -> Result<PurgePlan, TrackerError> {
    let (cutoff, horizon) = bounds(options);
    let dialect = session.dialect();
    let plan = session.transaction(|tx| {
        let mut plan = plan(tx, options)?;
        // The old rows to keep are few: delete the others by a plain predicate (much cheaper
        // than matching millions of ids).
        let keep = match dialect {
            Dialect::DuckDb => "CREATE OR REPLACE TEMP TABLE klk_purga_conservar AS",
            Dialect::Postgres => "CREATE TEMP TABLE klk_purga_conservar ON COMMIT DROP AS",
        };
        tx.execute(
            &format!(
                "{keep} {} SELECT id FROM old WHERE needed_for_gaps",
                candidates(dialect)
            ),
            &[Value::Timestamp(cutoff), Value::Timestamp(horizon)],
        )?;
        let deleted = tx.execute(
            "DELETE FROM etl_ejecuciones WHERE fecha_inicio < CAST($1 AS TIMESTAMP) \
             AND estado <> 'en_proceso' AND id NOT IN (SELECT id FROM klk_purga_conservar)",
            &[Value::Timestamp(cutoff)],
        )?;
        // Rows went away: the executions summary is rebuilt in the same transaction.
        match tx {
            Session::DuckDb(conn) => {
                conn.execute_batch("DROP TABLE klk_purga_conservar")?;
                super::schema::rebuild_summary(conn)?;
            }
            // Forgotten, so that readers add up the whole table until it is rebuilt below;
            // rebuilding here could be refused while another runner writes.
            Session::Postgres(_) => tx.batch("DELETE FROM etl_resumen_estado")?,
        }
        plan.deleted = deleted as i64;
        Ok(plan)
    })?;
    if dialect == Dialect::Postgres {
        let _ = session.query("SELECT klk_refrescar_resumen(true)", &[]);
    }
    Ok(plan)
}
