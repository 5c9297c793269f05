use super::Ctx;
use crate::exit::Exit;
use crate::monitor::views::{self, StoreView};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
pub struct StoresArgs {}

impl Tabular for StoreView {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "name",
            "sucursal",
            "warehouses",
            "active",
            "opening hours",
            "since",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let s = &self.store;
        vec![
            s.id.clone(),
            s.name.clone(),
            s.sucursal.clone(),
            s.warehouses.join(","),
            if s.active { "yes" } else { "no" }.to_string(),
            self.opening_hours_text.clone().unwrap_or_default(),
            s.since.map(|d| d.to_string()).unwrap_or_default(),
        ]
    }
}

impl StoresArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        let views = views::stores(&ctx.config);
        let empty = match &ctx.config.source {
            Some(path) => format!("no stores in {}", path.display()),
            None => "no configuration file: copy klk-etl.example.toml to klk-etl.toml".to_string(),
        };
        output::emit(&ctx.out, &views, &empty)?;
        Ok(Exit::Ok)
    }
}
