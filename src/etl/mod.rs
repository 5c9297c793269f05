//! The ETL runner: plans windows, fetches them from the KLK API, loads them exactly once.

pub mod plan;
