//! Evidence: the original records behind the findings, read back from the
//! inputs by the source reference every frame row keeps.
//!
//! A record that sits on one line is copied byte for byte. One that spans
//! several lines (a pretty-printed array) keeps the same bytes with only the
//! insignificant whitespace between tokens removed: string contents, key
//! order, number spelling and escapes are untouched. A table row (CSV,
//! Parquet) is written as the JSON object of its cells, the same object
//! the ingest normalised. So every evidence line is itself an Activity Log
//! record that armhunt (or `jq`) reads back.
//!
//! With each line goes the SHA-256 of the original bytes (the record's
//! bytes in the input after gzip/zip/UTF-16 decoding; for Parquet, which
//! has no record bytes, of the serialised row), so a line can be checked
//! against the input: `tail -c +$((offset+1)) FILE | head -c $len | sha256sum`.

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;

use crate::detect::FindingsDoc;
use crate::error::{Error, Result};
use crate::input::split::minify_into;
use crate::input::tabular::{self, Table};
use crate::input::{self, SourceDesc, sha256_hex};

/// One evidence record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Row in the scanned frame.
    pub frame_row: u64,
    pub time_us: i64,
    /// Index into the run's input list.
    pub source: u32,
    pub offset: u64,
    pub len: u32,
    /// Ordinal of the record (or table row) in its input, from 0.
    pub row: u32,
    /// The evidence line (without its newline).
    pub line: String,
    /// SHA-256 of the original bytes.
    pub sha256: String,
    /// Indices of the findings it supports, ascending.
    pub findings: Vec<usize>,
}

impl EvidenceRow {
    /// The ids of the findings it supports, comma-separated.
    pub fn finding_ids(&self, doc: &FindingsDoc) -> String {
        self.findings
            .iter()
            .map(|&f| doc.findings[f].id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Every evidence record of a run, in time order, with the canonical rows.
pub struct Evidence {
    pub rows: Vec<EvidenceRow>,
    /// The canonical frame rows of `rows`, in the same order.
    pub frame: DataFrame,
    /// Per finding: indices into `rows`, in the finding's evidence order.
    pub of_finding: Vec<Vec<usize>>,
}

/// How a row's original record is read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Json,
    Csv,
    Parquet,
}

fn shape(dialect: &str) -> Shape {
    if dialect == "la-csv" {
        Shape::Csv
    } else if dialect.ends_with("-parquet") {
        Shape::Parquet
    } else {
        Shape::Json
    }
}

/// A record's bytes as one line: verbatim if on one line already, else
/// with the whitespace between tokens removed.
pub fn one_line(raw: &[u8]) -> String {
    let bytes = if memchr::memchr2(b'\n', b'\r', raw).is_some() {
        let mut out = Vec::with_capacity(raw.len());
        minify_into(raw, &mut out);
        out
    } else {
        raw.to_vec()
    };
    // The ingest parsed these bytes as JSON, so they are UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Reads the evidence of every finding of `doc` back from the inputs.
/// `frame` is the scanned frame, `sources` the run's input list, `cap`
/// the decompression cap of the run.
pub fn collect(
    frame: &DataFrame,
    doc: &FindingsDoc,
    sources: &[SourceDesc],
    cap: u64,
) -> Result<Evidence> {
    let mut by_row: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (fi, f) in doc.findings.iter().enumerate() {
        for &r in &f.evidence_rows {
            let v = by_row.entry(r).or_default();
            if v.last() != Some(&fi) {
                v.push(fi);
            }
        }
    }
    let idx: Vec<IdxSize> = by_row.keys().map(|&r| r as IdxSize).collect();
    let taken = frame.take(&IdxCa::from_vec(PlSmallStr::from_static("idx"), idx))?;

    let time = crate::frame::times(&taken)?;
    let file = taken.column("source_file")?.u32()?.clone();
    let offset = taken.column("source_offset")?.u64()?.clone();
    let len = taken.column("source_len")?.u32()?.clone();
    let srow = taken.column("source_row")?.u32()?.clone();
    let dialect = taken.column("dialect")?.cast(&DataType::String)?;
    let dialect = dialect.str()?;

    let mut rows: Vec<(EvidenceRow, Shape)> = by_row
        .into_iter()
        .enumerate()
        .map(|(i, (frame_row, findings))| {
            (
                EvidenceRow {
                    frame_row,
                    time_us: time.get(i).unwrap_or_default(),
                    source: file.get(i).unwrap_or_default(),
                    offset: offset.get(i).unwrap_or_default(),
                    len: len.get(i).unwrap_or_default(),
                    row: srow.get(i).unwrap_or_default(),
                    line: String::new(),
                    sha256: String::new(),
                    findings,
                },
                shape(dialect.get(i).unwrap_or("")),
            )
        })
        .collect();
    // `order[k]` is the taken-frame index of the k-th row in time order.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| {
        let r = &rows[i].0;
        (r.time_us, r.source, r.offset, r.row, r.frame_row)
    });

    let refs: Vec<RecordRef> = rows
        .iter()
        .map(|(r, sh)| RecordRef {
            source: r.source,
            offset: r.offset,
            len: r.len,
            row: r.row,
            shape: *sh,
        })
        .collect();
    for ((r, _), (line, sha)) in rows.iter_mut().zip(read_records(&refs, sources, cap)?) {
        r.line = line;
        r.sha256 = sha;
    }

    let take: Vec<IdxSize> = order.iter().map(|&i| i as IdxSize).collect();
    let frame = taken.take(&IdxCa::from_vec(PlSmallStr::from_static("idx"), take))?;
    let mut slots: Vec<Option<EvidenceRow>> = rows.into_iter().map(|(r, _)| Some(r)).collect();
    let rows: Vec<EvidenceRow> = order
        .iter()
        .map(|&i| slots[i].take().expect("each row once"))
        .collect();

    let pos: BTreeMap<u64, usize> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| (r.frame_row, k))
        .collect();
    let of_finding = doc
        .findings
        .iter()
        .map(|f| f.evidence_rows.iter().map(|r| pos[r]).collect())
        .collect();
    Ok(Evidence {
        rows,
        frame,
        of_finding,
    })
}

/// Where a record is, and how to read it back.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef {
    pub source: u32,
    pub offset: u64,
    pub len: u32,
    pub row: u32,
    shape: Shape,
}

impl RecordRef {
    /// From a frame row's source columns and dialect name.
    pub fn new(source: u32, offset: u64, len: u32, row: u32, dialect: &str) -> RecordRef {
        RecordRef {
            source,
            offset,
            len,
            row,
            shape: shape(dialect),
        }
    }
}

/// The source references of every row of a canonical frame.
pub fn record_refs(df: &DataFrame) -> Result<Vec<RecordRef>> {
    let file = df.column("source_file")?.u32()?;
    let offset = df.column("source_offset")?.u64()?;
    let len = df.column("source_len")?.u32()?;
    let row = df.column("source_row")?.u32()?;
    let dialect = df.column("dialect")?.cast(&DataType::String)?;
    let dialect = dialect.str()?;
    Ok((0..df.height())
        .map(|i| {
            RecordRef::new(
                file.get(i).unwrap_or_default(),
                offset.get(i).unwrap_or_default(),
                len.get(i).unwrap_or_default(),
                row.get(i).unwrap_or_default(),
                dialect.get(i).unwrap_or(""),
            )
        })
        .collect())
}

/// Reads records back from the inputs: per record its line (see the
/// module docs) and the SHA-256 of its original bytes, in the order of
/// `refs`. Each input is loaded once; inputs are read in parallel.
pub fn read_records(
    refs: &[RecordRef],
    sources: &[SourceDesc],
    cap: u64,
) -> Result<Vec<(String, String)>> {
    let mut per_source: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, r) in refs.iter().enumerate() {
        per_source.entry(r.source).or_default().push(i);
    }
    let filled: Vec<Vec<(usize, String, String)>> = per_source
        .into_par_iter()
        .map(|(src, members)| {
            let desc = sources.get(src as usize).ok_or_else(|| {
                Error::output(
                    std::path::Path::new("evidence"),
                    format!("source index {src} is not in the input list"),
                )
            })?;
            read_back(desc, cap, &members, refs)
        })
        .collect::<Result<_>>()?;
    let mut out = vec![(String::new(), String::new()); refs.len()];
    for (i, line, sha) in filled.into_iter().flatten() {
        out[i] = (line, sha);
    }
    Ok(out)
}

/// Reads the records `members` (indices into `refs`) of one input.
fn read_back(
    desc: &SourceDesc,
    cap: u64,
    members: &[usize],
    refs: &[RecordRef],
) -> Result<Vec<(usize, String, String)>> {
    let name = desc.display();
    let fail = |msg: String| Error::output(std::path::Path::new(&name), msg);
    let loaded = input::load(desc, cap, false)
        .map_err(|e| fail(format!("cannot read the input again for its records: {e}")))?;
    let b: &[u8] = &loaded.content;
    let mut table: Option<Table> = None;
    let mut out = Vec::with_capacity(members.len());
    for &i in members {
        let r = &refs[i];
        let sh = &r.shape;
        let (start, end) = (r.offset as usize, r.offset as usize + r.len as usize);
        if end > b.len() {
            return Err(fail(format!(
                "the record at offset {} (length {}) is past the end of the input ({} bytes): \
                 the file changed since it was read",
                r.offset,
                r.len,
                b.len()
            )));
        }
        let raw = &b[start..end];
        match sh {
            Shape::Json => out.push((i, one_line(raw), sha256_hex(raw))),
            Shape::Csv | Shape::Parquet => {
                if table.is_none() {
                    let t = match sh {
                        Shape::Csv => tabular::open_csv(b),
                        _ => tabular::open_parquet(b),
                    }
                    .map_err(|e| fail(format!("cannot open the table again: {e}")))?;
                    table = Some(t);
                }
                let t = table.as_ref().expect("opened above");
                let row = r.row as usize;
                if row >= t.len() {
                    return Err(fail(format!(
                        "row {row} is past the end of the table ({} rows): the file changed \
                         since it was read",
                        t.len()
                    )));
                }
                let mut got = None;
                t.rows_json(b, row..row + 1, |_, j| {
                    got = Some(j.map(str::to_owned));
                });
                let line = got
                    .expect("one row asked, one row given")
                    .map_err(|e| fail(format!("row {row}: {e}")))?;
                let sha = if *sh == Shape::Csv {
                    sha256_hex(raw)
                } else {
                    sha256_hex(line.as_bytes())
                };
                out.push((i, line, sha));
            }
        }
    }
    Ok(out)
}

/// The canonical rows of the evidence with, per row, where the original
/// lives and its hash: `source_path`, `record_sha256`, `record` (the
/// evidence line) and `finding_ids` (comma-separated).
pub fn frame(ev: &Evidence, doc: &FindingsDoc, sources: &[SourceDesc]) -> Result<DataFrame> {
    let n = ev.rows.len();
    let mut path = Vec::with_capacity(n);
    let mut sha = Vec::with_capacity(n);
    let mut rec = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for r in &ev.rows {
        path.push(crate::input::source_name(sources, r.source));
        sha.push(r.sha256.as_str());
        rec.push(r.line.as_str());
        ids.push(r.finding_ids(doc));
    }
    let mut df = ev.frame.clone();
    df.with_column(Column::new("source_path".into(), path))?;
    df.with_column(Column::new("record_sha256".into(), sha))?;
    df.with_column(Column::new("record".into(), rec))?;
    df.with_column(Column::new("finding_ids".into(), ids))?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_records_are_copied_and_pretty_ones_lose_only_whitespace() {
        let flat = br#"{"a": "x  y", "n":1.50E2}"#;
        assert_eq!(one_line(flat), r#"{"a": "x  y", "n":1.50E2}"#);
        let pretty = b"{\n  \"a\" : \"x \\\"  y\\n\",\r\n  \"b\": [ 1, 2 ]\n}";
        assert_eq!(one_line(pretty), "{\"a\":\"x \\\"  y\\n\",\"b\":[1,2]}");
    }

    #[test]
    fn shapes_follow_the_dialect() {
        assert!(shape("la-csv") == Shape::Csv);
        assert!(shape("la-parquet") == Shape::Parquet);
        assert!(shape("canonical-parquet") == Shape::Parquet);
        assert!(shape("rest-array") == Shape::Json);
        assert!(shape("storage-jsonl") == Shape::Json);
    }
}
