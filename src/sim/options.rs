use serde::Deserialize;

use super::bounds::BoundSemantics;
use super::scenario::FaultRule;

/// Everything the synthetic data depends on. The same `SimData` always yields the same
/// answers, so tests can compute what a window holds with [`super::truth`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimData {
    pub seed: u64,
    /// Average sales lines per store per hour over a day (before each store's multiplier).
    pub lines_per_hour: u32,
    /// Size of the article master every warehouse returns.
    pub articles_per_warehouse: u32,
    pub stores: Vec<SimStore>,
}

impl Default for SimData {
    fn default() -> Self {
        Self {
            seed: 1,
            lines_per_hour: 120,
            articles_per_warehouse: 4_000,
            stores: SimStore::chain(),
        }
    }
}

impl SimData {
    pub fn store(&self, sucursal: &str) -> Option<&SimStore> {
        self.stores.iter().find(|store| store.sucursal == sucursal)
    }

    /// The store that owns warehouse `almacen`.
    pub fn store_of_warehouse(&self, almacen: &str) -> Option<&SimStore> {
        self.stores
            .iter()
            .find(|store| store.warehouses.iter().any(|code| code == almacen))
    }
}

/// How unkind the simulated API is about hour bounds, and whether every day holds lines
/// exactly on the boundaries a runner cuts windows at. The default is the simulator's
/// long-standing behaviour (half-open bounds, no extra lines).
///
/// These live beside [`SimData`] rather than in it so that the many places that build
/// `SimData`/`SimOptions` with a full struct literal keep compiling: pass them to
/// [`super::Simulator::start_with`] and to the `truth::*_with` functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimQuirks {
    /// How `/ventas` reads `hora_desde`/`hora_hasta` (`--bounds`, scenario `bounds`).
    pub bounds: BoundSemantics,
    /// Every store-day also holds one-line invoices (`EDGE-…`) stamped exactly at
    /// `00:00:00.0000000`, on every 15-minute boundary, at `23:59:59.8` and at
    /// `23:59:59.9999999` (`--edge-lines`, scenario `edge_lines`).
    pub edge_lines: bool,
}

/// One simulated store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimStore {
    /// KLK branch code, e.g. `SUC001`.
    pub sucursal: String,
    #[serde(default)]
    pub name: String,
    /// Warehouse codes; the first is the sales floor and holds most sales.
    pub warehouses: Vec<String>,
    /// Sales volume relative to `lines_per_hour` (10 = "a big store").
    #[serde(default = "default_multiplier")]
    pub volume_multiplier: f64,
}

fn default_multiplier() -> f64 {
    1.0
}

impl SimStore {
    pub fn new(sucursal: impl Into<String>, warehouses: Vec<String>) -> Self {
        Self {
            sucursal: sucursal.into(),
            name: String::new(),
            warehouses,
            volume_multiplier: 1.0,
        }
    }

    /// The chain's 19 stores (spec/klk-api.md), each with its sales floor and a depot.
    pub fn chain() -> Vec<Self> {
        const CHAIN: [(&str, &str, &str); 19] = [
            ("SUC001", "PERIFERICO", "APP-TPF"),
            ("SUC002", "BOSQUE", "APP-TBQ"),
            ("SUC003", "ARTIGAS", "TANT"),
            ("SUC004", "PARAISO", "TPAR"),
            ("SUC005", "TAZAJAL", "TTZ"),
            ("SUC006", "ISABELICA", "TTISBC"),
            ("SUC007", "AV. BOLIVAR", "TAVBOL"),
            ("SUC008", "MAÑONGO", "TTMAN"),
            ("SUC009", "FERIAS", "TFER"),
            ("SUC010", "TOCUYITO", "TTCYTO"),
            ("SUC011", "GUIGUE", "TGGE"),
            ("SUC012", "FLOR AMARILLO", "TFAMA"),
            ("SUC013", "CENTRO", "TCTO"),
            ("SUC014", "SAN DIEGO", "TSDGO"),
            ("SUC015", "GUACARA", "TGUAC"),
            ("SUC016", "PARAPARAL", "TPPRAL"),
            ("SUC017", "NAGUANAGUA", "TNGN01"),
            ("SUC018", "VIVIENDA", "TVDAS"),
            ("SUC019", "PARAMACAY", "TPMCY"),
        ];
        CHAIN
            .iter()
            .map(|(sucursal, name, floor)| Self {
                sucursal: (*sucursal).to_owned(),
                name: (*name).to_owned(),
                warehouses: vec![(*floor).to_owned(), format!("{floor}-DEP")],
                volume_multiplier: 1.0,
            })
            .collect()
    }
}

/// How to run a simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub data: SimData,
    /// Applied in order; see [`FaultRule`].
    pub faults: Vec<FaultRule>,
}
