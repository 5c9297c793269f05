//! Keeps `etl_configuracion` and the store registry `etl_tiendas` in line with the
//! configuration file, so the views answer what `klk-etl` answers.

use chrono::{DateTime, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use duckdb::{Connection, params};

use crate::config::{Config, Store};

/// Minutes to add to UTC to get store-local time at `now`.
pub fn utc_offset_minutes(config: &Config, now_utc: DateTime<Utc>) -> i32 {
    config
        .timezone
        .offset_from_utc_datetime(&now_utc.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

#[derive(Debug, PartialEq)]
struct Settings {
    zona_horaria: String,
    utc_offset_minutos: i32,
    slot_minutos: i32,
    horizonte_minutos: i32,
    atascado_minutos: i32,
    gracia_minutos: i32,
    inventario_vencido_minutos: i32,
    /// `None` when verification is off.
    verificacion_cierre_minutos: Option<i32>,
    verificacion_plazo_minutos: Option<i32>,
}

fn minutes(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_secs() / 60).unwrap_or(i32::MAX)
}

fn desired_settings(config: &Config, now_utc: DateTime<Utc>) -> Settings {
    let t = &config.tracking;
    Settings {
        zona_horaria: config.timezone.name().to_string(),
        utc_offset_minutos: utc_offset_minutes(config, now_utc),
        slot_minutos: t.slot_minutes as i32,
        horizonte_minutos: minutes(t.horizon),
        atascado_minutos: minutes(t.stuck_after),
        gracia_minutos: minutes(t.gap_grace),
        inventario_vencido_minutos: minutes(t.inventory_stale_after),
        verificacion_cierre_minutos: t
            .verification
            .enabled
            .then(|| minutes(t.verification.closes_after)),
        verificacion_plazo_minutos: t
            .verification
            .enabled
            .then(|| minutes(t.verification.deadline)),
    }
}

fn stored_settings(conn: &Connection) -> duckdb::Result<Option<Settings>> {
    let mut stmt = conn.prepare(
        "SELECT zona_horaria, utc_offset_minutos, slot_minutos, horizonte_minutos, atascado_minutos, \
         gracia_minutos, inventario_vencido_minutos, verificacion_cierre_minutos, verificacion_plazo_minutos, \
         FROM etl_configuracion WHERE id = 1",
    )?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(r) => Ok(Some(Settings {
            zona_horaria: r.get(0)?,
            utc_offset_minutos: r.get(1)?,
            slot_minutos: r.get(2)?,
            horizonte_minutos: r.get(3)?,
            atascado_minutos: r.get(4)?,
            gracia_minutos: r.get(5)?,
            inventario_vencido_minutos: r.get(6)?,
            verificacion_cierre_minutos: r.get(7)?,
            verificacion_plazo_minutos: r.get(8)?,
        })),
        None => Ok(None),
    }
}

/// Whether `etl_configuracion` says since when closed days are verified (set on the first
/// synchronisation after the verification migration).
fn verification_started(conn: &Connection) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT coalesce(bool_or(verificacion_desde IS NOT NULL), false) FROM etl_configuracion",
        [],
        |r| r.get(0),
    )
}

#[derive(Debug, PartialEq)]
struct StoreRow {
    id: String,
    name: String,
    sucursal: Option<String>,
    warehouses: String,
    active: bool,
    open: Option<NaiveTime>,
    close: Option<NaiveTime>,
    since: Option<NaiveDate>,
}

fn desired_row(store: &Store) -> StoreRow {
    StoreRow {
        id: store.id.clone(),
        name: store.name.clone(),
        sucursal: Some(store.sucursal.clone()),
        warehouses: store.warehouses.join(","),
        active: store.active,
        open: store.opening_hours.map(|h| h.open),
        close: store.opening_hours.and_then(|h| h.close),
        since: store.since,
    }
}

fn stored_rows(conn: &Connection) -> duckdb::Result<Vec<StoreRow>> {
    let mut stmt = conn.prepare(
        "SELECT ubicacion_id, ubicacion_nombre, sucursal, coalesce(array_to_string(almacenes, ','), ''), activa, hora_apertura, hora_cierre, desde FROM etl_tiendas ORDER BY ubicacion_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoreRow {
            id: r.get(0)?,
            name: r.get(1)?,
            sucursal: r.get(2)?,
            warehouses: r.get(3)?,
            active: r.get(4)?,
            open: r.get(5)?,
            close: r.get(6)?,
            since: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// True when the database's settings or registry differ from the configuration.
/// A configuration without stores leaves the registry alone (e.g. a run from another
/// directory without the config file must not deactivate every store).
pub fn needs_sync(
    conn: &Connection,
    config: &Config,
    now_utc: DateTime<Utc>,
) -> duckdb::Result<bool> {
    if !verification_started(conn)? {
        return Ok(true);
    }
    match stored_settings(conn)? {
        None => return Ok(true),
        Some(stored) if config.source.is_some() && stored != desired_settings(config, now_utc) => {
            return Ok(true);
        }
        Some(_) => {}
    }
    if config.stores.is_empty() {
        return Ok(false);
    }
    let stored = stored_rows(conn)?;
    let mut desired: Vec<StoreRow> = config.stores.iter().map(desired_row).collect();
    desired.sort_by(|a, b| a.id.cmp(&b.id));
    let stored_of_config: Vec<&StoreRow> = stored
        .iter()
        .filter(|row| config.store(&row.id).is_some())
        .collect();
    let removed_still_active = stored
        .iter()
        .any(|row| row.active && config.store(&row.id).is_none());
    Ok(removed_still_active
        || stored_of_config.len() != desired.len()
        || stored_of_config.iter().zip(&desired).any(|(a, b)| *a != b))
}

/// Writes the configuration's settings and stores; stores no longer configured are kept
/// but marked inactive. One transaction.
pub fn sync(conn: &Connection, config: &Config, now_utc: DateTime<Utc>) -> duckdb::Result<()> {
    if !needs_sync(conn, config, now_utc)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN TRANSACTION")?;
    let result = write_sync(conn, config, now_utc);
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}

fn write_sync(conn: &Connection, config: &Config, now_utc: DateTime<Utc>) -> duckdb::Result<()> {
    let s = desired_settings(config, now_utc);
    let stored = stored_settings(conn)?;
    let first_sync_since_verification = !verification_started(conn)?;
    // Without a config file, only fill in what is missing; never overwrite the user's values.
    if config.source.is_some() || stored.is_none() {
        conn.execute(
            "INSERT INTO etl_configuracion (id, zona_horaria, utc_offset_minutos, slot_minutos, \
             horizonte_minutos, atascado_minutos, gracia_minutos, inventario_vencido_minutos, \
             verificacion_cierre_minutos, verificacion_plazo_minutos, actualizado) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, make_timestamp(epoch_us(now()))) \
             ON CONFLICT (id) DO UPDATE SET zona_horaria = excluded.zona_horaria, \
             utc_offset_minutos = excluded.utc_offset_minutos, slot_minutos = excluded.slot_minutos, \
             horizonte_minutos = excluded.horizonte_minutos, atascado_minutos = excluded.atascado_minutos, \
             gracia_minutos = excluded.gracia_minutos, \
             inventario_vencido_minutos = excluded.inventario_vencido_minutos, \
             verificacion_cierre_minutos = excluded.verificacion_cierre_minutos, \
             verificacion_plazo_minutos = excluded.verificacion_plazo_minutos, \
             actualizado = excluded.actualizado",
            params![
                s.zona_horaria,
                s.utc_offset_minutos,
                s.slot_minutos,
                s.horizonte_minutos,
                s.atascado_minutos,
                s.gracia_minutos,
                s.inventario_vencido_minutos,
                s.verificacion_cierre_minutos,
                s.verificacion_plazo_minutos
            ],
        )?;
    } else if first_sync_since_verification {
        // A file upgraded without a config file: the views verify as klk-etl does.
        conn.execute(
            "UPDATE etl_configuracion SET verificacion_cierre_minutos = ?, verificacion_plazo_minutos = ? WHERE id = 1",
            params![s.verificacion_cierre_minutos, s.verificacion_plazo_minutos],
        )?;
    }
    if first_sync_since_verification {
        // Days before the one before klk-etl first verified this file are not expected to be
        // verified (an upgraded file would otherwise show every day of the horizon as a gap
        // at once); `klk-etl verify --from ... --to ...` re-pulls them on demand.
        let today = now_utc.with_timezone(&config.timezone).date_naive();
        conn.execute(
            "UPDATE etl_configuracion SET verificacion_desde = ? WHERE id = 1 AND verificacion_desde IS NULL",
            params![today - chrono::Days::new(1)],
        )?;
    }
    if config.stores.is_empty() {
        return Ok(());
    }
    for store in &config.stores {
        let row = desired_row(store);
        conn.execute(
            "INSERT OR REPLACE INTO etl_tiendas VALUES (?, ?, ?, string_split(NULLIF(?, ''), ','), ?, ?, ?, ?, make_timestamp(epoch_us(now())))",
            params![row.id, row.name, row.sucursal, row.warehouses, row.active, row.open, row.close, row.since],
        )?;
    }
    let mut stmt = conn.prepare("SELECT ubicacion_id FROM etl_tiendas WHERE activa")?;
    let active: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in active.iter().filter(|id| config.store(id).is_none()) {
        conn.execute(
            "UPDATE etl_tiendas SET activa = false, actualizado = make_timestamp(epoch_us(now())) WHERE ubicacion_id = ?",
            [id],
        )?;
    }
    Ok(())
}
