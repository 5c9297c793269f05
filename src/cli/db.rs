use serde::Serialize;

use super::Ctx;
use crate::exit::Exit;
use crate::output::{self, Format};
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
}

#[derive(Debug, Serialize)]
struct Info {
    path: String,
    size_bytes: u64,
    duckdb_version: String,
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
        }
    }
}

fn migrate(ctx: &Ctx) -> anyhow::Result<Exit> {
    let path = &ctx.config.database;
    let before = if path.exists() {
        Db::connect(path, Access::Read, ctx.config.tracking.lock_timeout)?.schema_version()?
    } else {
        0
    };
    let db = ctx.open_db(Access::Write)?;
    let after = db.schema_version()?;
    let message = if before == after {
        format!("{}: schema is up to date (version {after})", path.display())
    } else {
        format!(
            "{}: migrated schema from version {before} to {after}",
            path.display()
        )
    };
    match ctx.out.format {
        Format::Json => output::emit_json(&serde_json::json!({
            "path": path.display().to_string(),
            "from_version": before,
            "to_version": after,
        }))?,
        _ => output::emit_text(&message)?,
    }
    Ok(Exit::Ok)
}

fn info(ctx: &Ctx) -> anyhow::Result<Exit> {
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
    let info = Info {
        path: db.path().display().to_string(),
        size_bytes: std::fs::metadata(db.path()).map(|m| m.len()).unwrap_or(0),
        duckdb_version: conn.query_row("SELECT version()", [], |r| r.get(0))?,
        schema_version: db.schema_version()?,
        migrations,
        executions,
        first_execution,
        last_execution,
        stores_active,
        stores_total,
    };
    if ctx.out.format == Format::Json {
        output::emit_json(&info)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "database        {}\nsize            {} bytes\nDuckDB          {}\nschema version  {} (this klk-etl: {})\nexecutions      {}\n",
        info.path,
        info.size_bytes,
        info.duckdb_version,
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
