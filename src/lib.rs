//! armhunt: an offline forensic analyzer for exported Azure Activity Logs.
//!
//! The pipeline, one module each: [`input`] finds and reads bytes,
//! [`normalize`] turns a record into a canonical row, [`frame`] holds the
//! canonical columns, [`ingest`] runs the first three in parallel and keeps
//! the ledger, and [`report`] writes what a command produces.

pub mod cli;
pub mod detect;
pub mod error;
pub mod filter;
pub mod frame;
pub mod geo;
pub mod ingest;
pub mod input;
pub mod normalize;
pub mod progress;
pub mod report;

pub use error::{Error, Result};
