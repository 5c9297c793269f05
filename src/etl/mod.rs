//! The ETL runner: plans windows, fetches them from the KLK API, loads them exactly once.

pub mod execute;
pub mod hooks;
pub mod load;
pub mod load_pg;
pub mod plan;
pub mod run;
pub mod runlock;
pub mod shared;
pub mod tasks;
