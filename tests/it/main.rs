//! The integration tests: one test crate (one binary, one link of the bundled DuckDB), a
//! module per area. Each runs the real binary, a real DuckDB file and real servers on
//! 127.0.0.1. Run one area with `cargo test --release --test it <module>::`.

mod common;

mod cli_basics;
mod completeness;
mod db_copy;
mod demo;
mod gaps_semantics;
mod hooks;
mod integrations;
mod klk_client;
mod klk_memory;
mod klk_parse;
mod metrics;
mod monitoring;
mod postgres;
mod postgres_crash;
mod postgres_runner;
mod postgres_serve;
mod purge_unstick;
mod reliability_bad_input;
mod reliability_crash;
mod reliability_faults;
mod reliability_secrets;
mod reliability_soak;
mod runner;
mod runner_stress;
mod seed_adoption;
mod serve;
mod serve_browser;
mod sim_bounds;
mod sim_cli;
mod sim_server;
mod snapshots;
mod tracker_api;
