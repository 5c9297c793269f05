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
    terminal: bool,
    quiet: bool,
}

impl RunProgress {
    pub fn new(terminal: bool, quiet: bool) -> RunProgress {
        RunProgress {
            bar: Mutex::new(None),
            terminal,
            quiet,
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
            "{head}: {tipo}: {message} ({} attempt(s), {:.1} s)",
            report.intentos_http, report.duracion_segundos
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

    fn started(&self, task: &Task) {
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.set_message(format!(
                "{} {} {}",
                task.ubicacion_id, task.tipo, task.window
            ));
        }
    }

    fn finished(&self, report: &TaskReport) {
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
