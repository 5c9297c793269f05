//! Small helpers for building parameterised SQL.

use chrono::NaiveDateTime;
use duckdb::types::Value;

/// A timestamp as a parameter (text, cast by the statement: `CAST(? AS TIMESTAMP)`).
pub(crate) fn timestamp(ts: NaiveDateTime) -> Value {
    Value::Text(ts.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

/// WHERE clauses with their parameters, so filters never format values into SQL.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    values: Vec<Value>,
}

impl Filter {
    pub(crate) fn equals(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            self.clauses.push(format!("{column} = ?"));
            self.values.push(Value::Text(value));
        }
    }

    pub(crate) fn one_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.clauses.push(format!("{column} IN ({marks})"));
        self.values
            .extend(values.iter().map(|v| Value::Text(v.clone())));
    }

    /// `column >= value` (a date, cast by the statement from text).
    pub(crate) fn date_at_least(&mut self, column: &str, value: Option<chrono::NaiveDate>) {
        if let Some(value) = value {
            self.clauses.push(format!("{column} >= CAST(? AS DATE)"));
            self.values.push(Value::Text(value.to_string()));
        }
    }

    /// `column <= value` (a date, cast by the statement from text).
    pub(crate) fn date_at_most(&mut self, column: &str, value: Option<chrono::NaiveDate>) {
        if let Some(value) = value {
            self.clauses.push(format!("{column} <= CAST(? AS DATE)"));
            self.values.push(Value::Text(value.to_string()));
        }
    }

    /// A condition with one timestamp placeholder (`CAST(? AS TIMESTAMP)`).
    pub(crate) fn timestamp_condition(&mut self, sql: &'static str, value: NaiveDateTime) {
        self.clauses.push(sql.to_string());
        self.values.push(timestamp(value));
    }

    /// A fixed condition without parameters.
    pub(crate) fn condition(&mut self, sql: &'static str) {
        self.clauses.push(sql.to_string());
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".to_string()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// The conditions with numbered placeholders from `$first` on (for statements that run
    /// on both engines: `$n` is read by DuckDB and PostgreSQL alike).
    pub(crate) fn numbered_sql(&self, first: usize) -> String {
        let mut next = first;
        let mut numbered = String::new();
        for c in self.sql().chars() {
            if c == '?' {
                numbered.push_str(&format!("${next}"));
                next += 1;
            } else {
                numbered.push(c);
            }
        }
        numbered
    }

    /// The filter's parameters, for [`Filter::numbered_sql`].
    pub(crate) fn engine_values(&self) -> Vec<super::engine::Value> {
        self.values
            .iter()
            .cloned()
            .map(super::engine::from_duckdb)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_follow_the_leading_ones() {
        let mut filter = Filter::default();
        filter.equals("etl_tipo", Some("ventas".into()));
        filter.one_of("ubicacion_id", &["a".into(), "b".into()]);
        assert_eq!(
            filter.numbered_sql(3),
            "etl_tipo = $3 AND ubicacion_id IN ($4, $5)"
        );
        assert_eq!(filter.engine_values().len(), 3);
        assert_eq!(Filter::default().numbered_sql(1), "true");
    }
}
