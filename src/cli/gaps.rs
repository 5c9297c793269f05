use comfy_table::Color;

use super::{Ctx, parse_positive};
use crate::exit::Exit;
use crate::output::{self, Tabular, fmt};
use crate::tracker::Access;
use crate::tracker::gaps::{self, Gap, GapQuery};
use crate::tracker::vocab::EtlTipo;

#[derive(Debug, clap::Args)]
pub struct GapsArgs {
    /// Only this tipo
    #[arg(long, value_enum)]
    pub tipo: Option<EtlTipo>,
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Look-back horizon in hours [default: the configuration's horizon, 168]
    #[arg(long, value_parser = parse_positive, allow_negative_numbers = true, value_name = "HOURS")]
    pub max_hours: Option<u32>,
    /// Exit 5 when any gap exists (for monitoring)
    #[arg(long)]
    pub check: bool,
}

impl Tabular for Gap {
    fn headers() -> Vec<&'static str> {
        vec![
            "tipo",
            "store",
            "name",
            "date",
            "from",
            "to",
            "slots",
            "cause",
            "error",
            "attempts",
            "first failure",
            "hours",
            "message",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let mut cells = self.csv_cells();
        let last = cells.len() - 1;
        cells[last] = fmt::short(&self.error_mensaje, 60);
        cells
    }

    fn csv_cells(&self) -> Vec<String> {
        let date = if self.fecha_desde == self.fecha_hasta {
            self.fecha_desde.to_string()
        } else {
            format!("{}..{}", self.fecha_desde, self.fecha_hasta)
        };
        vec![
            self.etl_tipo.clone(),
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            date,
            fmt::time(&self.hora_desde),
            fmt::time(&self.hora_hasta),
            fmt::opt(&self.slots),
            self.causa.clone(),
            self.error_tipo.clone(),
            self.intentos.to_string(),
            fmt::datetime(&self.fecha_fallo),
            fmt::float(self.horas_desde_fallo, 1),
            self.error_mensaje.clone().unwrap_or_default(),
        ]
    }

    fn color(&self, column: usize) -> Option<Color> {
        let not_attempted = self.causa == "sin_ejecucion"
            || (self.causa == gaps::CAUSA_SIN_VERIFICAR && self.intentos == 0);
        (column == 7).then_some(if not_attempted {
            Color::Yellow
        } else {
            Color::Red
        })
    }
}

impl GapsArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let mut db = ctx.open_database(Access::Read)?;
        let horizon = match self.max_hours {
            Some(hours) => std::time::Duration::from_secs(u64::from(hours) * 3600),
            None => ctx.config.tracking.horizon,
        };
        let found = gaps::list_in(
            &mut db.session(),
            &GapQuery {
                now_local: ctx.now_local(),
                tracking: ctx.config.tracking,
                horizon,
                etl_tipo: self.tipo,
                stores: self.stores,
            },
        )?;
        // Close the file before printing: a slow reader of our output (a pager, a pipe)
        // must not keep a writer waiting.
        drop(db);
        output::emit(&ctx.out, &found, "no gaps")?;
        if self.check && !found.is_empty() {
            ctx.out.note(&format!("{} gap(s) found", found.len()));
            return Ok(Exit::CheckFailed);
        }
        Ok(Exit::Ok)
    }
}
