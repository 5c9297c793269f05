//! A KLK POS API simulator with fault injection (docs/simulator.md).
//!
//! - [`Simulator::start`] serves the API on 127.0.0.1 in background threads; the returned
//!   [`SimHandle`] gives the address, the request log, and stops it (also on drop).
//! - Data is a pure function of [`SimData`]: [`truth`] computes what any window holds.
//! - [`SimQuirks`] make the API unkind on purpose: how it reads hour bounds
//!   ([`BoundSemantics`]) and lines exactly on the boundaries (`edge_lines`).
//! - [`FaultRule`]s script failures per store, endpoint, request count and window; a
//!   [`Scenario`] file holds data settings and rules.

mod api;
mod bounds;
mod data;
mod http;
mod options;
mod rng;
mod scenario;
mod server;
pub mod truth;

pub use bounds::BoundSemantics;
pub use options::{SimData, SimOptions, SimQuirks, SimStore};
pub use scenario::{
    Endpoint, FaultAction, FaultRule, FaultTable, RequestRange, Scenario, ScenarioError, TimeRange,
    parse_duration,
};
pub use server::{RequestRecord, SimHandle, Simulator};
