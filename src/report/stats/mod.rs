//! `stats`: what is in the data. Aggregates frame chunks as they stream by
//! (time span, top values per column) and renders the ingest ledger with
//! them, as text for people or one JSON document for scripts.

pub mod actors;
pub mod coverage;

use std::collections::HashMap;
use std::fmt::Write as _;

use polars::prelude::*;
use serde::Serialize;

use super::text::{human_bytes, term_safe};
use crate::error::Result;
use crate::ingest::{FrameSink, IngestReport, Totals};
use crate::normalize::time::format_micros;

/// The columns `stats` counts values of, with their JSON key.
pub const TOP_COLUMNS: [(&str, &str); 5] = [
    ("subscription", "subscription_id"),
    ("caller", "caller"),
    ("operation", "operation"),
    ("status", "status"),
    ("caller_ip", "caller_ip"),
];

/// Streams over frame chunks and keeps counts.
#[derive(Default)]
pub struct StatsSink {
    first: Option<i64>,
    last: Option<i64>,
    rows: u64,
    counts: [HashMap<String, u64>; 5],
    nulls: [u64; 5],
}

impl FrameSink for StatsSink {
    fn frame(&mut self, df: DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let t = df
            .column("time")?
            .as_materialized_series()
            .datetime()?
            .physical()
            .clone();
        if let Some(mn) = t.min() {
            self.first = Some(self.first.map_or(mn, |f| f.min(mn)));
        }
        if let Some(mx) = t.max() {
            self.last = Some(self.last.map_or(mx, |l| l.max(mx)));
        }
        for (k, (_, col)) in TOP_COLUMNS.iter().enumerate() {
            let ca = df.column(col)?.str()?;
            let map = &mut self.counts[k];
            for v in ca.iter() {
                match v {
                    None => self.nulls[k] += 1,
                    Some(v) => match map.get_mut(v) {
                        Some(c) => *c += 1,
                        None => {
                            map.insert(v.to_owned(), 1);
                        }
                    },
                }
            }
        }
        Ok(())
    }
}

/// One counted value.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub value: Option<String>,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimeSpan {
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RejectsInfo {
    pub path: Option<String>,
    pub count: u64,
}

/// The `stats --json` document.
#[derive(Clone, Debug, Serialize)]
pub struct StatsDoc {
    pub files: Vec<crate::ingest::FileReport>,
    pub totals: Totals,
    pub time_span: TimeSpan,
    pub top: serde_json::Map<String, serde_json::Value>,
    pub rejects: RejectsInfo,
}

impl StatsSink {
    /// Top `n` values per column: by count, then by value, so ties are stable.
    pub fn top(&self, n: usize) -> Vec<(&'static str, Vec<Count>)> {
        TOP_COLUMNS
            .iter()
            .zip(self.counts.iter().zip(self.nulls))
            .map(|((key, _), (map, nulls))| {
                let mut v: Vec<Count> = map
                    .iter()
                    .map(|(k, c)| Count {
                        value: Some(k.clone()),
                        count: *c,
                    })
                    .chain((nulls > 0).then_some(Count {
                        value: None,
                        count: nulls,
                    }))
                    .collect();
                v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                v.truncate(n);
                (*key, v)
            })
            .collect()
    }

    pub fn doc(&self, report: &IngestReport, n: usize, rejects: RejectsInfo) -> StatsDoc {
        let mut top = serde_json::Map::new();
        for (k, v) in self.top(n) {
            top.insert(k.to_owned(), serde_json::to_value(v).expect("serialisable"));
        }
        StatsDoc {
            files: report.files.clone(),
            totals: report.totals,
            time_span: TimeSpan {
                first: self.first.map(format_micros),
                last: self.last.map(format_micros),
            },
            top,
            rejects,
        }
    }
}

/// Renders the stats document for a terminal. Every log-derived value and
/// every path is escaped.
pub fn render_text(doc: &StatsDoc) -> String {
    let mut s = String::new();
    let skipped = doc.files.iter().filter(|f| f.skipped.is_some()).count();
    let _ = writeln!(s, "inputs: {} ({} skipped)", doc.files.len(), skipped);
    let _ = writeln!(
        s,
        "{:<18}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  FILE",
        "DIALECT", "BYTES", "FOUND", "KEPT", "DUPS", "REJECTED"
    );
    for f in &doc.files {
        let dialect = match (&f.skipped, &f.dialect) {
            (Some(_), _) => "skipped".to_owned(),
            (None, Some(d)) => d.clone(),
            (None, None) => "-".to_owned(),
        };
        let _ = writeln!(
            s,
            "{:<18}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  {}",
            dialect,
            human_bytes(f.bytes),
            f.records_found,
            f.records_kept,
            f.duplicates,
            f.rejected,
            term_safe(&f.path),
        );
    }
    for f in doc.files.iter().filter(|f| f.skipped.is_some()) {
        let _ = writeln!(
            s,
            "skipped: {}: {}",
            term_safe(&f.path),
            term_safe(f.skipped.as_deref().unwrap_or(""))
        );
    }
    let t = &doc.totals;
    let _ = writeln!(
        s,
        "\nrecords: {} found = {} kept + {} duplicates + {} rejected",
        t.records_found, t.records_kept, t.duplicates, t.rejected
    );
    match (&doc.time_span.first, &doc.time_span.last) {
        (Some(a), Some(b)) => {
            let _ = writeln!(s, "time span: {a} .. {b}");
        }
        _ => {
            let _ = writeln!(s, "time span: no records");
        }
    }
    match (&doc.rejects.path, doc.rejects.count) {
        (_, 0) => {
            let _ = writeln!(s, "rejects: none");
        }
        (Some(p), n) => {
            let _ = writeln!(s, "rejects: {n} written to {}", term_safe(p));
        }
        (None, n) => {
            let _ = writeln!(s, "rejects: {n}");
        }
    }
    for (k, v) in &doc.top {
        let _ = writeln!(s, "\ntop {k}:");
        if let Some(arr) = v.as_array() {
            for c in arr {
                let count = c.get("count").and_then(|x| x.as_u64()).unwrap_or(0);
                let val = c
                    .get("value")
                    .and_then(|x| x.as_str())
                    .map(term_safe)
                    .unwrap_or_else(|| "(none)".into());
                let _ = writeln!(s, "  {count:>9}  {val}");
            }
        }
    }
    s
}
