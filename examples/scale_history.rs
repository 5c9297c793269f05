//! Benchmark helper (not a test) for `bench/scale.sh`: writes a realistic synthetic tracking
//! history, and matching loaded data, into an empty database. See docs/scale.md.
//!
//! ```text
//! scale_history --db FILE [--stores 19] [--days 30] [--seed 1] [--now 2025-11-24T16:00:00Z]
//!     [--sales-lines-per-store-day 1000] [--articles 2000] [--write-config FILE.toml]
//!     [--config FILE]
//! ```
//!
//! The file is created through the normal path (`Db::open`: migrations, settings, the store
//! registry) for stores `t001`..`tNNN`; `--write-config` writes their configuration. The
//! history ends at `--now` (default: the clock), in the time zone and slots of `--config`
//! (default: `klk-etl.toml` if present, else the defaults). Everything is generated inside
//! DuckDB with `range()` and `hash()`, deterministic for a seed and a "now"; the settings are
//! bound as parameters (`$name`), never written into the SQL.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Timelike, Utc};
use clap::Parser;
use duckdb::{Connection, Statement, ToSql};
use klk_etl::clock::Clock;
use klk_etl::config::{Config, Overrides};
use klk_etl::tracker::executions::VERSION_ETL;
use klk_etl::tracker::{Access, Db, schema};

#[derive(Debug, Parser)]
#[command(
    name = "scale_history",
    about = "Write a synthetic tracking history into an empty database (stores t001..tNNN)"
)]
struct Args {
    /// The DuckDB file to write (created if missing; it must hold no execution)
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Configuration whose time zone and slots the history follows [default: ./klk-etl.toml if present]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the history ends (RFC 3339) [default: now]
    #[arg(long, value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
    /// How many stores (t001, t002, ... at most t999)
    #[arg(long, default_value = "19", value_parser = clap::value_parser!(u32).range(1..=999))]
    stores: u32,
    /// Days of history, ending now (today included)
    #[arg(long, default_value = "30", value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Seed of the pseudo-random choices (same seed, same history)
    #[arg(long, default_value = "1")]
    seed: u64,
    /// Sales lines per store and day written to `ventas` (0: none)
    #[arg(long, default_value = "1000")]
    sales_lines_per_store_day: u32,
    /// Articles per warehouse in `inventario` (two warehouses per store; 0: none)
    #[arg(long, default_value = "2000")]
    articles: u32,
    /// Write a configuration file for these stores here (its `database` is the file seeded)
    #[arg(long, value_name = "FILE")]
    write_config: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("expected RFC 3339 such as 2025-11-24T16:00:00Z: {e}"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let note = |text: &str| {
        if !args.quiet {
            eprintln!("{text}");
        }
    };
    let overrides = Overrides {
        database: Some(args.db.clone()),
        ..Overrides::default()
    };
    let base = Config::load(args.config.as_deref(), &overrides)?;
    let slot = base.tracking.slot_minutes;
    if slot == 0 || 1440 % slot != 0 {
        bail!("slot_minutes {slot} must divide a day");
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "a benchmark tool's default \"now\", read once"
    )]
    let now_utc = args.now.unwrap_or_else(Utc::now);
    // Whole seconds, as the history's timestamps.
    let now = Clock::new(now_utc, base.timezone)
        .start_local()
        .with_nanosecond(0)
        .unwrap_or_default();

    let database = base.database.clone();
    let absolute = std::path::absolute(&database).unwrap_or_else(|_| database.clone());
    let text = config_text(&base, &absolute, args.stores);
    let mut config = Config::parse(&text, Path::new("<scale_history>"))?;
    config.database = database.clone();
    config.tracking.lock_timeout = base.tracking.lock_timeout;

    let started = Instant::now();
    // The normal path: migrations, settings and the store registry from this config.
    let db = Db::open(&config, Access::Write, now_utc)?;
    let conn = db.conn();
    let existing: i64 = conn.query_row("SELECT count(*) FROM etl_ejecuciones", [], |r| r.get(0))?;
    if existing > 0 {
        bail!(
            "{} already holds {existing} executions; scale_history writes into an empty database",
            database.display()
        );
    }
    let sequence = match schema::id_default(conn)? {
        Some(default) => default
            .split('\'')
            .nth(1)
            .unwrap_or("seq_etl_ejecuciones")
            .to_string(),
        None => "klk_seq_etl_ejecuciones".to_string(),
    };

    let today = now.date();
    let start = today - chrono::Days::new(u64::from(args.days - 1));
    let recent = now - Duration::hours(48);
    let seed = (args.seed % (1 << 62)) as i64;
    let slots_per_day = i64::from(1440 / slot);
    let settings: Settings = &[
        ("stores", &args.stores),
        ("days", &args.days),
        ("seed", &seed),
        ("slot", &slot),
        ("slots_per_day", &slots_per_day),
        ("lines", &args.sales_lines_per_store_day),
        ("articles", &args.articles),
        ("start", &start),
        ("now", &now),
        ("recent", &recent),
        ("version", &VERSION_ETL),
        ("sequence", &sequence),
    ];

    conn.execute_batch("BEGIN TRANSACTION")?;
    let result = generate(conn, settings, &args, &note);
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(err);
        }
    }
    conn.execute_batch("CHECKPOINT")?;
    drop(db);
    note(&format!(
        "seeded {} ({} stores x {} days, {start}..{today}, now {}) in {:.1}s",
        database.display(),
        args.stores,
        args.days,
        now.format("%Y-%m-%d %H:%M:%S"),
        started.elapsed().as_secs_f64()
    ));
    match &args.write_config {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            note(&format!(
                "configuration for these stores: {}",
                path.display()
            ));
        }
        None => {
            let head: String = text.lines().take(16).collect::<Vec<_>>().join("\n");
            note(&format!(
                "configuration for these stores (use --write-config FILE for all of it):\n{head}\n..."
            ));
        }
    }
    Ok(())
}

/// The generator's settings, by the name its SQL uses (`$name`).
type Settings<'a> = &'a [(&'a str, &'a dyn ToSql)];

/// Writes the history inside the caller's transaction.
fn generate(
    conn: &Connection,
    settings: Settings,
    args: &Args,
    note: &dyn Fn(&str),
) -> anyhow::Result<()> {
    let phase = Instant::now();
    execute(conn, RUNS, settings, &[])?;
    let first_id = query_i64(conn, "SELECT nextval($sequence)", settings, &[])?;
    execute(conn, EXECUTIONS, settings, &[("first_id", &first_id)])?;
    let executions = execute(conn, INSERT_EXECUTIONS, settings, &[])? as i64;
    if executions > 1 {
        // Explicit ids in time order; move the sequence past them.
        let more = executions - 1;
        query_i64(
            conn,
            "SELECT max(nextval($sequence)) FROM range($more)",
            settings,
            &[("more", &more)],
        )?;
    }
    let invocations = execute(conn, INVOCATIONS, settings, &[])?;
    note(&format!(
        "{executions} executions and {invocations} invocations in {:.1}s",
        phase.elapsed().as_secs_f64()
    ));
    let phase = Instant::now();
    let mut lines = 0;
    if args.sales_lines_per_store_day > 0 {
        execute(conn, COVER, settings, &[])?;
        // A month at a time keeps memory flat.
        let mut day = 0;
        while day < args.days {
            let end = (day + 31).min(args.days);
            lines += execute(
                conn,
                SALES,
                settings,
                &[("first_day", &day), ("end_day", &end)],
            )?;
            day += 31;
        }
    }
    let stock = if args.articles > 0 {
        execute(conn, STOCK, settings, &[])?
    } else {
        0
    };
    note(&format!(
        "{lines} sales lines and {stock} stock rows in {:.1}s",
        phase.elapsed().as_secs_f64()
    ));
    conn.execute_batch(
        "DROP TABLE IF EXISTS klk_seed_runs; DROP TABLE IF EXISTS klk_seed_exec; \
         DROP TABLE IF EXISTS klk_seed_cover;",
    )?;
    // As after a purge: the executions summary covers what was just written.
    schema::rebuild_summary(conn)?;
    Ok(())
}

/// Runs one statement with the settings it names (`$name`) bound, and `extra`; returns the
/// rows changed.
fn execute(
    conn: &Connection,
    sql: &str,
    settings: Settings,
    extra: Settings,
) -> duckdb::Result<usize> {
    let mut statement = conn.prepare(sql)?;
    let params = named_in(&statement, settings, extra)?;
    statement.execute(params.as_slice())
}

/// The one number `sql` selects, with its settings bound as in [`execute`].
fn query_i64(
    conn: &Connection,
    sql: &str,
    settings: Settings,
    extra: Settings,
) -> duckdb::Result<i64> {
    let mut statement = conn.prepare(sql)?;
    let params = named_in(&statement, settings, extra)?;
    statement.query_row(params.as_slice(), |row| row.get(0))
}

/// The parameters `statement` names, from `settings` and `extra` (DuckDB refuses a name the
/// statement does not use, and a missing one).
fn named_in<'a>(
    statement: &Statement,
    settings: Settings<'a>,
    extra: Settings<'a>,
) -> duckdb::Result<Vec<(&'a str, &'a dyn ToSql)>> {
    let names = (1..=statement.parameter_count())
        .map(|index| statement.parameter_name(index))
        .collect::<duckdb::Result<Vec<String>>>()?;
    Ok(settings
        .iter()
        .chain(extra)
        .filter(|(name, _)| names.iter().any(|used| used == name))
        .copied()
        .collect())
}

/// The configuration text for `n` generated stores.
fn config_text(config: &Config, database: &Path, n: u32) -> String {
    let mut text = format!(
        "# Generated by examples/scale_history.rs for {n} synthetic stores.\n\
         database = \"{}\"\n\
         timezone = \"{}\"\n\n\
         [tracking]\n\
         slot_minutes = {}\n",
        database
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\""),
        config.timezone.name(),
        config.tracking.slot_minutes,
    );
    for s in 1..=n {
        text.push_str(&format!(
            "\n[[stores]]\nid = \"t{s:03}\"\nname = \"TIENDA {s:03}\"\nsucursal = \"SUC{s:03}\"\n\
             warehouses = [\"W{s:03}\", \"W{s:03}-DEP\"]\n"
        ));
    }
    text
}

/// One row per (store, day, slot) whose cron run (2 minutes after the slot closed, plus
/// jitter) is not in the future: outages per store (failure bursts, more often for every
/// tenth store), whole-host downtimes (no execution at all), and single missed runs.
const RUNS: &str = r#"
CREATE OR REPLACE TEMP TABLE klk_seed_runs AS
WITH
grid AS (
    SELECT s, d, k,
        CAST(CAST($start AS DATE) + CAST(d AS INTEGER) AS TIMESTAMP) + to_minutes(k * $slot) AS slot_start
    FROM range(1, $stores + 1) a(s), range($days) b(d), range($slots_per_day) c(k)
),
outages AS (
    SELECT s, d, hash($seed, 'os', s, d) % $slots_per_day AS os, 1 + hash($seed, 'ol', s, d) % 8 AS ol
    FROM range(1, $stores + 1) a(s), range($days) b(d)
    WHERE hash($seed, 'out', s, d) % 1000 < CASE WHEN s % 10 = 7 THEN 150 ELSE 50 END
),
downs AS (
    SELECT d, hash($seed, 'ds', d) % $slots_per_day AS ds, 1 + hash($seed, 'dl', d) % 6 AS dl
    FROM range($days) b(d)
    WHERE hash($seed, 'down', d) % 1000 < 40
)
SELECT g.s, g.d, g.k,
    CAST(g.slot_start AS DATE) AS fecha,
    g.slot_start,
    g.slot_start + to_minutes($slot + 2) + to_seconds(CAST(hash($seed, 'jit', g.d, g.k) % 50 AS BIGINT)) AS run_at,
    o.s IS NOT NULL OR ongoing AS outage,
    CASE WHEN ongoing THEN CAST($now AS TIMESTAMP) + INTERVAL 1 DAY
         ELSE CAST(g.slot_start AS DATE) + to_minutes(CAST((o.os + o.ol + 1) * $slot + 2 AS BIGINT)) END AS outage_over,
    (w.d IS NOT NULL OR hash($seed, 'miss', g.s, g.d, g.k) % 10000 < 20) AS missed,
    CASE WHEN g.s % 10 = 7 THEN 3.0 ELSE 1.0 END AS q
FROM (
    -- every twentieth store is unreachable right now, for the last 2-6 hours
    SELECT *, s % 20 = 3 AND slot_start >= CAST($now AS TIMESTAMP) - to_hours(CAST(2 + s % 5 AS BIGINT)) AS ongoing
    FROM grid
) g
LEFT JOIN outages o ON o.s = g.s AND o.d = g.d AND g.k >= o.os AND g.k < o.os + o.ol
LEFT JOIN downs w ON w.d = g.d AND g.k >= w.ds AND g.k < w.ds + w.dl
WHERE g.slot_start + to_minutes($slot + 2) + to_seconds(CAST(hash($seed, 'jit', g.d, g.k) % 50 AS BIGINT))
      <= CAST($now AS TIMESTAMP);
"#;

/// Executions: per run a ventas window (from the previous run's slot, the 30-minute
/// overlap, or the day's start after missed runs, to the slot's end) and an inventario
/// snapshot; failures as `fallido`/`parcial`, runs closed by `unstick` (`interrumpido`), a
/// few recent ones still `en_proceso` (stuck); failed sales windows recovered later (most of
/// them; a recovery fails now and then and is retried), the last two days less completely.
const EXECUTIONS: &str = r#"
CREATE OR REPLACE TEMP TABLE klk_seed_exec AS
WITH
r AS (
    SELECT *,
        coalesce(lag(k) OVER (PARTITION BY s, d ORDER BY k), 0) AS ws,
        (hash($seed, 'v', s, d, k) % 1000000) / 1000000.0 AS u,
        (hash($seed, 'i', s, d, k) % 1000000) / 1000000.0 AS ui
    FROM klk_seed_runs WHERE NOT missed
),
v0 AS (
    -- every 25th store has a slot the API cannot serve (a poison window), 3 days ago:
    -- every window containing it fails
    SELECT *, s % 25 = 11 AND d = $days - 3
        AND CAST(hash($seed, 'pk', s) % ($slots_per_day - 2) AS BIGINT) BETWEEN ws AND k AS poison
    FROM r
),
v AS (
    SELECT *,
        CASE WHEN outage THEN CASE WHEN u < 0.6 THEN 'conexion' ELSE 'timeout' END
             WHEN poison THEN 'poison'
             WHEN u < 0.008 * q THEN 'api_error'
             WHEN u < 0.011 * q THEN 'parcial'
             WHEN u < 0.014 * q + 0.00005 THEN 'interrumpido'
             ELSE 'ok' END AS kind,
        ($lines * (k + 1) + $slots_per_day - 1) // $slots_per_day - ($lines * ws + $slots_per_day - 1) // $slots_per_day AS lines
    FROM v0
),
i AS (
    SELECT *,
        CASE WHEN outage THEN CASE WHEN ui < 0.6 THEN 'conexion' ELSE 'timeout' END
             -- every twentieth store has an inventory run left en_proceso by a process
             -- that died 1.5-2.5 hours ago (older ones were closed by `run`'s unstick)
             WHEN s % 20 = 9 AND run_at >= CAST($now AS TIMESTAMP) - INTERVAL 150 MINUTE
                  AND run_at < CAST($now AS TIMESTAMP) - INTERVAL 90 MINUTE THEN 'stuck'
             WHEN ui < 0.006 * q THEN 'api_error'
             WHEN ui < 0.008 * q THEN 'interrumpido'
             ELSE 'ok' END AS kind
    FROM r
),
originals AS (
    SELECT 'ventas' AS etl_tipo, s, d, fecha, ws, k AS we, run_at AS fecha_inicio, kind,
        CASE WHEN kind = 'timeout' THEN 600.0 + (hash($seed, 'dv', s, d, k) % 5000) / 1000.0
             WHEN kind = 'conexion' THEN 0.2 + (hash($seed, 'dv', s, d, k) % 3000) / 1000.0
             WHEN kind = 'interrumpido' THEN 3600.0 + (hash($seed, 'dv', s, d, k) % 900)
             ELSE 1.5 + (hash($seed, 'dv', s, d, k) % 9000) / 1000.0 END AS dur,
        lines, 'incremental_30min' AS modo, outage, outage_over, poison
    FROM v
    UNION ALL
    SELECT 'inventario', s, d, CAST(run_at AS DATE), NULL, NULL, run_at, kind,
        CASE WHEN kind = 'timeout' THEN 600.0 + (hash($seed, 'di', s, d, k) % 5000) / 1000.0
             WHEN kind = 'conexion' THEN 0.2 + (hash($seed, 'di', s, d, k) % 3000) / 1000.0
             WHEN kind = 'interrumpido' THEN 3600.0 + (hash($seed, 'di', s, d, k) % 900)
             ELSE 8.0 + (hash($seed, 'di', s, d, k) % 20000) / 1000.0 END,
        2 * $articles, 'completo', outage, outage_over, false
    FROM i
),
failed AS (
    SELECT o.*,
        greatest(CASE WHEN outage THEN outage_over ELSE fecha_inicio + to_minutes($slot) END,
                 fecha_inicio + to_minutes($slot))
          + to_minutes(CAST($slot * (hash($seed, 'rd', s, d, we) % 4) AS BIGINT))
          + to_seconds(CAST(20 + hash($seed, 'rs', s, d, we) % 30 AS BIGINT)) AS rec_at,
        (hash($seed, 'rp', s, d, we) % 1000) / 1000.0 AS ur,
        (hash($seed, 'rf', s, d, we) % 1000) / 1000.0 AS uf
    FROM originals o
    WHERE etl_tipo = 'ventas' AND kind <> 'ok'
),
poison_retries AS (
    -- retried with a growing backoff, failing every time
    SELECT 'ventas' AS etl_tipo, s, d, fecha, ws, we,
        fecha_inicio + to_minutes(CAST($slot * (1 << a) AS BIGINT)) + INTERVAL 25 SECOND AS fecha_inicio,
        'poison' AS kind, 4.0 + uf AS dur, lines, 'recuperacion' AS modo, outage, outage_over, poison
    FROM failed, range(1, 6) n(a)
    WHERE poison
      AND fecha_inicio + to_minutes(CAST($slot * (1 << a) AS BIGINT)) + INTERVAL 25 SECOND <= CAST($now AS TIMESTAMP)
),
recoveries AS (
    SELECT 'ventas' AS etl_tipo, s, d, fecha, ws, we, rec_at AS fecha_inicio,
        CASE WHEN uf < 0.06 THEN 'api_error' ELSE 'ok' END AS kind,
        2.0 + uf * 10 AS dur, lines, 'recuperacion' AS modo, outage, outage_over, poison
    FROM failed
    WHERE NOT poison AND rec_at <= CAST($now AS TIMESTAMP)
      AND ur < CASE WHEN fecha_inicio < CAST($recent AS TIMESTAMP) THEN 0.9 ELSE 0.5 END
    UNION ALL
    -- a failed recovery is tried again an hour later
    SELECT 'ventas', s, d, fecha, ws, we, rec_at + INTERVAL 1 HOUR, 'ok', 2.5 + uf * 10, lines,
        'recuperacion', outage, outage_over, poison
    FROM failed
    WHERE NOT poison AND uf < 0.06 AND rec_at + INTERVAL 1 HOUR <= CAST($now AS TIMESTAMP)
      AND ur < CASE WHEN fecha_inicio < CAST($recent AS TIMESTAMP) THEN 0.9 ELSE 0.4 END
),
todas AS (
    SELECT * FROM originals
    UNION ALL
    SELECT * FROM recoveries
    UNION ALL
    SELECT * FROM poison_retries
)
SELECT
    $first_id + row_number() OVER (ORDER BY fecha_inicio, etl_tipo DESC, s, modo) - 1 AS id,
    t.*,
    't' || lpad(CAST(s AS VARCHAR), 3, '0') AS tid,
    CASE kind WHEN 'ok' THEN 'exitoso' WHEN 'parcial' THEN 'parcial' WHEN 'stuck' THEN 'en_proceso'
              ELSE 'fallido' END AS estado,
    CASE kind WHEN 'conexion' THEN 'conexion' WHEN 'timeout' THEN 'timeout'
              WHEN 'api_error' THEN 'api_error' WHEN 'poison' THEN 'api_error' WHEN 'parcial' THEN 'validacion'
              WHEN 'interrumpido' THEN 'interrumpido' END AS error_tipo,
    CASE kind
        WHEN 'conexion' THEN 'cannot connect to the KLK API: Connection refused (os error 111)'
        WHEN 'timeout' THEN 'no answer from the KLK API within 600s (read timed out)'
        WHEN 'api_error' THEN 'KLK API answered HTTP 503 Service Unavailable: {"error": "simulated HTTP 503"}'
        WHEN 'poison' THEN 'KLK API answered HTTP 500 Internal Server Error: {"error": "Arithmetic overflow converting numeric"}'
        WHEN 'parcial' THEN 'validation: line 2 of invoice C01-000123 has two producto elements; loaded the others'
        WHEN 'interrumpido' THEN 'interrupted: marked by klk-etl unstick at '
            || strftime(fecha_inicio + INTERVAL 1 HOUR, '%Y-%m-%d %H:%M:%S') || ' (older than threshold)'
    END AS error_mensaje
FROM todas t;
"#;

const INSERT_EXECUTIONS: &str = r#"
INSERT INTO etl_ejecuciones (id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin,
    duracion_segundos, fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado,
    registros_extraidos, registros_cargados, error_mensaje, error_tipo, modo, version_etl, host,
    pid, proceso_id)
SELECT
    id,
    etl_tipo,
    't' || lpad(CAST(s AS VARCHAR), 3, '0'),
    'TIENDA ' || lpad(CAST(s AS VARCHAR), 3, '0'),
    fecha_inicio,
    CASE WHEN estado = 'en_proceso' THEN NULL
         ELSE fecha_inicio + to_milliseconds(CAST(dur * 1000 AS BIGINT)) END,
    CASE WHEN estado = 'en_proceso' THEN NULL ELSE round(dur, 3) END,
    fecha, fecha,
    CASE WHEN ws IS NULL THEN NULL ELSE CAST(TIMESTAMP '2000-01-01' + to_minutes(CAST(ws * $slot AS BIGINT)) AS TIME) END,
    CASE WHEN we IS NULL THEN NULL
         WHEN we = $slots_per_day - 1 THEN TIME '23:59:59'
         ELSE CAST(TIMESTAMP '2000-01-01' + to_minutes(CAST((we + 1) * $slot AS BIGINT)) AS TIME) END,
    estado,
    CASE WHEN estado IN ('exitoso', 'parcial') THEN lines ELSE 0 END,
    CASE WHEN estado = 'exitoso' THEN lines WHEN estado = 'parcial' THEN lines // 2 ELSE 0 END,
    error_mensaje, error_tipo, modo, $version,
    CASE WHEN estado = 'en_proceso' THEN 'etl02' ELSE 'etl01' END,
    CAST(1000 + hash($seed, 'pid', fecha_inicio) % 60000 AS INTEGER),
    NULL
FROM klk_seed_exec
ORDER BY id;
"#;

/// One `run` invocation per cron run that happened (not while the host was down).
const INVOCATIONS: &str = r#"
INSERT INTO etl_invocaciones (comando, tipos, inicio, fin, duracion_segundos, estado, ventanas,
    ventanas_fallidas, gaps_recuperados, lineas, host, pid)
SELECT 'run', 'ventas,inventario', inicio, inicio + to_milliseconds(CAST(dur * 1000 AS BIGINT)), dur,
    CASE WHEN fallidas > 0 THEN 'parcial' ELSE 'exitoso' END,
    ventanas, fallidas, recuperados, lineas, 'etl01', CAST(1000 + hash($seed, 'pid', inicio) % 60000 AS INTEGER)
FROM (
    SELECT min(fecha_inicio) AS inicio,
        round(least(10.0 + max(dur), 1700.0), 3) AS dur,
        count(*) AS ventanas,
        count(*) FILTER (WHERE estado <> 'exitoso') AS fallidas,
        count(*) FILTER (WHERE modo = 'recuperacion' AND estado = 'exitoso') AS recuperados,
        CAST(sum(lines) FILTER (WHERE etl_tipo = 'ventas' AND estado = 'exitoso') AS BIGINT) AS lineas
    FROM klk_seed_exec
    GROUP BY epoch_us(fecha_inicio) // ($slot * 60000000)
)
ORDER BY inicio;
"#;

/// Which execution loaded each slot: the latest success whose window contains it.
const COVER: &str = r#"
CREATE OR REPLACE TEMP TABLE klk_seed_cover AS
SELECT s, d, k, arg_max(id, fecha_inicio) AS ejecucion_id,
    arg_max(fecha_inicio + to_milliseconds(CAST(dur * 1000 AS BIGINT)), fecha_inicio) AS cargado_en
FROM (
    SELECT s, d, unnest(range(ws, we + 1)) AS k, id, fecha_inicio, dur
    FROM klk_seed_exec
    WHERE etl_tipo = 'ventas' AND estado = 'exitoso'
)
GROUP BY s, d, k;
"#;

/// `$lines` lines per store and day spread evenly over the day, in invoices of 1-4 lines,
/// for the slots some success loaded; days `[$first_day, $end_day)`.
const SALES: &str = r#"
INSERT INTO ventas
SELECT
    't' || lpad(CAST(c.s AS VARCHAR), 3, '0') AS ubicacion_id,
    'C0' || CAST(1 + (l.j // 4) % 4 AS VARCHAR) || '-' || strftime(c.fecha, '%y%m%d') || '-'
        || lpad(CAST(l.j // 4 AS VARCHAR), 5, '0') AS numero_factura,
    CAST(l.j % 4 + 1 AS INTEGER) AS linea,
    c.fecha,
    CAST(CAST(c.fecha AS TIMESTAMP) + l.off AS TIME),
    CAST(c.fecha AS TIMESTAMP) + l.off,
    CASE WHEN hash($seed, 'w', c.s, l.j) % 100 < 85 THEN 'W' || lpad(CAST(c.s AS VARCHAR), 3, '0')
         ELSE 'W' || lpad(CAST(c.s AS VARCHAR), 3, '0') || '-DEP' END,
    CASE WHEN hash($seed, 'w', c.s, l.j) % 100 < 85 THEN 'PISO DE VENTA' ELSE 'DEPOSITO' END,
    lpad(CAST(l.art AS VARCHAR), 6, '0'),
    'ARTICULO ' || CAST(l.art AS VARCHAR),
    'MARCA ' || CAST(l.art % 97 AS VARCHAR),
    NULL,
    'CATEGORIA ' || CAST(l.art % 23 AS VARCHAR),
    'GRUPO ' || CAST(l.art % 11 AS VARCHAR),
    'SUBGRUPO ' || CAST(l.art % 37 AS VARCHAR),
    '759' || lpad(CAST(l.art AS VARCHAR), 10, '0'),
    l.qty, NULL, 'UND', 1.0,
    l.price_usd * 0.7 * 40.0, l.price_usd * 0.7, l.price_usd * 40.0, l.price_usd,
    16.0, l.qty * l.price_usd * 40.0 * 0.16, 0.0, 0.0,
    l.qty * l.price_usd * 40.0, l.qty * l.price_usd,
    l.qty * l.price_usd * 0.7 * 40.0, l.qty * l.price_usd * 0.7,
    l.qty * l.price_usd * 0.3 * 40.0, l.qty * l.price_usd * 0.3,
    round(l.qty * l.price_usd * 40.0 * 1.16 * 2.5, 2), 40.0,
    hash($seed, 'nf', c.s, l.j) % 50 = 0,
    CASE WHEN hash($seed, 'pr', c.s, l.j) % 20 = 0 THEN 'SI' ELSE 'NO' END,
    CASE WHEN hash($seed, 'pr', c.s, l.j) % 20 = 0 THEN 'PROMO' || CAST(l.art % 5 AS VARCHAR) END,
    c.ejecucion_id,
    c.cargado_en
FROM (
    SELECT x.*, CAST(CAST($start AS DATE) + CAST(x.d AS INTEGER) AS DATE) AS fecha
    FROM klk_seed_cover x WHERE x.d >= $first_day AND x.d < $end_day
) c
JOIN (
    SELECT j, j * $slots_per_day // $lines AS k,
        to_microseconds(CAST(j * $slots_per_day // $lines * $slot * 60000000
            + (j * $slots_per_day % $lines) * $slot * 60000000 // $lines AS BIGINT)) AS off,
        1 + hash($seed, 'art', j) % 4000 AS art,
        CAST(1 + hash($seed, 'q', j) % 5 AS DOUBLE) AS qty,
        round(0.5 + (hash($seed, 'p', j) % 2000) / 100.0, 2) AS price_usd
    FROM range($lines) r(j)
) l ON l.k = c.k
ORDER BY c.d, c.k, c.s, l.j;
"#;

/// The latest stock per store, warehouse and article, from each store's latest success.
const STOCK: &str = r#"
INSERT INTO inventario
SELECT 't' || lpad(CAST(x.s AS VARCHAR), 3, '0'), w.almacen || lpad(CAST(x.s AS VARCHAR), 3, '0') || w.suf,
    lpad(CAST(a AS VARCHAR), 6, '0'), 'ARTICULO ' || CAST(a AS VARCHAR), '759' || lpad(CAST(a AS VARCHAR), 10, '0'),
    'CATEGORIA ' || CAST(a % 23 AS VARCHAR), NULL, 'SUB ' || CAST(a % 37 AS VARCHAR), NULL,
    CASE WHEN a % 13 = 0 THEN NULL ELSE 'MARCA ' || CAST(a % 97 AS VARCHAR) END,
    round(0.5 + (hash($seed, 'p', a) % 2000) / 100.0, 2), 16.0,
    CAST(hash($seed, 'st', x.s, a, w.suf) % 200 AS DOUBLE) - 20.0,
    x.fecha_inicio, x.id
FROM (
    SELECT s, max(fecha_inicio) AS fecha_inicio, arg_max(id, fecha_inicio) AS id
    FROM klk_seed_exec WHERE etl_tipo = 'inventario' AND estado = 'exitoso' GROUP BY s
) x,
(VALUES ('W', ''), ('W', '-DEP')) w(almacen, suf),
range(1, $articles + 1) r(a);
"#;
