//! One way for the tracker core to talk to either engine: statements with `$1, $2...`
//! placeholders (both DuckDB and PostgreSQL read them), parameters and cells as plain values,
//! and rows read by position into Rust types. What differs between the dialects stays in the
//! SQL each caller picks with [`Session::dialect`]; the rest is shared.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use postgres::types::{IsNull, ToSql, Type};

use super::TrackerError;
use super::postgres::sql_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    Postgres,
}

impl Dialect {
    /// The function giving microseconds since 1970 of a TIMESTAMP (`logic.sql`'s helper on
    /// PostgreSQL).
    pub fn epoch_us(self) -> &'static str {
        match self {
            Dialect::DuckDb => "epoch_us",
            Dialect::Postgres => "klk_epoch_us",
        }
    }
}

/// A parameter or a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
}

/// `From<T> for Value` and `FromValue for T` for the types a cell holds as they are.
macro_rules! plain_values {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Value {
                Value::$variant(v)
            }
        }
        impl FromValue for $ty {
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(v.clone()),
                    _ => None,
                }
            }
        }
    )*};
}

plain_values!(
    bool => Bool,
    i64 => Int,
    String => Text,
    NaiveDate => Date,
    NaiveTime => Time,
    NaiveDateTime => Timestamp,
);

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// A row read out of either engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `index` as `T`; a type that does not fit is an error naming the column.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, TrackerError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value).ok_or_else(|| {
            TrackerError::Unexpected(format!(
                "column {index} holds {value:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A Rust type a cell converts to.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(v) => i32::try_from(*v).ok(),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

/// A connection of either engine, borrowed for a few statements.
pub enum Session<'a> {
    DuckDb(&'a duckdb::Connection),
    Postgres(&'a mut postgres::Client),
}

impl Session<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Session::DuckDb(_) => Dialect::DuckDb,
            Session::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The rows of `sql` with `params` for `$1, $2...`.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, TrackerError> {
        match self {
            Session::DuckDb(conn) => {
                let mut stmt = conn.prepare(sql)?;
                let params = params.iter().map(to_duckdb);
                let mut rows = stmt.query(duckdb::params_from_iter(params))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let columns = row.as_ref().column_count();
                    let mut cells = Vec::with_capacity(columns);
                    for i in 0..columns {
                        cells.push(from_duckdb(row.get::<_, duckdb::types::Value>(i)?));
                    }
                    out.push(Row(cells));
                }
                Ok(out)
            }
            Session::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let rows = client.query(sql, &refs).map_err(sql_error)?;
                rows.iter().map(from_postgres).collect()
            }
        }
    }

    /// The one row of `sql` (an error when there is none).
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, TrackerError> {
        self.query(sql, params)?
            .into_iter()
            .next()
            .ok_or_else(|| TrackerError::Unexpected(format!("no row from: {sql}")))
    }

    /// Runs `sql` with `params`; the number of rows changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, TrackerError> {
        match self {
            Session::DuckDb(conn) => {
                let params = params.iter().map(to_duckdb);
                Ok(conn.execute(sql, duckdb::params_from_iter(params))? as u64)
            }
            Session::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                client.execute(sql, &refs).map_err(sql_error)
            }
        }
    }

    /// Statements without parameters, separated by semicolons.
    pub fn batch(&mut self, sql: &str) -> Result<(), TrackerError> {
        match self {
            Session::DuckDb(conn) => Ok(conn.execute_batch(sql)?),
            Session::Postgres(client) => client.batch_execute(sql).map_err(sql_error),
        }
    }

    /// Runs `work` in one transaction: committed when it succeeds, rolled back otherwise.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Session<'_>) -> Result<T, TrackerError>,
    ) -> Result<T, TrackerError> {
        self.batch("BEGIN TRANSACTION")?;
        match work(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(err) => {
                let _ = self.batch("ROLLBACK");
                Err(err)
            }
        }
    }
}

fn to_duckdb(value: &Value) -> duckdb::types::Value {
    use duckdb::types::Value as D;
    match value {
        Value::Null => D::Null,
        Value::Bool(v) => D::Boolean(*v),
        Value::Int(v) => D::BigInt(*v),
        Value::Float(v) => D::Double(*v),
        Value::Text(v) => D::Text(v.clone()),
        Value::Date(v) => D::Text(v.to_string()),
        Value::Time(v) => D::Text(v.format("%H:%M:%S%.6f").to_string()),
        Value::Timestamp(v) => D::Text(v.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
    }
}

pub(crate) fn from_duckdb(value: duckdb::types::Value) -> Value {
    use duckdb::types::Value as D;
    let micros_to_time = |micros: i64| {
        NaiveTime::from_num_seconds_from_midnight_opt(
            (micros.div_euclid(1_000_000)) as u32,
            (micros.rem_euclid(1_000_000) * 1000) as u32,
        )
        .map_or(Value::Null, Value::Time)
    };
    match value {
        D::Null => Value::Null,
        D::Boolean(v) => Value::Bool(v),
        D::TinyInt(v) => Value::Int(i64::from(v)),
        D::SmallInt(v) => Value::Int(i64::from(v)),
        D::Int(v) => Value::Int(i64::from(v)),
        D::BigInt(v) => Value::Int(v),
        D::HugeInt(v) => i64::try_from(v).map_or(Value::Float(v as f64), Value::Int),
        D::UTinyInt(v) => Value::Int(i64::from(v)),
        D::USmallInt(v) => Value::Int(i64::from(v)),
        D::UInt(v) => Value::Int(i64::from(v)),
        D::UBigInt(v) => i64::try_from(v).map_or(Value::Float(v as f64), Value::Int),
        D::Float(v) => Value::Float(f64::from(v)),
        D::Double(v) => Value::Float(v),
        D::Decimal(v) => v.to_string().parse().map_or(Value::Null, Value::Float),
        D::Timestamp(unit, v) => chrono::DateTime::from_timestamp_micros(unit.to_micros(v))
            .map_or(Value::Null, |t| Value::Timestamp(t.naive_utc())),
        D::Text(v) | D::Enum(v) => Value::Text(v),
        D::Date32(days) => {
            NaiveDate::from_num_days_from_ce_opt(days + 719_163).map_or(Value::Null, Value::Date)
        }
        D::Time64(unit, v) => micros_to_time(unit.to_micros(v)),
        other => Value::Text(format!("{other:?}")),
    }
}

fn from_postgres(row: &postgres::Row) -> Result<Row, TrackerError> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = sql_error;
        let value = if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i).map_err(cell)?.into()
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)
                .map_err(cell)?
                .map(i64::from)
                .into()
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)
                .map_err(cell)?
                .map(i64::from)
                .into()
        } else if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map_err(cell)?.into()
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i)
                .map_err(cell)?
                .map(f64::from)
                .into()
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i).map_err(cell)?.into()
        } else if *ty == Type::DATE {
            row.try_get::<_, Option<NaiveDate>>(i).map_err(cell)?.into()
        } else if *ty == Type::TIME {
            row.try_get::<_, Option<NaiveTime>>(i).map_err(cell)?.into()
        } else if *ty == Type::TIMESTAMP {
            row.try_get::<_, Option<NaiveDateTime>>(i)
                .map_err(cell)?
                .into()
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            row.try_get::<_, Option<String>>(i).map_err(cell)?.into()
        } else {
            return Err(TrackerError::Unexpected(format!(
                "column {} has type {ty}, which klk-etl does not read (cast it in the query)",
                column.name()
            )));
        };
        cells.push(value);
    }
    Ok(Row(cells))
}

/// PostgreSQL: a parameter takes the type the server inferred for its placeholder, so the
/// same `Value` serves an `integer`, a `bigint` or a `double precision` column alike.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::Int(v) => {
                if *ty == Type::INT2 {
                    i16::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*v as f64).to_sql(ty, out)
                } else if *ty == Type::FLOAT4 {
                    (*v as f32).to_sql(ty, out)
                } else if [Type::TEXT, Type::VARCHAR].contains(ty) {
                    v.to_string().to_sql(ty, out)
                } else {
                    v.to_sql(ty, out)
                }
            }
            Value::Float(v) => {
                if *ty == Type::FLOAT4 {
                    (*v as f32).to_sql(ty, out)
                } else {
                    v.to_sql(ty, out)
                }
            }
            Value::Text(v) => {
                if *ty == Type::TIMESTAMP {
                    NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")?.to_sql(ty, out)
                } else if *ty == Type::DATE {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")?.to_sql(ty, out)
                } else {
                    super::postgres::storable_text(v).as_ref().to_sql(ty, out)
                }
            }
            Value::Date(v) => v.to_sql(ty, out),
            Value::Time(v) => v.to_sql(ty, out),
            Value::Timestamp(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_rows_come_back_as_plain_values() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let mut session = Session::DuckDb(&conn);
        let row = session
            .query_one(
                "SELECT $1::BIGINT + 1, $2, CAST($3 AS TIMESTAMP), CAST($4 AS DATE), \
                 CAST('23:59:59.5' AS TIME), NULL::VARCHAR, 2.5::DOUBLE, true, 7::INTEGER",
                &[
                    Value::Int(41),
                    Value::from("x"),
                    Value::from(
                        NaiveDate::from_ymd_opt(2025, 11, 24)
                            .unwrap()
                            .and_hms_micro_opt(16, 0, 0, 250)
                            .unwrap(),
                    ),
                    Value::from(NaiveDate::from_ymd_opt(2025, 11, 24).unwrap()),
                ],
            )
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 42);
        assert_eq!(row.get::<String>(1).unwrap(), "x");
        assert_eq!(
            row.get::<NaiveDateTime>(2).unwrap().to_string(),
            "2025-11-24 16:00:00.000250"
        );
        assert_eq!(row.get::<NaiveDate>(3).unwrap().to_string(), "2025-11-24");
        assert_eq!(
            row.get::<NaiveTime>(4).unwrap(),
            NaiveTime::from_hms_milli_opt(23, 59, 59, 500).unwrap()
        );
        assert_eq!(row.get::<Option<String>>(5).unwrap(), None);
        assert_eq!(row.get::<f64>(6).unwrap(), 2.5);
        assert!(row.get::<bool>(7).unwrap());
        assert_eq!(row.get::<i32>(8).unwrap(), 7);
        assert!(row.get::<String>(0).is_err());
    }

    #[test]
    fn a_transaction_that_fails_leaves_nothing() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let mut session = Session::DuckDb(&conn);
        session.batch("CREATE TABLE t (x BIGINT)").unwrap();
        let failed: Result<(), _> = session.transaction(|s| {
            s.execute("INSERT INTO t VALUES ($1)", &[Value::Int(1)])?;
            s.execute("INSERT INTO missing VALUES (1)", &[])?;
            Ok(())
        });
        assert!(failed.is_err());
        let count: i64 = session
            .query_one("SELECT count(*) FROM t", &[])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(count, 0);
    }
}
