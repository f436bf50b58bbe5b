//! Shared helpers for the integration tests: run the binary, make files.
#![allow(dead_code)]

pub mod mmdb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root (where `samples/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/real-samples`, when present.
pub fn real_samples() -> Option<PathBuf> {
    let p = root().join("../shared/real-samples");
    p.is_dir().then_some(p)
}

/// Runs armhunt with `args` in the project root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_armhunt"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run armhunt")
}

/// Runs armhunt and requires success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "armhunt {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// `stats --json` as a JSON value.
pub fn stats_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["stats", "--json", "--quiet"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(&a)).expect("stats --json is JSON")
}

/// Compares `actual` with the golden file, or rewrites the golden file when
/// `ARMHUNT_BLESS=1` (only ever on purpose, with the reason in the commit).
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("ARMHUNT_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with ARMHUNT_BLESS=1)", path.display()));
    if expected != actual {
        let diff_at = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n expected: {:?}\n   actual: {:?}",
            path.display(),
            diff_at + 1,
            expected.lines().nth(diff_at),
            actual.lines().nth(diff_at)
        );
    }
}

pub fn sha256_file(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// The file entry for `suffix` in a stats document.
pub fn file_entry<'a>(doc: &'a serde_json::Value, suffix: &str) -> &'a serde_json::Value {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix}"))
}

/// Checks found = kept + duplicates + rejected per file and in total.
pub fn assert_counts_add_up(doc: &serde_json::Value) {
    let add = |v: &serde_json::Value| {
        let g = |k: &str| v[k].as_u64().unwrap();
        assert_eq!(
            g("records_found"),
            g("records_kept") + g("duplicates") + g("rejected"),
            "counts do not add up: {v}"
        );
    };
    for f in doc["files"].as_array().unwrap() {
        add(f);
    }
    add(&doc["totals"]);
}
