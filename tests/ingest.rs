//! Ingest end to end: the binary over the bundled samples, the real
//! published samples, and hostile files.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

#[test]
fn samples_every_dialect_same_events() {
    let doc = stats_json(&["samples"]);
    assert_counts_add_up(&doc);
    let expect = [
        ("az-monitor-activity-log-list.json", "rest-array"),
        ("PT1H.json.gz", "storage-jsonl"),
        ("export.zip!/ActivityLogs/value.json", "rest-value"),
        ("eventhub/records.json", "records-envelope"),
        ("-ActivityLog.json", "rest-array"),
        ("azure_activity_log_2024-05-01.json", "python-sdk"),
        ("azureactivity.csv", "la-csv"),
        ("log-analytics/azureactivity.json", "la-json"),
        ("query-api-tables.json", "la-tables"),
        ("azureactivity.parquet", "la-parquet"),
        ("10-00-00.json", "powershell"),
        ("rest/value.json", "rest-value"),
        ("m=00/PT1H.json", "storage-jsonl"),
    ];
    for (suffix, dialect) in expect {
        let f = file_entry(&doc, suffix);
        assert_eq!(f["dialect"], dialect, "{suffix}");
        assert_eq!(f["records_found"], 6, "{suffix}");
        assert_eq!(f["rejected"], 0, "{suffix}");
        assert!(f.get("skipped").is_none(), "{suffix}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    // The zip archive itself is listed, with its hash, and holds no records.
    let z = file_entry(&doc, "export.zip");
    assert_eq!(z["dialect"], "zip-archive");
    assert_eq!(z["records_found"], 0);
    // Six events with eventDataId (REST and Log Analytics dialects) and the
    // same six as resource-log records (content ids): 12 distinct rows.
    assert_eq!(doc["totals"]["records_found"], 78);
    assert_eq!(doc["totals"]["records_kept"], 12);
    assert_eq!(doc["totals"]["duplicates"], 66);
    assert_eq!(doc["time_span"]["first"], "2024-05-01T10:02:05.123456Z");
    assert_eq!(doc["time_span"]["last"], "2024-05-01T10:29:59.750000Z");
    assert_eq!(
        doc["top"]["caller"][0]["value"],
        "mallory@contoso.onmicrosoft.com"
    );
    assert_eq!(doc["top"]["caller"][0]["count"], 10);
}

#[test]
fn samples_stats_golden() {
    golden(
        "stats-samples.json",
        &ok(&["stats", "--json", "--quiet", "samples"]),
    );
    golden("stats-samples.txt", &ok(&["stats", "--quiet", "samples"]));
}

#[test]
fn every_dialect_normalises_to_the_same_rows() {
    // Convert each sample on its own and compare the canonical columns
    // every dialect carries.
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "samples/rest/value.json",
        "samples/cli/az-monitor-activity-log-list.json",
        "samples/eventhub/records.json",
        "samples/goose/3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b/Activity Log/azure_activity_log_2024-05-01.json",
        "samples/powershell/AzRM_72f988bf-86f1-41af-91ab-2d7cd011db47_3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b_2024-05-01_10-00-00.json",
        "samples/log-analytics/azureactivity.csv",
        "samples/log-analytics/query-api-tables.json",
        "samples/parquet/azureactivity.parquet",
        "samples/compressed/export.zip",
    ];
    let cols = [
        "operation",
        "status",
        "sub_status",
        "category",
        "level",
        "caller",
        "caller_ip",
        "token_ip",
        "tenant_id",
        "subscription_id",
        "resource_group",
        "resource_type",
        "resource_name",
        "principal_id",
        "principal_type",
        "app_id",
        "auth_action",
        "correlation_id",
    ];
    let mut reference: Option<Vec<Vec<Option<String>>>> = None;
    for (i, f) in files.iter().enumerate() {
        let out = dir.path().join(format!("{i}.parquet"));
        ok(&["convert", "--quiet", f, "-o", out.to_str().unwrap()]);
        let df = read_parquet(&out);
        assert_eq!(df.height(), 6, "{f}");
        let mut table = Vec::new();
        for c in cols {
            let s = df.column(c).unwrap().str().unwrap().clone();
            table.push(s.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>());
        }
        // Times agree to the millisecond (Log Analytics keeps three digits).
        let t = df
            .column("time")
            .unwrap()
            .as_materialized_series()
            .datetime()
            .unwrap()
            .physical()
            .clone();
        table.push(
            t.iter()
                .map(|v| v.map(|us| (us / 1000).to_string()))
                .collect(),
        );
        match &reference {
            None => reference = Some(table),
            Some(r) => {
                for (k, c) in cols.iter().chain(["time(ms)"].iter()).enumerate() {
                    assert_eq!(
                        &table[k], &r[k],
                        "column {c} of {f} differs from the REST sample"
                    );
                }
            }
        }
    }
}

fn read_parquet(p: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let f = std::fs::File::open(p).unwrap();
    ParquetReader::new(f).finish().unwrap()
}

#[test]
fn real_published_samples() {
    let Some(real) = real_samples() else {
        eprintln!("skipped: ../shared/real-samples is not present");
        return;
    };
    let doc = stats_json(&[real.to_str().unwrap()]);
    assert_counts_add_up(&doc);
    let otel = file_entry(
        &doc,
        "otel_collector_contrib__eventhub_records_administrative_valid_1.json",
    );
    assert_eq!(otel["dialect"], "records-envelope");
    assert_eq!(otel["records_kept"], 1);
    let plaso = file_entry(
        &doc,
        "plaso__azure_activity_log_python_sdk_snake_case.jsonl",
    );
    assert_eq!(plaso["dialect"], "python-sdk");
    assert_eq!(plaso["records_kept"], 4);
    let md = file_entry(&doc, "SOURCES.md");
    assert!(
        md["skipped"]
            .as_str()
            .unwrap()
            .contains("neither JSON nor CSV")
    );

    // The OTel record, field by field.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let otel_path =
        real.join("otel_collector_contrib__eventhub_records_administrative_valid_1.json");
    ok(&[
        "convert",
        "-q",
        otel_path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let df = read_parquet(&out);
    let get = |c: &str| {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .map(str::to_owned)
    };
    assert_eq!(
        get("operation").as_deref(),
        Some("microsoft.insights/diagnosticsettings/write")
    );
    assert_eq!(get("status").as_deref(), Some("started"));
    assert_eq!(get("level").as_deref(), Some("informational"));
    assert_eq!(get("caller").as_deref(), Some("user@example.com"));
    assert_eq!(get("caller_ip").as_deref(), Some("203.0.113.10"));
    assert_eq!(
        get("principal_id").as_deref(),
        Some("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")
    );
    assert_eq!(
        get("tenant_id").as_deref(),
        Some("22222222-2222-2222-2222-222222222222")
    );
    assert_eq!(
        get("subscription_id").as_deref(),
        Some("11111111-1111-1111-1111-111111111111")
    );
    assert_eq!(get("role").as_deref(), Some("Owner"));
    assert_eq!(
        get("app_id").as_deref(),
        Some("66666666-6666-6666-6666-666666666666")
    );
    assert!(
        get("request_body")
            .unwrap()
            .starts_with("{\"id\":\"/subscriptions/1111")
    );
    let claims: serde_json::Value = serde_json::from_str(&get("claims").unwrap()).unwrap();
    assert_eq!(claims["ipaddr"], "203.0.113.10");
    assert!(get("event_id").unwrap().starts_with("xxh3:"));
}

/// Writes `files` into a fresh folder and runs `stats --json` on it.
fn stats_on(
    files: &[(&str, &[u8])],
    extra: &[&str],
) -> (tempfile::TempDir, serde_json::Value, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let rejects = dir.path().join("rejects.jsonl");
    let input = dir.path().join("in");
    let mut args = vec![
        "stats",
        "--json",
        "--quiet",
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let doc: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_counts_add_up(&doc);
    let rej = std::fs::read_to_string(&rejects)
        .map(|s| {
            s.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .unwrap_or_default();
    (dir, doc, rej)
}

const GOOD: &str = r#"{"time":"2024-05-01T10:00:00.1234567Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"Success","callerIpAddress":"1.2.3.4","correlationId":"c","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"a@b.c"}},"level":"Information"}"#;

fn good(n: u32) -> String {
    GOOD.replace("\"c\"", &format!("\"c{n}\""))
}

#[test]
fn truncated_final_record_is_rejected_with_offset() {
    let body = format!("[\n{},\n{},\n{}", good(1), good(2), &good(3)[..120]);
    let (_d, doc, rej) = stats_on(&[("in/a.json", body.as_bytes())], &[]);
    let f = file_entry(&doc, "a.json");
    assert_eq!(f["records_found"], 3);
    assert_eq!(f["records_kept"], 2);
    assert_eq!(f["rejected"], 1);
    assert_eq!(rej.len(), 1);
    assert!(
        rej[0]["reason"].as_str().unwrap().contains("truncated"),
        "{}",
        rej[0]
    );
    let off = rej[0]["offset"].as_u64().unwrap() as usize;
    assert_eq!(&body[off..off + 20], &good(3)[..20]);
    assert_eq!(
        rej[0]["length"].as_u64().unwrap() as usize,
        body.len() - off
    );
}

#[test]
fn jsonl_with_bom_bad_lines_and_invalid_utf8() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(good(1).as_bytes());
    body.extend_from_slice(b"\r\n");
    let bad_line_at = body.len();
    body.extend_from_slice(b"{\"time\": oops}\n");
    let utf8_at = body.len();
    body.extend_from_slice(good(2).replace("a@b.c", "a@b\u{e9}").as_bytes());
    // Break the UTF-8 of a string inside the third record.
    let pos = body[utf8_at..]
        .windows(2)
        .position(|w| w == [0xC3, 0xA9])
        .unwrap()
        + utf8_at;
    body[pos] = 0xFF;
    body.extend_from_slice(b"\n");
    body.extend_from_slice(good(3).as_bytes());
    body.extend_from_slice(b"\n\n");
    let (_d, doc, rej) = stats_on(&[("in/a.json", &body)], &[]);
    let f = file_entry(&doc, "a.json");
    assert_eq!(f["dialect"], "storage-jsonl");
    assert_eq!(f["records_found"], 4);
    assert_eq!(f["records_kept"], 2);
    assert_eq!(rej.len(), 2);
    assert_eq!(rej[0]["offset"].as_u64().unwrap() as usize, bad_line_at);
    assert!(
        rej[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON")
    );
    assert_eq!(rej[1]["offset"].as_u64().unwrap() as usize, utf8_at);
    assert!(
        rej[1]["reason"].as_str().unwrap().contains("invalid UTF-8"),
        "{}",
        rej[1]
    );
    // The excerpt shows the bad byte escaped, never raw.
    assert!(rej[1]["excerpt"].as_str().unwrap().len() > 10);
}

#[test]
fn missing_and_unreadable_times_are_rejected_not_invented() {
    let no_time = good(1).replace(
        "\"time\":\"2024-05-01T10:00:00.1234567Z\",",
        "\"eventDataId\":\"x\",\"eventTimestamp\":null,",
    );
    let bad_time = good(2).replace("2024-05-01T10:00:00.1234567Z", "13/45/2024 10:00");
    let body = format!("{no_time}\n{bad_time}\n{}\n", good(3));
    let (_d, doc, rej) = stats_on(&[("in/a.jsonl", body.as_bytes())], &[]);
    assert_eq!(file_entry(&doc, "a.jsonl")["records_kept"], 1);
    assert_eq!(rej.len(), 2);
    assert!(
        rej[0]["reason"].as_str().unwrap().contains("missing time"),
        "{}",
        rej[0]
    );
    assert!(
        rej[1]["reason"].as_str().unwrap().contains("13/45/2024"),
        "{}",
        rej[1]
    );
}

#[test]
fn day_first_flag() {
    let row = |t: &str| {
        format!(
            r#"{{"EventTimestamp":"{t}","EventDataId":"e-{t}","OperationName":{{"Value":"A/B"}},"Status":{{"Value":"Succeeded"}}}}"#
        )
    };
    let body = format!("[{}]", row("06/03/2024 10:38:38"));
    let (_d, doc, _) = stats_on(&[("in/a.json", body.as_bytes())], &[]);
    assert_eq!(doc["time_span"]["first"], "2024-06-03T10:38:38.000000Z");
    let (_d, doc, _) = stats_on(&[("in/a.json", body.as_bytes())], &["--day-first"]);
    assert_eq!(doc["time_span"]["first"], "2024-03-06T10:38:38.000000Z");
}

#[test]
fn non_activity_files_are_skipped_whole() {
    let kv = r#"{"time":"2024-05-01T10:00:00Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV","operationName":"VaultGet","operationVersion":"2016-10-01","category":"AuditEvent","resultType":"Success","identity":{"claim":{"oid":"x"}}}"#;
    let kv_file = format!("{kv}\n{kv}\n");
    let files: Vec<(&str, &[u8])> = vec![
        ("in/kv/PT1H.json", kv_file.as_bytes()),
        ("in/random.json", br#"{"name":"package","version":"1.0"}"#),
        ("in/blob.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00"),
        ("in/empty.json", b""),
        ("in/good.json", GOOD.as_bytes()),
    ];
    let (_d, doc, rej) = stats_on(&files, &[]);
    assert!(rej.is_empty());
    let kvf = file_entry(&doc, "kv/PT1H.json");
    assert!(
        kvf["skipped"].as_str().unwrap().contains("AuditEvent"),
        "{kvf}"
    );
    assert_eq!(kvf["records_found"], 0);
    assert!(
        file_entry(&doc, "random.json")["skipped"]
            .as_str()
            .unwrap()
            .contains("not an Activity Log")
    );
    assert!(
        file_entry(&doc, "blob.bin")["skipped"]
            .as_str()
            .unwrap()
            .contains("binary")
    );
    assert_eq!(file_entry(&doc, "empty.json")["skipped"], "empty");
    assert_eq!(file_entry(&doc, "good.json")["records_kept"], 1);
    assert_eq!(doc["totals"]["records_found"], 1);
}

#[test]
fn huge_line_is_read() {
    let big = "A".repeat(24 << 20);
    let rec = GOOD.replace(
        "\"level\":\"Information\"",
        &format!("\"level\":\"Information\",\"properties\":{{\"responseBody\":\"{big}\"}}"),
    );
    let body = format!("{}\n{rec}\n{}\n", good(1), good(2));
    let (_d, doc, rej) = stats_on(&[("in/a.json", body.as_bytes())], &[]);
    assert!(rej.is_empty());
    assert_eq!(file_entry(&doc, "a.json")["records_kept"], 3);
}

#[test]
fn gzip_bomb_is_refused_with_a_clear_reason() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"[").unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let mut ok_gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    ok_gz.write_all(good(1).as_bytes()).unwrap();
    let ok_gz = ok_gz.finish().unwrap();
    let (_d, doc, _) = stats_on(
        &[("in/bomb.json.gz", &bomb), ("in/fine.json.gz", &ok_gz)],
        &["--max-decompressed", "16MiB"],
    );
    let b = file_entry(&doc, "bomb.json.gz");
    assert!(
        b["skipped"]
            .as_str()
            .unwrap()
            .contains("cap of 16777216 bytes"),
        "{b}"
    );
    let f = file_entry(&doc, "fine.json.gz");
    assert_eq!(f["records_kept"], 1);
    assert_eq!(f["transforms"][0], "gzip");
}

#[test]
fn duplicates_across_inputs_are_kept_once() {
    let a = format!("{}\n{}\n", good(1), good(2));
    let b = format!("[\n  {},\n  {}\n]", good(2), good(3));
    let (_d, doc, _) = stats_on(
        &[("in/a.json", a.as_bytes()), ("in/b.json", b.as_bytes())],
        &[],
    );
    assert_eq!(doc["totals"]["records_found"], 4);
    assert_eq!(doc["totals"]["records_kept"], 3);
    assert_eq!(file_entry(&doc, "b.json")["duplicates"], 1);
}

#[test]
fn utf16_powershell_output_is_read() {
    let text = format!("[{}]", good(1));
    let mut b = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    let (_d, doc, _) = stats_on(&[("in/a.json", &b)], &[]);
    let f = file_entry(&doc, "a.json");
    assert_eq!(f["records_kept"], 1);
    assert_eq!(f["transforms"][0], "utf-16le");
}

#[test]
fn missing_path_is_an_error() {
    let out = run(&["stats", "no/such/folder"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no/such/folder"), "{err}");
}

#[test]
fn bad_flag_values_are_errors_naming_the_flag() {
    let out = run(&["stats", "--max-decompressed", "lots", "samples"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-decompressed"));
    let out = run(&["stats", "--threads", "0", "samples"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
}

#[test]
fn terminal_output_escapes_control_characters() {
    let evil = GOOD.replace("a@b.c", "evil\\u001b[31m@x.com");
    let (d, _, _) = stats_on(&[("in/a.json", evil.as_bytes())], &[]);
    let text = ok(&["stats", "--quiet", d.path().join("in").to_str().unwrap()]);
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("evil\\u{1b}[31m@x.com"));
}
