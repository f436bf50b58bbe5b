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

#[test]
fn every_scenario_is_found_and_no_lookalike_is() {
    let (_d, doc) = scan("tests/data/scenarios", &[]);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/scenarios/expected.json")).unwrap(),
    )
    .unwrap();
    let got = rules_by_caller(&doc);
    let mut covered = BTreeSet::new();
    for (actor, rules) in expected["attacks"].as_object().unwrap() {
        for r in rules.as_array().unwrap() {
            let r = r.as_str().unwrap();
            covered.insert(r.to_owned());
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
    // Every rule of the catalog has a scenario.
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
    assert!(doc["rule_errors"].as_array().unwrap().is_empty());
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
    let (_a, a) = scan("tests/data/scenarios", &[]);
    let (_b, b) = scan("tests/data/scenarios", &["--threads", "1"]);
    assert_eq!(a, b);
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
    let r = run(&["rules", "show", "AH-NOPE-999"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("not in the catalog"));
    let all: Value = serde_json::from_str(&ok(&["rules", "list", "--json"])).unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        armhunt::detect::catalog::all().len()
    );
}
