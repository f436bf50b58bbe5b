//! `scan` and `rules` end to end: the detection scenarios, golden findings
//! on the samples, determinism, configuration.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

fn scan(input: &str, extra: &[&str]) -> (tempfile::TempDir, Value) {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let mut args = vec!["scan", "--quiet", input, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(&args);
    let text = std::fs::read_to_string(out.join("findings.json")).unwrap();
    (d, serde_json::from_str(&text).unwrap())
}

/// The IOC lists of the scenarios: a plain list, TorDNSEL exit-addresses,
/// a Tor bulk exit list.
const IOC: [&str; 6] = [
    "--ioc",
    "tests/data/ioc/iocs.txt",
    "--ioc",
    "tests/data/ioc/tor-exit-addresses",
    "--ioc",
    "tests/data/ioc/torbulkexitlist",
];

fn rules_by_caller(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in doc["findings"].as_array().unwrap() {
        let caller = f["actor"]["caller"].as_str().unwrap_or("").to_owned();
        m.entry(caller)
            .or_default()
            .insert(f["rule_id"].as_str().unwrap().to_owned());
    }
    m
}

/// Checks a scenario tree's `expected.json` against the findings: every
/// attack found by its rule, no look-alike by its rule, no finding at all
/// for the benign background.
fn check_expected(doc: &Value, tree: &str) {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(tree).join("expected.json")).unwrap(),
    )
    .unwrap();
    let got = rules_by_caller(doc);
    for (actor, rules) in expected["attacks"].as_object().unwrap() {
        for r in rules.as_array().unwrap() {
            let r = r.as_str().unwrap();
            assert!(
                got.get(actor).is_some_and(|s| s.contains(r)),
                "{r} did not fire for its scenario actor {actor}; that actor got {:?}",
                got.get(actor)
            );
        }
    }
    for (actor, rules) in expected["lookalikes"].as_object().unwrap() {
        for r in rules.as_array().unwrap() {
            let r = r.as_str().unwrap();
            assert!(
                !got.get(actor).is_some_and(|s| s.contains(r)),
                "{r} fired for the benign look-alike {actor}"
            );
        }
    }
    for b in expected["benign"].as_array().unwrap() {
        let b = b.as_str().unwrap();
        assert!(
            !got.contains_key(b),
            "benign background actor {b} got findings {:?}",
            got.get(b)
        );
    }
    assert!(doc["rule_errors"].as_array().unwrap().is_empty());
}

#[test]
fn every_scenario_is_found_and_no_lookalike_is() {
    let (_d, doc) = scan("tests/data/scenarios", &IOC);
    check_expected(&doc, "tests/data/scenarios");
    // Hours of data, not weeks: the baseline rules say why they judged
    // nothing.
    assert_eq!(doc["baseline"]["applied"], false);
    let anom: Vec<&Value> = doc["rules_run"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("AH-ANOM"))
        .collect();
    assert_eq!(anom.len(), 9);
    for r in anom {
        assert!(r["note"].as_str().is_some(), "{r}");
    }
}

/// A GeoIP City database for the baseline scenarios' addresses.
fn scenario_geoip(dir: &std::path::Path) -> std::path::PathBuf {
    use common::mmdb::{MmdbWriter, city};
    let mut w = MmdbWriter::new("GeoLite2-City");
    w.insert(
        "203.0.113.0/24",
        city("NL", "Netherlands", "Amsterdam", 52.3676, 4.9041, 20),
    );
    w.insert(
        "192.0.2.0/24",
        city("NL", "Netherlands", "Rotterdam", 51.9244, 4.4777, 20),
    );
    w.insert(
        "20.50.1.0/24",
        city("DE", "Germany", "Frankfurt am Main", 50.1109, 8.6821, 50),
    );
    w.insert(
        "20.60.1.0/24",
        city("US", "United States", "Boydton", 36.6676, -78.3875, 100),
    );
    w.insert(
        "198.51.100.0/24",
        city("BR", "Brazil", "Sao Paulo", -23.5505, -46.6333, 50),
    );
    let p = dir.join("city.mmdb");
    std::fs::write(&p, w.to_bytes()).unwrap();
    p
}

#[test]
fn every_baseline_scenario_is_found_and_no_lookalike_is() {
    let d = tempfile::tempdir().unwrap();
    let db = scenario_geoip(d.path());
    let (_o, doc) = scan("tests/data/baseline", &["--geoip", db.to_str().unwrap()]);
    check_expected(&doc, "tests/data/baseline");
    let b = &doc["baseline"];
    assert_eq!(b["applied"], true, "{b}");
    assert_eq!(b["chosen_by"], "default");
    assert_eq!(b["geoip"], true);
    assert!(
        doc["rules_run"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("note").is_none()),
        "{}",
        doc["rules_run"]
    );
    // Findings say what the baseline was, and where addresses are.
    let why = |rule: &str| -> String {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == rule)
            .unwrap()["why"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(why("AH-ANOM-001").contains("baseline: Azure Portal on 25 of 25 active days"));
    assert!(why("AH-ANOM-008").contains("Sao Paulo, BR (Brazil)"));
    assert!(why("AH-ANOM-009").contains("(Amsterdam, NL)"));
    // Without --geoip the GeoIP rules say what they need and find nothing.
    let (_o, plain) = scan("tests/data/baseline", &[]);
    for id in ["AH-ANOM-008", "AH-ANOM-009"] {
        let r = plain["rules_run"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        assert_eq!(r["note"], "needs a GeoIP database (--geoip)");
        assert_eq!(r["findings"], 0);
    }
    // Choosing the detection period: from the start of the data, there is
    // no baseline to judge by.
    let (_o, early) = scan(
        "tests/data/baseline",
        &["--detect-from", "2024-04-03T00:00:00Z"],
    );
    assert_eq!(early["baseline"]["applied"], false);
    assert_eq!(early["baseline"]["chosen_by"], "option");
    // --baseline-until DATE keeps that whole day in the baseline.
    let (_o, until) = scan("tests/data/baseline", &["--baseline-until", "2024-04-02"]);
    assert_eq!(
        until["baseline"]["detect_from"],
        "2024-04-03T00:00:00.000000Z"
    );
    let both = run(&[
        "scan",
        "tests/data/baseline",
        "--detect-from",
        "2024-04-03",
        "--baseline-until",
        "2024-04-02",
    ]);
    assert!(!both.status.success());
    assert!(
        early["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["rule_id"].as_str().unwrap().starts_with("AH-ANOM"))
    );
}

#[test]
fn every_catalog_rule_has_a_scenario() {
    let mut covered = BTreeSet::new();
    for tree in ["tests/data/scenarios", "tests/data/baseline"] {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join(tree).join("expected.json")).unwrap(),
        )
        .unwrap();
        for rules in expected["attacks"].as_object().unwrap().values() {
            for r in rules.as_array().unwrap() {
                covered.insert(r.as_str().unwrap().to_owned());
            }
        }
    }
    let catalog: BTreeSet<String> = armhunt::detect::catalog::all()
        .iter()
        .map(|r| r.meta().id.to_owned())
        .collect();
    assert_eq!(
        covered,
        catalog,
        "rules without a scenario: {:?}",
        catalog.difference(&covered).collect::<Vec<_>>()
    );
}

#[test]
fn findings_have_the_documented_keys() {
    let (_d, doc) = scan("tests/data/scenarios", &[]);
    assert_eq!(doc["schema_version"], 1);
    let f = &doc["findings"][0];
    for k in [
        "id",
        "rule_id",
        "title",
        "severity",
        "tactics",
        "techniques",
        "defender_alerts",
        "actor",
        "caller_ips",
        "subscriptions",
        "resources",
        "operations",
        "first_seen",
        "last_seen",
        "count",
        "why",
        "evidence_event_ids",
    ] {
        assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
    }
    for k in [
        "caller",
        "principal_id",
        "principal_type",
        "app_id",
        "app_name",
    ] {
        assert!(f["actor"].get(k).is_some(), "actor lacks {k}");
    }
    // A storage key sweep: six accounts, counted as six logical operations.
    let sweep = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "AH-CRED-001")
        .unwrap();
    assert_eq!(sweep["count"], 6);
    assert_eq!(sweep["actor"]["app_name"], "Azure PowerShell");
    assert!(
        sweep["why"]
            .as_str()
            .unwrap()
            .starts_with("listKeys on 6 distinct storage accounts in 1m15s")
    );
    // Storylines rank actors by risk; the top one has a critical finding.
    let top = &doc["storylines"][0];
    assert_eq!(top["rank"], 1);
    assert_eq!(top["highest_severity"], "critical");
}

#[test]
fn samples_findings_golden() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    ok(&["scan", "--quiet", "samples", "-o", out.to_str().unwrap()]);
    golden(
        "findings-samples.json",
        &std::fs::read_to_string(out.join("findings.json")).unwrap(),
    );
}

#[test]
fn scan_is_deterministic() {
    let (_a, a) = scan("tests/data/scenarios", &IOC);
    let mut one_thread = IOC.to_vec();
    one_thread.extend(["--threads", "1"]);
    let (_b, b) = scan("tests/data/scenarios", &one_thread);
    assert_eq!(a, b);
    // The baselines too, GeoIP included.
    let d = tempfile::tempdir().unwrap();
    let db = scenario_geoip(d.path());
    let geo = ["--geoip", db.to_str().unwrap()];
    let (_c, c) = scan("tests/data/baseline", &geo);
    let (_e, e) = scan(
        "tests/data/baseline",
        &[&geo[..], &["--threads", "1"]].concat(),
    );
    assert_eq!(c, e);
}

#[test]
fn refuses_a_non_empty_output_folder() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("case-notes.txt"), b"keep").unwrap();
    let r = run(&["scan", "-q", "samples", "-o", d.path().to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--force"));
    ok(&[
        "scan",
        "-q",
        "samples",
        "-o",
        d.path().to_str().unwrap(),
        "--force",
    ]);
    assert!(d.path().join("findings.json").exists());
    assert_eq!(
        std::fs::read(d.path().join("case-notes.txt")).unwrap(),
        b"keep"
    );
}

#[test]
fn config_overrides_and_errors() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("rules.toml");
    // Raising the threshold above six accounts silences the sweep; turning a
    // rule off removes it from the run.
    std::fs::write(
        &cfg,
        "[rules.\"AH-CRED-001\"]\nmin_accounts = 7\n\n[rules.\"AH-IMPA-001\"]\nenabled = false\n",
    )
    .unwrap();
    let (_d, doc) = scan("tests/data/scenarios", &["--config", cfg.to_str().unwrap()]);
    let ids: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains("AH-CRED-001"));
    assert!(!ids.contains("AH-IMPA-001"));
    assert!(ids.contains("AH-EXEC-001"));
    assert!(
        !doc["rules_run"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "AH-IMPA-001")
    );

    std::fs::write(&cfg, "[rules.\"AH-CRED-001\"]\nwindow = \"a while\"\n").unwrap();
    let out = d.path().join("o2");
    let r = run(&[
        "scan",
        "-q",
        "samples",
        "-o",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("rules.toml") && err.contains("not a duration"),
        "{err}"
    );
}

#[test]
fn rules_list_and_show() {
    golden("rules-list.txt", &ok(&["rules", "list"]));
    let show = ok(&["rules", "show", "AH-PERS-001"]);
    assert!(show.contains("ARM_MicroBurst.RunCodeOnBehalf"));
    assert!(show.contains("window") && show.contains("1200s"));
    let show = ok(&["rules", "show", "AH-INTL-002"]);
    assert!(show.contains("ARM_OperationFromSuspiciousProxyIP") && show.contains("Tor"));
    let r = run(&["rules", "show", "AH-NOPE-999"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("not in the catalog"));
    let all: Value = serde_json::from_str(&ok(&["rules", "list", "--json"])).unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        armhunt::detect::catalog::all().len()
    );
}

#[test]
fn ioc_lists_find_operations_from_listed_addresses() {
    let (d, doc) = scan("tests/data/scenarios", &IOC);
    let intel: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("AH-INTL-"))
        .collect();
    let by = |caller: &str| -> Vec<&Value> {
        intel
            .iter()
            .copied()
            .filter(|f| f["actor"]["caller"] == caller)
            .collect()
    };
    // Two operations from a listed network, minutes apart: one finding.
    let f = by("stolentoken@contoso.com");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule_id"], "AH-INTL-001");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["count"], 2);
    assert_eq!(
        f[0]["defender_alerts"],
        serde_json::json!(["ARM_OperationFromSuspiciousIP"])
    );
    assert_eq!(
        f[0]["why"],
        "caller and token IP 198.51.100.23 in 198.51.100.0/24 \"APT-X staging network\" (iocs.txt:3)"
    );
    // The token IP alone (IPv6) is enough.
    let f = by("tokenreplay@contoso.com");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("token IP 2001:db8:bad::17 in 2001:db8:bad::/48"),
        "{}",
        f[0]["why"]
    );
    // Tor exits from both formats, a failed operation included: the proxy rule.
    let f = by("torrider@contoso.com");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["rule_id"], "AH-INTL-002");
    assert_eq!(f[0]["severity"], "medium");
    assert_eq!(f[0]["count"], 2);
    assert_eq!(
        f[0]["defender_alerts"],
        serde_json::json!(["ARM_OperationFromSuspiciousProxyIP"])
    );
    let why = f[0]["why"].as_str().unwrap();
    assert!(
        why.contains("192.0.2.77 in 192.0.2.77 \"Tor exit node 0011BD2485AD45D984EC4159C88FC066E5E3300E (exit seen 2024-06-03 23:07:34)\" (tor-exit-addresses:4)")
            && why.contains("192.0.2.99 in 192.0.2.99 \"Tor exit node\" (torbulkexitlist:1)"),
        "{why}"
    );
    // The neighbouring addresses are not listed.
    assert!(by("neighbour@contoso.com").is_empty());
    assert!(by("torneighbour@contoso.com").is_empty());
    assert_eq!(intel.len(), 3);

    // The manifest records each list with its hash, format and entries.
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let files = m["options"]["ioc_files"].as_array().unwrap();
    let got: Vec<(String, String, u64)> = files
        .iter()
        .map(|f| {
            assert_eq!(
                f["sha256"],
                sha256_file(&root().join(f["path"].as_str().unwrap()))
            );
            (
                f["path"].as_str().unwrap().to_owned(),
                f["format"].as_str().unwrap().to_owned(),
                f["entries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("tests/data/ioc/iocs.txt".into(), "plain".into(), 3),
            (
                "tests/data/ioc/tor-exit-addresses".into(),
                "tor-exit-addresses".into(),
                2
            ),
            (
                "tests/data/ioc/torbulkexitlist".into(),
                "tor-bulk-exit-list".into(),
                2
            ),
        ]
    );
    let html = std::fs::read_to_string(d.path().join("out/report.html")).unwrap();
    assert!(html.contains("tests/data/ioc/torbulkexitlist</span>: tor-bulk-exit-list, 2 entries"));
}

#[test]
fn without_ioc_lists_the_intel_rules_run_and_find_nothing() {
    let (_d, doc) = scan("tests/data/scenarios", &[]);
    for id in ["AH-INTL-001", "AH-INTL-002"] {
        let r = doc["rules_run"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} did not run"));
        assert_eq!(r["findings"], 0);
    }
}

#[test]
fn a_bad_ioc_line_is_an_error_naming_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("feed.txt");
    std::fs::write(&bad, "198.51.100.0/24, ok\n# fine\n198.51.100.999, typo\n").unwrap();
    let out = d.path().join("out");
    let r = run(&[
        "scan",
        "-q",
        "samples",
        "-o",
        out.to_str().unwrap(),
        "--ioc",
        bad.to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("feed.txt") && err.contains("line 3") && err.contains("198.51.100.999"),
        "{err}"
    );
    let r = run(&[
        "scan",
        "-q",
        "samples",
        "--ioc",
        "tests/data/ioc/no-such-file",
    ]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("no-such-file"));
}
