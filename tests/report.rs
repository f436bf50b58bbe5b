//! The report folder of `scan -o DIR`: every file, golden outputs on the
//! samples, evidence verified byte for byte against the inputs,
//! determinism, escaping of hostile log values (also rendered in headless
//! Chromium), inputs left untouched, and the stdout formats.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::{golden, ok, root, run, sha256_file};
use polars::prelude::*;
use serde_json::Value;

const STORAGE: &str = "samples/storage/insights-activity-logs/resourceId=/SUBSCRIPTIONS/3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B/y=2024/m=05/d=01/h=10/m=00/PT1H.json";

fn scan_to(dir: &Path, inputs: &[&str], extra: &[&str]) -> String {
    let d = dir.to_str().unwrap();
    let mut a = vec!["scan", "--quiet", "-o", d, "--force"];
    a.extend_from_slice(inputs);
    a.extend_from_slice(extra);
    ok(&a)
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

fn evidence_frame(dir: &Path) -> DataFrame {
    let f = std::fs::File::open(dir.join("evidence.parquet")).unwrap();
    ParquetReader::new(f).finish().unwrap()
}

/// The decoded bytes of an input (gzip undone).
fn input_bytes(path: &str) -> Vec<u8> {
    let raw = std::fs::read(root().join(path)).unwrap();
    if path.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn the_folder_holds_every_output_and_the_manifest_hashes_them() {
    let out = tempfile::tempdir().unwrap();
    scan_to(out.path(), &["samples/"], &[]);
    let files = tree(out.path());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "evidence.parquet",
            "evidence/F0001-AH-PRIV-002.jsonl",
            "evidence/F0002-AH-EVAS-003.jsonl",
            "findings.json",
            "manifest.json",
            "rejects.jsonl",
            "report.html",
            "timeline.csv",
        ]
    );
    let m = json(&files["manifest.json"]);
    assert_eq!(m["manifest_version"], 1);
    assert_eq!(m["tool"]["name"], "armhunt");
    assert!(m["tool"]["git_commit"].as_str().unwrap().len() >= 7);
    let argv: Vec<&str> = m["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        argv.contains(&"scan") && argv.contains(&"samples/"),
        "{argv:?}"
    );
    // Every output but the manifest itself, with its real hash.
    let outputs = m["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), files.len() - 1);
    for o in outputs {
        let p = o["path"].as_str().unwrap();
        assert_eq!(o["sha256"], sha256(&files[p]), "{p}");
        assert_eq!(o["bytes"], files[p].len() as u64, "{p}");
    }
    // Every rule, with version, hash and effective parameters.
    let rules = m["rules"].as_array().unwrap();
    assert_eq!(rules.len(), armhunt::detect::catalog::all().len());
    let cred = rules.iter().find(|r| r["id"] == "AH-CRED-001").unwrap();
    assert_eq!(cred["params"]["min_accounts"], 5);
    assert_eq!(cred["content_hash"].as_str().unwrap().len(), 16);
    // Every input, with hash and counts that add up to the totals.
    let inputs = m["inputs"].as_array().unwrap();
    let storage = inputs
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("PT1H.json"))
        .unwrap();
    assert_eq!(storage["sha256"], sha256_file(&root().join(STORAGE)));
    assert_eq!(storage["dialect"], "storage-jsonl");
    let kept: u64 = inputs
        .iter()
        .map(|f| f["records_kept"].as_u64().unwrap())
        .sum();
    assert_eq!(m["totals"]["records_kept"], kept);
    assert!(m["duration_seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn samples_golden_timeline_and_evidence() {
    let out = tempfile::tempdir().unwrap();
    scan_to(out.path(), &["samples/"], &[]);
    let files = tree(out.path());
    golden(
        "timeline-samples.csv",
        std::str::from_utf8(&files["timeline.csv"]).unwrap(),
    );
    let mut ev = String::new();
    for (name, b) in files.iter().filter(|(n, _)| n.starts_with("evidence/")) {
        ev.push_str(&format!("==> {name} <==\n"));
        ev.push_str(std::str::from_utf8(b).unwrap());
    }
    golden("evidence-samples.txt", &ev);
    // findings.json in the folder is the golden one of the detection tests.
    golden(
        "findings-samples.json",
        std::str::from_utf8(&files["findings.json"]).unwrap(),
    );
}

#[test]
fn every_evidence_line_is_the_original_record() {
    let out = tempfile::tempdir().unwrap();
    scan_to(out.path(), &["samples/"], &[]);
    let df = evidence_frame(out.path());
    assert!(df.height() > 0);
    let path = df.column("source_path").unwrap().str().unwrap().clone();
    let off = df.column("source_offset").unwrap().u64().unwrap().clone();
    let len = df.column("source_len").unwrap().u32().unwrap().clone();
    let sha = df.column("record_sha256").unwrap().str().unwrap().clone();
    let rec = df.column("record").unwrap().str().unwrap().clone();
    let ids = df.column("finding_ids").unwrap().str().unwrap().clone();
    let evid = df.column("event_id").unwrap().str().unwrap().clone();
    let mut lines_in_files = 0;
    for e in std::fs::read_dir(out.path().join("evidence")).unwrap() {
        lines_in_files += std::fs::read_to_string(e.unwrap().path())
            .unwrap()
            .lines()
            .count();
    }
    let mut refs = 0;
    for i in 0..df.height() {
        let p = path.get(i).unwrap();
        let b = input_bytes(p);
        let (o, l) = (off.get(i).unwrap() as usize, len.get(i).unwrap() as usize);
        let raw = &b[o..o + l];
        assert_eq!(sha.get(i).unwrap(), sha256(raw), "{p} @ {o}");
        let line = rec.get(i).unwrap();
        if raw.contains(&b'\n') {
            // Pretty-printed: the same tokens, whitespace between them gone.
            let a: Value = serde_json::from_slice(raw).unwrap();
            let b: Value = serde_json::from_str(line).unwrap();
            assert_eq!(a, b);
            assert!(!line.contains('\n'));
            assert!(line.len() < raw.len());
        } else {
            assert_eq!(line.as_bytes(), raw, "{p} @ {o}");
        }
        // The line is in each of its findings' evidence files.
        for id in ids.get(i).unwrap().split(',') {
            let f = std::fs::read_dir(out.path().join("evidence"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(id))
                .unwrap();
            assert!(
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .any(|l| l == line),
                "{id}"
            );
            refs += 1;
        }
        assert!(!evid.get(i).unwrap().is_empty());
    }
    assert_eq!(refs, lines_in_files, "every evidence line is accounted for");
}

#[test]
fn table_rows_come_back_as_json_with_their_row_number() {
    let out = tempfile::tempdir().unwrap();
    scan_to(
        out.path(),
        &["samples/log-analytics/azureactivity.csv"],
        &[],
    );
    let df = evidence_frame(out.path());
    assert!(df.height() > 0);
    let b = std::fs::read(root().join("samples/log-analytics/azureactivity.csv")).unwrap();
    let off = df.column("source_offset").unwrap().u64().unwrap().clone();
    let len = df.column("source_len").unwrap().u32().unwrap().clone();
    let row = df.column("source_row").unwrap().u32().unwrap().clone();
    let sha = df.column("record_sha256").unwrap().str().unwrap().clone();
    let rec = df.column("record").unwrap().str().unwrap().clone();
    let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    for i in 0..df.height() {
        let (o, l) = (off.get(i).unwrap() as usize, len.get(i).unwrap() as usize);
        let raw = &b[o..o + l];
        assert_eq!(sha.get(i).unwrap(), sha256(raw));
        // Row n (from 0) is line n + 2 of the file: the header comes first.
        let n = row.get(i).unwrap() as usize;
        assert_eq!(
            lines[n + 1].strip_suffix(b"\r").unwrap_or(lines[n + 1]),
            raw
        );
        let v: Value = serde_json::from_str(rec.get(i).unwrap()).unwrap();
        assert!(v.get("OperationNameValue").is_some(), "{v}");
    }
}

#[test]
fn two_runs_give_identical_files_except_the_manifest_clock() {
    // The same folder both times, so the command lines are the same too.
    let out = root().join("target/determinism-run");
    let _ = std::fs::remove_dir_all(&out);
    let args = ["samples/", "tests/data/scenarios"];
    scan_to(&out, &args, &["--threads", "2"]);
    let first = tree(&out);
    scan_to(&out, &args, &["--threads", "2"]);
    let second = tree(&out);
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    assert!(first.len() > 10, "the scenarios make many findings");
    for (name, b) in &first {
        if name == "manifest.json" {
            let strip = |b: &[u8]| {
                let mut v = json(b);
                for k in ["started", "finished", "duration_seconds"] {
                    assert!(v.as_object_mut().unwrap().remove(k).is_some(), "{k}");
                }
                v
            };
            assert_eq!(strip(b), strip(&second[name]));
        } else {
            assert!(b == &second[name], "{name} differs between runs");
        }
    }
}

#[test]
fn inputs_are_never_modified() {
    let inputs: Vec<PathBuf> = walkdir::WalkDir::new(root().join("samples"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_owned())
        .collect();
    let before: Vec<(String, std::time::SystemTime)> = inputs
        .iter()
        .map(|p| {
            (
                sha256_file(p),
                std::fs::metadata(p).unwrap().modified().unwrap(),
            )
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    scan_to(out.path(), &["samples/"], &[]);
    let after: Vec<(String, std::time::SystemTime)> = inputs
        .iter()
        .map(|p| {
            (
                sha256_file(p),
                std::fs::metadata(p).unwrap().modified().unwrap(),
            )
        })
        .collect();
    assert_eq!(before, after);
}

/// The storage sample with the attacker's name replaced by markup, a
/// spreadsheet formula and a terminal escape.
const HOSTILE: &str = "=HYPERLINK(\\\"http://evil.example/\\\")<script>alert(1)</script><img src=x onerror=alert(2)>\\u001b[2J";

fn hostile_input(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join(STORAGE)).unwrap();
    let text = text.replace("mallory@contoso.onmicrosoft.com", HOSTILE);
    let p = dir.join("PT1H.json");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn hostile_values_are_escaped_in_html_csv_and_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let input = hostile_input(tmp.path());
    let out = tmp.path().join("out");
    scan_to(&out, &[input.to_str().unwrap()], &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "a log value became markup");
    assert!(!html.contains("<img"), "a log value became markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("\\u{1b}[2j"), "the escape is shown, not sent");
    assert!(!html.contains('\u{1b}'));
    // CSV: the caller cell starts with a quote, not a formula.
    let csv = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers = r.headers().unwrap().clone();
    let caller = headers.iter().position(|h| h == "caller").unwrap();
    let mut n = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        for cell in rec.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
        assert!(rec[caller].starts_with("'=hyperlink("), "{}", &rec[caller]);
        n += 1;
    }
    assert!(n > 0);
    // Terminal table: no raw escape reaches stdout.
    let table = ok(&["scan", "--quiet", input.to_str().unwrap()]);
    assert!(table.contains("=hyperlink("), "{table}");
    assert!(!table.contains('\u{1b}'), "{table:?}");
}

/// Chromium with the flags it needs as root on a closed network.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|c| {
            std::process::Command::new("which")
                .arg(c)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        })
}

fn headless(bin: &Path, profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let mut c = std::process::Command::new("timeout");
    c.arg("120")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url);
    c.output().expect("run chromium")
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        eprintln!(
            "SKIPPED report_renders_in_headless_chromium: no chromium on PATH \
             (apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = hostile_input(tmp.path());
    let out = tmp.path().join("out");
    scan_to(&out, &[input.to_str().unwrap(), "samples/"], &[]);
    let url = format!("file://{}", out.join("report.html").display());

    let dom = headless(&bin, &tmp.path().join("p1"), &["--dump-dom"], &url);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let findings: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    for f in findings["findings"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<section class=\"finding\" id=\"{id}\"")),
            "{id}"
        );
    }
    assert!(dom.contains("Actors ranked by risk"));
    assert!(dom.contains("<svg"), "the timeline chart is in the DOM");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains("<script"), "no script element was injected");
    assert!(!dom.contains("<img"), "no image element was injected");

    let shot = tmp.path().join("shot.png");
    let r = headless(
        &bin,
        &tmp.path().join("p2"),
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 1600));
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    // The page's dark header band is at the top.
    let top = pixels[10 * 1280 + 640];
    assert!(
        top[0] < 60 && top[1] < 60 && top[2] < 80,
        "header not dark: {top:?}"
    );
    // The high-severity colour (#c62828) of badges and finding borders.
    let red = pixels
        .iter()
        .filter(|p| p[0] > 180 && p[1] < 60 && p[2] < 60)
        .count();
    assert!(red > 200, "no high-severity colour on the page ({red} px)");
    let distinct: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    assert!(
        distinct.len() > 100,
        "a blank page ({} colours)",
        distinct.len()
    );
}

#[test]
fn stdout_formats_and_min_severity() {
    let table = ok(&["scan", "--quiet", "samples/"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("F0001  high"), "{table}");
    assert!(table.contains("AH-PRIV-002") && table.contains("AH-EVAS-003"));
    assert!(
        !table.contains('\u{1b}'),
        "no colours when stdout is not a terminal"
    );
    let coloured = ok(&["scan", "--quiet", "--color", "always", "samples/"]);
    assert!(coloured.contains("\u{1b}[1;31mhigh"), "{coloured:?}");

    let doc: Value =
        serde_json::from_str(&ok(&["scan", "--quiet", "--format", "json", "samples/"])).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2);

    let crit: Value = serde_json::from_str(&ok(&[
        "scan",
        "--quiet",
        "--format",
        "json",
        "--min-severity",
        "critical",
        "samples/",
    ]))
    .unwrap();
    assert!(crit["findings"].as_array().unwrap().is_empty());
    assert!(crit["storylines"].as_array().unwrap().is_empty());
    let none = ok(&["scan", "--quiet", "--min-severity", "critical", "samples/"]);
    assert!(none.starts_with("no findings\n"), "{none}");
    // Half an hour of data: the baseline and GeoIP rules say why they
    // judged nothing.
    assert!(
        none.contains("note: AH-ANOM-008, AH-ANOM-009: needs a GeoIP database (--geoip)"),
        "{none}"
    );

    // On the scenarios, --min-severity high keeps high and critical only,
    // numbered F0001… without gaps.
    let all: Value = serde_json::from_str(&ok(&[
        "scan",
        "--quiet",
        "--format",
        "json",
        "tests/data/scenarios",
    ]))
    .unwrap();
    let high: Value = serde_json::from_str(&ok(&[
        "scan",
        "--quiet",
        "--format",
        "json",
        "--min-severity",
        "high",
        "tests/data/scenarios",
    ]))
    .unwrap();
    let hf = high["findings"].as_array().unwrap();
    let expected = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
        .count();
    assert!(
        expected > 0 && hf.len() == expected,
        "{} vs {expected}",
        hf.len()
    );
    for (i, f) in hf.iter().enumerate() {
        assert_eq!(f["id"], format!("F{:04}", i + 1));
        assert!(f["severity"] == "high" || f["severity"] == "critical");
    }
    let out = tempfile::tempdir().unwrap();
    scan_to(
        out.path(),
        &["tests/data/scenarios"],
        &["--min-severity", "high"],
    );
    let m = json(&std::fs::read(out.path().join("manifest.json")).unwrap());
    assert_eq!(m["options"]["min_severity"], "high");
    let files = std::fs::read_dir(out.path().join("evidence"))
        .unwrap()
        .count();
    assert_eq!(files, expected);

    let bad = run(&["scan", "--min-severity", "severe", "samples/"]);
    assert!(!bad.status.success());
}

#[test]
fn force_replaces_an_earlier_run_and_own_output_is_not_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    scan_to(&out, &["tests/data/scenarios"], &[]);
    let many = std::fs::read_dir(out.join("evidence")).unwrap().count();
    assert!(many > 2);
    // A stranger's file in the folder is left alone.
    std::fs::write(out.join("notes.txt"), "case notes").unwrap();
    scan_to(&out, &["samples/"], &[]);
    let left: Vec<String> = std::fs::read_dir(out.join("evidence"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "stale evidence files removed: {left:?}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "case notes"
    );

    // Scanning a folder that holds the output folder does not read the
    // evidence back in.
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(root().join(STORAGE), input.join("PT1H.json")).unwrap();
    let inner = input.join("out");
    scan_to(&inner, &[input.to_str().unwrap()], &[]);
    scan_to(&inner, &[input.to_str().unwrap()], &[]);
    let m = json(&std::fs::read(inner.join("manifest.json")).unwrap());
    assert_eq!(m["inputs"].as_array().unwrap().len(), 1, "{}", m["inputs"]);
}

#[test]
fn stdout_findings_equal_the_folder_findings() {
    // Without -o the frame is held without properties and claims; the
    // findings must not change.
    let out = tempfile::tempdir().unwrap();
    scan_to(out.path(), &["tests/data/scenarios", "samples/"], &[]);
    let folder = std::fs::read_to_string(out.path().join("findings.json")).unwrap();
    let stdout = ok(&[
        "scan",
        "--quiet",
        "--format",
        "json",
        "tests/data/scenarios",
        "samples/",
    ]);
    assert!(folder.len() > 10_000);
    assert_eq!(stdout, folder);
}
