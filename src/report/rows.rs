//! Canonical rows for people and scripts (what `filter` writes): CSV with
//! cells neutralised against formula injection, JSON Lines, and a compact
//! terminal table. Each row names the input it came from.

use std::fmt::Write as _;

use polars::prelude::*;

use super::text::{csv_safe, cut, term_safe};
use crate::error::{Error, Result};
use crate::frame::Col;
use crate::input::SourceDesc;
use crate::normalize::time::format_micros;

/// Column access for a canonical frame.
struct Cols {
    time: Int64Chunked,
    strs: Vec<StringChunked>,
    dialect: StringChunked,
    file: UInt32Chunked,
    offset: UInt64Chunked,
    len: UInt32Chunked,
    row: UInt32Chunked,
}

impl Cols {
    fn of(df: &DataFrame) -> Result<Cols> {
        Ok(Cols {
            time: crate::frame::times(df)?,
            strs: Col::ALL
                .iter()
                .map(|c| Ok(df.column(c.name())?.str()?.clone()))
                .collect::<Result<_>>()?,
            dialect: df
                .column("dialect")?
                .cast(&DataType::String)?
                .str()?
                .clone(),
            file: df.column("source_file")?.u32()?.clone(),
            offset: df.column("source_offset")?.u64()?.clone(),
            len: df.column("source_len")?.u32()?.clone(),
            row: df.column("source_row")?.u32()?.clone(),
        })
    }

    fn get(&self, c: Col, i: usize) -> Option<&str> {
        self.strs[c as usize].get(i)
    }
}

fn source_name(sources: &[SourceDesc], i: Option<u32>) -> String {
    i.map(|i| crate::input::source_name(sources, i))
        .unwrap_or_default()
}

/// The header of [`csv`]: `time`, the canonical string columns,
/// `dialect`, `source_path`, `source_offset`, `source_len`, `source_row`.
pub fn csv_header() -> Vec<&'static str> {
    crate::frame::column_names()
        .into_iter()
        .map(|c| if c == "source_file" { "source_path" } else { c })
        .collect()
}

/// Canonical rows as CSV (CRLF line ends, RFC 4180 quoting), every cell
/// neutralised against formula injection.
pub fn csv(df: &DataFrame, sources: &[SourceDesc]) -> Result<Vec<u8>> {
    let c = Cols::of(df)?;
    let err = |e: csv::Error| Error::output(std::path::Path::new("csv output"), e);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(csv_header()).map_err(err)?;
    for i in 0..df.height() {
        let mut rec: Vec<String> = Vec::with_capacity(Col::COUNT + 6);
        rec.push(c.time.get(i).map(format_micros).unwrap_or_default());
        rec.extend(
            Col::ALL
                .iter()
                .map(|&k| c.get(k, i).unwrap_or("").to_owned()),
        );
        rec.push(c.dialect.get(i).unwrap_or("").to_owned());
        rec.push(source_name(sources, c.file.get(i)));
        rec.push(c.offset.get(i).map(|v| v.to_string()).unwrap_or_default());
        rec.push(c.len.get(i).map(|v| v.to_string()).unwrap_or_default());
        rec.push(c.row.get(i).map(|v| v.to_string()).unwrap_or_default());
        w.write_record(rec.iter().map(|s| csv_safe(s).into_owned()))
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::output(std::path::Path::new("csv output"), e))
}

/// Canonical rows as JSON Lines: one object per row with the CSV's keys
/// (absent values as `null`).
pub fn json_lines(df: &DataFrame, sources: &[SourceDesc]) -> Result<String> {
    let c = Cols::of(df)?;
    let mut out = String::new();
    for i in 0..df.height() {
        let mut m = serde_json::Map::new();
        m.insert("time".into(), c.time.get(i).map(format_micros).into());
        for &k in Col::ALL {
            m.insert(k.name().into(), c.get(k, i).into());
        }
        m.insert("dialect".into(), c.dialect.get(i).into());
        m.insert(
            "source_path".into(),
            source_name(sources, c.file.get(i)).into(),
        );
        m.insert("source_offset".into(), c.offset.get(i).into());
        m.insert("source_len".into(), c.len.get(i).into());
        m.insert("source_row".into(), c.row.get(i).into());
        out.push_str(&serde_json::Value::Object(m).to_string());
        out.push('\n');
    }
    Ok(out)
}

/// A compact, time-ordered table: time, status, operation, caller, IP,
/// resource. Log values are made terminal-safe; failures are red when
/// `colours`; `width` cuts the resource column to fit.
pub fn table(df: &DataFrame, colours: bool, width: Option<usize>) -> Result<String> {
    let c = Cols::of(df)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<26} {:<10} {:<56} {:<32} {:<15} RESOURCE",
        "TIME (UTC)", "STATUS", "OPERATION", "CALLER", "CALLER IP"
    );
    let fixed = 26 + 1 + 10 + 1 + 56 + 1 + 32 + 1 + 15 + 1;
    for i in 0..df.height() {
        let status = term_safe(c.get(Col::Status, i).unwrap_or("-"));
        let padded = format!("{:<10}", cut(&status, 10));
        let status = if colours && status == "failed" {
            format!("\x1b[31m{padded}\x1b[0m")
        } else {
            padded
        };
        let who = c
            .get(Col::Caller, i)
            .or(c.get(Col::PrincipalId, i))
            .unwrap_or("-");
        let res = term_safe(c.get(Col::ResourceId, i).unwrap_or("-"));
        let res = match width {
            Some(w) => cut(&res, w.saturating_sub(fixed).max(24)),
            None => res,
        };
        let _ = writeln!(
            s,
            "{:<26} {} {:<56} {:<32} {:<15} {}",
            c.time.get(i).map(format_micros).unwrap_or_default(),
            status,
            cut(&term_safe(c.get(Col::Operation, i).unwrap_or("-")), 56),
            cut(&term_safe(who), 32),
            cut(&term_safe(c.get(Col::CallerIp, i).unwrap_or("-")), 15),
            res
        );
    }
    Ok(s)
}
