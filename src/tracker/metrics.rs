//! Reliability metrics per store and day (the `klk_metricas` macro behind
//! `v_metricas_confiabilidad`) and a per-store summary over the same days.

use chrono::{NaiveDate, NaiveDateTime};
use duckdb::Connection;
use serde::Serialize;

use super::TrackerError;
use super::engine::{Dialect, Session, Value as EngineValue};
use super::sql::Filter;
use super::vocab::EtlTipo;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMetrics {
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha: NaiveDate,
    pub total_ejecuciones: i64,
    pub ejecuciones_exitosas: i64,
    pub ejecuciones_fallidas: i64,
    pub ejecuciones_parciales: i64,
    pub ejecuciones_en_proceso: i64,
    /// `None` on a day with no executions started (only its verification shows).
    pub tasa_exito_pct: Option<f64>,
    pub duracion_promedio_seg: Option<f64>,
    pub duracion_p95_seg: Option<f64>,
    pub total_registros_cargados: i64,
    /// ventas, once the day was verified: lines the re-pull found that the incremental runs
    /// had missed, lines whose values it changed, lines the API no longer returns.
    pub lineas_tardias: Option<i64>,
    pub lineas_cambiadas: Option<i64>,
    pub lineas_desaparecidas: Option<i64>,
    /// When the day's first verifying re-pull finished.
    pub verificado_en: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreSummary {
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub dias: i64,
    pub total_ejecuciones: i64,
    pub ejecuciones_exitosas: i64,
    pub ejecuciones_fallidas: i64,
    pub tasa_exito_pct: f64,
    pub duracion_promedio_seg: Option<f64>,
    pub duracion_p95_seg: Option<f64>,
    pub total_registros_cargados: i64,
    /// ventas: days of the period verified, the lines their re-pulls found late (and on how
    /// many days any), changed and vanished. A store whose incremental runs keep missing
    /// lines shows here.
    pub dias_verificados: i64,
    pub lineas_tardias: i64,
    pub dias_con_tardias: i64,
    pub lineas_cambiadas: i64,
    pub lineas_desaparecidas: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsReport {
    pub desde: NaiveDate,
    pub hasta: NaiveDate,
    pub por_dia: Vec<DayMetrics>,
    pub por_tienda: Vec<StoreSummary>,
}

#[derive(Debug, Clone)]
pub struct MetricsQuery {
    pub now_local: NaiveDateTime,
    /// Today and the `days - 1` days before it.
    pub days: u32,
    pub etl_tipo: Option<EtlTipo>,
    pub stores: Vec<String>,
}

pub fn report(conn: &Connection, query: &MetricsQuery) -> Result<MetricsReport, TrackerError> {
    report_in(&mut Session::DuckDb(conn), query)
}

/// The per-store summary's query: the same rows as the per-day figures, over the whole period
/// (a p95 cannot be derived from daily p95s). DuckDB reads the executions again; PostgreSQL
/// adds up the per-day figures `klk_metricas_estado` keeps (each day's durations included), so
/// that a month is a few thousand rows there too. `$1` is now, `$2` the days, `filter` the rest.
fn summary_sql(dialect: Dialect, filter: &str) -> String {
    match dialect {
        Dialect::DuckDb => format!(
            "WITH p AS (SELECT CAST($1 AS TIMESTAMP) AS now_ts, CAST($2 AS BIGINT) AS days) \
             SELECT etl_tipo, ubicacion_id, arg_max(ubicacion_nombre, fecha_inicio) AS ubicacion_nombre, \
               count(DISTINCT CAST(fecha_inicio AS DATE)) AS dias, count(*) AS total, \
               count(*) FILTER (WHERE estado = 'exitoso') AS ok, count(*) FILTER (WHERE estado = 'fallido') AS fallidas, \
               round(100.0::DOUBLE * count(*) FILTER (WHERE estado = 'exitoso') / count(*), 2) AS tasa, \
               round(CAST(sum(CAST(floor(duracion_segundos * 1000000 + 0.5) AS BIGINT)) AS DOUBLE) \
                 / count(duracion_segundos) / 1000000, 3) AS media, \
               round(quantile_cont(duracion_segundos, 0.95), 3) AS p95, \
               CAST(coalesce(sum(registros_cargados), 0) AS BIGINT) AS cargados \
             FROM etl_ejecuciones, p \
             WHERE fecha_inicio >= CAST(CAST(p.now_ts AS DATE) - CAST(p.days - 1 AS INTEGER) AS TIMESTAMP) \
               AND fecha_inicio < CAST(CAST(p.now_ts AS DATE) + 1 AS TIMESTAMP) AND {filter} \
             GROUP BY etl_tipo, ubicacion_id \
             ORDER BY tasa, etl_tipo, ubicacion_id"
        ),
        Dialect::Postgres => format!(
            "SELECT etl_tipo, ubicacion_id, \
               (array_agg(ubicacion_nombre ORDER BY ultimo DESC) \
                 FILTER (WHERE ubicacion_nombre IS NOT NULL AND ultimo IS NOT NULL))[1] AS ubicacion_nombre, \
               count(*) AS dias, sum(total_ejecuciones)::bigint AS total, \
               sum(ejecuciones_exitosas)::bigint AS ok, sum(ejecuciones_fallidas)::bigint AS fallidas, \
               klk_round(100.0::double precision * sum(ejecuciones_exitosas) / sum(total_ejecuciones), 2) AS tasa, \
               klk_round(sum(duracion_suma_us)::double precision \
                 / nullif(sum(coalesce(cardinality(duraciones), 0)), 0)::double precision \
                 / 1000000::double precision, 3) AS media, \
               klk_round(klk_quantile_cont(klk_ordenado(klk_concat(duraciones)), 0.95), 3) AS p95, \
               sum(total_registros_cargados)::bigint AS cargados \
             FROM klk_metricas_estado(CAST($1 AS TIMESTAMP), $2) \
             WHERE {filter} \
             GROUP BY etl_tipo, ubicacion_id \
             ORDER BY tasa, etl_tipo, ubicacion_id"
        ),
    }
}

/// The report on either engine (`klk_metricas` is a table macro on DuckDB and a function on
/// PostgreSQL, with the same parameters and columns).
pub fn report_in(
    session: &mut Session,
    query: &MetricsQuery,
) -> Result<MetricsReport, TrackerError> {
    let mut filter = Filter::default();
    filter.equals("etl_tipo", query.etl_tipo.map(|t| t.as_str().to_string()));
    filter.one_of("ubicacion_id", &query.stores);
    let mut params = vec![
        EngineValue::Timestamp(query.now_local),
        EngineValue::Int(i64::from(query.days)),
    ];
    params.extend(filter.engine_values());

    let by_day_sql = format!(
        "SELECT etl_tipo, ubicacion_id, ubicacion_nombre, fecha, total_ejecuciones, \
         ejecuciones_exitosas, ejecuciones_fallidas, ejecuciones_parciales, ejecuciones_en_proceso, \
         tasa_exito_pct, duracion_promedio_seg, duracion_p95_seg, total_registros_cargados, \
         lineas_tardias, lineas_cambiadas, lineas_desaparecidas, verificado_en \
         FROM klk_metricas(CAST($1 AS TIMESTAMP), $2) WHERE {} \
         ORDER BY fecha DESC, etl_tipo, ubicacion_id",
        filter.numbered_sql(3)
    );
    let por_dia = session
        .query(&by_day_sql, &params)?
        .iter()
        .map(|r| {
            Ok(DayMetrics {
                etl_tipo: r.get(0)?,
                ubicacion_id: r.get(1)?,
                ubicacion_nombre: r.get(2)?,
                fecha: r.get(3)?,
                total_ejecuciones: r.get(4)?,
                ejecuciones_exitosas: r.get(5)?,
                ejecuciones_fallidas: r.get(6)?,
                ejecuciones_parciales: r.get(7)?,
                ejecuciones_en_proceso: r.get(8)?,
                tasa_exito_pct: r.get(9)?,
                duracion_promedio_seg: r.get(10)?,
                duracion_p95_seg: r.get(11)?,
                total_registros_cargados: r.get(12)?,
                lineas_tardias: r.get(13)?,
                lineas_cambiadas: r.get(14)?,
                lineas_desaparecidas: r.get(15)?,
                verificado_en: r.get(16)?,
            })
        })
        .collect::<Result<Vec<_>, TrackerError>>()?;

    // The verification figures add up the per-day rows just read (not computed twice).
    let summary_sql = summary_sql(session.dialect(), &filter.numbered_sql(3));
    let por_tienda = session
        .query(&summary_sql, &params)?
        .iter()
        .map(|r| {
            let mut summary = StoreSummary {
                etl_tipo: r.get(0)?,
                ubicacion_id: r.get(1)?,
                ubicacion_nombre: r.get(2)?,
                dias: r.get(3)?,
                total_ejecuciones: r.get(4)?,
                ejecuciones_exitosas: r.get(5)?,
                ejecuciones_fallidas: r.get(6)?,
                tasa_exito_pct: r.get(7)?,
                duracion_promedio_seg: r.get(8)?,
                duracion_p95_seg: r.get(9)?,
                total_registros_cargados: r.get(10)?,
                dias_verificados: 0,
                lineas_tardias: 0,
                dias_con_tardias: 0,
                lineas_cambiadas: 0,
                lineas_desaparecidas: 0,
            };
            for day in por_dia.iter().filter(|d| {
                d.etl_tipo == summary.etl_tipo && d.ubicacion_id == summary.ubicacion_id
            }) {
                summary.dias_verificados += i64::from(day.verificado_en.is_some());
                summary.lineas_tardias += day.lineas_tardias.unwrap_or(0);
                summary.dias_con_tardias += i64::from(day.lineas_tardias.is_some_and(|n| n > 0));
                summary.lineas_cambiadas += day.lineas_cambiadas.unwrap_or(0);
                summary.lineas_desaparecidas += day.lineas_desaparecidas.unwrap_or(0);
            }
            Ok(summary)
        })
        .collect::<Result<Vec<_>, TrackerError>>()?;

    let hasta = query.now_local.date();
    let desde = hasta - chrono::Days::new(u64::from(query.days.saturating_sub(1)));
    Ok(MetricsReport {
        desde,
        hasta,
        por_dia,
        por_tienda,
    })
}
