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
    /// The events that match: by subscription, time, caller, IP, operation, resource, status, SQL.
    Filter(Box<FilterArgs>),
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
    /// Threat intelligence: a list of IPs and CIDR networks (`, label` after
    /// one, `#` comments), a Tor bulk exit list or TorDNSEL exit-addresses
    /// (repeatable). Every operation from a listed caller or token IP is a
    /// finding (AH-INTL-001, AH-INTL-002).
    #[arg(long, value_name = "FILE")]
    pub ioc: Vec<PathBuf>,
    /// GeoIP: a MaxMind DB file (GeoLite2/GeoIP2 City or Country, ASN;
    /// repeatable, merged in the order given). Caller IPs get their country
    /// and autonomous system, and the infrequent-country and
    /// impossible-travel rules (AH-ANOM-008, AH-ANOM-009) run.
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Vec<PathBuf>,
    /// Start of the detection period (RFC 3339, or a date: its midnight
    /// UTC). The behaviour baselines (AH-ANOM rules) learn from everything
    /// before it and judge from it on. Default: the last 7 days of the data.
    #[arg(long, value_name = "TIME")]
    pub detect_from: Option<String>,
    /// End of the baseline period, inclusive (RFC 3339, or a date: the
    /// whole day); the detection period starts right after it.
    #[arg(long, value_name = "TIME", conflicts_with = "detect_from")]
    pub baseline_until: Option<String>,
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
pub struct FilterArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Subscription id (repeatable: any of them).
    #[arg(long, value_name = "ID")]
    pub subscription: Vec<String>,
    /// From this time on (RFC 3339, or a date: its midnight UTC).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Up to this time (RFC 3339, inclusive; or a date: to the end of that day).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Around this time, ± --window.
    #[arg(long, value_name = "TIME", conflicts_with_all = ["from", "to"])]
    pub around: Option<String>,
    /// Half-width of the --around / --finding time frame [default: 2h].
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Caller UPN or principal object id (repeatable).
    #[arg(long, value_name = "UPN|OID")]
    pub caller: Vec<String>,
    /// Caller or token IP, or a CIDR network (repeatable).
    #[arg(long, value_name = "IP|CIDR")]
    pub ip: Vec<String>,
    /// Operation name glob, case-insensitive: `*` any run, `?` one character (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub operation: Vec<String>,
    /// Resource group (repeatable).
    #[arg(long, value_name = "RG")]
    pub resource_group: Vec<String>,
    /// Resource id: the resource and everything under it (repeatable).
    #[arg(long, value_name = "ID")]
    pub resource: Vec<String>,
    /// Correlation id (repeatable).
    #[arg(long, value_name = "ID")]
    pub correlation_id: Vec<String>,
    /// Status: started, accepted, succeeded, failed, canceled (repeatable).
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// A polars SQL predicate over the canonical columns, e.g. "http_method = 'DELETE'".
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,
    /// Pre-fill from a finding: its actor, subscriptions, and first/last time ± --window.
    #[arg(long, value_name = "FINDINGS.json#ID")]
    pub finding: Option<String>,
    /// Output: `.jsonl` (the original records), `.parquet` or `.csv` (canonical rows).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Without -o: JSON Lines of canonical rows instead of a table.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
    /// Colours in the terminal table: auto, always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Where rejected records go (default: `<output>.rejects.jsonl`, or
    /// `armhunt-rejects.jsonl` without -o; only written when there are any).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
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
    /// GeoIP: a MaxMind DB file (GeoLite2/GeoIP2 City or Country, ASN;
    /// repeatable, merged in the order given). Caller IPs get their country
    /// and autonomous system, with top countries and ASNs, and each actor's
    /// countries.
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Vec<PathBuf>,
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
        Command::Filter(a) => filter(*a),
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

/// The `--geoip` databases, when any were given.
fn open_geoip(paths: &[PathBuf]) -> Result<Option<std::sync::Arc<crate::geo::GeoDb>>> {
    if paths.is_empty() {
        return Ok(None);
    }
    Ok(Some(std::sync::Arc::new(crate::geo::GeoDb::open(paths)?)))
}

fn stats(a: StatsArgs) -> Result<()> {
    let opts = a.read.options()?;
    let doc_opts = DocOptions {
        top: a.top,
        actors: a.actors.or((!a.json).then_some(TEXT_ACTORS)),
        gap_seconds: gap_seconds(&a.gap)?,
    };
    let geoip = open_geoip(&a.geoip)?;
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
    let doc = sink.doc(&report, doc_opts, info, geoip.as_deref());
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
    let (mut config, config_file) = match &a.config {
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
    let ioc = detect::ioc::IocSet::load(&a.ioc)?;
    let ioc_files = ioc.files.clone();
    config.ioc = std::sync::Arc::new(ioc);
    config.detect_from = match (&a.detect_from, &a.baseline_until) {
        (Some(t), _) => Some(time_flag("--detect-from", t, false)?),
        (None, Some(t)) => Some(time_flag("--baseline-until", t, true)?),
        (None, None) => None,
    };
    let geoip = open_geoip(&a.geoip)?;
    let geoip_files = geoip
        .as_ref()
        .map(|g| g.files().to_vec())
        .unwrap_or_default();
    config.locate = geoip.map(|g| g as std::sync::Arc<dyn detect::baseline::Locate>);
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
    // Without a report folder no evidence row is written, so the two
    // largest columns (no rule reads them) need not be held.
    let mut frames = ingest::CollectFrames::default();
    let mut lean = LeanFrames(ingest::CollectFrames::default());
    let sink: &mut dyn ingest::FrameSink = if a.output.is_some() {
        &mut frames
    } else {
        &mut lean
    };
    let report = ingest::run(&sources, &opts, sink, &mut rejects, progress.as_ref())?;
    rejects.finish()?;
    let frame = if a.output.is_some() {
        frames.into_frame()?
    } else {
        lean.0.into_frame()?
    };
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
                let (colours, width) = colours(a.color);
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
        ioc_files: &ioc_files,
        geoip_files: &geoip_files,
    };
    let outputs = folder::write(dir, &run)?;
    let options = manifest::Options {
        threads: a.read.threads,
        day_first: a.read.day_first,
        max_decompressed: opts.max_decompressed,
        min_severity: min_severity.map(Severity::as_str),
        config_file,
        ioc_files,
        geoip_files,
        detect_from: config
            .detect_from
            .map(crate::normalize::time::format_micros),
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

/// Colours for a table on stdout.
fn colours(choice: ColorChoice) -> (bool, Option<usize>) {
    use std::io::IsTerminal;
    let tty = std::io::stdout().is_terminal();
    let colours = match choice {
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
    (colours, width)
}

/// A `--from`/`--to`/`--around` value in µs; `end_of_day` makes a bare
/// date mean the end of that day (for `--to`).
fn time_flag(flag: &str, v: &str, end_of_day: bool) -> Result<i64> {
    let t = crate::normalize::time::parse_bound(v).map_err(|e| {
        usage(
            flag,
            format!(
                "{v:?}: {e} (expected RFC 3339, e.g. 2024-05-01T10:00:00Z, or a date 2024-05-01)"
            ),
        )
    })?;
    let bare_date = v.trim().len() == 10;
    Ok(if end_of_day && bare_date {
        t + 86_400_000_000
    } else if end_of_day {
        t + 1
    } else {
        t
    })
}

fn duration_flag(flag: &str, v: &str) -> Result<i64> {
    crate::detect::config::parse_duration(v)
        .map(|s| s as i64 * 1_000_000)
        .ok_or_else(|| usage(flag, format!("{v:?} is not a duration (e.g. 90s, 15m, 2h)")))
}

/// The criteria the flags (and `--finding`) describe.
fn criteria(a: &FilterArgs) -> Result<crate::filter::Criteria> {
    use crate::filter::{Criteria, Glob, IpNet, parse_where};
    let window = match &a.window {
        Some(w) => {
            if a.around.is_none() && a.finding.is_none() {
                return Err(usage("--window", "only applies with --around or --finding"));
            }
            duration_flag("--window", w)?
        }
        None => 7_200_000_000,
    };
    let mut c = Criteria {
        subscriptions: a.subscription.clone(),
        callers: a.caller.clone(),
        ips: a
            .ip
            .iter()
            .map(|s| IpNet::parse(s).map_err(|e| usage("--ip", e)))
            .collect::<Result<_>>()?,
        operations: a.operation.iter().map(|g| Glob::new(g)).collect(),
        resource_groups: a.resource_group.clone(),
        resources: a.resource.clone(),
        correlation_ids: a.correlation_id.clone(),
        statuses: a.status.clone(),
        ..Criteria::default()
    };
    if let Some(f) = &a.from {
        c.from_us = Some(time_flag("--from", f, false)?);
    }
    if let Some(t) = &a.to {
        c.until_us = Some(time_flag("--to", t, true)?);
    }
    if let (Some(f), Some(t)) = (c.from_us, c.until_us)
        && f >= t
    {
        return Err(usage("--to", "is not after --from"));
    }
    if let Some(t) = &a.around {
        let t = time_flag("--around", t, false)?;
        c.from_us = Some(t - window);
        c.until_us = Some(t + window + 1);
    }
    if let Some(spec) = &a.finding {
        prefill(
            &mut c,
            spec,
            window,
            a.from.is_some() || a.to.is_some() || a.around.is_some(),
        )?;
    }
    if let Some(w) = &a.where_ {
        c.sql = Some((parse_where(w)?, w.clone()));
    }
    Ok(c.normalised())
}

/// Fills the criteria the user did not give from a finding of a
/// findings.json: its actor, its subscriptions, its time ± `window`.
fn prefill(c: &mut crate::filter::Criteria, spec: &str, window: i64, timed: bool) -> Result<()> {
    let (path, id) = spec.rsplit_once('#').ok_or_else(|| {
        usage(
            "--finding",
            format!("{spec:?}: expected FINDINGS.json#ID, e.g. out/findings.json#F0003"),
        )
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(Path::new(path), e))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        usage(
            "--finding",
            format!("{path}: not a findings.json document: {e}"),
        )
    })?;
    let f = doc["findings"]
        .as_array()
        .and_then(|fs| {
            fs.iter()
                .find(|f| f["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        })
        .ok_or_else(|| usage("--finding", format!("{path} has no finding {id:?}")))?;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    if c.callers.is_empty() {
        for k in ["principal_id", "caller"] {
            if let Some(s) = f["actor"][k].as_str() {
                c.callers.push(s.to_owned());
            }
        }
    }
    if c.subscriptions.is_empty() {
        c.subscriptions = strings(&f["subscriptions"]);
    }
    if !timed {
        let t = |k: &str| -> Result<i64> {
            let v = f[k].as_str().unwrap_or("");
            crate::normalize::time::parse_bound(v)
                .map_err(|e| usage("--finding", format!("{path}#{id}: {k} {v:?}: {e}")))
        };
        c.from_us = Some(t("first_seen")? - window);
        c.until_us = Some(t("last_seen")? + window + 1);
    }
    Ok(())
}

/// Collects frame chunks without `properties` and `claims` (their values
/// are nulled, so the frame keeps its schema).
struct LeanFrames(ingest::CollectFrames);

impl ingest::FrameSink for LeanFrames {
    fn frame(&mut self, mut df: polars::prelude::DataFrame) -> Result<()> {
        use polars::prelude::*;
        let n = df.height();
        for name in ["properties", "claims"] {
            df.with_column(Column::full_null(name.into(), n, &DataType::String))?;
        }
        self.0.frame(df)
    }
}

/// Keeps the matching rows of each chunk.
struct FilterSink {
    criteria: crate::filter::Criteria,
    kept: Vec<polars::prelude::DataFrame>,
    seen: u64,
}

impl ingest::FrameSink for FilterSink {
    fn frame(&mut self, df: polars::prelude::DataFrame) -> Result<()> {
        self.seen += df.height() as u64;
        let m = self.criteria.mask(&df)?;
        let df = df.filter(&m)?;
        if df.height() > 0 {
            self.kept.push(df);
        }
        Ok(())
    }
}

/// Where `filter -o` writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FilterOut {
    Jsonl,
    Parquet,
    Csv,
}

fn filter(a: FilterArgs) -> Result<()> {
    use polars::prelude::*;
    let opts = a.read.options()?;
    let c = criteria(&a)?;
    let out = match &a.output {
        None => None,
        Some(p) => {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let kind = match ext.as_deref() {
                Some("jsonl") | Some("ndjson") => FilterOut::Jsonl,
                Some("parquet") => FilterOut::Parquet,
                Some("csv") => FilterOut::Csv,
                _ => {
                    return Err(usage(
                        "--output",
                        format!(
                            "{}: expected a .jsonl, .parquet or .csv file name",
                            p.display()
                        ),
                    ));
                }
            };
            if p.exists() && !a.force {
                return Err(usage(
                    "--output",
                    format!("{} exists; pass --force to overwrite it", p.display()),
                ));
            }
            Some((p.clone(), kind))
        }
    };
    set_threads(a.read.threads)?;
    let sources = input::discover(&a.read.paths)?;
    let rejects_path = match (&a.rejects, &a.output) {
        (Some(r), _) => r.clone(),
        (None, Some(o)) => default_rejects(o),
        (None, None) => PathBuf::from("armhunt-rejects.jsonl"),
    };
    let mut rejects = RejectsWriter::lazy(&rejects_path);
    let progress = a.read.progress("filter");
    let mut sink = FilterSink {
        criteria: c,
        kept: Vec::new(),
        seen: 0,
    };
    let report = ingest::run(&sources, &opts, &mut sink, &mut rejects, progress.as_ref())?;
    rejects.finish()?;
    let df = ingest::CollectFrames(sink.kept).into_frame()?;
    let df = df.sort(
        ["time", "source_file", "source_offset", "source_row"],
        SortMultipleOptions::default(),
    )?;
    let summary = |written: &str| {
        if !a.read.quiet {
            let mut s = format!(
                "{} of {} records matched{written}",
                df.height(),
                report.totals.records_kept
            );
            if rejects.written() {
                s.push_str(&format!(
                    "; {} records could not be read, see {}",
                    rejects.count,
                    rejects.path().display()
                ));
            }
            eprintln!("{s}");
        }
    };
    match out {
        None => {
            let text = if a.json {
                crate::report::rows::json_lines(&df, &sources)?
            } else {
                let (colours, width) = colours(a.color);
                crate::report::rows::table(&df, colours, width)?
            };
            write_stdout(&text)?;
            summary("");
        }
        Some((path, kind)) => {
            match kind {
                FilterOut::Jsonl => {
                    let refs = crate::report::evidence::record_refs(&df)?;
                    let lines = crate::report::evidence::read_records(
                        &refs,
                        &sources,
                        opts.max_decompressed,
                    )?;
                    let mut b = String::new();
                    for (line, _) in lines {
                        b.push_str(&line);
                        b.push('\n');
                    }
                    std::fs::write(&path, b).map_err(|e| Error::io(&path, e))?;
                }
                FilterOut::Csv => {
                    let b = crate::report::rows::csv(&df, &sources)?;
                    std::fs::write(&path, b).map_err(|e| Error::io(&path, e))?;
                }
                FilterOut::Parquet => {
                    use crate::ingest::FrameSink;
                    let names: Vec<String> = sources.iter().map(|s| s.display()).collect();
                    let mut w =
                        FrameWriter::create(&path, Format::Parquet, Compression::Lz4, &names)?;
                    w.frame(df.clone())?;
                    w.finish()?;
                }
            }
            summary(&format!("; written to {}", path.display()));
        }
    }
    Ok(())
}
