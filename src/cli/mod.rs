//! The command line: clap parses raw arguments, they are validated into a
//! config, then the library runs. Errors are reported by the binary.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions};
use crate::input;
use crate::normalize::MapOptions;
use crate::progress::{Bar, Progress, Silent};
use crate::report::convert::{Compression, Format, FrameWriter};
use crate::report::rejects::RejectsWriter;
use crate::report::stats::{DEFAULT_GAP, DocOptions, RejectsInfo, StatsSink, render_text};
use crate::report::text::{parse_size, term_safe};

#[derive(Parser, Debug)]
#[command(
    name = "armhunt",
    version,
    about = "Find what an attacker did through Azure Resource Manager, offline, from exported Activity Logs."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// What was read: per input its dialect and counts, the time span, top
    /// values, actors, events per subscription and day, gaps.
    Stats(StatsArgs),
    /// Write the canonical frame as Parquet (`.parquet`) or Arrow IPC (`.arrow`).
    Convert(ConvertArgs),
    /// Read, normalise, run every rule, and write the findings to a folder.
    Scan(ScanArgs),
    /// The rule catalog.
    Rules(RulesArgs),
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Output folder: findings.json, report.html, timeline.csv, evidence/,
    /// evidence.parquet, rejects.jsonl, manifest.json. Without it, the
    /// findings go to stdout (see --format).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// What to print on stdout when there is no output folder.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Report only findings of this severity or higher.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<MinSeverity>,
    /// Colours in the terminal table: auto (only on a terminal, not with NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Rule parameters and switches (TOML; see `armhunt rules show ID`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write into an output folder that is not empty.
    #[arg(long)]
    pub force: bool,
    /// Where rejected records go when there is no output folder (JSON
    /// Lines; only written when there are any).
    #[arg(long, value_name = "FILE", default_value = "armhunt-rejects.jsonl")]
    pub rejects: PathBuf,
}

/// What `scan` prints on stdout without `-o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// A compact table of the findings and the actors by risk.
    Table,
    /// The findings.json document.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--min-severity` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MinSeverity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl From<MinSeverity> for crate::detect::Severity {
    fn from(m: MinSeverity) -> Self {
        use crate::detect::Severity as S;
        match m {
            MinSeverity::Informational => S::Informational,
            MinSeverity::Low => S::Low,
            MinSeverity::Medium => S::Medium,
            MinSeverity::High => S::High,
            MinSeverity::Critical => S::Critical,
        }
    }
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Every rule: id, severity, tactics, title.
    List {
        /// All metadata as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One rule in full: description, ATT&CK, Defender alerts, parameters, guidance.
    Show {
        /// Rule id, e.g. AH-CRED-001.
        id: String,
    },
}

/// Options every reading command takes.
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Files and folders to read (folders recursively; .gz and .zip too).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Read ambiguous numeric dates (06-03-2024) as day first.
    #[arg(long)]
    pub day_first: bool,
    /// Largest decompressed size of one gzip stream or zip entry.
    #[arg(long, value_name = "SIZE", default_value = "4GiB")]
    pub max_decompressed: String,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// How many values to list per column, and per actor (operations, IPs, apps, sub-statuses).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// How many actors to list, by events [default: 20 in text, all with --json].
    #[arg(long, value_name = "N")]
    pub actors: Option<usize>,
    /// Report gaps of at least this long per subscription ("90s", "15m", "6h", "1d" or seconds; at least 1m, measured in whole minutes).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_GAP)]
    pub gap: String,
    /// Where to write rejected records (JSON Lines; only written when there are any).
    #[arg(long, value_name = "FILE", default_value = "armhunt-rejects.jsonl")]
    pub rejects: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Output file: `.parquet` or `.arrow`.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Where to write rejected records (default: `<output>.rejects.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Compression of Parquet pages / Arrow buffers.
    #[arg(long, value_enum, default_value = "lz4")]
    pub compression: Compression,
}

fn usage(flag: &str, msg: impl Into<String>) -> Error {
    Error::Usage {
        flag: flag.into(),
        msg: msg.into(),
    }
}

impl ReadArgs {
    fn options(&self) -> Result<IngestOptions> {
        let cap = parse_size(&self.max_decompressed).ok_or_else(|| {
            usage(
                "--max-decompressed",
                format!(
                    "{:?} is not a size (e.g. 512MiB, 4GiB)",
                    self.max_decompressed
                ),
            )
        })?;
        if self.threads == Some(0) {
            return Err(usage("--threads", "must be at least 1"));
        }
        Ok(IngestOptions {
            map: MapOptions {
                day_first: self.day_first,
            },
            max_decompressed: cap,
            ..IngestOptions::default()
        })
    }

    fn progress(&self, label: &str) -> Box<dyn Progress> {
        if self.quiet {
            Box::new(Silent)
        } else {
            Box::new(Bar::new(label))
        }
    }
}

/// Sets the worker thread count for rayon and polars. Must run before
/// either starts its pool.
fn set_threads(n: Option<usize>) -> Result<()> {
    if let Some(n) = n {
        // SAFETY: called once at start-up, before any other thread exists.
        unsafe { std::env::set_var("POLARS_MAX_THREADS", n.to_string()) };
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| usage("--threads", e.to_string()))?;
    }
    Ok(())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Stats(a) => stats(a),
        Command::Convert(a) => convert(a),
        Command::Scan(a) => scan(a),
        Command::Rules(a) => rules(a),
    }
}

/// Text lists this many actors unless `--actors` says otherwise.
const TEXT_ACTORS: usize = 20;

/// `--gap`: a duration of at least one minute, in seconds.
fn gap_seconds(v: &str) -> Result<u64> {
    let secs = crate::detect::config::parse_duration(v).ok_or_else(|| {
        usage(
            "--gap",
            format!("{v:?} is not a duration (e.g. 90s, 15m, 6h, 1d, or seconds)"),
        )
    })?;
    if secs < crate::report::stats::coverage::RESOLUTION_SECS {
        return Err(usage(
            "--gap",
            format!("{v:?} is shorter than a minute; gaps are measured in whole minutes"),
        ));
    }
    Ok(secs)
}

fn stats(a: StatsArgs) -> Result<()> {
    let opts = a.read.options()?;
    let doc_opts = DocOptions {
        top: a.top,
        actors: a.actors.or((!a.json).then_some(TEXT_ACTORS)),
        gap_seconds: gap_seconds(&a.gap)?,
    };
    set_threads(a.read.threads)?;
    let sources = input::discover(&a.read.paths)?;
    let progress = a.read.progress("stats");
    let mut sink = StatsSink::default();
    let mut rejects = RejectsWriter::lazy(&a.rejects);
    let report = ingest::run(&sources, &opts, &mut sink, &mut rejects, progress.as_ref())?;
    rejects.finish()?;
    let info = RejectsInfo {
        path: rejects
            .written()
            .then(|| rejects.path().display().to_string()),
        count: rejects.count,
    };
    let doc = sink.doc(&report, doc_opts, info);
    let mut out = std::io::stdout().lock();
    let r = if a.json {
        serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n"))
    } else {
        out.write_all(render_text(&doc).as_bytes())
    };
    r.map_err(|e| Error::io(Path::new("<stdout>"), e))
}

fn default_rejects(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".rejects.jsonl");
    PathBuf::from(s)
}

fn convert(a: ConvertArgs) -> Result<()> {
    // The frame does not carry input hashes; `stats` (and the scan manifest) do.
    let opts = IngestOptions {
        hash: false,
        ..a.read.options()?
    };
    let format = Format::from_path(&a.output).ok_or_else(|| {
        usage(
            "--output",
            format!(
                "{}: expected a .parquet or .arrow file name",
                a.output.display()
            ),
        )
    })?;
    if a.output.exists() && !a.force {
        return Err(usage(
            "--output",
            format!(
                "{} exists; pass --force to overwrite it",
                a.output.display()
            ),
        ));
    }
    set_threads(a.read.threads)?;
    let sources = input::discover(&a.read.paths)?;
    let names: Vec<String> = sources.iter().map(|s| s.display()).collect();
    let rejects_path = a
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects(&a.output));
    let mut rejects = RejectsWriter::create(&rejects_path)?;
    let progress = a.read.progress("convert");
    let mut writer = FrameWriter::create(&a.output, format, a.compression, &names)?;
    match ingest::run(
        &sources,
        &opts,
        &mut writer,
        &mut rejects,
        progress.as_ref(),
    ) {
        Ok(report) => {
            let rows = writer.rows;
            writer.finish()?;
            rejects.finish()?;
            let t = report.totals;
            let skipped = report.files.iter().filter(|f| f.skipped.is_some()).count();
            if !a.read.quiet {
                eprintln!(
                    "{}: {rows} rows from {} inputs ({skipped} skipped); {} found = {} kept + {} duplicates + {} rejected; rejects in {}",
                    a.output.display(),
                    report.files.len(),
                    t.records_found,
                    t.records_kept,
                    t.duplicates,
                    t.rejected,
                    rejects_path.display()
                );
            }
            Ok(())
        }
        Err(e) => {
            writer.abandon();
            Err(e)
        }
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io(Path::new("<stdout>"), e))
}

fn rules(a: RulesArgs) -> Result<()> {
    use crate::detect::catalog;
    match a.command {
        RulesCommand::List { json } => {
            if json {
                let metas: Vec<_> = catalog::all().iter().map(|r| r.meta()).collect();
                let text = serde_json::to_string_pretty(&metas).expect("metadata serialises");
                return write_stdout(&(text + "\n"));
            }
            let mut s = format!("{:<12} {:<13} {:<40} TITLE\n", "ID", "SEVERITY", "TACTICS");
            for r in catalog::all() {
                let m = r.meta();
                s.push_str(&format!(
                    "{:<12} {:<13} {:<40} {}\n",
                    m.id,
                    m.severity.as_str(),
                    m.tactics.join(", "),
                    m.title
                ));
            }
            write_stdout(&s)
        }
        RulesCommand::Show { id } => {
            let r = catalog::find(&id).ok_or_else(|| {
                usage(
                    "rule id",
                    format!("{id:?} is not in the catalog (see `armhunt rules list`)"),
                )
            })?;
            let m = r.meta();
            let mut s = String::new();
            s.push_str(&format!(
                "{} (version {}): {}\n\n",
                m.id, m.version, m.title
            ));
            s.push_str(&format!("{}\n\n", m.description));
            s.push_str(&format!("severity:        {}\n", m.severity.as_str()));
            s.push_str(&format!("confidence:      {}\n", m.confidence.as_str()));
            s.push_str(&format!("tactics:         {}\n", m.tactics.join(", ")));
            s.push_str(&format!("techniques:      {}\n", m.techniques.join(", ")));
            let alerts = if m.defender_alerts.is_empty() {
                "-".to_owned()
            } else {
                m.defender_alerts.join(", ")
            };
            s.push_str(&format!("defender alerts: {alerts}\n"));
            s.push_str(&format!("content hash:    {}\n", catalog::rule_hash(r)));
            s.push_str("\nparameters (override in a --config TOML file under [rules.\"ID\"]):\n");
            if m.params.is_empty() {
                s.push_str("  none\n");
            }
            for p in m.params {
                let default = match p.kind {
                    crate::detect::ParamKind::Count => p.default.to_string(),
                    crate::detect::ParamKind::Duration => format!("{}s", p.default),
                };
                s.push_str(&format!("  {:<16} {:<8} {}\n", p.name, default, p.doc));
            }
            s.push_str(&format!("\ninvestigation: {}\n", m.guidance));
            s.push_str(&format!("\nfalse positives: {}\n", m.false_positives));
            if !m.references.is_empty() {
                s.push_str("\nreferences:\n");
                for r in m.references {
                    s.push_str(&format!("  {r}\n"));
                }
            }
            write_stdout(&s)
        }
    }
}

fn scan(a: ScanArgs) -> Result<()> {
    use crate::detect::{self, Config, Severity};
    use crate::report::{folder, manifest};
    let start = manifest::Start::now();
    let opts = a.read.options()?;
    let (config, config_file) = match &a.config {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            (
                Config::load(p)?,
                Some(manifest::AuxFile {
                    path: p.display().to_string(),
                    sha256: crate::input::sha256_hex(&bytes),
                }),
            )
        }
        None => (Config::default(), None),
    };
    if let Some(dir) = &a.output {
        folder::prepare(dir, a.force)?;
    }
    set_threads(a.read.threads)?;
    let mut sources = input::discover(&a.read.paths)?;
    // Never read our own output folder back as input (its evidence files
    // are Activity Log records).
    if let Some(dir) = a.output.as_ref().and_then(|d| d.canonicalize().ok()) {
        sources.retain(|s| !s.path.canonicalize().is_ok_and(|p| p.starts_with(&dir)));
    }
    let mut rejects = match &a.output {
        Some(dir) => RejectsWriter::create(&dir.join("rejects.jsonl"))?,
        None => RejectsWriter::lazy(&a.rejects),
    };
    let progress = a.read.progress("scan");
    let mut frames = ingest::CollectFrames::default();
    let report = ingest::run(
        &sources,
        &opts,
        &mut frames,
        &mut rejects,
        progress.as_ref(),
    )?;
    rejects.finish()?;
    let frame = frames.into_frame()?;
    let mut doc = detect::run(&frame, &config)?;
    let min_severity = a.min_severity.map(Severity::from);
    if let Some(m) = min_severity {
        doc.retain_min_severity(m);
    }
    for e in &doc.rule_errors {
        eprintln!(
            "armhunt: rule {} failed: {}",
            e.rule_id,
            term_safe(&e.error)
        );
    }
    let Some(dir) = &a.output else {
        let text = match a.format {
            ScanFormat::Json => folder::findings_json(&doc),
            ScanFormat::Table => {
                use std::io::IsTerminal;
                let tty = std::io::stdout().is_terminal();
                let colours = match a.color {
                    ColorChoice::Always => true,
                    ColorChoice::Never => false,
                    ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
                };
                let width = tty.then(|| {
                    std::env::var("COLUMNS")
                        .ok()
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(160)
                });
                crate::report::table::render(&doc, colours, width)
            }
        };
        if rejects.written() && !a.read.quiet {
            eprintln!(
                "armhunt: {} records rejected; they are in {}",
                rejects.count,
                rejects.path().display()
            );
        }
        return write_stdout(&text);
    };
    let evidence = crate::report::evidence::collect(&frame, &doc, &sources, opts.max_decompressed)?;
    let histogram = crate::report::html::Histogram::of(&frame)?;
    drop(frame);
    let rules_run = doc.rules_run.len();
    let run = folder::Run {
        doc: &doc,
        evidence: &evidence,
        ingest: &report,
        sources: &sources,
        histogram: &histogram,
        rules_run,
        min_severity,
        rejects: rejects.count,
    };
    let outputs = folder::write(dir, &run)?;
    let options = manifest::Options {
        threads: a.read.threads,
        day_first: a.read.day_first,
        max_decompressed: opts.max_decompressed,
        min_severity: min_severity.map(Severity::as_str),
        config_file,
    };
    let rules = manifest::rule_runs(&config, &doc);
    let m = start.finish(options, rules, &doc, &report, outputs);
    let mpath = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&m).expect("manifest serialises") + "\n";
    std::fs::write(&mpath, text).map_err(|e| Error::io(&mpath, e))?;
    if !a.read.quiet {
        let t = report.totals;
        let count = |s: Severity| doc.findings.iter().filter(|f| f.severity == s).count();
        eprintln!(
            "{}: {} findings (critical {}, high {}, medium {}, low {}, informational {}) from {} records ({} rejected, {} duplicates) by {} rules; open {}",
            dir.display(),
            doc.findings.len(),
            count(Severity::Critical),
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            count(Severity::Informational),
            t.records_kept,
            t.rejected,
            t.duplicates,
            rules_run,
            dir.join("report.html").display()
        );
        for s in doc.storylines.iter().take(5) {
            eprintln!(
                "  #{} {} (risk {}, {}): {} findings",
                s.rank,
                term_safe(s.caller.as_deref().unwrap_or(&s.actor)),
                s.risk_score,
                s.highest_severity.as_str(),
                s.findings.len()
            );
        }
    }
    Ok(())
}
