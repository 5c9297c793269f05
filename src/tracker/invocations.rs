//! Every `run` and `recover` invocation is recorded, even one with nothing to do, so that a
//! cron that stopped calling is visible (`health`, alerts).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::TrackerError;
use super::engine::{Session, Value};
use super::process::{current_pid, host_name};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationCounts {
    pub ventanas: i64,
    pub ventanas_fallidas: i64,
    pub gaps_recuperados: i64,
    pub lineas: i64,
}

/// `requested_by`: the name of the `serve` token that asked for it (a recovery from the
/// web); `None` from the command line.
pub fn start(
    session: &mut Session,
    comando: &str,
    tipos: &str,
    at: NaiveDateTime,
    requested_by: Option<&str>,
) -> Result<i64, TrackerError> {
    session
        .query_one(
            "INSERT INTO etl_invocaciones (comando, tipos, inicio, estado, host, pid, solicitado_por) \
             VALUES ($1, $2, $3, 'en_proceso', $4, $5, $6) RETURNING id",
            &[
                comando.into(),
                tipos.into(),
                Value::Timestamp(at),
                host_name().into(),
                Value::Int(i64::from(current_pid())),
                requested_by.into(),
            ],
        )?
        .get(0)
}

/// `estado`: `exitoso`, `parcial` (some window failed) or `interrumpido`.
pub fn finish(
    session: &mut Session,
    id: i64,
    at: NaiveDateTime,
    estado: &str,
    counts: &InvocationCounts,
) -> Result<(), TrackerError> {
    let epoch_us = session.dialect().epoch_us();
    session.execute(
        &format!(
            "UPDATE etl_invocaciones SET fin = $1, estado = $2, \
             duracion_segundos = greatest(0, ({epoch_us}(CAST($1 AS TIMESTAMP)) - {epoch_us}(inicio)) / 1e6), \
             ventanas = $3, ventanas_fallidas = $4, gaps_recuperados = $5, lineas = $6 \
             WHERE id = $7 AND estado = 'en_proceso'"
        ),
        &[
            Value::Timestamp(at),
            estado.into(),
            Value::Int(counts.ventanas),
            Value::Int(counts.ventanas_fallidas),
            Value::Int(counts.gaps_recuperados),
            Value::Int(counts.lineas),
            Value::Int(id),
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

/// One row of `etl_invocaciones`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    pub id: i64,
    pub comando: String,
    pub tipos: String,
    pub inicio: NaiveDateTime,
    pub fin: Option<NaiveDateTime>,
    pub duracion_segundos: Option<f64>,
    pub estado: String,
    pub ventanas: Option<i64>,
    pub ventanas_fallidas: Option<i64>,
    pub lineas: Option<i64>,
    pub host: Option<String>,
    pub solicitado_por: Option<String>,
}

/// The latest invocations asked for from the web (`solicitado_por` set), newest first.
pub fn recent_requested(
    session: &mut Session,
    limit: usize,
) -> Result<Vec<Invocation>, TrackerError> {
    session
        .query(
            "SELECT id, comando, tipos, inicio, fin, duracion_segundos, estado, ventanas, \
             ventanas_fallidas, lineas, host, solicitado_por FROM etl_invocaciones \
             WHERE solicitado_por IS NOT NULL ORDER BY inicio DESC, id DESC LIMIT $1",
            &[Value::Int(limit as i64)],
        )?
        .iter()
        .map(|r| {
            Ok(Invocation {
                id: r.get(0)?,
                comando: r.get(1)?,
                tipos: r.get(2)?,
                inicio: r.get(3)?,
                fin: r.get(4)?,
                duracion_segundos: r.get(5)?,
                estado: r.get(6)?,
                ventanas: r.get(7)?,
                ventanas_fallidas: r.get(8)?,
                lineas: r.get(9)?,
                host: r.get(10)?,
                solicitado_por: r.get(11)?,
            })
        })
        .collect()
}

/// The latest invocation of `comando` (e.g. `run`).
pub fn last(session: &mut Session, comando: &str) -> Result<Option<LastInvocation>, TrackerError> {
    session
        .query(
            "SELECT id, comando, tipos, inicio, fin, duracion_segundos, estado FROM etl_invocaciones \
             WHERE comando = $1 ORDER BY inicio DESC, id DESC LIMIT 1",
            &[comando.into()],
        )?
        .first()
        .map(|r| {
            Ok(LastInvocation {
                id: r.get(0)?,
                comando: r.get(1)?,
                tipos: r.get(2)?,
                inicio: r.get(3)?,
                fin: r.get(4)?,
                duracion_segundos: r.get(5)?,
                estado: r.get(6)?,
            })
        })
        .transpose()
}
