//! Progress of a run: a bar on a terminal, one plain line per finished task otherwise
//! (cron mails and logs read well), nothing with `--quiet`. Always on stderr.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::etl::execute::{Progress, TaskReport};
use crate::etl::tasks::Task;
use crate::tracker::vocab::Estado;

pub struct RunProgress {
    bar: Mutex<Option<ProgressBar>>,
    /// Executions started and not yet finished, oldest first, with their bar text.
    in_flight: Mutex<Vec<(i64, String)>>,
    terminal: bool,
    quiet: bool,
}

impl RunProgress {
    pub fn new(terminal: bool, quiet: bool) -> RunProgress {
        RunProgress {
            bar: Mutex::new(None),
            in_flight: Mutex::new(Vec::new()),
            terminal,
            quiet,
        }
    }

    /// Changes the executions in flight, and shows them on the bar: the oldest first, since
    /// it is the one a slow run waits for.
    fn update_in_flight(&self, change: impl FnOnce(&mut Vec<(i64, String)>)) {
        let Ok(mut in_flight) = self.in_flight.lock() else {
            return;
        };
        change(&mut in_flight);
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.set_message(in_flight_text(&in_flight));
        }
    }

    pub fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// The bar's text for the executions in flight, oldest first.
fn in_flight_text(in_flight: &[(i64, String)]) -> String {
    match in_flight {
        [] => String::new(),
        [(_, only)] => only.clone(),
        [(_, oldest), others @ ..] => format!("{oldest} and {} more", others.len()),
    }
}

/// `ok   tienda_01 PERIFERICO ventas 2025-11-24 10:00-10:30 incremental_30min: 123 lines (40 new), 12 invoices, 250.12 USD, 1.2 s`
pub fn task_line(report: &TaskReport) -> String {
    let status = match report.estado {
        Estado::Exitoso => "ok  ",
        Estado::Parcial => "part",
        _ => "FAIL",
    };
    let head = format!(
        "{status} {} {} {} {} {}",
        report.ubicacion_id,
        report.ubicacion_nombre,
        report.etl_tipo,
        report.window_text(),
        report.modo
    );
    let what = if report.etl_tipo == crate::tracker::vocab::EtlTipo::Ventas {
        format!(
            "{} lines ({} new), {} invoices, {:.2} USD",
            report.cargados, report.nuevos, report.facturas, report.total_usd
        )
    } else {
        format!("{} articles", report.cargados)
    };
    match (&report.error_tipo, &report.error_mensaje) {
        (Some(tipo), Some(message)) if report.estado != Estado::Exitoso => format!(
            "{head}: {tipo}: {} ({} attempt(s), {:.1} s)",
            crate::tracker::one_line(message),
            report.intentos_http,
            report.duracion_segundos
        ),
        _ => format!("{head}: {what}, {:.1} s", report.duracion_segundos),
    }
}

impl Progress for RunProgress {
    fn planned(&self, total: usize) {
        if self.quiet || !self.terminal || total == 0 {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn started(&self, task: &Task, ejecucion_id: i64) {
        let text = format!("{} {} {}", task.ubicacion_id, task.tipo, task.window);
        self.update_in_flight(|in_flight| in_flight.push((ejecucion_id, text)));
    }

    fn finished(&self, report: &TaskReport) {
        if let Some(id) = report.ejecucion_id {
            self.update_in_flight(|in_flight| in_flight.retain(|(started, _)| *started != id));
        }
        if self.quiet {
            return;
        }
        let line = task_line(report);
        match self.bar.lock() {
            Ok(bar) if bar.is_some() => {
                if let Some(bar) = bar.as_ref() {
                    bar.println(line);
                    bar.inc(1);
                }
            }
            _ => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{in_flight_text, task_line};
    use crate::etl::execute::TaskReport;
    use crate::tracker::vocab::{ErrorTipo, Estado, EtlTipo, Modo};

    #[test]
    fn a_failed_window_is_one_line_even_when_duckdb_says_it_on_several() {
        let report = TaskReport {
            ejecucion_id: Some(4),
            etl_tipo: EtlTipo::Ventas,
            ubicacion_id: "tienda_18".into(),
            ubicacion_nombre: "PARAISO".into(),
            fecha: chrono::NaiveDate::from_ymd_opt(2025, 11, 17).unwrap(),
            hora_desde: None,
            hora_hasta: None,
            modo: Modo::Completo,
            estado: Estado::Fallido,
            error_tipo: Some(ErrorTipo::DbError),
            error_mensaje: Some(
                "FATAL Error: database has been invalidated.\nOriginal error: \"No space left on device\""
                    .into(),
            ),
            extraidos: 0,
            cargados: 0,
            nuevos: 0,
            duplicados: 0,
            facturas: 0,
            total_usd: 0.0,
            intentos_http: 1,
            duracion_segundos: 0.0,
            verificacion: None,
        };
        assert_eq!(
            task_line(&report),
            "FAIL tienda_18 PARAISO ventas 2025-11-17 completo: db_error: FATAL Error: database \
             has been invalidated. Original error: \"No space left on device\" (1 attempt(s), 0.0 s)"
        );
    }

    #[test]
    fn the_bar_names_the_oldest_execution_in_flight_and_counts_the_others() {
        let flight = |ids: &[i64]| -> Vec<(i64, String)> {
            ids.iter()
                .map(|id| (*id, format!("tienda_{id:02}")))
                .collect()
        };
        assert_eq!(in_flight_text(&flight(&[])), "");
        assert_eq!(in_flight_text(&flight(&[7])), "tienda_07");
        assert_eq!(in_flight_text(&flight(&[3, 9, 1])), "tienda_03 and 2 more");
    }
}
