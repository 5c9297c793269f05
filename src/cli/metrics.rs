use super::{Ctx, parse_positive};
use crate::exit::Exit;
use crate::output::{self, Format, Tabular, fmt};
use crate::tracker::Access;
use crate::tracker::metrics::{self, DayMetrics, MetricsQuery, StoreSummary};
use crate::tracker::vocab::EtlTipo;

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Days to cover, today included
    #[arg(long, default_value = "7", value_parser = parse_positive, allow_negative_numbers = true)]
    pub days: u32,
    /// Only this tipo
    #[arg(long, value_enum)]
    pub tipo: Option<EtlTipo>,
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Only the per-store summary (CSV prints the per-day rows unless this is given)
    #[arg(long)]
    pub summary: bool,
    /// Write the Prometheus metrics to this file atomically (for node_exporter's textfile collector)
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<std::path::PathBuf>,
}

impl Tabular for DayMetrics {
    fn headers() -> Vec<&'static str> {
        vec![
            "date",
            "tipo",
            "store",
            "name",
            "runs",
            "ok",
            "failed",
            "partial",
            "running",
            "success %",
            "mean s",
            "p95 s",
            "rows loaded",
            "late",
            "changed",
            "vanished",
            "verified",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.fecha.to_string(),
            self.etl_tipo.clone(),
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            self.total_ejecuciones.to_string(),
            self.ejecuciones_exitosas.to_string(),
            self.ejecuciones_fallidas.to_string(),
            self.ejecuciones_parciales.to_string(),
            self.ejecuciones_en_proceso.to_string(),
            fmt::opt_float(&self.tasa_exito_pct, 1),
            fmt::opt_float(&self.duracion_promedio_seg, 1),
            fmt::opt_float(&self.duracion_p95_seg, 1),
            self.total_registros_cargados.to_string(),
            fmt::opt(&self.lineas_tardias),
            fmt::opt(&self.lineas_cambiadas),
            fmt::opt(&self.lineas_desaparecidas),
            fmt::opt_datetime(&self.verificado_en),
        ]
    }

    fn color(&self, column: usize) -> Option<comfy_table::Color> {
        match column {
            9 => self.tasa_exito_pct.and_then(rate_color),
            13 => found_color(self.lineas_tardias.unwrap_or(0)),
            15 => found_color(self.lineas_desaparecidas.unwrap_or(0)),
            _ => None,
        }
    }
}

impl Tabular for StoreSummary {
    fn headers() -> Vec<&'static str> {
        vec![
            "tipo",
            "store",
            "name",
            "days",
            "runs",
            "ok",
            "failed",
            "success %",
            "mean s",
            "p95 s",
            "rows loaded",
            "verified days",
            "late lines",
            "days late",
            "changed",
            "vanished",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.etl_tipo.clone(),
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            self.dias.to_string(),
            self.total_ejecuciones.to_string(),
            self.ejecuciones_exitosas.to_string(),
            self.ejecuciones_fallidas.to_string(),
            fmt::float(self.tasa_exito_pct, 1),
            fmt::opt_float(&self.duracion_promedio_seg, 1),
            fmt::opt_float(&self.duracion_p95_seg, 1),
            self.total_registros_cargados.to_string(),
            self.dias_verificados.to_string(),
            self.lineas_tardias.to_string(),
            self.dias_con_tardias.to_string(),
            self.lineas_cambiadas.to_string(),
            self.lineas_desaparecidas.to_string(),
        ]
    }

    fn color(&self, column: usize) -> Option<comfy_table::Color> {
        match column {
            7 => rate_color(self.tasa_exito_pct),
            12 | 13 => found_color(self.dias_con_tardias),
            15 => found_color(self.lineas_desaparecidas),
            _ => None,
        }
    }
}

/// Lines a verification found late or vanished: the incremental runs are missing something.
fn found_color(count: i64) -> Option<comfy_table::Color> {
    (count > 0).then_some(comfy_table::Color::Yellow)
}

/// The seed alerts under 90 %.
fn rate_color(rate: f64) -> Option<comfy_table::Color> {
    if rate < 90.0 {
        Some(comfy_table::Color::Red)
    } else {
        None
    }
}

impl MetricsArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        if ctx.out.format == Format::Prometheus || self.textfile.is_some() {
            let text =
                crate::monitor::prometheus_text(&ctx.config, ctx.now_utc(), ctx.now_local())?;
            if let Some(path) = &self.textfile {
                crate::monitor::prometheus::write_textfile(path, &text)
                    .map_err(|e| crate::exit::IoError::write(path, e))?;
            }
            if ctx.out.format == Format::Prometheus {
                output::emit_text(&text)?;
            }
            return Ok(Exit::Ok);
        }
        let mut db = ctx.open_database(Access::Read)?;
        let report = metrics::report_in(
            &mut db.session(),
            &MetricsQuery {
                now_local: ctx.now_local(),
                days: self.days,
                etl_tipo: self.tipo,
                stores: self.stores,
            },
        )?;
        // Close the file before printing: a slow reader of our output (a pager, a pipe)
        // must not keep a writer waiting.
        drop(db);
        match ctx.out.format {
            Format::Json => output::emit_json(&report)?,
            Format::Csv if self.summary => output::emit(&ctx.out, &report.por_tienda, "")?,
            Format::Csv => output::emit(&ctx.out, &report.por_dia, "")?,
            Format::Prometheus => {}
            Format::Table => {
                if report.por_dia.is_empty() {
                    ctx.out.note(&format!(
                        "no executions between {} and {}",
                        report.desde, report.hasta
                    ));
                    return Ok(Exit::Ok);
                }
                if !self.summary {
                    output::emit_text(&format!(
                        "Per store and day, {} to {}\n{}\n",
                        report.desde,
                        report.hasta,
                        output::table(&ctx.out, &report.por_dia)
                    ))?;
                }
                output::emit_text(&format!(
                    "Per store, {} to {}\n{}",
                    report.desde,
                    report.hasta,
                    output::table(&ctx.out, &report.por_tienda)
                ))?;
            }
        }
        Ok(Exit::Ok)
    }
}
