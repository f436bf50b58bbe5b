//! `filter` end to end: every flag against an oracle computed here from the
//! unfiltered rows, their combinations, bad values, and the three output
//! files (original records byte for byte, Parquet, CSV).

mod common;

use std::collections::BTreeSet;

use common::{ok, root, run};
use serde_json::Value;

const DATA: &str = "tests/data/scenarios";

/// `filter --json` rows for `args` on the scenario data.
fn rows(args: &[&str]) -> Vec<Value> {
    rows_in(DATA, args)
}

/// The event ids of `rows`, in order.
fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The event ids of the unfiltered rows that satisfy `f`.
fn oracle(all: &[Value], f: impl Fn(&Value) -> bool) -> Vec<String> {
    ids(&all.iter().filter(|r| f(r)).cloned().collect::<Vec<_>>())
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn fails(args: &[&str]) -> String {
    let mut a = vec!["filter", "--quiet", DATA];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_flags_keep_everything_in_time_order() {
    let all = rows(&[]);
    let stats = common::stats_json(&[DATA]);
    assert_eq!(
        all.len() as u64,
        stats["totals"]["records_kept"].as_u64().unwrap()
    );
    let times: Vec<&str> = all.iter().map(|r| s(r, "time")).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    for r in &all {
        assert!(r["source_path"].as_str().unwrap().starts_with(DATA));
    }
}

#[test]
fn each_flag_matches_its_oracle() {
    let all = rows(&[]);
    let pick = |k: &str| -> Vec<String> {
        let mut v: Vec<String> = all
            .iter()
            .map(|r| s(r, k).to_owned())
            .filter(|v| !v.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        v.sort();
        v
    };
    let subs = pick("subscription_id");
    let sub = &subs[0];
    assert_eq!(
        ids(&rows(&["--subscription", &sub.to_uppercase()])),
        oracle(&all, |r| s(r, "subscription_id") == sub)
    );
    // Repeated flags OR together (the samples hold another subscription).
    let both: Vec<Value> = rows_in(DATA, &[])
        .into_iter()
        .chain(rows_in("samples/", &[]))
        .collect();
    let other = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b";
    let mut a = vec!["filter", "--quiet", "--json", DATA, "samples/"];
    a.extend(["--subscription", sub.as_str(), "--subscription", other]);
    let got: Vec<Value> = ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got_ids = ids(&got);
    got_ids.sort();
    let mut want = oracle(&both, |r| {
        s(r, "subscription_id") == sub || s(r, "subscription_id") == other
    });
    want.sort();
    assert_eq!(got_ids, want);
    assert!(got.iter().any(|r| s(r, "subscription_id") == other));

    let callers = pick("caller");
    let c = callers.iter().find(|c| c.contains('@')).unwrap();
    assert_eq!(
        ids(&rows(&["--caller", c])),
        oracle(&all, |r| s(r, "caller") == c || s(r, "principal_id") == c)
    );
    let oid = pick("principal_id")[0].clone();
    let by_oid = rows(&["--caller", &oid.to_uppercase()]);
    assert!(!by_oid.is_empty());
    assert_eq!(
        ids(&by_oid),
        oracle(&all, |r| s(r, "caller") == oid
            || s(r, "principal_id") == oid)
    );

    let ip = pick("caller_ip")[0].clone();
    assert_eq!(
        ids(&rows(&["--ip", &ip])),
        oracle(&all, |r| s(r, "caller_ip") == ip || s(r, "token_ip") == ip)
    );
    let net: Vec<&str> = ip.split('.').collect();
    let cidr = format!("{}.{}.0.0/16", net[0], net[1]);
    let prefix = format!("{}.{}.", net[0], net[1]);
    assert_eq!(
        ids(&rows(&["--ip", &cidr])),
        oracle(&all, |r| s(r, "caller_ip").starts_with(&prefix)
            || s(r, "token_ip").starts_with(&prefix))
    );

    let by_glob = rows(&["--operation", "Microsoft.Storage/*/LISTKEYS/action"]);
    assert!(!by_glob.is_empty());
    assert_eq!(
        ids(&by_glob),
        oracle(&all, |r| {
            let o = s(r, "operation");
            o.starts_with("microsoft.storage/") && o.ends_with("/listkeys/action")
        })
    );
    assert_eq!(
        ids(&rows(&["--operation", "*/delete"])),
        oracle(&all, |r| s(r, "operation").ends_with("/delete"))
    );

    let rg = pick("resource_group")[0].clone();
    assert_eq!(
        ids(&rows(&["--resource-group", &rg.to_uppercase()])),
        oracle(&all, |r| s(r, "resource_group") == rg)
    );

    // A resource keeps itself and what is under it, not its namesakes.
    let vm = all
        .iter()
        .map(|r| s(r, "resource_id"))
        .find(|id| id.contains("/virtualmachines/") && !id.contains("/extensions/"))
        .unwrap()
        .to_owned();
    let under = rows(&["--resource", &vm]);
    assert!(!under.is_empty());
    assert_eq!(
        ids(&under),
        oracle(&all, |r| {
            let id = s(r, "resource_id");
            id == vm || id.starts_with(&format!("{vm}/"))
        })
    );

    let corr = pick("correlation_id")[0].clone();
    assert_eq!(
        ids(&rows(&["--correlation-id", &corr])),
        oracle(&all, |r| s(r, "correlation_id") == corr)
    );

    // Statuses are read the way the ingest normalises them.
    let failed = rows(&["--status", "Failure"]);
    assert!(!failed.is_empty());
    assert_eq!(ids(&failed), oracle(&all, |r| s(r, "status") == "failed"));

    let w = rows(&[
        "--where",
        "operation LIKE '%/delete' AND status = 'succeeded'",
    ]);
    assert!(!w.is_empty());
    assert_eq!(
        ids(&w),
        oracle(&all, |r| s(r, "operation").ends_with("/delete")
            && s(r, "status") == "succeeded")
    );
}

#[test]
fn times_and_windows() {
    let all = rows(&[]);
    let day = &s(&all[all.len() / 2], "time")[..10];
    let on_day = rows(&["--from", day, "--to", day]);
    assert!(!on_day.is_empty());
    assert_eq!(
        ids(&on_day),
        oracle(&all, |r| s(r, "time").starts_with(day))
    );

    let t = s(&all[all.len() / 2], "time").to_owned();
    let from = rows(&["--from", &t]);
    assert_eq!(ids(&from), oracle(&all, |r| s(r, "time") >= t.as_str()));
    let to = rows(&["--to", &t]);
    assert_eq!(ids(&to), oracle(&all, |r| s(r, "time") <= t.as_str()));
    // An offset is honoured.
    let shifted = t[..19].to_owned() + "+02:00";
    let hour = t[11..13].parse::<u32>().unwrap();
    if hour >= 2 {
        let utc = format!("{}{:02}{}", &t[..11], hour - 2, &t[13..]);
        assert_eq!(
            ids(&rows(&["--from", &shifted])),
            oracle(&all, |r| s(r, "time") >= &utc[..19])
        );
    }

    let around = rows(&["--around", &t, "--window", "10m"]);
    assert!(around.iter().any(|r| s(r, "time") == t));
    let (lo, hi) = (
        chrono::DateTime::parse_from_rfc3339(&t).unwrap() - chrono::Duration::minutes(10),
        chrono::DateTime::parse_from_rfc3339(&t).unwrap() + chrono::Duration::minutes(10),
    );
    assert_eq!(
        ids(&around),
        oracle(&all, |r| {
            let x = chrono::DateTime::parse_from_rfc3339(s(r, "time")).unwrap();
            x >= lo && x <= hi
        })
    );
}

#[test]
fn different_flags_and_together() {
    let all = rows(&[]);
    let r0 = all.iter().find(|r| s(r, "status") == "failed").unwrap();
    let caller = s(r0, "caller").to_owned();
    let got = rows(&[
        "--caller",
        &caller,
        "--status",
        "failed",
        "--operation",
        "microsoft.*",
    ]);
    assert!(!got.is_empty());
    assert_eq!(
        ids(&got),
        oracle(&all, |r| (s(r, "caller") == caller
            || s(r, "principal_id") == caller)
            && s(r, "status") == "failed"
            && s(r, "operation").starts_with("microsoft."))
    );
    assert!(
        rows(&[
            "--caller",
            &caller,
            "--caller",
            "nobody@example.com",
            "--status",
            "canceled",
            "--status",
            "failed"
        ])
        .len()
            >= got.len()
    );
    assert!(rows(&["--caller", "nobody@example.com"]).is_empty());
}

#[test]
fn bad_values_name_their_flag() {
    for (args, flag) in [
        (vec!["--from", "yesterday"], "--from"),
        (vec!["--to", "2024-02-30"], "--to"),
        (vec!["--from", "2024-06-05", "--to", "2024-06-01"], "--to"),
        (vec!["--around", "noon"], "--around"),
        (
            vec!["--around", "2024-06-03T12:00:00Z", "--window", "soon"],
            "--window",
        ),
        (vec!["--window", "2h"], "--window"),
        (vec!["--ip", "10.0.0.0/40"], "--ip"),
        (vec!["--ip", "not-an-ip"], "--ip"),
        (vec!["--where", "statuz = 'failed'"], "--where"),
        (vec!["--where", "status = = 1"], "--where"),
        (vec!["--where", "caller"], "--where"),
        (vec!["--finding", "nofile.json"], "--finding"),
        (vec!["-o", "out.txt"], "--output"),
    ] {
        let e = fails(&args);
        assert!(e.contains(flag), "{args:?}: {e}");
    }
    let e = fails(&["--where", "statuz = 'failed'"]);
    assert!(
        e.contains("caller_ip") && e.contains("operation"),
        "lists the columns: {e}"
    );
    // --around and --from do not go together.
    let e = fails(&["--around", "2024-06-03T12:00:00Z", "--from", "2024-06-01"]);
    assert!(e.contains("--from") || e.contains("--around"), "{e}");
}

#[test]
fn jsonl_output_holds_the_original_records_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.jsonl");
    let o = out.to_str().unwrap();
    ok(&[
        "filter",
        "--quiet",
        "samples/",
        "--operation",
        "*/roleassignments/write",
        "-o",
        o,
    ]);
    let rows_json: Vec<Value> = ok(&[
        "filter",
        "--quiet",
        "--json",
        "samples/",
        "--operation",
        "*/roleassignments/write",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows_json.len());
    assert!(!lines.is_empty());
    for (line, r) in lines.iter().zip(&rows_json) {
        let path = s(r, "source_path");
        if path.ends_with(".gz")
            || path.contains(".zip!/")
            || r["dialect"] == "la-csv"
            || r["dialect"].as_str().unwrap().ends_with("parquet")
        {
            // Decoded or tabular: the line is JSON naming the same operation.
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(
                v.to_string()
                    .to_lowercase()
                    .contains("roleassignments/write")
            );
            continue;
        }
        let b = std::fs::read(root().join(path)).unwrap();
        let (off, len) = (
            r["source_offset"].as_u64().unwrap() as usize,
            r["source_len"].as_u64().unwrap() as usize,
        );
        let raw = &b[off..off + len];
        if raw.contains(&b'\n') {
            let a: Value = serde_json::from_slice(raw).unwrap();
            assert_eq!(a, serde_json::from_str::<Value>(line).unwrap());
        } else {
            assert_eq!(line.as_bytes(), raw, "{path} @ {off}");
        }
    }
    // An existing output is not overwritten without --force.
    let again = run(&["filter", "--quiet", "samples/", "-o", o]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(&["filter", "--quiet", "samples/", "-o", o, "--force"]);
}

#[test]
fn parquet_and_csv_outputs() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("m.parquet");
    let csvp = tmp.path().join("m.csv");
    let args = ["--status", "failed"];
    let expect = rows(&args);
    assert!(!expect.is_empty());
    let mut a = vec!["filter", "--quiet", DATA, "-o", pq.to_str().unwrap()];
    a.extend_from_slice(&args);
    ok(&a);
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), expect.len());
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        armhunt::frame::column_names()
    );
    let got: Vec<String> = df
        .column("event_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_owned())
        .collect();
    assert_eq!(got, ids(&expect));

    let mut a = vec!["filter", "--quiet", DATA, "-o", csvp.to_str().unwrap()];
    a.extend_from_slice(&args);
    ok(&a);
    let mut r = csv::Reader::from_path(&csvp).unwrap();
    assert_eq!(r.headers().unwrap().get(0), Some("time"));
    let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(recs.len(), expect.len());
    for rec in &recs {
        for cell in rec.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula cell {cell:?}"
            );
        }
    }
}

#[test]
fn finding_prefills_actor_subscription_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("scan");
    ok(&["scan", "--quiet", "samples/", "-o", out.to_str().unwrap()]);
    let spec = format!("{}#F0002", out.join("findings.json").display());
    let got = rows_in("samples/", &["--finding", &spec, "--window", "5m"]);
    assert!(!got.is_empty());
    let findings: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let f = &findings["findings"][1];
    let first = chrono::DateTime::parse_from_rfc3339(f["first_seen"].as_str().unwrap()).unwrap();
    let last = chrono::DateTime::parse_from_rfc3339(f["last_seen"].as_str().unwrap()).unwrap();
    let pid = f["actor"]["principal_id"].as_str().unwrap();
    let all = rows_in("samples/", &[]);
    let expect = oracle(&all, |r| {
        let t = chrono::DateTime::parse_from_rfc3339(s(r, "time")).unwrap();
        (s(r, "principal_id") == pid || s(r, "caller") == f["actor"]["caller"].as_str().unwrap())
            && t >= first - chrono::Duration::minutes(5)
            && t <= last + chrono::Duration::minutes(5)
            && f["subscriptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_str() == Some(s(r, "subscription_id")))
    });
    assert_eq!(ids(&got), expect);
    // An explicit flag replaces what the finding would fill in.
    assert!(
        rows_in(
            "samples/",
            &["--finding", &spec, "--caller", "nobody@example.com"]
        )
        .is_empty()
    );
    let e = {
        let o = run(&[
            "filter",
            "--quiet",
            "samples/",
            "--finding",
            &format!("{}#F9999", out.join("findings.json").display()),
        ]);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(e.contains("F9999"), "{e}");
}

fn rows_in(input: &str, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["filter", "--quiet", "--json", input];
    a.extend_from_slice(args);
    ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn table_on_stdout() {
    let t = ok(&["filter", "--quiet", "samples/", "--status", "succeeded"]);
    let mut lines = t.lines();
    assert!(lines.next().unwrap().starts_with("TIME (UTC)"));
    let body: Vec<&str> = lines.collect();
    assert!(!body.is_empty());
    let mut sorted = body.clone();
    sorted.sort();
    assert_eq!(body, sorted, "time order");
    assert!(!t.contains('\u{1b}'));
    let c = ok(&[
        "filter", "--quiet", "samples/", "--color", "always", "--status", "failed",
    ]);
    assert!(c.starts_with("TIME (UTC)"));
}
