//! The report folder `scan -o DIR` writes: `findings.json`, `report.html`,
//! `timeline.csv`, `evidence/<finding>-<rule>.jsonl`, `evidence.parquet`,
//! `rejects.jsonl` (written by the ingest) and, last, `manifest.json`
//! with the SHA-256 of every other file.
//!
//! Each output is its own [`Writer`]; they render in parallel from one
//! [`Run`]. Everything but the manifest is a function of the input and the
//! flags only, so two runs give byte-identical files.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use super::evidence::{self, Evidence};
use super::html::{self, Histogram, Page};
use super::manifest::OutputFile;
use super::timeline;
use crate::detect::{FindingsDoc, Severity};
use crate::error::{Error, Result};
use crate::ingest::IngestReport;
use crate::input::{SourceDesc, sha256_hex};

/// Everything the outputs are made from.
pub struct Run<'a> {
    pub doc: &'a FindingsDoc,
    pub evidence: &'a Evidence,
    pub ingest: &'a IngestReport,
    pub sources: &'a [SourceDesc],
    pub histogram: &'a Histogram,
    pub rules_run: usize,
    pub min_severity: Option<Severity>,
    pub rejects: u64,
    /// The `--ioc` files the run matched addresses against.
    pub ioc_files: &'a [crate::detect::ioc::IocFile],
    /// The `--geoip` databases the run looked addresses up in.
    pub geoip_files: &'a [crate::geo::GeoFile],
}

impl Run<'_> {
    /// `evidence/F0001-AH-CRED-001.jsonl` for each finding.
    pub fn evidence_files(&self) -> Vec<String> {
        self.doc
            .findings
            .iter()
            .map(|f| format!("evidence/{}-{}.jsonl", f.id, f.rule_id))
            .collect()
    }
}

/// One kind of output: the files (path relative to the folder, bytes) it
/// makes of a run.
pub trait Writer: Sync {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>>;
}

pub struct FindingsJson;
pub struct ReportHtml;
pub struct TimelineCsv;
pub struct EvidenceJsonl;
pub struct EvidenceParquet;

/// `findings.json` as text (also what `scan --format json` prints).
pub fn findings_json(doc: &FindingsDoc) -> String {
    serde_json::to_string_pretty(doc).expect("findings serialise") + "\n"
}

impl Writer for FindingsJson {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(
            "findings.json".into(),
            findings_json(run.doc).into_bytes(),
        )])
    }
}

impl Writer for ReportHtml {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        let names: Vec<String> = run
            .evidence
            .rows
            .iter()
            .map(|r| crate::input::source_name(run.sources, r.source))
            .collect();
        let files = run.evidence_files();
        let page = Page {
            doc: run.doc,
            evidence: run.evidence,
            ingest: run.ingest,
            histogram: run.histogram,
            rules_run: run.rules_run,
            min_severity: run.min_severity,
            evidence_files: &files,
            source_names: &names,
            rejects: run.rejects,
            ioc_files: run.ioc_files,
            geoip_files: run.geoip_files,
        };
        Ok(vec![(
            "report.html".into(),
            html::render(&page)?.into_bytes(),
        )])
    }
}

impl Writer for TimelineCsv {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(
            "timeline.csv".into(),
            timeline::render(run.evidence, run.doc, run.sources)?,
        )])
    }
}

impl Writer for EvidenceJsonl {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(run
            .evidence_files()
            .into_iter()
            .zip(&run.evidence.of_finding)
            .map(|(name, rows)| {
                let mut b = Vec::new();
                for &k in rows {
                    b.extend_from_slice(run.evidence.rows[k].line.as_bytes());
                    b.push(b'\n');
                }
                (name, b)
            })
            .collect())
    }
}

impl Writer for EvidenceParquet {
    fn files(&self, run: &Run<'_>) -> Result<Vec<(String, Vec<u8>)>> {
        let mut df = evidence::frame(run.evidence, run.doc, run.sources)?;
        let mut b = Vec::new();
        ParquetWriter::new(&mut b)
            .with_compression(ParquetCompression::Lz4Raw)
            .finish(&mut df)
            .map_err(|e| Error::output(Path::new("evidence.parquet"), e))?;
        Ok(vec![("evidence.parquet".into(), b)])
    }
}

/// The writers of a report folder, in no particular order.
pub fn writers() -> Vec<Box<dyn Writer>> {
    vec![
        Box::new(FindingsJson),
        Box::new(ReportHtml),
        Box::new(TimelineCsv),
        Box::new(EvidenceJsonl),
        Box::new(EvidenceParquet),
    ]
}

/// Refuses a non-empty folder without `force`; with it, removes the
/// evidence files an earlier run left (a stale `F0042-….jsonl` must not
/// look like part of this run). Other files are overwritten or left alone.
pub fn prepare(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(Error::Usage {
                flag: "--output".into(),
                msg: format!(
                    "{} is not empty; pass --force to write into it",
                    dir.display()
                ),
            });
        }
        let ev = dir.join("evidence");
        if ev.is_dir() {
            for e in std::fs::read_dir(&ev).map_err(|e| Error::io(&ev, e))? {
                let p = e.map_err(|e| Error::io(&ev, e))?.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let ours = name.starts_with('F')
                    && name[1..].starts_with(|c: char| c.is_ascii_digit())
                    && name.ends_with(".jsonl");
                if ours {
                    std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                }
            }
        }
    }
    std::fs::create_dir_all(dir.join("evidence")).map_err(|e| Error::io(dir, e))
}

/// Renders every output and writes it under `dir`; returns what was
/// written with sizes and hashes, sorted by path (`rejects.jsonl`, written
/// before, is hashed and listed too).
pub fn write(dir: &Path, run: &Run<'_>) -> Result<Vec<OutputFile>> {
    let rendered: Vec<Vec<(String, Vec<u8>)>> = writers()
        .par_iter()
        .map(|w| w.files(run))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (name, bytes) in rendered.into_iter().flatten() {
        let path = dir.join(&name);
        std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        out.push(OutputFile {
            path: name,
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    let rejects = dir.join("rejects.jsonl");
    if rejects.exists() {
        let b = std::fs::read(&rejects).map_err(|e| Error::io(&rejects, e))?;
        out.push(OutputFile {
            path: "rejects.jsonl".into(),
            bytes: b.len() as u64,
            sha256: sha256_hex(&b),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
