//! `convert`: the canonical frame as Parquet or Arrow IPC, written chunk by
//! chunk as the ingest produces them, so memory stays bounded.
//!
//! Pages are LZ4-compressed by default (`--compression`: zstd writes a
//! smaller file, more slowly; see BENCHMARKS.md). Parquet row groups are
//! written through `polars-parquet` with an encoding and statistics chosen
//! per column, and LZ4 pages at a higher acceleration than LZ4's default
//! (see [`PLAIN_COLUMNS`], [`NO_RANGE_COLUMNS`], [`LZ4_ACCELERATION`]).
//! The output is written to
//! `<out>.partial` and renamed when complete, so
//! a failed run never leaves a file that looks finished. The Parquet file
//! carries the input list in its key-value metadata (`armhunt.sources`:
//! a JSON array whose index is the `source_file` column).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::parquet::compression::Compression as ParquetCodec;
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::parquet::page::{CompressedDictPage, DataPageHeader};
use polars_parquet::write::{
    CompressedDataPage, CompressedPage, CompressionOptions, Compressor, DynIter,
    DynStreamingIterator, Encoding, FallibleStreamingIterator, KeyValue, Page, ParquetType,
    StatisticsOptions, Version, WriteOptions, array_to_columns, compress, get_dtype_encoding,
    schema_to_metadata_key,
};

use crate::error::{Error, Result};
use crate::frame;
use crate::ingest::FrameSink;

/// Page / buffer compression of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    Lz4,
    Zstd,
    Snappy,
    None,
}

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
    Parquet(Box<ParquetRowGroups>),
    Arrow(Box<polars::io::ipc::BatchedWriter<BufWriter<File>>>),
}

/// Columns that are written PLAIN, never dictionary-encoded: values unique
/// to their row (`time`, `event_id`, the source offset and row) and the
/// large JSON texts. For every other column the Parquet encoder estimates
/// the number of distinct values (hashing each one) and builds a
/// dictionary when it pays; for these the estimate always says no, and
/// hashing `properties` and `claims` alone costs about 7 % of `convert`.
const PLAIN_COLUMNS: &[&str] = &[
    "time",
    "event_id",
    "request_body",
    "response_body",
    "properties",
    "claims",
    "source_offset",
    "source_row",
];

/// The JSON texts: their column chunks carry a null count but no min/max
/// statistics. No reader prunes row groups on the range of a JSON text, and
/// each bound would be a whole record's `claims` copied into the footer.
const NO_RANGE_COLUMNS: &[&str] = &["request_body", "response_body", "properties", "claims"];

/// A Parquet file written one row group per frame chunk, with the encoding
/// (and statistics) chosen per column; polars' own writer chooses one
/// encoding per data type.
struct ParquetRowGroups {
    writer: polars_parquet::write::FileWriter<BufWriter<File>>,
    /// Per column: its Parquet type, its encodings and its write options.
    columns: Vec<(ParquetType, Vec<Encoding>, WriteOptions)>,
    key_values: Vec<KeyValue>,
}

impl ParquetRowGroups {
    fn new(w: BufWriter<File>, compression: Compression, sources: &[String]) -> PolarsResult<Self> {
        let schema = frame::schema().to_arrow(CompatLevel::newest());
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            compression: match compression {
                Compression::Lz4 => ParquetCompression::Lz4Raw,
                Compression::Zstd => ParquetCompression::Zstd(None),
                Compression::Snappy => ParquetCompression::Snappy,
                Compression::None => ParquetCompression::Uncompressed,
            }
            .into(),
            data_page_size: None,
        };
        let writer = polars_parquet::write::FileWriter::try_new(w, schema.clone(), options)?;
        let columns = schema
            .iter_values()
            .zip(writer.parquet_schema().fields())
            .map(|(f, type_)| {
                let mut e = get_dtype_encoding(&f.dtype);
                if PLAIN_COLUMNS.contains(&f.name.as_str()) {
                    e.fill(Encoding::Plain);
                }
                let mut o = options;
                if NO_RANGE_COLUMNS.contains(&f.name.as_str()) {
                    o.statistics.min_value = false;
                    o.statistics.max_value = false;
                }
                (type_.clone(), e, o)
            })
            .collect();
        let key_values = vec![
            schema_to_metadata_key(&schema),
            KeyValue::new("armhunt.schema".into(), Some("canonical-v1".into())),
            KeyValue::new(
                "armhunt.sources".into(),
                Some(serde_json::to_string(sources).expect("strings serialise")),
            ),
        ];
        Ok(ParquetRowGroups {
            writer,
            columns,
            key_values,
        })
    }

    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            if batch.is_empty() {
                continue;
            }
            let mut columns = Vec::with_capacity(self.columns.len());
            for (array, (type_, encoding, options)) in batch.columns().iter().zip(&self.columns) {
                for pages in array_to_columns(array, type_.clone(), *options, encoding)? {
                    if options.compression == CompressionOptions::Lz4Raw {
                        columns.push(Ok(DynStreamingIterator::new(Lz4Pages {
                            pages,
                            current: None,
                        })));
                        continue;
                    }
                    let pages = pages
                        .map(|p| p.map_err(|e| ParquetError::FeatureNotSupported(e.to_string())));
                    let compressed =
                        Compressor::new_from_vec(pages, options.compression, Vec::new());
                    columns.push(Ok(DynStreamingIterator::new(
                        compressed.map_err(PolarsError::from),
                    )));
                }
            }
            self.writer
                .write(batch.len() as u64, DynIter::new(columns.into_iter()))?;
        }
        Ok(())
    }

    fn finish(mut self) -> PolarsResult<()> {
        self.writer.end(Some(self.key_values)).map(|_| ())
    }
}

/// Writes frame chunks to a Parquet or Arrow IPC file. Encoding and
/// compression run on a writer thread, overlapping with the ingest of the
/// next chunks; chunks are written in the order they are sent.
pub struct FrameWriter {
    tx: Option<std::sync::mpsc::SyncSender<DataFrame>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
    partial: PathBuf,
    path: PathBuf,
    pub rows: u64,
}

fn partial_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

impl Inner {
    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        match self {
            Inner::Parquet(w) => w.write(df),
            Inner::Arrow(w) => w.write_batch(df),
        }
    }

    fn finish(self) -> PolarsResult<()> {
        match self {
            Inner::Parquet(w) => w.finish(),
            Inner::Arrow(mut w) => w.finish(),
        }
    }
}

/// LZ4's acceleration for `--compression lz4`: 4 compresses the canonical
/// frame's pages about 1.4× faster than LZ4's default (1), for a file about
/// 1 % larger (claims text: ratio 2.82 against 2.85). See BENCHMARKS.md.
const LZ4_ACCELERATION: i32 = 4;

/// Compresses a column's pages with LZ4 (the Parquet `LZ4_RAW` codec: bare
/// blocks) at [`LZ4_ACCELERATION`], as they are written.
struct Lz4Pages<I> {
    pages: I,
    current: Option<CompressedPage>,
}

fn lz4_block(src: &[u8]) -> PolarsResult<Vec<u8>> {
    let io = |e: std::io::Error| PolarsError::ComputeError(format!("LZ4: {e}").into());
    let mut out = vec![0; lz4::block::compress_bound(src.len()).map_err(io)?];
    let n = lz4::block::compress_to_buffer(
        src,
        Some(lz4::block::CompressionMode::FAST(LZ4_ACCELERATION)),
        false,
        &mut out,
    )
    .map_err(io)?;
    out.truncate(n);
    Ok(out)
}

fn lz4_page(page: Page) -> PolarsResult<CompressedPage> {
    Ok(match page {
        Page::Data(p) if matches!(p.header(), DataPageHeader::V1(_)) => {
            let rows = p.num_rows.ok_or_else(|| {
                PolarsError::ComputeError("a data page written without its row count".into())
            })?;
            CompressedPage::Data(CompressedDataPage::new(
                p.header().clone(),
                CowBuffer::Owned(lz4_block(p.buffer())?),
                ParquetCodec::Lz4Raw,
                p.buffer().len(),
                p.descriptor,
                rows,
            ))
        }
        Page::Dict(p) => CompressedPage::Dict(CompressedDictPage::new(
            CowBuffer::Owned(lz4_block(&p.buffer)?),
            ParquetCodec::Lz4Raw,
            p.buffer.len(),
            p.num_values,
            p.is_sorted,
        )),
        // Version 2 data pages keep their levels uncompressed: polars'
        // compressor knows how (this writer writes version 1).
        other => compress(other, Vec::new(), CompressionOptions::Lz4Raw)?,
    })
}

impl<I: Iterator<Item = PolarsResult<Page>>> FallibleStreamingIterator for Lz4Pages<I> {
    type Item = CompressedPage;
    type Error = PolarsError;

    fn advance(&mut self) -> PolarsResult<()> {
        self.current = match self.pages.next() {
            Some(p) => Some(lz4_page(p?)?),
            None => None,
        };
        Ok(())
    }

    fn get(&self) -> Option<&CompressedPage> {
        self.current.as_ref()
    }
}

impl FrameWriter {
    /// `sources` are the input names, indexed by `source_file`.
    pub fn create(
        path: &Path,
        format: Format,
        compression: Compression,
        sources: &[String],
    ) -> Result<Self> {
        let partial = partial_path(path);
        let f = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let w = BufWriter::with_capacity(1 << 20, f);
        let schema = frame::schema();
        let pe = |e: PolarsError| Error::output(path, e);
        let mut inner = match format {
            Format::Parquet => Inner::Parquet(Box::new(
                ParquetRowGroups::new(w, compression, sources).map_err(pe)?,
            )),
            Format::Arrow => {
                let arrow_schema = schema.to_arrow(CompatLevel::newest());
                let fields =
                    polars_arrow::io::ipc::write::default_ipc_fields(arrow_schema.iter_values());
                Inner::Arrow(Box::new(
                    IpcWriter::new(w)
                        .with_compression(match compression {
                            Compression::Lz4 | Compression::Snappy => Some(IpcCompression::LZ4),
                            Compression::Zstd => Some(IpcCompression::ZSTD(Default::default())),
                            Compression::None => None,
                        })
                        .batched(&schema, fields)
                        .map_err(pe)?,
                ))
            }
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<DataFrame>(1);
        let tpath = path.to_path_buf();
        let thread = std::thread::spawn(move || -> Result<()> {
            for df in rx {
                // One row group per chunk (a unit: ~2,048 records or 8 MiB).
                inner.write(&df).map_err(|e| Error::output(&tpath, e))?;
            }
            inner.finish().map_err(|e| Error::output(&tpath, e))
        });
        Ok(FrameWriter {
            tx: Some(tx),
            thread: Some(thread),
            partial,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    fn join(&mut self) -> Result<()> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(Error::output(&self.path, "the writer thread panicked"))),
            None => Ok(()),
        }
    }

    /// Finishes the file and moves it into place.
    pub fn finish(mut self) -> Result<()> {
        if let Err(e) = self.join() {
            let _ = std::fs::remove_file(&self.partial);
            return Err(e);
        }
        std::fs::rename(&self.partial, &self.path).map_err(|e| Error::io(&self.path, e))
    }

    /// Removes the partial file after a failure.
    pub fn abandon(mut self) {
        let _ = self.join();
        let _ = std::fs::remove_file(&self.partial);
    }
}

impl FrameSink for FrameWriter {
    fn frame(&mut self, df: DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(df).is_ok())
            .unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        match self.join() {
            Err(e) => Err(e),
            Ok(()) => Err(Error::output(&self.path, "the writer stopped early")),
        }
    }
}
