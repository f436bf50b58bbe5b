//! `convert`: Parquet and Arrow output, determinism, safety.

mod common;

use common::*;
use polars::prelude::*;

fn convert(args: &[&str]) {
    let mut a = vec!["convert", "--quiet"];
    a.extend_from_slice(args);
    ok(&a);
}

#[test]
fn parquet_has_the_canonical_schema_and_sources() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s.parquet");
    convert(&["samples", "-o", out.to_str().unwrap()]);
    let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, armhunt::frame::column_names());
    assert_eq!(df.height(), 12);
    assert_eq!(
        df.column("time").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    // The rejects file is always written (empty here).
    let rej = d.path().join("s.parquet.rejects.jsonl");
    assert_eq!(std::fs::read(&rej).unwrap().len(), 0);
    // source_file indexes the input list stored in the file's metadata.
    let mut r = ParquetReader::new(std::fs::File::open(&out).unwrap());
    let md = r.get_metadata().unwrap().clone();
    let kv = md.key_value_metadata().as_ref().unwrap();
    let sources = kv
        .iter()
        .find(|k| k.key == "armhunt.sources")
        .unwrap()
        .value
        .clone()
        .unwrap();
    let sources: Vec<String> = serde_json::from_str(&sources).unwrap();
    let sf = df
        .column("source_file")
        .unwrap()
        .u32()
        .unwrap()
        .get(0)
        .unwrap();
    assert!(sources[sf as usize].ends_with("az-monitor-activity-log-list.json"));
}

#[test]
fn parquet_encodings_and_statistics_per_column() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s.parquet");
    convert(&["samples", "-o", out.to_str().unwrap()]);
    let mut r = ParquetReader::new(std::fs::File::open(&out).unwrap());
    let md = r.get_metadata().unwrap().clone();
    let rg = &md.row_groups[0];
    let chunk = |name: &str| {
        rg.parquet_columns()
            .iter()
            .find(|c| c.descriptor().path_in_schema[0].as_str() == name)
            .unwrap()
    };
    // Repetitive columns get a dictionary; unique ones and JSON texts do not.
    assert!(chunk("operation").dictionary_page_offset().is_some());
    for name in ["event_id", "properties", "claims", "time"] {
        assert!(chunk(name).dictionary_page_offset().is_none(), "{name}");
    }
    // JSON texts keep a null count but no min/max; other columns keep both.
    let stats = |name: &str| {
        chunk(name)
            .statistics(&md.footer_buf)
            .unwrap()
            .unwrap()
            .expect_binary()
            .clone()
    };
    let claims = stats("claims");
    assert_eq!(claims.null_count, Some(0));
    assert!(claims.min_value.is_none() && claims.max_value.is_none());
    let op = stats("operation");
    assert!(op.min_value.is_some() && op.max_value.is_some());
}

#[test]
fn arrow_ipc_output() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s.arrow");
    convert(&["samples", "-o", out.to_str().unwrap()]);
    let df = IpcReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 12);
    assert_eq!(df.width(), armhunt::frame::column_names().len());
}

#[test]
fn output_is_deterministic_across_runs_and_thread_counts() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.parquet");
    let b = d.path().join("b.parquet");
    convert(&["samples", "-o", a.to_str().unwrap()]);
    convert(&["samples", "--threads", "1", "-o", b.to_str().unwrap()]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn inputs_are_not_modified() {
    let before: Vec<_> = walk("samples")
        .iter()
        .map(|p| (p.clone(), sha256_file(p)))
        .collect();
    let d = tempfile::tempdir().unwrap();
    convert(&[
        "samples",
        "-o",
        d.path().join("x.parquet").to_str().unwrap(),
    ]);
    let after: Vec<_> = walk("samples")
        .iter()
        .map(|p| (p.clone(), sha256_file(p)))
        .collect();
    assert_eq!(before, after);
}

fn walk(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = walkdir::WalkDir::new(root().join(dir))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

#[test]
fn refuses_to_overwrite_without_force_and_bad_extensions() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("x.parquet");
    std::fs::write(&out, b"precious").unwrap();
    let r = run(&["convert", "-q", "samples", "-o", out.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    convert(&["samples", "-o", out.to_str().unwrap(), "--force"]);
    assert_ne!(std::fs::read(&out).unwrap(), b"precious");
    let r = run(&[
        "convert",
        "-q",
        "samples",
        "-o",
        d.path().join("x.txt").to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains(".parquet or .arrow"));
}

#[test]
fn canonical_parquet_reads_back() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.parquet");
    convert(&["samples", "-o", a.to_str().unwrap()]);
    let doc = stats_json(&[a.to_str().unwrap()]);
    let f = &doc["files"][0];
    assert_eq!(f["dialect"], "canonical-parquet");
    assert_eq!(f["records_kept"], 12);
    assert_eq!(doc["time_span"]["first"], "2024-05-01T10:02:05.123456Z");
}
