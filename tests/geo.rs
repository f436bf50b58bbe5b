//! `--geoip`: MaxMind DB files the tests write themselves (see
//! `common/mmdb.rs`) enrich `stats` and are recorded in the scan manifest.

mod common;

use std::path::{Path, PathBuf};

use common::mmdb::{MmdbWriter, asn, city};
use common::{ok, run, sha256_file};
use serde_json::Value;

/// A City and an ASN database covering the caller IPs of `samples/`:
/// 203.0.113.66 is known to both, 198.51.100.20 to the City one only.
fn databases(dir: &Path) -> (PathBuf, PathBuf) {
    let mut c = MmdbWriter::new("GeoLite2-City");
    c.insert(
        "203.0.113.0/24",
        city("NL", "Netherlands", "Amsterdam", 52.3676, 4.9041, 20),
    );
    c.insert(
        "198.51.100.0/24",
        city("US", "United States", "New York", 40.7128, -74.006, 100),
    );
    let mut a = MmdbWriter::new("GeoLite2-ASN");
    a.insert("203.0.113.0/24", asn(64496, "Example Hosting B.V."));
    a.insert("2001:db8::/32", asn(64497, "Example v6"));
    let (cp, ap) = (dir.join("city.mmdb"), dir.join("asn.mmdb"));
    std::fs::write(&cp, c.to_bytes()).unwrap();
    std::fs::write(&ap, a.to_bytes()).unwrap();
    (cp, ap)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `count` of the entry with `value` in a list.
fn entry<'a>(list: &'a Value, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["value"] == value)
        .unwrap_or_else(|| panic!("no {value} in {list}"))
}

#[test]
fn stats_json_gets_countries_and_asns() {
    let d = tempfile::tempdir().unwrap();
    let (c, a) = databases(d.path());
    let geo = |json: bool| {
        let mut args = vec![
            "stats",
            "--quiet",
            "samples",
            "--geoip",
            s(&c),
            "--geoip",
            s(&a),
        ];
        if json {
            args.push("--json");
        }
        ok(&args)
    };
    let doc: Value = serde_json::from_str(&geo(true)).unwrap();
    let top = &doc["top"];
    let ip = entry(&top["caller_ip"], "203.0.113.66");
    assert_eq!(
        (&ip["count"], &ip["country"], &ip["asn"], &ip["as_org"]),
        (
            &Value::from(10),
            &Value::from("NL"),
            &Value::from(64496),
            &Value::from("Example Hosting B.V.")
        )
    );
    // Known to the City database only.
    let ip = entry(&top["caller_ip"], "198.51.100.20");
    assert_eq!(
        (&ip["country"], &ip["asn"]),
        (&Value::from("US"), &Value::Null)
    );
    assert_eq!(
        top["country"],
        serde_json::json!([
            {"value": "NL", "country_name": "Netherlands", "count": 10},
            {"value": "US", "country_name": "United States", "count": 2},
        ])
    );
    assert_eq!(
        top["asn"],
        serde_json::json!([
            {"value": "AS64496", "asn": 64496, "as_org": "Example Hosting B.V.", "count": 10},
            {"value": "unknown", "asn": null, "as_org": null, "count": 2},
        ])
    );
    // Per actor: each IP, and the countries.
    let actors = doc["actors"].as_array().unwrap();
    let mallory = actors
        .iter()
        .find(|x| x["caller"] == "mallory@contoso.onmicrosoft.com")
        .unwrap();
    assert_eq!(mallory["caller_ips"]["top"][0]["country"], "NL");
    assert_eq!(mallory["caller_ips"]["top"][0]["asn"], 64496);
    assert_eq!(
        mallory["countries"],
        serde_json::json!({"distinct": 1, "top": [{"value": "NL", "country_name": "Netherlands", "count": 10}]})
    );
    let alice = actors
        .iter()
        .find(|x| x["caller"] == "alice@contoso.com")
        .unwrap();
    assert_eq!(alice["countries"]["top"][0]["value"], "US");

    // The text says the same.
    let text = geo(false);
    assert!(text.contains("\ntop country:\n"), "{text}");
    assert!(text.contains("       10  NL (Netherlands)\n"), "{text}");
    assert!(
        text.contains("       10  AS64496  Example Hosting B.V.\n"),
        "{text}"
    );
    assert!(text.contains("        2  unknown\n"), "{text}");
    assert!(
        text.contains("       10  203.0.113.66  NL  AS64496 Example Hosting B.V.\n"),
        "{text}"
    );
    assert!(text.contains("        2  198.51.100.20  US\n"), "{text}");
    assert!(text.contains("    countries   1 distinct\n"), "{text}");
    assert!(text.contains("NL (Netherlands)"), "{text}");

    // Without --geoip nothing is added.
    let plain = common::stats_json(&["samples"]);
    assert!(plain["top"].get("country").is_none());
    assert!(plain["top"]["caller_ip"][0].get("country").is_none());
    assert!(plain["actors"][0].get("countries").is_none());
}

/// Caller IPs in every form: IPv6, IPv4-mapped, unknown, none.
#[test]
fn stats_reads_every_address_form_and_counts_unknowns() {
    let d = tempfile::tempdir().unwrap();
    let (c, a) = databases(d.path());
    let rec = |n: u32, ip: Option<&str>| {
        let ip = ip
            .map(|i| format!(r#""callerIpAddress":"{i}","#))
            .unwrap_or_default();
        format!(
            r#"{{"time":"2024-05-01T10:00:{n:02}Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"Success",{ip}"correlationId":"c{n}","identity":{{"claims":{{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"eve@contoso.com"}}}},"level":"Information"}}"#
        )
    };
    let lines = [
        rec(1, Some("2001:db8::5")),
        rec(2, Some("2001:db8::5")),
        rec(3, Some("::ffff:203.0.113.9")),
        rec(4, Some("10.1.2.3")),
        rec(5, None),
    ];
    let input = d.path().join("log.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let doc: Value = serde_json::from_str(&ok(&[
        "stats",
        "--quiet",
        "--json",
        s(&input),
        "--geoip",
        s(&c),
        "--geoip",
        s(&a),
    ]))
    .unwrap();
    let top = &doc["top"];
    let v6 = entry(&top["caller_ip"], "2001:db8::5");
    assert_eq!(
        (&v6["country"], &v6["asn"]),
        (&Value::Null, &Value::from(64497))
    );
    assert_eq!(
        entry(&top["caller_ip"], "::ffff:203.0.113.9")["country"],
        "NL"
    );
    assert_eq!(entry(&top["caller_ip"], "10.1.2.3")["country"], Value::Null);
    // Records with a caller IP only: 2 + 1 + 1.
    let country = |v: &str| entry(&top["country"], v)["count"].as_u64().unwrap();
    assert_eq!((country("unknown"), country("NL")), (3, 1));
    let asn = |v: &str| entry(&top["asn"], v)["count"].as_u64().unwrap();
    assert_eq!((asn("AS64497"), asn("AS64496"), asn("unknown")), (2, 1, 1));
    let eve = &doc["actors"][0];
    assert_eq!(eve["countries"]["distinct"], 1);
    assert_eq!(entry(&eve["countries"]["top"], "unknown")["count"], 3);
}

#[test]
fn scan_manifest_lists_the_databases() {
    let d = tempfile::tempdir().unwrap();
    let (c, a) = databases(d.path());
    let out = d.path().join("out");
    ok(&[
        "scan",
        "--quiet",
        "samples",
        "-o",
        s(&out),
        "--geoip",
        s(&c),
        "--geoip",
        s(&a),
    ]);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let files = m["options"]["geoip_files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for (f, (p, ty)) in files
        .iter()
        .zip([(&c, "GeoLite2-City"), (&a, "GeoLite2-ASN")])
    {
        assert_eq!(f["path"], s(p));
        assert_eq!(f["sha256"], sha256_file(p));
        assert_eq!(f["database_type"], ty);
        assert_eq!(f["ip_version"], 6);
        assert_eq!(f["build_epoch"], 1_700_000_000);
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("GeoLite2-ASN, built 2023-11-14"),
        "no GeoIP files in the report"
    );
    // Without --geoip the list is empty.
    let out2 = d.path().join("out2");
    ok(&["scan", "--quiet", "samples", "-o", s(&out2)]);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["options"]["geoip_files"], serde_json::json!([]));
}

#[test]
fn bad_databases_fail_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.mmdb");
    let text = d.path().join("list.mmdb");
    std::fs::write(&text, "203.0.113.66,NL\n").unwrap();
    for cmd in ["stats", "scan"] {
        for bad in [&missing, &text] {
            let o = run(&[cmd, "--quiet", "samples", "--geoip", s(bad)]);
            assert!(!o.status.success(), "{cmd} {bad:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(s(bad)), "{cmd}: {err}");
            // Nothing was written to stdout: it failed before reading.
            assert!(o.stdout.is_empty(), "{cmd}");
        }
    }
    let o = run(&["stats", "--quiet", "samples", "--geoip", s(&text)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a MaxMind DB file"));
}
