//! klk-etl: runs, tracks and repairs the ETL that copies a retail chain's sales and stock
//! from the KLK POS REST API into DuckDB.
//!
//! - [`tracker`]: the tracking core (schema, executions, gaps, metrics, purge, unstick).
//! - [`klk`]: the KLK API client; [`sim`]: a KLK simulator for tests and demos.
//! - [`cli`]: the command line; [`output`]: the only place that prints.

pub mod cli;
pub mod clock;
pub mod config;
pub mod duration;
pub mod etl;
pub mod exit;
pub mod klk;
pub mod monitor;
pub mod output;
pub mod serve;
pub mod sim;
pub mod tracker;
