//! Writing what commands produce: each output format is its own writer
//! (Parquet, Arrow IPC, rejects JSONL, stats text/JSON, and the scan
//! report folder: findings JSON, HTML, timeline CSV, evidence, manifest).

pub mod convert;
pub mod evidence;
pub mod folder;
pub mod html;
pub mod manifest;
pub mod rejects;
pub mod rows;
pub mod stats;
pub mod table;
pub mod text;
pub mod timeline;
