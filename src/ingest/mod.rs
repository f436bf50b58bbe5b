//! Ingest: every input → canonical frame chunks, plus the ledger of what
//! was read, kept, dropped as duplicate, rejected or skipped.
//!
//! Work is done in groups of inputs (bounded by bytes) so memory stays
//! bounded: a group is loaded, hashed and split in parallel, its records
//! are parsed and normalised in parallel units, and each wave of units is
//! assembled in input order, de-duplicated against everything kept so far,
//! and handed to the caller's sink. Order is always input order, so output
//! is deterministic whatever the thread count.

mod record;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::path::PathBuf;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{Error, Result};
use crate::frame::{self, Dialect, Framing};
use crate::input::split::{self, Problem, Split};
use crate::input::tabular::{self, Table};
use crate::input::{self, Kind, Loaded, SourceDesc};
use crate::normalize::MapOptions;
use crate::progress::Progress;
use record::{UnitAcc, Worker};

/// Options for reading inputs.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub map: MapOptions,
    /// Largest decompressed size accepted for one gzip stream or zip entry.
    pub max_decompressed: u64,
    /// Inputs are loaded in groups of about this many bytes.
    pub group_bytes: u64,
    /// Frame chunks are assembled from about this many record bytes.
    pub wave_bytes: u64,
    /// Compute each input's SHA-256 (for reports that list it).
    pub hash: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            map: MapOptions::default(),
            max_decompressed: 4 << 30,
            group_bytes: 256 << 20,
            wave_bytes: 64 << 20,
            hash: true,
        }
    }
}

/// What happened to one input.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    /// The export dialect of its records (the most common one).
    pub dialect: Option<String>,
    /// Size in bytes on disk (uncompressed size, for zip entries).
    pub bytes: u64,
    /// SHA-256 of the input; absent when the command did not hash (`convert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub records_found: u64,
    pub records_kept: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Why the input was not read, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Decoding done before reading (`gzip`, `zip`, `utf-16le`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<&'static str>,
}

/// A record that is not in the frame.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Reject {
    pub file: String,
    /// Byte offset in the input (after decompression, for compressed inputs).
    pub offset: u64,
    pub length: u64,
    /// Row number, for tabular inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    pub reason: String,
    /// The first bytes of the record, escaped.
    pub excerpt: String,
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub records_found: u64,
    pub records_kept: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// The ledger of a whole ingest.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IngestReport {
    pub files: Vec<FileReport>,
    pub totals: Totals,
}

/// Receives frame chunks, in input order.
pub trait FrameSink: Send {
    fn frame(&mut self, df: DataFrame) -> Result<()>;
}

/// Receives rejects, in input order.
pub trait RejectSink: Send {
    fn reject(&mut self, r: &Reject) -> Result<()>;
}

/// Collects every chunk into one frame.
#[derive(Default)]
pub struct CollectFrames(pub Vec<DataFrame>);

impl FrameSink for CollectFrames {
    fn frame(&mut self, df: DataFrame) -> Result<()> {
        self.0.push(df);
        Ok(())
    }
}

impl CollectFrames {
    pub fn into_frame(self) -> Result<DataFrame> {
        let mut it = self.0.into_iter();
        let Some(mut df) = it.next() else {
            return Ok(frame::empty());
        };
        for d in it {
            df.vstack_mut_owned(d)?;
        }
        // One chunk per column for fast row access, except the two largest
        // (`properties`, `claims`: most of the bytes), which are only ever
        // gathered by row; copying them would cost more than it gains.
        let height = df.height();
        let cols: Vec<Column> = df
            .columns()
            .iter()
            .map(|c| match c.name().as_str() {
                "properties" | "claims" => c.clone(),
                _ => c.rechunk(),
            })
            .collect();
        Ok(DataFrame::new(height, cols)?)
    }
}

impl RejectSink for Vec<Reject> {
    fn reject(&mut self, r: &Reject) -> Result<()> {
        self.push(r.clone());
        Ok(())
    }
}

/// The body of a prepared input.
enum Body {
    Json {
        split: Split,
        table_columns: Vec<Vec<String>>,
    },
    Tab {
        table: Table,
    },
    None,
}

/// An input loaded, hashed and split, ready for its records to be parsed.
struct Prepared {
    loaded: Option<Loaded>,
    body: Body,
    framing: Framing,
    report: FileReport,
    early_rejects: Vec<Reject>,
}

impl Prepared {
    fn content(&self) -> &[u8] {
        self.loaded.as_ref().map(|l| &l.content[..]).unwrap_or(&[])
    }
}

/// Renders the first bytes of a record for a reject: printable text as is,
/// control characters and invalid UTF-8 as escapes.
pub fn excerpt(b: &[u8]) -> String {
    const MAX: usize = 160;
    let cut = &b[..b.len().min(MAX)];
    let mut out = String::with_capacity(cut.len() + 8);
    for chunk in cut.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    if b.len() > MAX {
        out.push('…');
    }
    out
}

fn reject_at(file: &str, content: &[u8], p: &Problem, row: Option<u32>) -> Reject {
    let end = (p.offset + p.len).min(content.len());
    let start = p.offset.min(end);
    Reject {
        file: file.to_owned(),
        offset: p.offset as u64,
        length: p.len as u64,
        row,
        reason: p.reason.clone(),
        excerpt: excerpt(&content[start..end]),
    }
}

/// Loads, hashes, sniffs and splits one input.
fn prepare(desc: &SourceDesc, opts: &IngestOptions) -> Prepared {
    let display = desc.display();
    let mut report = FileReport {
        path: display.clone(),
        dialect: None,
        bytes: 0,
        sha256: None,
        records_found: 0,
        records_kept: 0,
        duplicates: 0,
        rejected: 0,
        skipped: None,
        transforms: Vec::new(),
    };
    let skip = |mut report: FileReport, loaded: Option<Loaded>, why: String| {
        report.skipped = Some(why);
        Prepared {
            loaded,
            body: Body::None,
            framing: Framing::Objects,
            report,
            early_rejects: Vec::new(),
        }
    };
    let loaded = match input::load(desc, opts.max_decompressed, opts.hash) {
        Ok(l) => l,
        Err(e) => {
            // Still hash what is on disk when the file itself is readable.
            if let Ok(b) = std::fs::read(&desc.path) {
                report.bytes = b.len() as u64;
                if desc.entry.is_none() && opts.hash {
                    report.sha256 = Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)));
                }
            }
            return skip(report, None, e.0);
        }
    };
    report.bytes = loaded.size;
    report.sha256 = loaded.sha256.clone();
    report.transforms = loaded.transforms.clone();
    if desc.container {
        report.dialect = Some("zip-archive".into());
        return Prepared {
            loaded: None,
            body: Body::None,
            framing: Framing::Objects,
            report,
            early_rejects: Vec::new(),
        };
    }
    match input::sniff(&loaded.content) {
        Kind::Empty => skip(report, None, "empty".into()),
        Kind::Unknown(why) => skip(report, None, why),
        Kind::Json => {
            let split = split::split_json(&loaded.content);
            let framing = split.framing.unwrap_or(Framing::Objects);
            let table_columns = split
                .tables
                .iter()
                .map(|t| {
                    t.columns_at
                        .map(|(o, l)| record::column_names(&loaded.content[o..o + l]))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>();
            if let Some(why) = record::sniff_not_activity(&loaded.content, &split, &table_columns) {
                return skip(report, None, format!("not an Activity Log: {why}"));
            }
            let early_rejects = split
                .problems
                .iter()
                .map(|p| reject_at(&display, &loaded.content, p, None))
                .collect();
            Prepared {
                loaded: Some(loaded),
                body: Body::Json {
                    split,
                    table_columns,
                },
                framing,
                report,
                early_rejects,
            }
        }
        Kind::Csv | Kind::Parquet => {
            let is_csv = input::sniff(&loaded.content) == Kind::Csv;
            let table = if is_csv {
                tabular::open_csv(&loaded.content)
            } else {
                tabular::open_parquet(&loaded.content)
            };
            let table = match table {
                Ok(t) => t,
                Err(why) => return skip(report, None, why),
            };
            let mut first_verdict = None;
            table.rows_json(&loaded.content, 0..table.len().min(1), |_, r| {
                first_verdict = r.ok().map(record::not_activity_json);
            });
            if let Some(Some(why)) = first_verdict {
                return skip(report, None, format!("not an Activity Log: {why}"));
            }
            Prepared {
                loaded: Some(loaded),
                body: Body::Tab { table },
                framing: if is_csv {
                    Framing::Csv
                } else {
                    Framing::Parquet
                },
                report,
                early_rejects: Vec::new(),
            }
        }
    }
}

/// Records `range` of prepared input `src`.
struct Part {
    src: usize,
    range: Range<usize>,
}

/// A unit of parallel work: consecutive records, possibly of several small
/// inputs, so each unit makes a frame chunk of a useful size.
struct Unit {
    parts: Vec<Part>,
    bytes: u64,
}

const UNIT_RECORDS: usize = 2048;
const UNIT_BYTES: u64 = 8 << 20;

fn record_sizes(p: &Prepared) -> Vec<u64> {
    match &p.body {
        Body::Json { split, .. } => split.records.iter().map(|s| s.len as u64).collect(),
        Body::Tab { table } => (0..table.len()).map(|i| table.row_weight(i)).collect(),
        Body::None => Vec::new(),
    }
}

/// Cuts the records of a group's inputs, in order, into units.
fn units_of(prepared: &[Prepared]) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut cur = Unit {
        parts: Vec::new(),
        bytes: 0,
    };
    let mut cur_records = 0;
    for (src, p) in prepared.iter().enumerate() {
        let sizes = record_sizes(p);
        let mut i = 0;
        while i < sizes.len() {
            let start = i;
            while i < sizes.len() && cur_records < UNIT_RECORDS && cur.bytes < UNIT_BYTES {
                cur.bytes += sizes[i];
                cur_records += 1;
                i += 1;
            }
            cur.parts.push(Part {
                src,
                range: start..i,
            });
            if cur_records >= UNIT_RECORDS || cur.bytes >= UNIT_BYTES {
                out.push(std::mem::replace(
                    &mut cur,
                    Unit {
                        parts: Vec::new(),
                        bytes: 0,
                    },
                ));
                cur_records = 0;
            }
        }
    }
    if !cur.parts.is_empty() {
        out.push(cur);
    }
    out
}

fn run_unit(prepared: &[Prepared], base: usize, unit: &Unit, opts: &IngestOptions) -> UnitAcc {
    let rows = unit.parts.iter().map(|p| p.range.len()).sum();
    let mut w = Worker::new(opts.map, rows);
    for part in &unit.parts {
        let p = &prepared[part.src];
        w.set_source(part.src, (base + part.src) as u32, &p.report.path);
        match &p.body {
            Body::Json {
                split,
                table_columns,
            } => {
                let content = p.content();
                for (i, span) in split.records[part.range.clone()].iter().enumerate() {
                    let row_no = (part.range.start + i) as u32;
                    let cols = span.table.map(|t| table_columns[t as usize].as_slice());
                    w.json_record(content, span.offset, span.len, row_no, cols, p.framing, 0);
                }
            }
            Body::Tab { table } => {
                let content = p.content();
                table.rows_json(content, part.range.clone(), |i, json| {
                    let (offset, len) = table.span(i);
                    match json {
                        Ok(j) => w.tab_record(j, offset, len, i as u32, p.framing),
                        Err(why) => {
                            w.tab_reject(&content[offset..offset + len], offset, i as u32, why)
                        }
                    }
                });
            }
            Body::None => {}
        }
    }
    w.finish()
}

/// The set of `event_id`s kept so far, by their 128-bit xxh3 hash.
type Seen = HashSet<u128, BuildHasherDefault<LowBits>>;

/// Hashes a u128 that is already a hash to its low 64 bits.
#[derive(Default)]
struct LowBits(u64);

impl Hasher for LowBits {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// What the run has learnt so far: one report per input, the dialects
/// counted per input, and the ids kept.
struct Ledger {
    files: Vec<FileReport>,
    dialect_counts: Vec<Vec<(Dialect, u64)>>,
    seen: Seen,
}

impl Ledger {
    /// Takes in a wave of units (of the group whose first input is `base`),
    /// if there is one, in input order: their rejects and counts, then
    /// their rows, less duplicates, to the frame sink.
    fn take(
        &mut self,
        outs: Option<Vec<UnitAcc>>,
        base: usize,
        frames: &mut dyn FrameSink,
        rejects: &mut dyn RejectSink,
    ) -> Result<()> {
        let mut wave: Option<DataFrame> = None;
        for out in outs.into_iter().flatten() {
            for r in &out.rejects {
                rejects.reject(r)?;
            }
            for src in &out.sources {
                let fi = base + src.src;
                self.files[fi].records_found += src.found;
                self.files[fi].rejected += src.rejected;
                for &(d, n) in &src.dialects {
                    match self.dialect_counts[fi].iter_mut().find(|(x, _)| *x == d) {
                        Some(e) => e.1 += n,
                        None => self.dialect_counts[fi].push((d, n)),
                    }
                }
            }
            if let Some(df) = out.frame {
                match &mut wave {
                    None => wave = Some(df),
                    Some(w) => {
                        w.vstack_mut_owned(df)?;
                    }
                }
            }
        }
        if let Some(mut df) = wave {
            // Chunks stay as the units made them; a sink that wants
            // one chunk (the Parquet writer) rechunks off this thread.
            df = dedup(df, &mut self.seen, &mut self.files)?;
            if df.height() > 0 {
                frames.frame(df)?;
            }
        }
        Ok(())
    }
}

/// Reads every source and feeds frame chunks and rejects to the sinks.
///
/// Waves are pipelined: while the pool parses and maps one wave, the wave
/// before it is de-duplicated and handed to the sinks (which may do real
/// work: counting, filtering, or waiting for the Parquet writer), so
/// neither waits for the other.
pub fn run(
    sources: &[SourceDesc],
    opts: &IngestOptions,
    frames: &mut dyn FrameSink,
    rejects: &mut dyn RejectSink,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let sizes: Vec<u64> = sources
        .par_iter()
        .map(|s| {
            if s.entry.is_some() {
                0
            } else {
                std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)
            }
        })
        .collect();
    progress.set_total(sizes.iter().sum());
    let mut ledger = Ledger {
        files: Vec::with_capacity(sources.len()),
        dialect_counts: Vec::with_capacity(sources.len()),
        seen: Seen::default(),
    };

    let mut g = 0;
    while g < sources.len() {
        // A group: consecutive sources up to `group_bytes` (at least one).
        let mut end = g + 1;
        let mut acc = sizes[g];
        while end < sources.len() && acc + sizes[end] <= opts.group_bytes && end - g < 4096 {
            acc += sizes[end];
            end += 1;
        }
        let prepared: Vec<Prepared> = sources[g..end]
            .par_iter()
            .map(|d| prepare(d, opts))
            .collect();
        let base = g;
        for p in &prepared {
            let mut rep = p.report.clone();
            rep.rejected = p.early_rejects.len() as u64;
            rep.records_found = rep.rejected;
            ledger.files.push(rep);
            ledger.dialect_counts.push(Vec::new());
            for r in &p.early_rejects {
                rejects.reject(r)?;
            }
        }
        let units = units_of(&prepared);
        let mut backlog: Option<Vec<UnitAcc>> = None;
        let mut u = 0;
        while u < units.len() {
            let mut wend = u + 1;
            let mut wbytes = units[u].bytes;
            while wend < units.len() && wbytes + units[wend].bytes <= opts.wave_bytes {
                wbytes += units[wend].bytes;
                wend += 1;
            }
            let wave = &units[u..wend];
            let (outs, taken) = rayon::join(
                || {
                    wave.par_iter()
                        .map(|unit| {
                            let out = run_unit(&prepared, base, unit, opts);
                            progress.inc(unit.bytes);
                            out
                        })
                        .collect::<Vec<UnitAcc>>()
                },
                || ledger.take(backlog.take(), base, frames, rejects),
            );
            taken?;
            backlog = Some(outs);
            u = wend;
        }
        // The group's last wave, while its inputs are unmapped.
        let (taken, ()) = rayon::join(
            || ledger.take(backlog.take(), base, frames, rejects),
            move || drop(prepared),
        );
        taken?;
        progress.set_position(sizes[..end].iter().sum());
        g = end;
    }

    let Ledger {
        mut files,
        dialect_counts,
        ..
    } = ledger;
    let mut totals = Totals::default();
    for (f, dc) in files.iter_mut().zip(dialect_counts) {
        f.records_kept = f.records_found - f.rejected - f.duplicates;
        if let Some((d, _)) = dc.iter().max_by_key(|(d, n)| (*n, std::cmp::Reverse(*d))) {
            f.dialect = Some(d.as_str().to_owned());
        }
        totals.records_found += f.records_found;
        totals.records_kept += f.records_kept;
        totals.duplicates += f.duplicates;
        totals.rejected += f.rejected;
    }
    progress.finish();
    Ok(IngestReport { files, totals })
}

/// Drops rows whose `event_id` was already kept, counting them per file.
fn dedup(df: DataFrame, seen: &mut Seen, files: &mut [FileReport]) -> Result<DataFrame> {
    let ids = df.column("event_id")?.str()?;
    let src = df.column("source_file")?.u32()?;
    let mut keep = Vec::with_capacity(df.height());
    let mut dropped = 0usize;
    seen.reserve(df.height());
    for (id, sf) in ids.iter().zip(src.iter()) {
        let h = xxh3_128(id.unwrap_or("").as_bytes());
        let fresh = seen.insert(h);
        if !fresh {
            dropped += 1;
            if let Some(sf) = sf {
                files[sf as usize].duplicates += 1;
            }
        }
        keep.push(fresh);
    }
    if dropped == 0 {
        return Ok(df);
    }
    let mask = BooleanChunked::from_slice(PlSmallStr::from_static("keep"), &keep);
    Ok(df.filter(&mask)?)
}

/// Convenience: discover and ingest `paths`, collecting one frame.
pub fn read_all(
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<(DataFrame, IngestReport, Vec<Reject>)> {
    let sources = input::discover(paths)?;
    let mut frames = CollectFrames::default();
    let mut rejects = Vec::new();
    let report = run(&sources, opts, &mut frames, &mut rejects, progress)?;
    Ok((frames.into_frame()?, report, rejects))
}

impl From<PolarsError> for Error {
    fn from(e: PolarsError) -> Self {
        Error::Polars(e.to_string())
    }
}
