//! klk-etl: runs, tracks and repairs the ETL that copies a retail chain's sales and stock
//! from the KLK POS REST API into DuckDB.
//!
//! - [`tracker`]: the tracking core (schema, executions, gaps, metrics, purge, unstick).
//! - [`klk`]: the KLK API client; [`sim`]: a KLK simulator for tests and demos.
//! - [`net`]: TLS, proxies, HTTP and SMTP for every outbound connection; [`secret`]: values
//!   that are never shown.
//! - [`cli`]: the command line; [`output`]: the only place that prints.

pub mod backoff;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod duration;
pub mod etl;
pub mod exit;
pub mod klk;
pub mod monitor;
pub mod net;
pub mod output;
pub mod secret;
pub mod serve;
pub mod sim;
pub mod tracker;
