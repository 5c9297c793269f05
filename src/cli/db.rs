use serde::Serialize;

use super::Ctx;
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::tracker::postgres::PgDb;
use crate::tracker::{Access, Db, schema};

#[derive(Debug, clap::Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (also done on first use by every command)
    Migrate,
    /// Schema version, migrations applied, row counts
    Info,
    /// Copy the whole history from one database to another (DuckDB file or postgres:// URL,
    /// either direction), verified, in one transaction
    Copy(CopyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The database to copy from (a DuckDB file or a postgres:// URL); it is only read
    #[arg(long, value_name = "FILE|URL")]
    pub from: String,
    /// The database to copy into (created and migrated when needed)
    #[arg(long, value_name = "FILE|URL")]
    pub to: String,
    /// Replace the history the destination already holds (otherwise it must be empty)
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Serialize)]
struct Info {
    /// `duckdb` or `postgresql`.
    engine: &'static str,
    /// The file, or the server's URL without its password.
    path: String,
    size_bytes: u64,
    /// The engine's version (DuckDB's, or the server's `server_version`).
    engine_version: String,
    /// Kept for scripts written before PostgreSQL: DuckDB's version, null on PostgreSQL.
    duckdb_version: Option<String>,
    schema_version: i32,
    migrations: Vec<MigrationRow>,
    executions: i64,
    first_execution: Option<chrono::NaiveDateTime>,
    last_execution: Option<chrono::NaiveDateTime>,
    stores_active: i64,
    stores_total: i64,
}

#[derive(Debug, Serialize)]
struct MigrationRow {
    version: i32,
    description: String,
    applied_at: chrono::NaiveDateTime,
}

impl DbArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        match self.command {
            DbCommand::Migrate => migrate(ctx),
            DbCommand::Info => info(ctx),
            DbCommand::Copy(args) => copy(ctx, &args),
        }
    }
}

fn migrate(ctx: &Ctx) -> anyhow::Result<Exit> {
    if let Some(target) = &ctx.config.postgres {
        let (mut db, before, _) = PgDb::open_migrating(target, &ctx.config, ctx.now_utc())?;
        let after = db.schema_version()?;
        return print_migrated(ctx, &target.display(), before, after);
    }
    let path = &ctx.config.database;
    let before = if path.exists() {
        Db::connect(path, Access::Read, ctx.config.tracking.lock_timeout)?.schema_version()?
    } else {
        0
    };
    let db = ctx.open_db(Access::Write)?;
    let after = db.schema_version()?;
    print_migrated(ctx, &path.display().to_string(), before, after)
}

fn copy(ctx: &Ctx, args: &CopyArgs) -> anyhow::Result<Exit> {
    let pg_env = crate::config::database::PgEnv::from_env();
    let located = |location: &str| -> anyhow::Result<crate::config::Config> {
        let mut config = ctx.config.clone();
        config
            .set_database(std::path::Path::new(location), &pg_env)
            .map_err(crate::exit::UsageError)?;
        Ok(config)
    };
    let (source, destination) = (located(&args.from)?, located(&args.to)?);
    if source.database_display() == destination.database_display() {
        return Err(crate::exit::UsageError(format!(
            "--from and --to are the same database ({})",
            source.database_display()
        ))
        .into());
    }
    let mut from = open_source(&source)?;
    let mut to = crate::tracker::Database::open(&destination, Access::Write, ctx.now_utc())?;
    let names = (source.database_display(), destination.database_display());
    let report = match crate::tracker::copy::copy(
        &mut from.session(),
        &mut to.session(),
        names,
        args.replace,
    ) {
        Ok(report) => report,
        Err(crate::tracker::copy::CopyError::NotEmpty { to, what }) => {
            return Err(crate::exit::UsageError(format!(
                "{to} already holds history ({what}); nothing copied. Copy into an empty database, or pass --replace to replace it"
            ))
            .into());
        }
        Err(crate::tracker::copy::CopyError::Tracker(err)) => return Err(err.into()),
    };
    if ctx.out.format == Format::Json {
        output::emit_json(&report)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "copied {} to {}{} in {:.1} s, counts and sums verified:\n",
        report.from,
        report.to,
        if report.replaced {
            " (its history replaced)"
        } else {
            ""
        },
        report.seconds
    );
    for table in &report.tables {
        text.push_str(&format!("  {:<26}{:>12} rows", table.table, table.rows));
        for (column, sum) in &table.sums {
            text.push_str(&format!("  sum({column}) {sum:.2}"));
        }
        text.push('\n');
    }
    output::emit_text(&text)?;
    Ok(Exit::Ok)
}

/// The database copied from, opened without writing anything: it must already be at this
/// klk-etl's schema version.
fn open_source(config: &crate::config::Config) -> anyhow::Result<crate::tracker::Database> {
    let (db, version) = match &config.postgres {
        Some(target) => {
            let mut db = PgDb::connect(target)?;
            let version = db.schema_version()?;
            (crate::tracker::Database::Postgres(Box::new(db)), version)
        }
        None => {
            if !config.database.exists() {
                return Err(crate::exit::UsageError(format!(
                    "--from {}: no such file",
                    config.database.display()
                ))
                .into());
            }
            let db = Db::connect(&config.database, Access::Read, config.tracking.lock_timeout)?;
            let version = db.schema_version()?;
            (crate::tracker::Database::DuckDb(db), version)
        }
    };
    if version != schema::LATEST_VERSION {
        return Err(crate::exit::UsageError(format!(
            "--from {} is at schema version {version}, this klk-etl's is {}: run `klk-etl db migrate --database {}` first (a newer one needs a newer klk-etl)",
            config.database_display(),
            schema::LATEST_VERSION,
            config.database_display()
        ))
        .into());
    }
    Ok(db)
}

fn print_migrated(ctx: &Ctx, location: &str, before: i32, after: i32) -> anyhow::Result<Exit> {
    let message = if before == after {
        format!("{location}: schema is up to date (version {after})")
    } else {
        format!("{location}: migrated schema from version {before} to {after}")
    };
    match ctx.out.format {
        Format::Json => output::emit_json(&serde_json::json!({
            "path": location,
            "from_version": before,
            "to_version": after,
        }))?,
        _ => output::emit_text(&message)?,
    }
    Ok(Exit::Ok)
}

fn info(ctx: &Ctx) -> anyhow::Result<Exit> {
    let info = match &ctx.config.postgres {
        Some(target) => postgres_info(ctx, target)?,
        None => duckdb_info(ctx)?,
    };
    print_info(ctx, &info)
}

fn postgres_info(ctx: &Ctx, target: &crate::config::database::PgTarget) -> anyhow::Result<Info> {
    let mut db = PgDb::open(target, &ctx.config, ctx.now_utc())?;
    let client = db.client();
    let query = |client: &mut postgres::Client, sql: &str| {
        client
            .query(sql, &[])
            .map_err(crate::tracker::postgres::sql_error)
    };
    let migrations = query(
        client,
        "SELECT version, descripcion, aplicada FROM etl_schema_version ORDER BY version",
    )?
    .iter()
    .map(|r| MigrationRow {
        version: r.get(0),
        description: r.get(1),
        applied_at: r.get(2),
    })
    .collect();
    let totals = query(
        client,
        "SELECT (SELECT count(*) FROM etl_ejecuciones), \
                (SELECT min(fecha_inicio) FROM etl_ejecuciones), \
                (SELECT max(fecha_inicio) FROM etl_ejecuciones), \
                (SELECT count(*) FILTER (WHERE activa) FROM etl_tiendas), \
                (SELECT count(*) FROM etl_tiendas), \
                pg_database_size(current_database()), \
                current_setting('server_version')",
    )?;
    let row = &totals[0];
    let size: i64 = row.get(5);
    Ok(Info {
        engine: "postgresql",
        path: target.display(),
        size_bytes: u64::try_from(size).unwrap_or(0),
        engine_version: row.get(6),
        duckdb_version: None,
        schema_version: db.schema_version()?,
        migrations,
        executions: row.get(0),
        first_execution: row.get(1),
        last_execution: row.get(2),
        stores_active: row.get(3),
        stores_total: row.get(4),
    })
}

fn duckdb_info(ctx: &Ctx) -> anyhow::Result<Info> {
    let db = ctx.open_db(Access::Read)?;
    // The command that inspects a file checks every table's blocks, not only the header's.
    db.check_intact(true)?;
    let conn = db.conn();
    let mut stmt = conn.prepare(
        "SELECT version, descripcion, aplicada FROM etl_schema_version ORDER BY version",
    )?;
    let migrations = stmt
        .query_map([], |r| {
            Ok(MigrationRow {
                version: r.get(0)?,
                description: r.get(1)?,
                applied_at: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (executions, first_execution, last_execution) = conn.query_row(
        "SELECT count(*), min(fecha_inicio), max(fecha_inicio) FROM etl_ejecuciones",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (stores_active, stores_total) = conn.query_row(
        "SELECT count(*) FILTER (WHERE activa), count(*) FROM etl_tiendas",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let version: String = conn.query_row("SELECT version()", [], |r| r.get(0))?;
    Ok(Info {
        engine: "duckdb",
        path: db.path().display().to_string(),
        size_bytes: std::fs::metadata(db.path()).map(|m| m.len()).unwrap_or(0),
        engine_version: version.clone(),
        duckdb_version: Some(version),
        schema_version: db.schema_version()?,
        migrations,
        executions,
        first_execution,
        last_execution,
        stores_active,
        stores_total,
    })
}

fn print_info(ctx: &Ctx, info: &Info) -> anyhow::Result<Exit> {
    if ctx.out.format == Format::Json {
        output::emit_json(info)?;
        return Ok(Exit::Ok);
    }
    let engine = match info.engine {
        "postgresql" => "PostgreSQL",
        _ => "DuckDB",
    };
    let mut text = format!(
        "database        {}\nsize            {} bytes\n{engine:<16}{}\nschema version  {} (this klk-etl: {})\nexecutions      {}\n",
        info.path,
        info.size_bytes,
        info.engine_version,
        info.schema_version,
        schema::LATEST_VERSION,
        info.executions
    );
    if let (Some(first), Some(last)) = (info.first_execution, info.last_execution) {
        text.push_str(&format!("                from {first} to {last}\n"));
    }
    text.push_str(&format!(
        "stores          {} active of {} registered\nmigrations\n",
        info.stores_active, info.stores_total
    ));
    for m in &info.migrations {
        text.push_str(&format!(
            "  {:>3}  {}  {}\n",
            m.version,
            m.applied_at.format("%Y-%m-%d %H:%M:%S"),
            m.description
        ));
    }
    output::emit_text(&text)?;
    Ok(Exit::Ok)
}
