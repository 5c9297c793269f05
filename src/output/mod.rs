//! The only place that prints: tables (comfy-table), JSON and CSV on stdout; notes, warnings
//! and progress on stderr.

pub mod progress;

use std::io::{self, IsTerminal, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde::Serialize;

/// First line is the header row; no outer borders, no lines between rows.
const TABLE_STYLE: &str = "     ─┼ │          ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// Prometheus text exposition (`metrics` only).
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How to print, decided once from flags, `NO_COLOR` and whether each stream is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    pub quiet: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
}

impl Output {
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Output {
        let stdout_is_terminal = io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && !no_color,
        };
        Output {
            format,
            color,
            quiet,
            stdout_is_terminal,
            stderr_is_terminal: io::stderr().is_terminal(),
        }
    }

    /// A note for a person on stderr (not with `--quiet`).
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "{message}");
        }
    }

    pub fn warn(&self, message: &str) {
        let _ = writeln!(io::stderr(), "warning: {message}");
    }
}

/// A value printed as one table row / CSV record.
pub trait Tabular {
    fn headers() -> Vec<&'static str>;
    fn cells(&self) -> Vec<String>;
    /// CSV keeps long texts whole where the table cuts them.
    fn csv_cells(&self) -> Vec<String> {
        self.cells()
    }
    /// Colour of a cell in a table on a terminal (never in CSV, JSON or a pipe).
    fn color(&self, _column: usize) -> Option<Color> {
        None
    }
}

/// Colour for an `estado` value.
pub fn estado_color(estado: &str) -> Option<Color> {
    match estado {
        "exitoso" => Some(Color::Green),
        "fallido" => Some(Color::Red),
        "parcial" | "en_proceso" => Some(Color::Yellow),
        _ => None,
    }
}

pub fn table<T: Tabular>(out: &Output, rows: &[T]) -> Table {
    let mut table = Table::new();
    table.load_preset(TABLE_STYLE);
    if out.stdout_is_terminal {
        table.set_content_arrangement(ContentArrangement::Dynamic);
        // A terminal that reports no (or a tiny) width would squeeze every column to one
        // character: print the table at its natural width instead.
        if table.width().is_none_or(|width| width < 60) {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    } else {
        table.force_no_tty();
    }
    table.set_header(T::headers());
    for row in rows {
        let cells = row.cells().into_iter().enumerate().map(|(i, text)| {
            let cell = Cell::new(text);
            match (out.color, row.color(i)) {
                (true, Some(color)) => cell.fg(color),
                _ => cell,
            }
        });
        table.add_row(cells);
    }
    if out.color {
        table.enforce_styling();
    }
    table
}

/// Prints rows in the chosen format; `empty` is said on stderr instead of an empty table.
pub fn emit<T: Tabular + Serialize>(out: &Output, rows: &[T], empty: &str) -> io::Result<()> {
    let stdout = io::stdout();
    let mut w = stdout.lock();
    match out.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, rows).map_err(io::Error::from)?;
            writeln!(w)?;
        }
        Format::Csv => write_csv(&mut w, rows)?,
        Format::Prometheus => {
            return Err(io::Error::other("--format prometheus is for `metrics`"));
        }
        Format::Table => {
            if rows.is_empty() {
                drop(w);
                if !empty.is_empty() {
                    out.note(empty);
                }
                return Ok(());
            }
            writeln!(w, "{}", table(out, rows))?;
        }
    }
    w.flush()
}

pub fn write_csv<T: Tabular>(w: &mut impl Write, rows: &[T]) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(T::headers()).map_err(csv_error)?;
    for row in rows {
        csv.write_record(row.csv_cells()).map_err(csv_error)?;
    }
    csv.flush()
}

fn csv_error(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Prints any serialisable value as JSON on stdout.
pub fn emit_json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let stdout = io::stdout();
    let mut w = stdout.lock();
    serde_json::to_writer_pretty(&mut w, value).map_err(io::Error::from)?;
    writeln!(w)?;
    w.flush()
}

/// Prints text on stdout as is.
pub fn emit_text(text: &str) -> io::Result<()> {
    let stdout = io::stdout();
    let mut w = stdout.lock();
    w.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(w)?;
    }
    w.flush()
}

/// Formatting helpers shared by the tables.
pub mod fmt {
    use chrono::{NaiveDateTime, NaiveTime};

    pub fn opt<T: ToString>(value: &Option<T>) -> String {
        value.as_ref().map(ToString::to_string).unwrap_or_default()
    }

    pub fn time(value: &Option<NaiveTime>) -> String {
        value
            .map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_default()
    }

    pub fn datetime(value: &NaiveDateTime) -> String {
        value.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    pub fn opt_datetime(value: &Option<NaiveDateTime>) -> String {
        value.as_ref().map(datetime).unwrap_or_default()
    }

    /// `value` rounded to `decimals`; a value that rounds to zero prints as zero, never
    /// "-0.0" (a failure stamped a few microseconds after "now" is 0.0 hours old).
    pub fn float(value: f64, decimals: usize) -> String {
        let text = format!("{value:.decimals$}");
        match text.strip_prefix('-') {
            Some(magnitude) if magnitude.bytes().all(|b| b == b'0' || b == b'.') => {
                magnitude.to_owned()
            }
            _ => text,
        }
    }

    pub fn opt_float(value: &Option<f64>, decimals: usize) -> String {
        value.map(|v| float(v, decimals)).unwrap_or_default()
    }

    /// A message cut to `max` characters for a table cell (JSON and CSV keep it whole).
    pub fn short(value: &Option<String>, max: usize) -> String {
        let text = value.as_deref().unwrap_or_default().replace('\n', " ");
        if text.chars().count() <= max {
            text
        } else {
            let cut: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fmt::float;

    #[test]
    fn float_rounds_and_never_prints_a_negative_zero() {
        assert_eq!(float(1.25, 1), "1.2");
        assert_eq!(float(-0.00011, 1), "0.0");
        assert_eq!(float(-0.0, 2), "0.00");
        assert_eq!(float(-0.04, 0), "0");
        assert_eq!(float(-0.05, 1), "-0.1");
        assert_eq!(float(-12.5, 1), "-12.5");
    }
}
