//! `convert`: the canonical frame as Parquet or Arrow IPC, written chunk by
//! chunk as the ingest produces them, so memory stays bounded.
//!
//! The output is written to `<out>.partial` and renamed when complete, so
//! a failed run never leaves a file that looks finished. The Parquet file
//! carries the input list in its key-value metadata (`armhunt.sources`:
//! a JSON array whose index is the `source_file` column).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame;
use crate::ingest::FrameSink;

/// The output formats `convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Arrow,
}

impl Format {
    /// From the output file name: `.parquet`, `.arrow` / `.ipc` / `.feather`.
    pub fn from_path(p: &Path) -> Option<Format> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "arrow" | "ipc" | "feather" => Some(Format::Arrow),
            _ => None,
        }
    }
}

enum Inner {
    Parquet(Box<polars::io::parquet::write::BatchedWriter<BufWriter<File>>>),
    Arrow(Box<polars::io::ipc::BatchedWriter<BufWriter<File>>>),
}

/// Writes frame chunks to a Parquet or Arrow IPC file.
pub struct FrameWriter {
    inner: Inner,
    partial: PathBuf,
    path: PathBuf,
    pub rows: u64,
}

fn partial_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

impl FrameWriter {
    /// `sources` are the input names, indexed by `source_file`.
    pub fn create(path: &Path, format: Format, sources: &[String]) -> Result<Self> {
        let partial = partial_path(path);
        let f = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let w = BufWriter::with_capacity(1 << 20, f);
        let schema = frame::schema();
        let pe = |e: PolarsError| Error::output(path, e);
        let inner = match format {
            Format::Parquet => {
                let kv = KeyValueMetadata::from_static(vec![
                    ("armhunt.schema".into(), "canonical-v1".into()),
                    (
                        "armhunt.sources".into(),
                        serde_json::to_string(sources).expect("strings serialise"),
                    ),
                ]);
                Inner::Parquet(Box::new(
                    ParquetWriter::new(w)
                        .with_compression(ParquetCompression::Zstd(None))
                        .with_key_value_metadata(Some(kv))
                        .batched(&schema)
                        .map_err(pe)?,
                ))
            }
            Format::Arrow => {
                let arrow_schema = schema.to_arrow(CompatLevel::newest());
                let fields =
                    polars_arrow::io::ipc::write::default_ipc_fields(arrow_schema.iter_values());
                Inner::Arrow(Box::new(
                    IpcWriter::new(w)
                        .with_compression(Some(IpcCompression::LZ4))
                        .batched(&schema, fields)
                        .map_err(pe)?,
                ))
            }
        };
        Ok(FrameWriter {
            inner,
            partial,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Finishes the file and moves it into place.
    pub fn finish(self) -> Result<()> {
        let pe = |e: PolarsError| Error::output(&self.path, e);
        match self.inner {
            Inner::Parquet(w) => {
                w.finish().map_err(pe)?;
            }
            Inner::Arrow(mut w) => {
                w.finish().map_err(pe)?;
            }
        }
        std::fs::rename(&self.partial, &self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }

    /// Removes the partial file after a failure.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.partial);
    }
}

impl FrameSink for FrameWriter {
    fn frame(&mut self, df: DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let r = match &mut self.inner {
            Inner::Parquet(w) => w.write_batch(&df),
            Inner::Arrow(w) => w.write_batch(&df),
        };
        r.map_err(|e| Error::output(&self.path, e))
    }
}
