//! `stats` beyond the ledger: actors, events per subscription and day,
//! gaps and days without data; its flags, their combinations and bad values.

mod common;

use common::*;
use serde_json::Value;

const PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const CLI: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// One storage-account resource-log record.
fn rec(time: &str, sub: Option<&str>, caller: &str, oid: &str, app: &str, failed: bool) -> String {
    let rid = match sub {
        Some(s) => format!(
            r#""resourceId":"/SUBSCRIPTIONS/{s}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM","#
        ),
        None => String::new(),
    };
    let (result, sig) = if failed {
        ("Failure", "Failed.AuthorizationFailed")
    } else {
        ("Success", "Succeeded.OK")
    };
    format!(
        r#"{{"time":"{time}",{rid}"operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"{result}","resultSignature":"{sig}","callerIpAddress":"10.0.0.{n}","correlationId":"c-{time}-{caller}","identity":{{"claims":{{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"{caller}","http://schemas.microsoft.com/identity/claims/objectidentifier":"{oid}","appid":"{app}"}}}},"level":"Information"}}"#,
        n = time.len() % 7,
    )
}

/// Two subscriptions, events out of time order across two files, one
/// record without a subscription:
/// - S1: 05-01 00:00, 05-01 01:00, 05-04 10:00 (nothing on 05-02, 05-03);
/// - S2: 05-01 12:00, 05-02 12:00;
/// - none: 05-01 00:30.
///
/// No subscription has data on 05-03.
fn gappy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let in_ = d.path().join("in");
    std::fs::create_dir_all(&in_).unwrap();
    let a = [
        rec(
            "2024-05-04T10:00:00Z",
            Some("S1"),
            "m@x.com",
            "oid-m",
            CLI,
            true,
        ),
        rec(
            "2024-05-02T12:00:00Z",
            Some("S2"),
            "a@x.com",
            "oid-a",
            PORTAL,
            false,
        ),
        rec(
            "2024-05-01T01:00:00Z",
            Some("S1"),
            "m@x.com",
            "oid-m",
            "a-custom-app",
            false,
        ),
    ];
    let b = [
        rec(
            "2024-05-01T12:00:00Z",
            Some("S2"),
            "m@x.com",
            "oid-m",
            CLI,
            true,
        ),
        rec(
            "2024-05-01T00:00:00Z",
            Some("S1"),
            "a@x.com",
            "oid-a",
            PORTAL,
            false,
        ),
        rec("2024-05-01T00:30:00Z", None, "m@x.com", "oid-m", CLI, false),
    ];
    std::fs::write(in_.join("a.json"), a.join("\n") + "\n").unwrap();
    std::fs::write(in_.join("b.json"), b.join("\n") + "\n").unwrap();
    d
}

fn input(d: &tempfile::TempDir) -> String {
    d.path().join("in").to_str().unwrap().to_owned()
}

fn sub<'a>(doc: &'a Value, id: Option<&str>) -> &'a Value {
    doc["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscription_id"].as_str() == id)
        .unwrap_or_else(|| panic!("no subscription {id:?}"))
}

/// `(start, end, position)` of a subscription's gaps.
fn gaps(doc: &Value, id: Option<&str>) -> Vec<(String, String, String)> {
    sub(doc, id)["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap().to_owned();
            (s("start"), s("end"), s("position"))
        })
        .collect()
}

fn g(a: &str, b: &str, p: &str) -> (String, String, String) {
    (
        format!("2024-05-{a}:00.000000Z"),
        format!("2024-05-{b}:00.000000Z"),
        p.to_owned(),
    )
}

#[test]
fn daily_counts_empty_days_and_gaps_per_subscription() {
    let d = gappy();
    let doc = stats_json(&[&input(&d)]);
    assert_eq!(doc["gap"]["threshold_seconds"], 21600);
    assert_eq!(doc["gap"]["resolution_seconds"], 60);
    assert_eq!(doc["empty_days"], serde_json::json!(["2024-05-03"]));
    // Subscriptions by events, the one without an id last.
    let ids: Vec<Value> = doc["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscription_id"].clone())
        .collect();
    assert_eq!(ids, vec!["s1".into(), "s2".into(), Value::Null]);
    let s1 = sub(&doc, Some("s1"));
    assert_eq!(s1["events"], 3);
    assert_eq!(s1["first_seen"], "2024-05-01T00:00:00.000000Z");
    assert_eq!(s1["last_seen"], "2024-05-04T10:00:00.000000Z");
    let daily: Vec<(String, u64)> = s1["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        daily,
        vec![
            ("2024-05-01".into(), 2),
            ("2024-05-02".into(), 0),
            ("2024-05-03".into(), 0),
            ("2024-05-04".into(), 1)
        ]
    );
    assert_eq!(
        s1["empty_days"],
        serde_json::json!(["2024-05-02", "2024-05-03"])
    );
    assert_eq!(
        gaps(&doc, Some("s1")),
        vec![g("01T01:01", "04T10:00", "inner")]
    );
    assert_eq!(
        sub(&doc, Some("s1"))["gaps"][0]["seconds"],
        (3 * 86400 + 8 * 3600 + 59 * 60)
    );
    // S2 starts 12 h after the data does and stops 46 h before its end.
    assert_eq!(
        gaps(&doc, Some("s2")),
        vec![
            g("01T00:00", "01T12:00", "leading"),
            g("01T12:01", "02T12:00", "inner"),
            g("02T12:01", "04T10:01", "trailing"),
        ]
    );
    assert_eq!(
        sub(&doc, Some("s2"))["empty_days"],
        serde_json::json!(["2024-05-03", "2024-05-04"])
    );
    assert_eq!(
        gaps(&doc, None),
        vec![g("01T00:31", "04T10:01", "trailing")]
    );
}

#[test]
fn gap_threshold_is_inclusive_at_minute_precision() {
    let d = gappy();
    let dir = input(&d);
    // S2's leading gap is exactly 12 h of empty minutes.
    for (gap, leading) in [
        ("12h", true),
        ("720m", true),
        ("43200", true),
        ("721m", false),
    ] {
        let doc = stats_json(&["--gap", gap, &dir]);
        let has = gaps(&doc, Some("s2")).iter().any(|x| x.2 == "leading");
        assert_eq!(has, leading, "--gap {gap}");
    }
    let doc = stats_json(&["--gap", "1d", &dir]);
    assert_eq!(doc["gap"]["threshold_seconds"], 86400);
    assert_eq!(gaps(&doc, Some("s1")).len(), 1);
    assert_eq!(
        gaps(&doc, Some("s2")),
        vec![g("02T12:01", "04T10:01", "trailing")]
    );
    // One minute: every run of empty minutes.
    let doc = stats_json(&["--gap", "60s", &dir]);
    assert_eq!(gaps(&doc, Some("s1")).len(), 2);
    // A threshold longer than the data: no gaps, the days stay.
    let doc = stats_json(&["--gap", "30d", &dir]);
    for s in doc["subscriptions"].as_array().unwrap() {
        assert!(s["gaps"].as_array().unwrap().is_empty());
        assert_eq!(s["daily"].as_array().unwrap().len(), 4);
    }
    assert_eq!(doc["empty_days"], serde_json::json!(["2024-05-03"]));
}

#[test]
fn actors_first_last_seen_apps_ips_and_failures() {
    let d = gappy();
    let doc = stats_json(&[&input(&d)]);
    assert_eq!(doc["actors_total"], 2);
    let a = &doc["actors"];
    assert_eq!(a.as_array().unwrap().len(), 2);
    let m = &a[0];
    assert_eq!(m["actor"], "oid-m");
    assert_eq!(m["principal_id"], "oid-m");
    assert_eq!(m["caller"], "m@x.com");
    assert_eq!(m["events"], 4);
    assert_eq!(m["first_seen"], "2024-05-01T00:30:00.000000Z");
    assert_eq!(m["last_seen"], "2024-05-04T10:00:00.000000Z");
    assert_eq!(m["failed"], 2);
    assert_eq!(m["failed_sub_status"][0]["value"], "authorizationfailed");
    assert_eq!(m["failed_sub_status"][0]["count"], 2);
    assert_eq!(m["operations"]["distinct"], 1);
    assert_eq!(m["operations"]["top"][0]["count"], 4);
    assert_eq!(m["client_apps"]["distinct"], 2);
    assert_eq!(m["client_apps"]["top"][0]["app_id"], CLI);
    assert_eq!(m["client_apps"]["top"][0]["app_name"], "Azure CLI");
    assert_eq!(m["client_apps"]["top"][0]["count"], 3);
    assert_eq!(m["client_apps"]["top"][1]["app_id"], "a-custom-app");
    assert_eq!(m["client_apps"]["top"][1]["app_name"], Value::Null);
    assert!(m["caller_ips"]["distinct"].as_u64().unwrap() >= 1);
    let x = &a[1];
    assert_eq!(x["actor"], "oid-a");
    assert_eq!(x["failed"], 0);
    assert_eq!(x["failed_sub_status"], serde_json::json!([]));
    assert_eq!(x["client_apps"]["top"][0]["app_name"], "Azure Portal");
}

#[test]
fn samples_actors_and_subscriptions() {
    let doc = stats_json(&["samples"]);
    // The keys scripts already read are still there.
    for k in ["files", "totals", "time_span", "top", "rejects"] {
        assert!(doc.get(k).is_some(), "{k}");
    }
    assert_eq!(doc["actors_total"], 2);
    let m = &doc["actors"][0];
    assert_eq!(m["caller"], "mallory@contoso.onmicrosoft.com");
    assert_eq!(m["events"], 10);
    assert_eq!(m["client_apps"]["top"][0]["app_name"], "Azure PowerShell");
    assert_eq!(
        doc["actors"][1]["client_apps"]["top"][0]["app_name"],
        "Azure Portal"
    );
    let s = &doc["subscriptions"][0];
    assert_eq!(s["subscription_id"], "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b");
    assert_eq!(
        s["daily"],
        serde_json::json!([{"date": "2024-05-01", "events": 12}])
    );
    assert_eq!(s["gaps"], serde_json::json!([]));
    assert_eq!(doc["empty_days"], serde_json::json!([]));
}

#[test]
fn scenarios_actor_limits_text_and_json() {
    let dir = "tests/data/scenarios";
    // JSON: every actor unless --actors says otherwise.
    let doc = stats_json(&[dir]);
    let total = doc["actors_total"].as_u64().unwrap() as usize;
    assert!(total > 20, "{total}");
    assert_eq!(doc["actors"].as_array().unwrap().len(), total);
    let events: Vec<u64> = doc["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["events"].as_u64().unwrap())
        .collect();
    assert!(events.windows(2).all(|w| w[0] >= w[1]), "sorted by events");
    let sum: u64 = events.iter().sum();
    assert_eq!(sum, doc["totals"]["records_kept"].as_u64().unwrap());
    // --actors and --top together, in JSON.
    let doc = stats_json(&["--actors", "3", "--top", "1", dir]);
    assert_eq!(doc["actors"].as_array().unwrap().len(), 3);
    assert_eq!(doc["actors_total"].as_u64().unwrap() as usize, total);
    for a in doc["actors"].as_array().unwrap() {
        for l in ["operations", "caller_ips", "client_apps"] {
            assert!(a[l]["top"].as_array().unwrap().len() <= 1, "{l}");
        }
    }
    assert!(doc["actors"][0]["operations"]["distinct"].as_u64().unwrap() > 1);
    for (_, v) in doc["top"].as_object().unwrap() {
        assert_eq!(v.as_array().unwrap().len(), 1);
    }
    // Text: 20 actors by default.
    let text = ok(&["stats", "--quiet", dir]);
    assert!(
        text.contains(&format!("actors: {total} by events, the first 20 shown")),
        "{text}"
    );
    let blocks = |t: &str| t.lines().filter(|l| l.starts_with("    seen ")).count();
    assert_eq!(blocks(&text), 20);
    let text = ok(&["stats", "--quiet", "--actors", "2", "--top", "1", dir]);
    assert_eq!(blocks(&text), 2);
    let text = ok(&["stats", "--quiet", "--actors", "0", dir]);
    assert_eq!(blocks(&text), 0);
    assert!(text.contains("the first 0 shown"));
    let text = ok(&["stats", "--quiet", "--actors", "1000", dir]);
    assert_eq!(blocks(&text), total);
    assert!(text.contains(&format!("actors: {total} by events\n")));
    // --actors 0 in JSON lists none but still counts them.
    let doc = stats_json(&["--actors", "0", "--top", "0", dir]);
    assert_eq!(doc["actors"], serde_json::json!([]));
    assert_eq!(doc["actors_total"].as_u64().unwrap() as usize, total);
}

#[test]
fn text_sections_and_gap_lines() {
    let d = gappy();
    let text = ok(&["stats", "--quiet", "--gap", "12h", &input(&d)]);
    for want in [
        "\nactors: 2 by events\n",
        "  m@x.com\n    principal   oid-m\n    seen ",
        "    events      4 (2 failed: 2 authorizationfailed)\n",
        "      3  Azure CLI (04b07795-8ddb-461a-bbee-02f9e1bf7b46)\n",
        "      1  a-custom-app\n",
        "subscriptions: 3 (events per UTC day; gaps: runs of whole minutes without an event, at least 12h)\n",
        "  s1: 3 events, 2024-05-01T00:00:00.000000Z .. 2024-05-04T10:00:00.000000Z\n",
        "      2024-05-02 .. 2024-05-03          0  (2 days)\n",
        "    gap: 2024-05-01T01:01:00.000000Z .. 2024-05-04T10:00:00.000000Z  3d 8h 59m\n",
        "    gap: 2024-05-01T00:00:00.000000Z .. 2024-05-01T12:00:00.000000Z  12h  (before its first event)\n",
        "    gap: 2024-05-02T12:01:00.000000Z .. 2024-05-04T10:01:00.000000Z  1d 22h  (after its last event)\n",
        "  (none): 1 events,",
        "\ndays with no data at all: 2024-05-03\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // S2's inner gap (23 h 59 m) is under 1d.
    let text = ok(&["stats", "--quiet", "--gap", "1d", &input(&d)]);
    assert!(!text.contains("23h 59m"));
    assert!(text.contains("at least 1d)"));
}

#[test]
fn output_is_deterministic() {
    let d = gappy();
    let dir = input(&d);
    for json in [true, false] {
        let mut args = vec!["stats", "--quiet", "--gap", "2h"];
        if json {
            args.push("--json");
        }
        args.push(&dir);
        let a = ok(&args);
        let mut one = args.clone();
        one.extend(["--threads", "1"]);
        assert_eq!(a, ok(&args));
        assert_eq!(a, ok(&one));
    }
    let a = ok(&["stats", "--quiet", "--json", "tests/data/scenarios"]);
    let b = ok(&[
        "stats",
        "--quiet",
        "--json",
        "--threads",
        "1",
        "tests/data/scenarios",
    ]);
    assert_eq!(a, b);
}

#[test]
fn bad_values_are_errors_naming_the_flag() {
    let d = gappy();
    let dir = input(&d);
    for (flag, v) in [
        ("--gap", "soon"),
        ("--gap", ""),
        ("--gap", "0"),
        ("--gap", "0m"),
        ("--gap", "59s"),
        ("--gap", "1.5h"),
        ("--gap", "6 hours"),
        ("--gap", "-6h"),
        ("--gap", "99999999999999999999d"),
        ("--gap", "9999999999999999999d"),
        ("--actors", "-1"),
        ("--actors", "many"),
        ("--top", "x"),
    ] {
        for json in [false, true] {
            let mut args = vec!["stats", "--quiet"];
            if json {
                args.push("--json");
            }
            let arg = format!("{flag}={v}");
            args.extend([arg.as_str(), dir.as_str()]);
            let out = run(&args);
            assert!(!out.status.success(), "{args:?} succeeded");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(flag), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
        }
    }
    // A bad --gap fails before anything is read.
    let out = run(&["stats", "--gap", "x", "no/such/folder"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--gap"), "{err}");
}

#[test]
fn actor_and_app_values_are_escaped_in_text() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("in")).unwrap();
    let r = rec(
        "2024-05-01T00:00:00Z",
        Some("S\\u001b[2J"),
        "evil\\u001b[31m@x.com",
        "oid\\u009b1m",
        "app\\u001b]0;pwned\\u0007",
        false,
    );
    std::fs::write(d.path().join("in/a.json"), r + "\n").unwrap();
    let text = ok(&["stats", "--quiet", &input(&d)]);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!text.contains('\u{9b}'), "{text}");
    assert!(!text.contains('\u{7}'), "{text}");
    assert!(text.contains("evil\\u{1b}[31m@x.com"), "{text}");
    assert!(text.contains("app\\u{1b}]0;pwned\\u{7}"), "{text}");
    assert!(text.contains("oid\\u{9b}1m"), "{text}");
}
