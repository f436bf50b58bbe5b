//! `manifest.json`: the chain of custody of a scan. What ran (tool version
//! and commit, the command line, the effective configuration, every rule
//! with its version and content hash), what was read (every input with its
//! size, SHA-256 and counts), what was written (every output file with its
//! SHA-256), and when. It is the only output that holds the run's own
//! clock.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect::{Config, FindingsDoc, catalog};
use crate::ingest::{FileReport, IngestReport, Totals};

/// Bumped when a key is removed or changes meaning.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    pub git_commit: &'static str,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            git_commit: env!("ARMHUNT_GIT_COMMIT"),
        }
    }
}

/// A rule's effective settings.
#[derive(Debug, Serialize)]
pub struct RuleRun {
    pub id: &'static str,
    pub version: u32,
    /// Hash of the rule's definition (metadata, defaults, version): see `rules show`.
    pub content_hash: String,
    pub enabled: bool,
    pub params: BTreeMap<&'static str, u64>,
    /// Findings it produced (after `--min-severity`); absent when disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<usize>,
}

/// A file the run wrote, relative to the output folder.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A file the run read besides the inputs (the `--config` file).
#[derive(Debug, Serialize)]
pub struct AuxFile {
    pub path: String,
    pub sha256: String,
}

/// The options that shape the result, as the run understood them.
#[derive(Debug, Serialize)]
pub struct Options {
    pub threads: Option<usize>,
    pub day_first: bool,
    pub max_decompressed: u64,
    pub min_severity: Option<&'static str>,
    pub config_file: Option<AuxFile>,
    /// The `--ioc` files: path, SHA-256, format and entries read.
    pub ioc_files: Vec<crate::detect::ioc::IocFile>,
    /// The `--geoip` files: path, SHA-256, database type, build time, IP version.
    pub geoip_files: Vec<crate::geo::GeoFile>,
    /// Where `--detect-from` or `--baseline-until` put the start of the
    /// detection period (RFC 3339), if either was given.
    pub detect_from: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub tool: Tool,
    /// The arguments as given, program name first.
    pub command_line: Vec<String>,
    pub working_directory: String,
    pub started: String,
    pub finished: String,
    pub duration_seconds: f64,
    pub options: Options,
    pub rules: Vec<RuleRun>,
    pub rule_errors: Vec<crate::detect::RuleError>,
    pub inputs: Vec<FileReport>,
    pub totals: Totals,
    pub rejected_records_file: &'static str,
    pub outputs: Vec<OutputFile>,
}

/// Every rule of the catalog with the configuration's effect on it.
pub fn rule_runs(config: &Config, doc: &FindingsDoc) -> Vec<RuleRun> {
    let mut v: Vec<RuleRun> = catalog::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            let enabled = config.enabled(m.id);
            RuleRun {
                id: m.id,
                version: m.version,
                content_hash: catalog::rule_hash(r.as_ref()),
                enabled,
                params: config
                    .params(m)
                    .map(|p| p.0)
                    .unwrap_or_else(|_| crate::detect::Params::defaults(m).0),
                findings: enabled.then(|| {
                    doc.rules_run
                        .iter()
                        .find(|s| s.id == m.id)
                        .map_or(0, |s| s.findings)
                }),
            }
        })
        .collect();
    v.sort_by_key(|r| r.id);
    v
}

/// The parts of a manifest known before the outputs are written.
pub struct Start {
    pub started: chrono::DateTime<chrono::Utc>,
    pub command_line: Vec<String>,
    pub working_directory: String,
}

impl Start {
    pub fn now() -> Start {
        Start {
            started: chrono::Utc::now(),
            command_line: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            working_directory: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }

    pub fn finish(
        self,
        options: Options,
        rules: Vec<RuleRun>,
        doc: &FindingsDoc,
        ingest: &IngestReport,
        outputs: Vec<OutputFile>,
    ) -> Manifest {
        let finished = chrono::Utc::now();
        let fmt = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: Tool::this(),
            command_line: self.command_line,
            working_directory: self.working_directory,
            started: fmt(self.started),
            finished: fmt(finished),
            duration_seconds: (finished - self.started)
                .to_std()
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            options,
            rules,
            rule_errors: doc.rule_errors.clone(),
            inputs: ingest.files.clone(),
            totals: ingest.totals,
            rejected_records_file: "rejects.jsonl",
            outputs,
        }
    }
}
