//! Benchmark helper (not a test) for `bench/scale.sh`: what another client does with the
//! seed views. Opens a DuckDB file read-only, as any program would (no klk-etl code: no
//! migration, no registry sync), runs one SQL statement, drains the rows and prints their
//! count.
//!
//! ```text
//! bench_scale_query FILE 'SELECT * FROM v_gaps_por_recuperar'
//! bench_scale_query FILE 'SELECT count(*) FROM ventas' --print    # the first cell instead
//! ```

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(sql)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: bench_scale_query FILE SQL [--print]");
    };
    let print = args.next().as_deref() == Some("--print");
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)?
        .enable_autoload_extension(false)?;
    let conn = duckdb::Connection::open_with_flags(&path, config)
        .with_context(|| format!("opening {path}"))?;
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        if print && count == 0 {
            let value: duckdb::types::Value = row.get(0)?;
            println!("{value:?}");
        }
        count += 1;
    }
    if !print {
        println!("{count}");
    }
    Ok(())
}
