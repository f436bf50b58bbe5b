//! Detection: the rule model, the engine that runs the catalog over the
//! canonical frame in parallel, and the findings it produces.
//!
//! A rule is data-like metadata ([`RuleMeta`]) plus two pieces of logic: the
//! operations whose rows it looks at (`candidates`), and a `detect` step over
//! those rows (in time order, strings borrowed from the frame) that returns
//! hits. One pass over the frame finds the rows of every rule. Event
//! rules judge one row at a time; burst rules count (distinct) things per
//! actor in a window; sequence rules look for A then B by the same actor or
//! on the same resource. The helpers for all three are in [`events`].

pub mod baseline;
pub mod catalog;
pub mod config;
pub mod events;
pub mod families;
pub mod findings;
pub mod ioc;
mod rules;

use std::panic::{AssertUnwindSafe, catch_unwind};

use polars::prelude::DataFrame;
use rayon::prelude::*;
use serde::Serialize;

pub use config::{Config, Params};
pub use events::{Candidates, Context, Ev, Events, OpFilter};
pub use findings::{Finding, FindingsDoc};

use crate::error::Result;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Weight in the risk score of a storyline.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 3,
            Severity::Medium => 10,
            Severity::High => 30,
            Severity::Critical => 60,
        }
    }
}

/// How sure the rule is that a hit is malicious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The kind of value a parameter holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// A count.
    Count,
    /// A duration in seconds (the config also takes `"10m"`, `"90s"`, `"2h"`).
    Duration,
}

/// A tunable parameter and its default.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: u64,
    pub doc: &'static str,
}

/// Everything about a rule but its logic.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    pub id: &'static str,
    /// Bumped whenever the logic or a default changes.
    pub version: u32,
    pub title: &'static str,
    pub description: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub tactics: &'static [&'static str],
    pub techniques: &'static [&'static str],
    pub defender_alerts: &'static [&'static str],
    pub references: &'static [&'static str],
    pub guidance: &'static str,
    pub false_positives: &'static str,
    pub params: &'static [ParamSpec],
}

/// One detection: the events that make it and why it fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Indices into the rule's [`Events`].
    pub rows: Vec<usize>,
    /// One line, with the actual values.
    pub why: String,
    /// Overrides the rule's severity (e.g. raised by context).
    pub severity: Option<Severity>,
    /// Overrides the rule's confidence.
    pub confidence: Option<Confidence>,
    /// The row whose actor the finding is about, when not the earliest
    /// (e.g. the one who recovered a vault, not the one who deleted it).
    pub actor_row: Option<usize>,
}

impl Hit {
    pub fn new(rows: Vec<usize>, why: String) -> Self {
        Hit {
            rows,
            why,
            severity: None,
            confidence: None,
            actor_row: None,
        }
    }
    pub fn actor_row(mut self, row: usize) -> Self {
        self.actor_row = Some(row);
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
    pub fn confidence(mut self, c: Confidence) -> Self {
        self.confidence = Some(c);
        self
    }
}

/// A rule of the catalog.
pub trait Rule: Send + Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// The rows this rule looks at, by their operation (or by their
    /// addresses on the `--ioc` lists).
    fn candidates(&self) -> OpFilter;
    /// Finds hits among the candidate rows (sorted by time).
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit>;
    /// What the rule needs of the behaviour baseline (nothing, by default).
    fn needs(&self) -> Needs {
        Needs::default()
    }
}

/// What a rule needs of the behaviour baseline. The baseline is built only
/// when an enabled rule needs it; the engine derives from this which rows
/// the rule is handed and whether it could judge the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Judges the detection period against the baseline: it is handed
    /// only the detection period's rows, and none when the baseline is
    /// too short.
    pub baseline: bool,
    /// Needs the `--geoip` databases.
    pub geoip: bool,
}

impl Needs {
    /// The baseline, over the detection period.
    pub const BASELINE: Needs = Needs {
        baseline: true,
        geoip: false,
    };

    fn any(self) -> bool {
        self.baseline || self.geoip
    }

    /// The rule is handed only the candidate rows from this time on (µs).
    fn rows_from(self, ctx: &Context) -> i64 {
        if !self.baseline {
            i64::MIN
        } else if ctx.baseline.applied() {
            ctx.baseline.detect_from
        } else {
            i64::MAX
        }
    }

    /// Why the rule could not judge this data, if it could not.
    fn not_applied(self, ctx: &Context) -> Option<String> {
        let b = &ctx.baseline;
        if self.geoip && !b.summary.geoip {
            Some("needs a GeoIP database (--geoip)".into())
        } else if self.baseline && !b.applied() {
            Some(
                b.summary
                    .note
                    .clone()
                    .unwrap_or_else(|| "no baseline could be built".into()),
            )
        } else {
            None
        }
    }
}

/// A rule that could not run, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleError {
    pub rule_id: String,
    pub error: String,
}

/// Keeps only the events `hits` refer to, renumbering the hits (order kept),
/// so that a rule's other candidates are freed as soon as it is done.
fn keep_evidence<'a>(evs: Events<'a>, hits: &mut [Hit]) -> Events<'a> {
    let mut new_index = vec![usize::MAX; evs.len()];
    for h in hits.iter() {
        for &i in h.rows.iter().chain(&h.actor_row) {
            new_index[i] = 0;
        }
    }
    let mut kept = Vec::new();
    for (e, n) in evs.into_iter().zip(new_index.iter_mut()) {
        if *n == 0 {
            *n = kept.len();
            kept.push(e);
        }
    }
    for h in hits {
        for i in h.rows.iter_mut().chain(&mut h.actor_row) {
            *i = new_index[*i];
        }
    }
    kept
}

/// Runs every enabled rule of the catalog over `frame`, in parallel. A rule
/// that fails (or panics) is reported and the others go on.
pub fn run(frame: &DataFrame, config: &Config) -> Result<FindingsDoc> {
    run_rules(frame, catalog::all(), config)
}

/// Runs `rules` over `frame` in parallel (see [`run`]).
pub fn run_rules(
    frame: &DataFrame,
    rules: &[Box<dyn Rule>],
    config: &Config,
) -> Result<FindingsDoc> {
    let wanted = rules
        .iter()
        .any(|r| r.needs().any() && config.enabled(r.meta().id));
    let filters: Vec<(usize, OpFilter)> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| config.enabled(r.meta().id))
        .map(|(i, r)| (i, r.candidates()))
        .collect();
    let all: Vec<OpFilter> = filters.iter().map(|(_, f)| f.clone()).collect();
    // The baseline, and one pass over the frame that finds every enabled
    // rule's rows (with the first-seen context), side by side.
    let (built, found) = rayon::join(
        || {
            if wanted {
                baseline::Baseline::build(frame, config.detect_from, config.locator())
            } else {
                let mut none = baseline::Baseline::none();
                // Findings still say where their addresses are.
                if let Some(g) = config.locator() {
                    none.places = baseline::locate_all(frame, g)?;
                }
                Ok((none, Vec::new()))
            }
        },
        || -> Result<_> {
            Ok((
                events::context(frame)?,
                Candidates::new(frame, &all, &config.ioc)?,
            ))
        },
    );
    let (baseline, flags) = built?;
    let (mut ctx, mut cands) = found?;
    cands.add_flags(&flags);
    drop(flags);
    ctx.ioc = config.ioc.clone();
    ctx.baseline = std::sync::Arc::new(baseline);
    type Outcome<'a> = std::result::Result<(usize, Vec<Hit>, Events<'a>), RuleError>;
    let outcomes: Vec<Outcome> = filters
        .par_iter()
        .map(|(i, filter)| {
            let (i, r) = (*i, &rules[*i]);
            let id = r.meta().id;
            let params = config.params(r.meta())?;
            let evs = cands.events(filter, r.needs().rows_from(&ctx));
            let (hits, evs) = catch_unwind(AssertUnwindSafe(|| {
                let mut hits = r.detect(&evs, &ctx, &params);
                let evs = keep_evidence(evs, &mut hits);
                (hits, evs)
            }))
            .map_err(|p| {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panicked".into());
                RuleError {
                    rule_id: id.into(),
                    error: msg,
                }
            })?;
            Ok((i, hits, evs))
        })
        .collect();
    let mut errors = Vec::new();
    let mut runs = Vec::new();
    for o in outcomes {
        match o {
            Ok((i, hits, evs)) => runs.push((rules[i].meta(), hits, evs)),
            Err(e) => errors.push(e),
        }
    }
    let mut doc = findings::build(runs);
    errors.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    doc.rule_errors = errors;
    doc.baseline = ctx.baseline.summary.clone();
    for f in &mut doc.findings {
        f.caller_ip_places = f
            .caller_ips
            .iter()
            .filter_map(|ip| Some(findings::IpPlace::new(ip, ctx.baseline.place(ip)?)))
            .collect();
    }
    for r in &mut doc.rules_run {
        r.note = rules
            .iter()
            .find(|x| x.meta().id == r.id)
            .and_then(|x| x.needs().not_applied(&ctx));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame of a test data tree.
    fn tree(path: &str) -> DataFrame {
        let paths = [std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)];
        let (frame, _, _) = crate::ingest::read_all(
            &paths,
            &crate::ingest::IngestOptions::default(),
            &crate::progress::Silent,
        )
        .unwrap();
        frame
    }

    /// A rule that panics, next to a real one.
    struct Broken;

    static BROKEN: RuleMeta = RuleMeta {
        id: "AH-TEST-001",
        version: 1,
        title: "broken",
        description: "",
        severity: Severity::Low,
        confidence: Confidence::Low,
        tactics: &["Test"],
        techniques: &["T0000"],
        defender_alerts: &[],
        references: &[],
        guidance: "",
        false_positives: "",
        params: &[],
    };

    impl Rule for Broken {
        fn meta(&self) -> &'static RuleMeta {
            &BROKEN
        }
        fn candidates(&self) -> OpFilter {
            events::op_ends_with(&[""])
        }
        fn detect(&self, _ev: &Events<'_>, _ctx: &Context, _p: &Params) -> Vec<Hit> {
            panic!("this rule is broken")
        }
    }

    #[test]
    fn a_failing_rule_is_reported_and_the_others_run() {
        let frame = tree("tests/data/scenarios");
        let rules: Vec<Box<dyn Rule>> = vec![
            Box::new(Broken),
            Box::new(rules::credential_access::StorageKeySweep),
        ];
        let doc = run_rules(&frame, &rules, &Config::default()).unwrap();
        assert_eq!(
            doc.rule_errors,
            vec![RuleError {
                rule_id: "AH-TEST-001".into(),
                error: "this rule is broken".into()
            }]
        );
        assert!(doc.findings.iter().any(|f| f.rule_id == "AH-CRED-001"));
    }

    #[test]
    fn the_baseline_is_built_only_for_rules_that_read_it() {
        let frame = tree("tests/data/baseline");
        let with: Vec<Box<dyn Rule>> = vec![Box::new(rules::anomaly::NovelTacticUser)];
        let doc = run_rules(&frame, &with, &Config::default()).unwrap();
        assert!(doc.baseline.applied);
        assert!(doc.baseline.principals > 20, "{:?}", doc.baseline);
        assert!(!doc.findings.is_empty());
        let without: Vec<Box<dyn Rule>> = vec![Box::new(rules::credential_access::StorageKeySweep)];
        let doc = run_rules(&frame, &without, &Config::default()).unwrap();
        assert!(!doc.baseline.applied);
        assert_eq!(doc.baseline.principals, 0);
        assert_eq!(
            doc.baseline.note.as_deref(),
            Some("no enabled rule uses the behaviour baselines")
        );
    }

    #[test]
    fn ioc_rules_get_the_rows_of_listed_addresses_whatever_the_operation() {
        let frame = tree("tests/data/scenarios");
        let mut set = ioc::IocSet::default();
        set.add(
            "t.txt",
            String::new(),
            "198.51.100.0/24, staging\n",
            "t.txt",
        )
        .unwrap();
        let config = Config {
            ioc: std::sync::Arc::new(set),
            ..Config::default()
        };
        let rules: Vec<Box<dyn Rule>> = vec![
            Box::new(rules::threat_intel::SuspiciousIp),
            Box::new(rules::threat_intel::ProxyIp),
            Box::new(rules::credential_access::StorageKeySweep),
        ];
        let doc = run_rules(&frame, &rules, &config).unwrap();
        let intel: Vec<&Finding> = doc
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("AH-INTL"))
            .collect();
        assert_eq!(intel.len(), 1, "{intel:?}");
        assert_eq!(intel[0].rule_id, "AH-INTL-001");
        assert_eq!(
            intel[0].actor.caller.as_deref(),
            Some("stolentoken@contoso.com")
        );
        // A deployment (Started and Succeeded) and a VM start.
        assert_eq!(intel[0].evidence_event_ids.len(), 3);
        assert_eq!(intel[0].operations.len(), 2);
        // The operation rules see only their own operations.
        let sweep = doc
            .findings
            .iter()
            .find(|f| f.rule_id == "AH-CRED-001")
            .unwrap();
        assert!(
            sweep
                .operations
                .iter()
                .all(|o| o == "microsoft.storage/storageaccounts/listkeys/action")
        );
    }
}
