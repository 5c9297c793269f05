//! Fault injection rules and scenario files (docs/simulator.md).
//!
//! A rule says: for requests to this store and endpoint (and window), from the Nth to the
//! Mth such request, do this instead of (or, for latency, before) answering normally.
//! Short form, for `--fault` and scenario files:
//!
//! ```text
//! STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW]
//! SUC003:ventas:503:1-3          the first three /ventas requests of SUC003 get a 503
//! *:stock:reset                  every stock request gets a TCP reset
//! SUC001:ventas:hang=30s:2@2025-11-17T12:00/2025-11-17T13:00
//! SUC001:ventas:hide:1-2@2025-11-24T14:10/2025-11-24T14:11   a late line
//! SUC001:ventas-dia:500          whole-day requests (nightly re-pulls) fail
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Deserialize;

use super::bounds::BoundSemantics;
use super::options::{SimData, SimOptions, SimQuirks, SimStore};

/// The API endpoints a rule can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /ventas`, every request.
    Ventas,
    /// `POST /ventas` without `hora_desde` and `hora_hasta` (whole days: nightly re-pulls).
    /// Only for rules: the request log records these as [`Endpoint::Ventas`].
    VentasDia,
    /// `POST /maestra/articulos/almacen`
    Stock,
    /// `GET /maestra/almacenes/Reposicion` and `GET /maestra/almacenes/pisoventa`
    Almacenes,
    /// `POST /maestra/articulos/reposicion`
    Reposicion,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ventas => "ventas",
            Self::VentasDia => "ventas-dia",
            Self::Stock => "stock",
            Self::Almacenes => "almacenes",
            Self::Reposicion => "reposicion",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ventas" | "sales" => Ok(Self::Ventas),
            "ventas-dia" => Ok(Self::VentasDia),
            "stock" | "inventario" | "articulos" => Ok(Self::Stock),
            "almacenes" | "warehouses" => Ok(Self::Almacenes),
            "reposicion" => Ok(Self::Reposicion),
            other => Err(format!(
                "unknown endpoint {other:?} (expected ventas, ventas-dia, stock, almacenes, \
                 reposicion or *)"
            )),
        }
    }
}

/// What a matching request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// `latency=250ms`: wait, then apply the next matching rule or answer normally.
    Latency(Duration),
    /// `hang` / `hang=30s`: read the request, send nothing, close after the duration
    /// (default: when the simulator stops).
    Hang(Option<Duration>),
    /// `refuse`: close the connection without a response.
    Refuse,
    /// `reset`: abort the connection with a TCP RST.
    Reset,
    /// `500`, `503`, any 4xx/5xx except 429: that status with `{"error": ...}`.
    Status(u16),
    /// `429` / `429=N` / `429=none`: Too Many Requests with `Retry-After: N` (default 1).
    TooManyRequests { retry_after_secs: Option<u64> },
    /// `malformed`: 200 with a body that is not JSON.
    Malformed,
    /// `truncate`: 200 announcing the full length, then half the body and a close.
    Truncate,
    /// `error` / `error=TEXT`: 200 with `{"error": TEXT}`.
    ErrorBody(String),
    /// `shape`: 200 with `{"data": 1}`.
    WrongShape,
    /// `empty`: 200 with an empty list (a true "no data" answer).
    Empty,
    /// `bad-line`: 200 with the normal data plus a line holding two `producto` elements.
    BadLine,
    /// `conflict`: 200 with the normal data plus a second, different copy of one line.
    Conflict,
    /// `bare-array`: 200 with the normal data in the older bare-array layout.
    BareArray,
    /// `trickle=2s`: 200 with the normal body sent in small pieces over the duration.
    Trickle(Duration),
    /// `hide` (sales, needs `@WINDOW`): the lines inside the rule's window are left out of
    /// the answer; the rest is normal. Like latency, it does not stop the next rules.
    Hide,
    /// `change` (sales, needs `@WINDOW`): the lines inside the rule's window come back with
    /// one more unit sold and their amounts recomputed, same keys. Like latency, it does not
    /// stop the next rules.
    Change,
}

impl FaultAction {
    pub fn is_latency(&self) -> bool {
        matches!(self, Self::Latency(_))
    }

    /// `hide` and `change`: they alter the data of the answer, need a window, and add up
    /// with the other rules instead of deciding the answer.
    pub fn alters_data(&self) -> bool {
        matches!(self, Self::Hide | Self::Change)
    }
}

impl FromStr for FaultAction {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, argument) = match text.split_once('=') {
            Some((name, argument)) => (name, Some(argument)),
            None => (text, None),
        };
        let duration = |argument: Option<&str>| -> Result<Duration, String> {
            let argument =
                argument.ok_or_else(|| format!("{name} needs a duration, e.g. {name}=2s"))?;
            parse_duration(argument)
        };
        let no_argument = |action: Self| match argument {
            None => Ok(action),
            Some(_) => Err(format!("{name} takes no argument")),
        };
        match name.to_ascii_lowercase().as_str() {
            "latency" | "delay" => duration(argument).map(Self::Latency),
            "hang" => argument.map(parse_duration).transpose().map(Self::Hang),
            "refuse" => no_argument(Self::Refuse),
            "reset" => no_argument(Self::Reset),
            "429" => match argument {
                None => Ok(Self::TooManyRequests {
                    retry_after_secs: Some(1),
                }),
                Some("none") => Ok(Self::TooManyRequests {
                    retry_after_secs: None,
                }),
                Some(seconds) => seconds
                    .parse()
                    .map(|secs| Self::TooManyRequests {
                        retry_after_secs: Some(secs),
                    })
                    .map_err(|_| format!("429={seconds}: expected whole seconds or none")),
            },
            "malformed" => no_argument(Self::Malformed),
            "truncate" => no_argument(Self::Truncate),
            "error" => Ok(Self::ErrorBody(
                argument.unwrap_or("simulated KLK error").to_owned(),
            )),
            "shape" => no_argument(Self::WrongShape),
            "empty" => no_argument(Self::Empty),
            "bad-line" => no_argument(Self::BadLine),
            "conflict" => no_argument(Self::Conflict),
            "bare-array" => no_argument(Self::BareArray),
            "trickle" => duration(argument).map(Self::Trickle),
            "hide" => no_argument(Self::Hide),
            "change" => no_argument(Self::Change),
            status if status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) => {
                let code: u16 = status.parse().map_err(|_| format!("bad status {status}"))?;
                if (400..600).contains(&code) && argument.is_none() {
                    Ok(Self::Status(code))
                } else {
                    Err(format!(
                        "status {status}: expected 400-599 without argument"
                    ))
                }
            }
            other => Err(format!(
                "unknown fault {other:?} (expected latency=, hang, refuse, reset, a 4xx/5xx status, \
                 429, malformed, truncate, error, shape, empty, bad-line, conflict, bare-array, trickle=, \
                 hide, change)"
            )),
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latency(delay) => write!(f, "latency={}ms", delay.as_millis()),
            Self::Hang(None) => f.write_str("hang"),
            Self::Hang(Some(delay)) => write!(f, "hang={}ms", delay.as_millis()),
            Self::Refuse => f.write_str("refuse"),
            Self::Reset => f.write_str("reset"),
            Self::Status(code) => write!(f, "{code}"),
            Self::TooManyRequests {
                retry_after_secs: Some(secs),
            } => write!(f, "429={secs}"),
            Self::TooManyRequests {
                retry_after_secs: None,
            } => f.write_str("429=none"),
            Self::Malformed => f.write_str("malformed"),
            Self::Truncate => f.write_str("truncate"),
            Self::ErrorBody(message) => write!(f, "error={message}"),
            Self::WrongShape => f.write_str("shape"),
            Self::Empty => f.write_str("empty"),
            Self::BadLine => f.write_str("bad-line"),
            Self::Conflict => f.write_str("conflict"),
            Self::BareArray => f.write_str("bare-array"),
            Self::Trickle(duration) => write!(f, "trickle={}ms", duration.as_millis()),
            Self::Hide => f.write_str("hide"),
            Self::Change => f.write_str("change"),
        }
    }
}

/// `250ms`, `2s`, `1.5s`, `1m`.
pub use crate::duration::parse_duration;

/// Which matching requests a rule applies to, counted from 1 per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRange {
    pub first: u64,
    /// Inclusive; `None` = no end.
    pub last: Option<u64>,
}

impl RequestRange {
    pub const ALL: Self = Self {
        first: 1,
        last: None,
    };

    pub fn contains(&self, count: u64) -> bool {
        count >= self.first && self.last.is_none_or(|last| count <= last)
    }
}

impl FromStr for RequestRange {
    type Err = String;

    /// `*`, `3` (only the 3rd), `1-3`, `4-` (4th onwards).
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("bad request range {text:?} (expected *, N, N-M or N-)");
        let number = |part: &str| part.trim().parse::<u64>().ok().filter(|n| *n >= 1);
        if text == "*" || text.is_empty() {
            return Ok(Self::ALL);
        }
        let range = match text.split_once('-') {
            None => number(text).map(|n| Self {
                first: n,
                last: Some(n),
            }),
            Some((first, "")) => number(first).map(|first| Self { first, last: None }),
            Some((first, last)) => number(first)
                .zip(number(last))
                .filter(|(first, last)| first <= last)
                .map(|(first, last)| Self {
                    first,
                    last: Some(last),
                }),
        };
        range.ok_or_else(bad)
    }
}

/// A half-open store-local time range; a rule with one applies to requests whose window
/// overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl TimeRange {
    pub fn overlaps(&self, from: NaiveDateTime, to: NaiveDateTime) -> bool {
        self.from < to && from < self.to
    }
}

impl FromStr for TimeRange {
    type Err = String;

    /// `2025-11-17` (the whole day) or `2025-11-17T12:00/2025-11-17T13:00` (seconds
    /// optional).
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "bad window {text:?} (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM)"
            )
        };
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let next = date.succ_opt().ok_or_else(bad)?;
            return Ok(Self {
                from: date.and_time(NaiveTime::MIN),
                to: next.and_time(NaiveTime::MIN),
            });
        }
        let (from, to) = text.split_once('/').ok_or_else(bad)?;
        let instant = |part: &str| {
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(part.trim(), format).ok())
        };
        match (instant(from), instant(to)) {
            (Some(from), Some(to)) if from < to => Ok(Self { from, to }),
            _ => Err(bad()),
        }
    }
}

/// One fault injection rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// `None` = every store.
    pub store: Option<String>,
    /// `None` = every endpoint.
    pub endpoint: Option<Endpoint>,
    pub action: FaultAction,
    pub requests: RequestRange,
    /// `None` = whatever window is asked for.
    pub window: Option<TimeRange>,
}

impl FaultRule {
    /// A rule applying `action` to every request; narrow it with the builder methods.
    pub fn new(action: FaultAction) -> Self {
        Self {
            store: None,
            endpoint: None,
            action,
            requests: RequestRange::ALL,
            window: None,
        }
    }

    pub fn store(mut self, sucursal: impl Into<String>) -> Self {
        self.store = Some(sucursal.into());
        self
    }

    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Matching requests number `first..=last` (counted from 1).
    pub fn requests(mut self, first: u64, last: u64) -> Self {
        self.requests = RequestRange {
            first,
            last: Some(last),
        };
        self
    }

    pub fn window(mut self, window: TimeRange) -> Self {
        self.window = Some(window);
        self
    }

    /// Whether the rule can apply: `hide` and `change` need a window (the lines they act
    /// on) and a sales endpoint (or `*`). [`super::Simulator::start`] refuses an invalid
    /// rule; the parsers check it too.
    pub fn validate(&self) -> Result<(), String> {
        if !self.action.alters_data() {
            return Ok(());
        }
        if self.window.is_none() {
            return Err(format!(
                "{} needs @WINDOW, the lines it acts on (e.g. \
                 SUC001:ventas:{}:1-2@2025-11-24T14:10/2025-11-24T14:11)",
                self.action, self.action
            ));
        }
        match self.endpoint {
            None | Some(Endpoint::Ventas | Endpoint::VentasDia) => Ok(()),
            Some(other) => Err(format!(
                "{} acts on sales lines: endpoint {other} has none (use ventas, ventas-dia or *)",
                self.action
            )),
        }
    }
}

impl FromStr for FaultRule {
    type Err = String;

    /// `STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW]`, `*` for any store or endpoint.
    fn from_str(text: &str) -> Result<Self, String> {
        let context = |reason: String| format!("fault {text:?}: {reason}");
        let (rule, window) = match text.split_once('@') {
            Some((rule, window)) => (rule, Some(window.parse::<TimeRange>().map_err(context)?)),
            None => (text, None),
        };
        let parts: Vec<&str> = rule.split(':').map(str::trim).collect();
        let (store, endpoint, action, requests) = match parts.as_slice() {
            [store, endpoint, action] => (store, endpoint, action, "*"),
            [store, endpoint, action, requests] => (store, endpoint, action, *requests),
            _ => {
                return Err(context(
                    "expected STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW]".to_owned(),
                ));
            }
        };
        let rule = Self {
            store: (*store != "*" && !store.is_empty()).then(|| (*store).to_owned()),
            endpoint: match *endpoint {
                "*" | "" => None,
                name => Some(name.parse().map_err(context)?),
            },
            action: action.parse().map_err(context)?,
            requests: requests.parse().map_err(context)?,
            window,
        };
        rule.validate().map_err(context)?;
        Ok(rule)
    }
}

/// A scenario file: data settings (all optional) and fault rules.
///
/// ```toml
/// seed = 7
/// lines_per_hour = 200
/// faults = ["SUC003:ventas:503:1-3"]
///
/// [[fault]]
/// store = "SUC001"
/// endpoint = "stock"
/// action = "reset"
/// requests = "2"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub seed: Option<u64>,
    pub lines_per_hour: Option<u32>,
    pub articles_per_warehouse: Option<u32>,
    /// `bounds = "between"`: [`SimQuirks::bounds`].
    pub bounds: Option<BoundSemantics>,
    /// `edge_lines = true`: [`SimQuirks::edge_lines`].
    pub edge_lines: Option<bool>,
    /// Replaces the default store list.
    pub stores: Option<Vec<SimStore>>,
    /// Short-form rules.
    #[serde(default)]
    pub faults: Vec<String>,
    /// Table-form rules, applied after the short-form ones.
    #[serde(default, rename = "fault")]
    pub fault_tables: Vec<FaultTable>,
}

/// The table form of a [`FaultRule`] in a scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultTable {
    pub store: Option<String>,
    pub endpoint: Option<String>,
    pub action: String,
    pub requests: Option<String>,
    pub window: Option<String>,
}

/// A scenario file that cannot be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("scenario {path}: {reason}")]
pub struct ScenarioError {
    pub path: String,
    pub reason: String,
}

impl Scenario {
    /// Reads a `.toml` or `.json` scenario file.
    pub fn from_path(path: &Path) -> Result<Self, ScenarioError> {
        let error = |reason: String| ScenarioError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        let scenario = if is_json {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        };
        let scenario = scenario.map_err(error)?;
        scenario.rules().map_err(error)?;
        Ok(scenario)
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The fault rules, short forms first.
    pub fn rules(&self) -> Result<Vec<FaultRule>, String> {
        let short = self.faults.iter().map(|text| text.parse::<FaultRule>());
        let tables = self.fault_tables.iter().map(FaultTable::to_rule);
        short.chain(tables).collect()
    }

    /// Applies the API quirks (`bounds`, `edge_lines`), which [`Scenario::apply`] leaves
    /// out.
    pub fn apply_quirks(&self, quirks: &mut SimQuirks) {
        if let Some(bounds) = self.bounds {
            quirks.bounds = bounds;
        }
        if let Some(edge_lines) = self.edge_lines {
            quirks.edge_lines = edge_lines;
        }
    }

    /// Applies the data settings and appends the rules to `options`; the quirks go through
    /// [`Scenario::apply_quirks`].
    pub fn apply(&self, options: &mut SimOptions) -> Result<(), String> {
        let data: &mut SimData = &mut options.data;
        if let Some(seed) = self.seed {
            data.seed = seed;
        }
        if let Some(lines_per_hour) = self.lines_per_hour {
            data.lines_per_hour = lines_per_hour;
        }
        if let Some(articles) = self.articles_per_warehouse {
            data.articles_per_warehouse = articles;
        }
        if let Some(stores) = &self.stores {
            data.stores = stores.clone();
        }
        options.faults.extend(self.rules()?);
        Ok(())
    }
}

impl FaultTable {
    fn to_rule(&self) -> Result<FaultRule, String> {
        let context = |reason: String| format!("[[fault]] action {:?}: {reason}", self.action);
        let rule = FaultRule {
            store: self.store.clone().filter(|store| store != "*"),
            endpoint: match self.endpoint.as_deref() {
                None | Some("*") => None,
                Some(name) => Some(name.parse().map_err(context)?),
            },
            action: self.action.parse().map_err(context)?,
            requests: self
                .requests
                .as_deref()
                .map_or(Ok(RequestRange::ALL), str::parse)
                .map_err(context)?,
            window: self
                .window
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(context)?,
        };
        rule.validate().map_err(context)?;
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_round_trip() {
        let rule: FaultRule = "SUC003:ventas:503:1-3".parse().unwrap();
        assert_eq!(
            rule,
            FaultRule::new(FaultAction::Status(503))
                .store("SUC003")
                .endpoint(Endpoint::Ventas)
                .requests(1, 3)
        );
        let rule: FaultRule = "*:*:hang=1.5s:4-@2025-11-17T12:00/2025-11-17T12:30"
            .parse()
            .unwrap();
        assert_eq!(rule.store, None);
        assert_eq!(rule.endpoint, None);
        assert_eq!(
            rule.action,
            FaultAction::Hang(Some(Duration::from_millis(1500)))
        );
        assert!(
            rule.requests.contains(4) && rule.requests.contains(99) && !rule.requests.contains(3)
        );
        assert!(rule.window.is_some());
        let rule: FaultRule = "SUC001:stock:429=none:2".parse().unwrap();
        assert_eq!(
            rule.action,
            FaultAction::TooManyRequests {
                retry_after_secs: None
            }
        );
        assert!(
            rule.requests.contains(2) && !rule.requests.contains(1) && !rule.requests.contains(3)
        );
    }

    #[test]
    fn bad_rules_are_explained() {
        for bad in [
            "SUC001:ventas",
            "SUC001:ventas:teapot",
            "SUC001:nowhere:500",
            "SUC001:ventas:500:3-1",
            "SUC001:ventas:200",
            "SUC001:ventas:latency",
            "SUC001:ventas:500@yesterday",
            "SUC001:ventas:reset=1",
        ] {
            let error = bad.parse::<FaultRule>().unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn scenario_files_in_toml_and_json() {
        let toml = r#"
            seed = 7
            lines_per_hour = 30
            faults = ["SUC003:ventas:503:1-3"]

            [[stores]]
            sucursal = "SUC001"
            warehouses = ["APP-TPF", "APP-DEP"]
            volume_multiplier = 10

            [[fault]]
            store = "SUC001"
            endpoint = "stock"
            action = "reset"
            requests = "2"
            window = "2025-11-17"
        "#;
        let scenario = Scenario::from_toml(toml).unwrap();
        let mut options = SimOptions::default();
        scenario.apply(&mut options).unwrap();
        assert_eq!(options.data.seed, 7);
        assert_eq!(options.data.stores.len(), 1);
        assert_eq!(options.data.stores[0].volume_multiplier, 10.0);
        assert_eq!(options.faults.len(), 2);
        assert_eq!(options.faults[1].action, FaultAction::Reset);

        let json = r#"{"faults": ["*:ventas:malformed"], "fault": [{"action": "empty"}]}"#;
        assert_eq!(Scenario::from_json(json).unwrap().rules().unwrap().len(), 2);
        assert!(Scenario::from_toml("sead = 1").is_err());
    }

    #[test]
    fn data_altering_rules_need_a_sales_window() {
        let late: FaultRule = "SUC001:ventas:hide:1-2@2025-11-24T14:10/2025-11-24T14:11"
            .parse()
            .unwrap();
        assert_eq!(late.action, FaultAction::Hide);
        assert!(late.action.alters_data());
        assert_eq!(
            late.requests,
            RequestRange {
                first: 1,
                last: Some(2)
            }
        );
        assert!(late.window.is_some());
        let changed: FaultRule = "*:*:change@2025-11-24".parse().unwrap();
        assert_eq!(changed.action, FaultAction::Change);
        assert_eq!(changed.action.to_string(), "change");
        for bad in [
            "SUC001:ventas:hide:1-2",
            "SUC001:ventas:change",
            "SUC001:stock:hide@2025-11-24",
            "SUC001:ventas:hide=2@2025-11-24",
        ] {
            let error = bad.parse::<FaultRule>().unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
        let error = "SUC001:ventas:hide:1-2".parse::<FaultRule>().unwrap_err();
        assert!(error.contains("hide needs @WINDOW"), "{error}");
        let table = r#"
            [[fault]]
            action = "change"
        "#;
        let error = Scenario::from_toml(table).unwrap().rules().unwrap_err();
        assert!(error.contains("change needs @WINDOW"), "{error}");
    }

    #[test]
    fn ventas_dia_is_an_endpoint_of_its_own() {
        let rule: FaultRule = "SUC001:ventas-dia:500".parse().unwrap();
        assert_eq!(rule.endpoint, Some(Endpoint::VentasDia));
        assert_eq!(Endpoint::VentasDia.to_string(), "ventas-dia");
        let error = "SUC001:ventas_dia:500".parse::<FaultRule>().unwrap_err();
        assert!(error.contains("ventas-dia"), "{error}");
    }

    #[test]
    fn scenario_quirks() {
        let scenario =
            Scenario::from_toml("bounds = \"exclusive-lower\"\nedge_lines = true\n").unwrap();
        let mut quirks = SimQuirks::default();
        scenario.apply_quirks(&mut quirks);
        assert_eq!(
            quirks,
            SimQuirks {
                bounds: BoundSemantics::ExclusiveLower,
                edge_lines: true
            }
        );
        let json = Scenario::from_json(r#"{"bounds": "minutes"}"#).unwrap();
        assert_eq!(json.bounds, Some(BoundSemantics::Minutes));
        let mut untouched = quirks;
        Scenario::default().apply_quirks(&mut untouched);
        assert_eq!(untouched, quirks);
        let error = Scenario::from_toml("bounds = \"inclusive\"").unwrap_err();
        assert!(
            error.contains("inclusive") && error.contains("half-open"),
            "{error}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("2").is_err());
        assert!(parse_duration("-2s").is_err());
    }
}
