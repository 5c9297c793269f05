//! Keeps `etl_configuracion` and the store registry `etl_tiendas` in line with the
//! configuration file, so the views answer what `klk-etl` answers. Both engines.

use chrono::{DateTime, NaiveDate, NaiveTime, Offset, TimeZone, Utc};

use super::TrackerError;
use super::engine::{Dialect, Session, Value};
use crate::config::{Config, Store};

/// The current UTC time as a timestamp without zone, in each dialect.
pub(crate) fn now_utc_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::DuckDb => "make_timestamp(epoch_us(now()))",
        Dialect::Postgres => "(now() AT TIME ZONE 'UTC')",
    }
}

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

fn stored_settings(session: &mut Session) -> Result<Option<Settings>, TrackerError> {
    let rows = session.query(
        "SELECT zona_horaria, utc_offset_minutos, slot_minutos, horizonte_minutos, atascado_minutos, \
         gracia_minutos, inventario_vencido_minutos, verificacion_cierre_minutos, verificacion_plazo_minutos \
         FROM etl_configuracion WHERE id = 1",
        &[],
    )?;
    match rows.first() {
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
fn verification_started(session: &mut Session) -> Result<bool, TrackerError> {
    session
        .query_one(
            "SELECT coalesce(bool_or(verificacion_desde IS NOT NULL), false) FROM etl_configuracion",
            &[],
        )?
        .get(0)
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

fn stored_rows(session: &mut Session) -> Result<Vec<StoreRow>, TrackerError> {
    session
        .query(
            "SELECT ubicacion_id, ubicacion_nombre, sucursal, coalesce(array_to_string(almacenes, ','), ''), activa, hora_apertura, hora_cierre, desde FROM etl_tiendas ORDER BY ubicacion_id",
            &[],
        )?
        .iter()
        .map(|r| {
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
        })
        .collect()
}

/// True when the database's settings or registry differ from the configuration.
/// A configuration without stores leaves the registry alone (e.g. a run from another
/// directory without the config file must not deactivate every store).
pub fn needs_sync(
    session: &mut Session,
    config: &Config,
    now_utc: DateTime<Utc>,
) -> Result<bool, TrackerError> {
    if !verification_started(session)? {
        return Ok(true);
    }
    match stored_settings(session)? {
        None => return Ok(true),
        Some(stored) if config.source.is_some() && stored != desired_settings(config, now_utc) => {
            return Ok(true);
        }
        Some(_) => {}
    }
    if config.stores.is_empty() {
        return Ok(false);
    }
    let stored = stored_rows(session)?;
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
pub fn sync(
    session: &mut Session,
    config: &Config,
    now_utc: DateTime<Utc>,
) -> Result<(), TrackerError> {
    if !needs_sync(session, config, now_utc)? {
        return Ok(());
    }
    session.transaction(|session| write_sync(session, config, now_utc))
}

fn write_sync(
    session: &mut Session,
    config: &Config,
    now_utc: DateTime<Utc>,
) -> Result<(), TrackerError> {
    let now = now_utc_sql(session.dialect());
    let s = desired_settings(config, now_utc);
    let stored = stored_settings(session)?;
    let first_sync_since_verification = !verification_started(session)?;
    // Without a config file, only fill in what is missing; never overwrite the user's values.
    if config.source.is_some() || stored.is_none() {
        session.execute(
            &format!("INSERT INTO etl_configuracion (id, zona_horaria, utc_offset_minutos, slot_minutos, \
             horizonte_minutos, atascado_minutos, gracia_minutos, inventario_vencido_minutos, \
             verificacion_cierre_minutos, verificacion_plazo_minutos, actualizado) \
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, {now}) \
             ON CONFLICT (id) DO UPDATE SET zona_horaria = excluded.zona_horaria, \
             utc_offset_minutos = excluded.utc_offset_minutos, slot_minutos = excluded.slot_minutos, \
             horizonte_minutos = excluded.horizonte_minutos, atascado_minutos = excluded.atascado_minutos, \
             gracia_minutos = excluded.gracia_minutos, \
             inventario_vencido_minutos = excluded.inventario_vencido_minutos, \
             verificacion_cierre_minutos = excluded.verificacion_cierre_minutos, \
             verificacion_plazo_minutos = excluded.verificacion_plazo_minutos, \
             actualizado = excluded.actualizado"),
            &[
                Value::from(&s.zona_horaria),
                s.utc_offset_minutos.into(),
                s.slot_minutos.into(),
                s.horizonte_minutos.into(),
                s.atascado_minutos.into(),
                s.gracia_minutos.into(),
                s.inventario_vencido_minutos.into(),
                s.verificacion_cierre_minutos.into(),
                s.verificacion_plazo_minutos.into(),
            ],
        )?;
    } else if first_sync_since_verification {
        // A file upgraded without a config file: the views verify as klk-etl does.
        session.execute(
            "UPDATE etl_configuracion SET verificacion_cierre_minutos = $1, verificacion_plazo_minutos = $2 WHERE id = 1",
            &[s.verificacion_cierre_minutos.into(), s.verificacion_plazo_minutos.into()],
        )?;
    }
    if first_sync_since_verification {
        // Days before the one before klk-etl first verified this file are not expected to be
        // verified (an upgraded file would otherwise show every day of the horizon as a gap
        // at once); `klk-etl verify --from ... --to ...` re-pulls them on demand.
        let today = now_utc.with_timezone(&config.timezone).date_naive();
        session.execute(
            "UPDATE etl_configuracion SET verificacion_desde = $1 WHERE id = 1 AND verificacion_desde IS NULL",
            &[(today - chrono::Days::new(1)).into()],
        )?;
    }
    if config.stores.is_empty() {
        return Ok(());
    }
    let split = match session.dialect() {
        Dialect::DuckDb => "string_split",
        Dialect::Postgres => "string_to_array",
    };
    let upsert = format!(
        "INSERT INTO etl_tiendas VALUES ($1, $2, $3, {split}(NULLIF($4, ''), ','), $5, $6, $7, $8, {now}) \
         ON CONFLICT (ubicacion_id) DO UPDATE SET ubicacion_nombre = excluded.ubicacion_nombre, \
         sucursal = excluded.sucursal, almacenes = excluded.almacenes, activa = excluded.activa, \
         hora_apertura = excluded.hora_apertura, hora_cierre = excluded.hora_cierre, \
         desde = excluded.desde, actualizado = excluded.actualizado"
    );
    for store in &config.stores {
        let row = desired_row(store);
        session.execute(
            &upsert,
            &[
                row.id.into(),
                row.name.into(),
                row.sucursal.into(),
                row.warehouses.into(),
                row.active.into(),
                row.open.into(),
                row.close.into(),
                row.since.into(),
            ],
        )?;
    }
    let active = session.query("SELECT ubicacion_id FROM etl_tiendas WHERE activa", &[])?;
    for row in &active {
        let id: String = row.get(0)?;
        if config.store(&id).is_none() {
            session.execute(
                &format!(
                    "UPDATE etl_tiendas SET activa = false, actualizado = {now} WHERE ubicacion_id = $1"
                ),
                &[id.into()],
            )?;
        }
    }
    Ok(())
}
