use super::{Ctx, parse_positive};
use crate::exit::Exit;
use crate::output::{self, Tabular, estado_color, fmt};
use crate::tracker::Access;
use crate::tracker::executions::{self, ExecutionFilter, ExecutionRow};
use crate::tracker::vocab::{Estado, EtlTipo};

#[derive(Debug, clap::Args)]
pub struct ExecutionsArgs {
    /// Only this tipo
    #[arg(long, value_enum)]
    pub tipo: Option<EtlTipo>,
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Only this estado
    #[arg(long, value_enum)]
    pub estado: Option<Estado>,
    /// How many, newest first
    #[arg(long, default_value = "10", value_parser = parse_positive, allow_negative_numbers = true)]
    pub limit: u32,
}

impl Tabular for ExecutionRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "id", "started", "tipo", "store", "name", "window", "mode", "state", "rows", "secs",
            "error", "message",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let mut cells = self.csv_cells();
        let last = cells.len() - 1;
        cells[last] = fmt::short(&self.error_mensaje, 50);
        cells
    }

    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            fmt::datetime(&self.fecha_inicio),
            self.etl_tipo.clone(),
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            window_text(self),
            fmt::opt(&self.modo),
            self.estado.clone(),
            fmt::opt(&self.registros_cargados),
            fmt::opt_float(&self.duracion_segundos, 1),
            fmt::opt(&self.error_tipo),
            self.error_mensaje.clone().unwrap_or_default(),
        ]
    }

    fn color(&self, column: usize) -> Option<comfy_table::Color> {
        (column == 7).then(|| estado_color(&self.estado)).flatten()
    }
}

/// `2025-11-24 12:00:00-12:30:00`, `2025-11-24` or `2025-11-20..2025-11-24`.
pub fn window_text(row: &ExecutionRow) -> String {
    let dates = if row.fecha_desde == row.fecha_hasta {
        row.fecha_desde.to_string()
    } else {
        format!("{}..{}", row.fecha_desde, row.fecha_hasta)
    };
    match (row.hora_desde, row.hora_hasta) {
        (None, None) => dates,
        (from, to) => format!("{dates} {}-{}", fmt::time(&from), fmt::time(&to)),
    }
}

impl ExecutionsArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let mut db = ctx.open_database(Access::Read)?;
        let rows = executions::list_in(
            &mut db.session(),
            &ExecutionFilter {
                etl_tipo: self.tipo,
                stores: self.stores,
                estado: self.estado,
                limit: self.limit as usize,
                ..ExecutionFilter::default()
            },
        )?;
        // Close the file before printing: a slow reader of our output (a pager, a pipe)
        // must not keep a writer waiting.
        drop(db);
        output::emit(&ctx.out, &rows, "no executions")?;
        Ok(Exit::Ok)
    }
}
