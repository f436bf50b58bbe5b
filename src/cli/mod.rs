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
use crate::report::stats::{RejectsInfo, StatsSink, render_text};
use crate::report::text::parse_size;

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
    /// What was read: per input its dialect and counts, the time span, top values.
    Stats(StatsArgs),
    /// Write the canonical frame as Parquet (`.parquet`) or Arrow IPC (`.arrow`).
    Convert(ConvertArgs),
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
    /// How many values to list per column.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
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
    }
}

fn stats(a: StatsArgs) -> Result<()> {
    let opts = a.read.options()?;
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
    let doc = sink.doc(&report, a.top, info);
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
