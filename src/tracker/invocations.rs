//! Every `run` and `recover` invocation is recorded, even one with nothing to do, so that a
//! cron that stopped calling is visible (`health`, alerts).

use chrono::NaiveDateTime;
use duckdb::{Connection, OptionalExt, params};
use serde::Serialize;

use super::TrackerError;
use super::process::{current_pid, host_name};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationCounts {
    pub ventanas: i64,
    pub ventanas_fallidas: i64,
    pub gaps_recuperados: i64,
    pub lineas: i64,
}

pub fn start(
    conn: &Connection,
    comando: &str,
    tipos: &str,
    at: NaiveDateTime,
) -> Result<i64, TrackerError> {
    Ok(conn.query_row(
        "INSERT INTO etl_invocaciones (comando, tipos, inicio, estado, host, pid) \
         VALUES (?, ?, ?, 'en_proceso', ?, ?) RETURNING id",
        params![comando, tipos, at, host_name(), i64::from(current_pid())],
        |r| r.get(0),
    )?)
}

/// `estado`: `exitoso`, `parcial` (some window failed) or `interrumpido`.
pub fn finish(
    conn: &Connection,
    id: i64,
    at: NaiveDateTime,
    estado: &str,
    counts: &InvocationCounts,
) -> Result<(), TrackerError> {
    conn.execute(
        "UPDATE etl_invocaciones SET fin = ?, estado = ?, \
         duracion_segundos = greatest(0, (epoch_us(CAST(? AS TIMESTAMP)) - epoch_us(inicio)) / 1e6), \
         ventanas = ?, ventanas_fallidas = ?, gaps_recuperados = ?, lineas = ? \
         WHERE id = ? AND estado = 'en_proceso'",
        params![
            at,
            estado,
            at,
            counts.ventanas,
            counts.ventanas_fallidas,
            counts.gaps_recuperados,
            counts.lineas,
            id
        ],
    )?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastInvocation {
    pub id: i64,
    pub comando: String,
    pub tipos: String,
    pub inicio: NaiveDateTime,
    pub fin: Option<NaiveDateTime>,
    pub duracion_segundos: Option<f64>,
    pub estado: String,
}

/// The latest invocation of `comando` (e.g. `run`).
pub fn last(conn: &Connection, comando: &str) -> Result<Option<LastInvocation>, TrackerError> {
    Ok(conn
        .query_row(
            "SELECT id, comando, tipos, inicio, fin, duracion_segundos, estado FROM etl_invocaciones \
             WHERE comando = ? ORDER BY inicio DESC, id DESC LIMIT 1",
            [comando],
            |r| {
                Ok(LastInvocation {
                    id: r.get(0)?,
                    comando: r.get(1)?,
                    tipos: r.get(2)?,
                    inicio: r.get(3)?,
                    fin: r.get(4)?,
                    duracion_segundos: r.get(5)?,
                    estado: r.get(6)?,
                })
            },
        )
        .optional()?)
}
