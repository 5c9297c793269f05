//! Blocking client for the KLK POS REST API (`spec/klk-api.md`).
//!
//! - [`Client`] sends typed requests ([`SalesRequest`], [`StockRequest`]) and returns typed,
//!   deduplicated batches ([`SalesBatch`], [`StockBatch`]).
//! - Every failure is an [`ApiError`] whose [`ApiError::error_tipo`] is one of the tracker's
//!   vocabulary values; a failure is never turned into "no data".
//! - Retryable failures are retried with exponential backoff and full jitter, bounded by
//!   [`RetryPolicy`]; the attempts made are reported on success and on failure.
//! - Bodies are parsed while they stream in (see [`parse`]); the token and extra header
//!   values never appear in a message.
//!
//! docs/klk-client.md describes the behaviour in prose.

mod client;
pub(crate) mod columns;
mod error;
mod model;
mod options;
pub mod parse;
mod retry;
pub mod ventas;

pub use client::{Client, InvalidOptions, validate_base_url};
pub use columns::{CHUNK_ROWS, SalesChunk, SalesLines, release_freed_memory};
pub use error::{ApiError, ErrorKind, LineError, TimeoutPhase};
pub use model::{
    ResponseFormat, SalesBatch, SalesLine, SalesMeta, SalesRequest, StockBatch, StockItem,
    StockRequest, Warehouse, WarehouseList, is_end_of_day,
};
pub use options::{ClientOptions, RetryPolicy};
