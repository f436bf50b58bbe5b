//! Writing what commands produce: each output format is its own writer
//! (Parquet, Arrow IPC, rejects JSONL, stats text/JSON), fed by the ingest
//! sinks.

pub mod convert;
pub mod rejects;
pub mod stats;
pub mod text;
