//! Parsing one record's bytes with simd-json and pushing its canonical row
//! (or its reject) into a unit's accumulator.

use std::fmt::Write as _;

use polars::prelude::DataFrame;
use simd_json::Buffers;
use xxhash_rust::xxh3::xxh3_128;

use super::{Reject, excerpt};
use crate::frame::{Col, Dialect, FrameBuilder, Framing, SourceRef};
use crate::input::split::{self, Split};
use crate::normalize::tape::{TVal, write_json_str};
use crate::normalize::{self, MapOptions, Scratch, SubParser, envelope_key, map_record};

/// What one unit found in one of its inputs.
pub struct SourceAcc {
    /// Index of the input in its group.
    pub src: usize,
    /// Records found (kept + rejected).
    pub found: u64,
    pub rejected: u64,
    pub dialects: Vec<(Dialect, u64)>,
}

/// The output of one unit of work.
pub struct UnitAcc {
    pub frame: Option<DataFrame>,
    pub rejects: Vec<Reject>,
    pub sources: Vec<SourceAcc>,
}

/// Per-unit parsing state: scratch buffers reused across records.
pub struct Worker {
    opts: MapOptions,
    file: u32,
    path: String,
    buf: Vec<u8>,
    buffers: Buffers,
    sub: SubParser,
    min: Vec<u8>,
    idbuf: String,
    scratch: Scratch,
    rowjson: String,
    builder: FrameBuilder,
    rejects: Vec<Reject>,
    sources: Vec<SourceAcc>,
}

/// The stable id of a record without an `eventDataId`: a hash of its bytes
/// with insignificant whitespace removed, so the same record exported
/// compact or pretty-printed gets the same id. Written into `out`.
pub fn content_id<'o>(raw: &[u8], scratch: &mut Vec<u8>, out: &'o mut String) -> &'o str {
    // Most records (storage JSON Lines) are already compact: hash them as
    // they are, without copying.
    let h = if split::is_compact(raw) {
        xxh3_128(raw)
    } else {
        scratch.clear();
        split::minify_into(raw, scratch);
        xxh3_128(scratch)
    };
    out.clear();
    out.push_str("xxh3:");
    let _ = write!(out, "{h:032x}");
    out
}

enum Outcome {
    Done,
    Nested(Framing),
}

impl Worker {
    /// A worker whose frame chunk has room for `rows` rows from the start.
    pub fn new(opts: MapOptions, rows: usize) -> Self {
        Worker {
            opts,
            file: 0,
            path: String::new(),
            buf: Vec::new(),
            buffers: Buffers::new(16 * 1024),
            sub: SubParser::default(),
            min: Vec::new(),
            idbuf: String::new(),
            scratch: Scratch::default(),
            rowjson: String::new(),
            builder: FrameBuilder::new(rows),
            rejects: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// The input the next records come from: `src` within the group, `file`
    /// in the run's input list.
    pub fn set_source(&mut self, src: usize, file: u32, path: &str) {
        self.file = file;
        if self.path != path {
            self.path = path.to_owned();
        }
        self.sources.push(SourceAcc {
            src,
            found: 0,
            rejected: 0,
            dialects: Vec::new(),
        });
    }

    fn current(&mut self) -> &mut SourceAcc {
        if self.sources.is_empty() {
            self.sources.push(SourceAcc {
                src: 0,
                found: 0,
                rejected: 0,
                dialects: Vec::new(),
            });
        }
        self.sources.last_mut().expect("a source is set")
    }

    pub fn finish(self) -> UnitAcc {
        let frame = (!self.builder.is_empty()).then(|| self.builder.finish());
        UnitAcc {
            frame,
            rejects: self.rejects,
            sources: self.sources,
        }
    }

    fn reject(&mut self, raw: &[u8], offset: usize, row: Option<u32>, reason: String) {
        let cur = self.current();
        cur.found += 1;
        cur.rejected += 1;
        self.rejects.push(Reject {
            file: self.path.clone(),
            offset: offset as u64,
            length: raw.len() as u64,
            row,
            reason,
            excerpt: excerpt(raw),
        });
    }

    fn count_dialect(&mut self, d: Dialect) {
        let cur = self.current();
        cur.found += 1;
        match cur.dialects.iter_mut().find(|(x, _)| *x == d) {
            Some(e) => e.1 += 1,
            None => cur.dialects.push((d, 1)),
        }
    }

    /// One JSON record at `content[offset..offset+len]`. `table` holds the
    /// column names when the record is a `{"tables":…}` row.
    #[allow(clippy::too_many_arguments)]
    pub fn json_record(
        &mut self,
        content: &[u8],
        offset: usize,
        len: usize,
        row_no: u32,
        table: Option<&[String]>,
        framing: Framing,
        depth: u8,
    ) {
        let raw = &content[offset..offset + len];
        if let Some(cols) = table {
            match self.table_row_json(raw, cols) {
                Ok(()) => {
                    let json = std::mem::take(&mut self.rowjson);
                    let src = SourceRef {
                        file: self.file,
                        offset: offset as u64,
                        len: len as u32,
                        row: row_no,
                    };
                    self.map_json(json.as_bytes(), raw, src, framing, offset, Some(row_no));
                    self.rowjson = json;
                }
                Err(reason) => self.reject(raw, offset, Some(row_no), reason),
            }
            return;
        }
        let src = SourceRef {
            file: self.file,
            offset: offset as u64,
            len: len as u32,
            row: row_no,
        };
        match self.map_json(raw, raw, src, framing, offset, None) {
            Outcome::Done => {}
            Outcome::Nested(child_framing) => {
                if depth >= 4 {
                    self.reject(raw, offset, None, "records nested too deeply".into());
                    return;
                }
                let nested: Split = split::split_nested(raw, offset);
                for p in &nested.problems {
                    let end = (p.offset + p.len).min(content.len());
                    let r = &content[p.offset.min(end)..end];
                    self.reject(r, p.offset, None, p.reason.clone());
                }
                let cols: Vec<Vec<String>> = nested
                    .tables
                    .iter()
                    .map(|t| {
                        t.columns_at
                            .map(|(o, l)| column_names(&content[o..o + l]))
                            .unwrap_or_default()
                    })
                    .collect();
                let framing = nested.framing.map(|f| {
                    if f == Framing::Array {
                        child_framing
                    } else {
                        f
                    }
                });
                for (k, s) in nested.records.iter().enumerate() {
                    let tc = s.table.map(|t| cols[t as usize].as_slice());
                    self.json_record(
                        content,
                        s.offset,
                        s.len,
                        row_no.saturating_add(k as u32),
                        tc,
                        framing.unwrap_or(child_framing),
                        depth + 1,
                    );
                }
            }
        }
    }

    /// Parses `json` and maps it; `raw` is the record as found in the input
    /// (for the content id and the reject excerpt).
    fn map_json(
        &mut self,
        json: &[u8],
        raw: &[u8],
        src: SourceRef,
        framing: Framing,
        offset: usize,
        row: Option<u32>,
    ) -> Outcome {
        self.buf.clear();
        self.buf.extend_from_slice(json);
        let Worker {
            buf,
            buffers,
            sub,
            min,
            idbuf,
            scratch,
            builder,
            opts,
            ..
        } = self;
        let tape = match simd_json::to_tape_with_buffers(buf, buffers) {
            Ok(t) => t,
            Err(e) => {
                let reason = match std::str::from_utf8(raw) {
                    Err(u) => format!("invalid UTF-8 at byte offset {}", offset + u.valid_up_to()),
                    Ok(_) => format!("not valid JSON: {e}"),
                };
                self.reject(raw, offset, row, reason);
                return Outcome::Done;
            }
        };
        let root = TVal::root(&tape.0);
        if root.is_array() {
            return Outcome::Nested(framing);
        }
        if let Some(k) = envelope_key(root) {
            return Outcome::Nested(match k {
                "records" => Framing::Records,
                "value" => Framing::Value,
                _ => Framing::Tables,
            });
        }
        let result = match map_record(root, *opts, sub, scratch) {
            Ok(r) => {
                let id = r
                    .get(Col::EventId)
                    .is_none()
                    .then(|| content_id(raw, min, idbuf));
                let d = Dialect::of(r.schema, framing);
                builder.push(&r, id, d, src);
                Ok(d)
            }
            Err(e) => Err(e.to_string()),
        };
        drop(tape);
        match result {
            Ok(d) => self.count_dialect(d),
            Err(reason) => self.reject(raw, offset, row, reason),
        }
        Outcome::Done
    }

    /// Turns a `{"tables":…}` row array into a JSON object in `rowjson`.
    fn table_row_json(&mut self, raw: &[u8], cols: &[String]) -> Result<(), String> {
        self.buf.clear();
        self.buf.extend_from_slice(raw);
        let tape = simd_json::to_tape_with_buffers(&mut self.buf, &mut self.buffers)
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let root = TVal::root(&tape.0);
        if !root.is_array() {
            return Err("a table row that is not an array".into());
        }
        let out = &mut self.rowjson;
        out.clear();
        out.push('{');
        for (i, v) in root.elements().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match cols.get(i) {
                Some(c) => write_json_str(c, out),
                None => write_json_str(&format!("column{}", i + 1), out),
            }
            out.push(':');
            v.write_json(out);
        }
        out.push('}');
        Ok(())
    }

    /// One CSV / Parquet row, as JSON; `offset`/`len` locate it in the input
    /// (0, 0 for Parquet), `row` is its number.
    pub fn tab_record(
        &mut self,
        json: &str,
        offset: usize,
        len: usize,
        row: u32,
        framing: Framing,
    ) {
        let src = SourceRef {
            file: self.file,
            offset: offset as u64,
            len: len as u32,
            row,
        };
        self.map_json(
            json.as_bytes(),
            json.as_bytes(),
            src,
            framing,
            offset,
            Some(row),
        );
    }

    /// A CSV row that could not be read.
    pub fn tab_reject(&mut self, raw: &[u8], offset: usize, row: u32, reason: String) {
        self.reject(raw, offset, Some(row), reason);
    }
}

/// Column names from a `columns` array of `{"name":…,"type":…}` objects.
pub fn column_names(b: &[u8]) -> Vec<String> {
    let mut buf = b.to_vec();
    let Ok(tape) = simd_json::to_tape(&mut buf) else {
        return Vec::new();
    };
    TVal::root(&tape.0)
        .elements()
        .map(|c| {
            c.get("name")
                .or_else(|| c.get("ColumnName"))
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .unwrap_or_default()
        })
        .collect()
}

/// Why a JSON object's text is not an activity record, if it is not one.
pub fn not_activity_json(json: &str) -> Option<String> {
    let mut buf = json.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut buf).ok()?;
    normalize::not_activity_reason(TVal::root(&tape.0))
}

/// Looks at the first records of a JSON input: when every one that parses
/// is something other than an activity record, says why the file is not an
/// Activity Log. Unparseable records do not decide (they become rejects).
pub fn sniff_not_activity(
    content: &[u8],
    split: &Split,
    table_columns: &[Vec<String>],
) -> Option<String> {
    let mut first_reason = None;
    let mut looked = 0;
    for s in split.records.iter().take(8) {
        let raw = &content[s.offset..s.offset + s.len];
        let verdict = match s.table {
            Some(t) => {
                // Only turns the row into JSON: no frame rows.
                let mut w = Worker::new(MapOptions::default(), 0);
                match w.table_row_json(raw, &table_columns[t as usize]) {
                    Ok(()) => Some(not_activity_json(&w.rowjson)),
                    Err(_) => None,
                }
            }
            None => sniff_value(raw, 0),
        };
        match verdict {
            None => continue,
            Some(None) => return None,
            Some(Some(why)) => {
                looked += 1;
                first_reason.get_or_insert(why);
            }
        }
    }
    (looked > 0).then_some(first_reason).flatten()
}

/// `None`: unparseable; `Some(None)`: an activity record; `Some(Some(why))`: not one.
fn sniff_value(raw: &[u8], depth: u8) -> Option<Option<String>> {
    let mut buf = raw.to_vec();
    let tape = simd_json::to_tape(&mut buf).ok()?;
    let root = TVal::root(&tape.0);
    if depth < 3 && (root.is_array() || envelope_key(root).is_some()) {
        let nested = split::split_nested(raw, 0);
        let first = nested.records.first()?;
        if first.table.is_some() {
            // Table rows inside a nested envelope: decided when read.
            return Some(None);
        }
        return sniff_value(&raw[first.offset..first.offset + first.len], depth + 1);
    }
    Some(normalize::not_activity_reason(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_ignore_whitespace() {
        let mut s = Vec::new();
        let (mut o1, mut o2, mut o3) = (String::new(), String::new(), String::new());
        let a = content_id(b"{\"a\": 1, \"b\": \"x y\"}", &mut s, &mut o1);
        let b = content_id(b"{\n  \"a\":1,\n  \"b\":\"x y\"\n}", &mut s, &mut o2);
        let c = content_id(b"{\"a\":1,\"b\":\"x  y\"}", &mut s, &mut o3);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("xxh3:") && a.len() == 37);
    }

    #[test]
    fn columns() {
        assert_eq!(
            column_names(br#"[{"name":"A","type":"string"},{"name":"B"}]"#),
            ["A", "B"]
        );
    }
}
