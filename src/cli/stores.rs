use serde::Serialize;

use super::Ctx;
use crate::config::Store;
use crate::exit::Exit;
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
pub struct StoresArgs {}

#[derive(Debug, Serialize)]
struct StoreView<'a> {
    #[serde(flatten)]
    store: &'a Store,
    opening_hours_text: Option<String>,
}

fn hours_text(store: &Store) -> Option<String> {
    store.opening_hours.map(|h| {
        let close = h
            .close
            .map_or("24:00".to_string(), |c| c.format("%H:%M").to_string());
        format!("{}-{close}", h.open.format("%H:%M"))
    })
}

impl Tabular for StoreView<'_> {
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
        let s = self.store;
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
        let views: Vec<StoreView<'_>> = ctx
            .config
            .stores
            .iter()
            .map(|store| StoreView {
                store,
                opening_hours_text: hours_text(store),
            })
            .collect();
        let empty = match &ctx.config.source {
            Some(path) => format!("no stores in {}", path.display()),
            None => "no configuration file: copy klk-etl.example.toml to klk-etl.toml".to_string(),
        };
        output::emit(&ctx.out, &views, &empty)?;
        Ok(Exit::Ok)
    }
}
