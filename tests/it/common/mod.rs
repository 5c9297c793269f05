//! Shared test helpers: a temporary working directory with a config file and a DuckDB
//! file, the real binary, and a way to write crafted tracking histories.

#![allow(dead_code)]

pub mod net;
pub mod pg;
pub mod server;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// 2025-11-24 16:00 in Caracas (UTC-4).
pub const NOW: &str = "2025-11-24T20:00:00Z";

/// Variables of the caller's environment that would change what the binary does in a test.
const OUTSIDE_ENV: [&str; 20] = [
    "KLK_ETL_CONFIG",
    "KLK_ETL_DB",
    "KLK_ETL_DATABASE",
    // A PostgreSQL password or user of the caller's would reach the tests' servers.
    "PGPASSWORD",
    "PGPASSFILE",
    "PGUSER",
    "PGDATABASE",
    "KLK_ETL_NOW",
    "KLK_ETL_LOCK_TIMEOUT",
    "KLK_ETL_API_URL",
    "KLK_ETL_API_TOKEN",
    "NO_COLOR",
    // A proxy of the machine's would carry the tests' webhooks and check-ins away from
    // 127.0.0.1; the proxy tests set their own.
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The real binary as a `std::process::Command` (to spawn, kill or pipe it), with the same
/// clean environment as [`TestEnv::cmd`].
pub fn process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("klk-etl"));
    for var in OUTSIDE_ENV {
        cmd.env_remove(var);
    }
    cmd.env("TZ", "UTC");
    cmd
}

/// `cmd` run on a pseudo-terminal (util-linux `script`), for what only a terminal shows:
/// same program, arguments, environment and directory; stdout gets everything the program
/// wrote to the terminal.
pub fn on_terminal(cmd: &std::process::Command) -> std::process::Command {
    let quote =
        |text: &std::ffi::OsStr| format!("'{}'", text.to_string_lossy().replace('\'', r"'\''"));
    let mut line = quote(cmd.get_program());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut script = std::process::Command::new("script");
    script.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    script
}

pub struct TestEnv {
    pub dir: TempDir,
}

pub const TWO_STORES: &str = r#"
database = "data/klk-etl.duckdb"

[[stores]]
id = "tienda_01"
name = "PERIFERICO"
sucursal = "SUC001"
warehouses = ["APP-TPF"]

[[stores]]
id = "tienda_08"
name = "BOSQUE"
sucursal = "SUC002"
warehouses = ["APP-TBQ"]
"#;

impl TestEnv {
    /// A directory with `klk-etl.toml` holding `config`.
    pub fn with_config(config: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("klk-etl.toml"), config).expect("write config");
        TestEnv { dir }
    }

    pub fn new() -> TestEnv {
        TestEnv::with_config(TWO_STORES)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/klk-etl.duckdb")
    }

    /// The real binary, run in the test directory, with a clean environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("klk-etl").expect("binary built");
        cmd.current_dir(self.dir.path());
        for var in OUTSIDE_ENV {
            cmd.env_remove(var);
        }
        cmd.env("TZ", "UTC");
        cmd
    }

    /// [`process`], run in the test directory.
    pub fn process(&self) -> std::process::Command {
        let mut cmd = process();
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The binary with "now" pinned to [`NOW`].
    pub fn at_now(&self) -> Command {
        let mut cmd = self.cmd();
        cmd.args(["--now", NOW]);
        cmd
    }

    /// Creates the schema through the binary.
    pub fn migrate(&self) {
        self.cmd().args(["db", "migrate"]).assert().success();
    }

    pub fn connect(&self) -> duckdb::Connection {
        duckdb::Connection::open(self.db_path()).expect("open test database")
    }

    /// Inserts executions (store-local times) into an already migrated database.
    pub fn insert(&self, executions: &[Exec]) {
        let conn = self.connect();
        for e in executions {
            e.insert(&conn);
        }
    }

    /// Runs the binary with `args` and parses its JSON stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let output = self
            .at_now()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            output.status.success() || output.status.code() == Some(5),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    }

    /// The gaps of one store and tipo, as JSON objects.
    pub fn gaps(&self, tipo: &str, store: &str) -> Vec<serde_json::Value> {
        let all = self.json(&["gaps", "--tipo", tipo, "--store", store]);
        all.as_array().expect("array").clone()
    }
}

/// One crafted `etl_ejecuciones` row.
#[derive(Debug, Clone)]
pub struct Exec {
    pub tipo: &'static str,
    pub store: &'static str,
    pub name: &'static str,
    pub fecha_desde: &'static str,
    pub fecha_hasta: &'static str,
    pub hora_desde: Option<&'static str>,
    pub hora_hasta: Option<&'static str>,
    pub estado: &'static str,
    pub fecha_inicio: String,
    pub duracion: Option<f64>,
    pub error_tipo: Option<&'static str>,
    pub error_mensaje: Option<&'static str>,
    pub registros: i64,
    pub modo: &'static str,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub proceso_id: Option<String>,
}

impl Exec {
    /// A ventas execution of tienda_01 for `date` from `from` to `to` (None = whole day).
    pub fn ventas(
        estado: &'static str,
        date: &'static str,
        from: Option<&'static str>,
        to: Option<&'static str>,
        started: &str,
    ) -> Exec {
        Exec {
            tipo: "ventas",
            store: "tienda_01",
            name: "PERIFERICO",
            fecha_desde: date,
            fecha_hasta: date,
            hora_desde: from,
            hora_hasta: to,
            estado,
            fecha_inicio: started.to_string(),
            duracion: (estado != "en_proceso").then_some(2.5),
            error_tipo: (estado == "fallido").then_some("timeout"),
            error_mensaje: (estado == "fallido").then_some("read timed out after 600s"),
            registros: if estado == "exitoso" { 100 } else { 0 },
            modo: if from.is_some() {
                "incremental_30min"
            } else {
                "completo"
            },
            host: Some("seed-host".to_string()),
            pid: None,
            proceso_id: None,
        }
    }

    pub fn ok(
        date: &'static str,
        from: Option<&'static str>,
        to: Option<&'static str>,
        started: &str,
    ) -> Exec {
        Exec::ventas("exitoso", date, from, to, started)
    }

    pub fn failed(
        date: &'static str,
        from: Option<&'static str>,
        to: Option<&'static str>,
        started: &str,
    ) -> Exec {
        Exec::ventas("fallido", date, from, to, started)
    }

    pub fn store(mut self, store: &'static str, name: &'static str) -> Exec {
        self.store = store;
        self.name = name;
        self
    }

    pub fn until(mut self, fecha_hasta: &'static str) -> Exec {
        self.fecha_hasta = fecha_hasta;
        self
    }

    pub fn tipo(mut self, tipo: &'static str) -> Exec {
        self.tipo = tipo;
        self
    }

    pub fn error(mut self, tipo: &'static str, message: &'static str) -> Exec {
        self.error_tipo = Some(tipo);
        self.error_mensaje = Some(message);
        self
    }

    pub fn process(mut self, host: &str, pid: i64, identity: Option<&str>) -> Exec {
        self.host = Some(host.to_string());
        self.pid = Some(pid);
        self.proceso_id = identity.map(str::to_string);
        self
    }

    pub fn insert(&self, conn: &duckdb::Connection) {
        let started =
            chrono::NaiveDateTime::parse_from_str(&self.fecha_inicio, "%Y-%m-%d %H:%M:%S%.f")
                .expect("fecha_inicio as YYYY-MM-DD HH:MM:SS[.f]");
        let finished = self
            .duracion
            .map(|secs| started + chrono::Duration::milliseconds((secs * 1000.0) as i64));
        let date = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
        let time = |t: Option<&str>| {
            t.map(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").expect("time"))
        };
        conn.execute(
            "INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, \
             duracion_segundos, fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, \
             registros_extraidos, registros_cargados, error_mensaje, error_tipo, modo, version_etl, host, pid, proceso_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', ?, ?, ?)",
            duckdb::params![
                self.tipo,
                self.store,
                self.name,
                started,
                finished,
                self.duracion,
                date(self.fecha_desde),
                date(self.fecha_hasta),
                time(self.hora_desde),
                time(self.hora_hasta),
                self.estado,
                self.registros,
                self.registros,
                self.error_mensaje,
                self.error_tipo,
                self.modo,
                self.host,
                self.pid,
                self.proceso_id,
            ],
        )
        .expect("insert execution");
    }
}

/// Field access for gap JSON objects.
pub fn field<'a>(gap: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    gap.get(name)
        .unwrap_or_else(|| panic!("gap has no field {name}: {gap}"))
}

pub fn text(gap: &serde_json::Value, name: &str) -> String {
    field(gap, name)
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| field(gap, name).to_string())
}

/// Reads one HTTP/1.1 request from `stream`: the head, then as much body as its
/// `Content-Length` announces (5 s read timeout). For the small test servers on 127.0.0.1.
pub fn read_request(stream: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    request
}
