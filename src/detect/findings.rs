//! Findings: hits turned into self-contained, deterministic records, plus
//! per-actor storylines ranked by risk. This is `findings.json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::events::{Ev, logical_ops};
use super::{Confidence, Hit, RuleMeta, Severity};
use crate::normalize::time::format_micros;

/// Bumped when a key is removed or changes meaning (adding keys does not).
pub const SCHEMA_VERSION: u32 = 1;

/// Names of well-known first-party client applications (`claims.appid`).
pub fn app_name(app_id: &str) -> Option<&'static str> {
    Some(match app_id {
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c" => "Azure Portal",
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46" => "Azure CLI",
        "1950a258-227b-4e31-a9cf-717495945fc2" => "Azure PowerShell",
        "0c1307d4-29d6-4389-a11c-5cbe7f65d7fa" => "Azure mobile app",
        "74658136-14ec-4630-ad9b-26e160ff0fc6" => "ADIbizaUX (Azure Portal)",
        "14d82eec-204b-4c2f-b7e8-296a70dab67e" => "Microsoft Graph Command Line Tools",
        "de8bc8b5-d9f9-48b1-a8ad-b748da725064" => "Graph Explorer",
        "1b730954-1685-4b74-9bfd-dac224a7b894" => "Azure Active Directory PowerShell",
        "29d9ed98-a469-4536-ade2-f981bc1d605e" => "Microsoft Authentication Broker",
        "d3590ed6-52b3-4102-aeff-aad2292ab01c" => "Microsoft Office",
        "1d78a85d-813d-46f0-b496-dd72f50a3ec0" => "Policy Insights",
        "8edd93e1-2103-40b4-bd70-6e34e586362d" => "Windows Azure Security Resource Provider",
        "7ab7862c-4c57-491e-8a45-d52a7e023983" => "App Service",
        _ => return None,
    })
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Actor {
    pub caller: Option<String>,
    pub principal_id: Option<String>,
    pub principal_type: Option<String>,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub rule_id: String,
    pub rule_version: u32,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub defender_alerts: Vec<String>,
    pub actor: Actor,
    pub caller_ips: Vec<String>,
    /// With `--geoip`: where the caller IPs are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caller_ip_places: Vec<IpPlace>,
    pub subscriptions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// Logical operations (Started/Accepted/Succeeded records counted once).
    pub count: usize,
    pub why: String,
    pub guidance: String,
    pub evidence_event_ids: Vec<String>,
    /// Frame rows of the evidence, in the order of `evidence_event_ids`.
    #[serde(skip)]
    pub evidence_rows: Vec<u64>,
    #[serde(skip)]
    pub actor_key: String,
    #[serde(skip)]
    first_us: i64,
    #[serde(skip)]
    last_us: i64,
}

/// Where a caller IP is, by the `--geoip` databases.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct IpPlace {
    pub ip: String,
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
}

impl IpPlace {
    pub fn new(ip: &str, g: &crate::geo::Geo) -> IpPlace {
        IpPlace {
            ip: ip.to_owned(),
            country: g.country.clone(),
            country_name: g.country_name.clone(),
            city: g.city.clone(),
            asn: g.asn,
            as_org: g.as_org.clone(),
        }
    }

    /// `Amsterdam, NL (AS1136 KPN B.V.)`.
    pub fn describe(&self) -> String {
        crate::geo::Geo {
            country: self.country.clone(),
            city: self.city.clone(),
            asn: self.asn,
            as_org: self.as_org.clone(),
            ..Default::default()
        }
        .describe()
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Storyline {
    pub rank: usize,
    /// `principal_id`, else `caller`.
    pub actor: String,
    pub caller: Option<String>,
    pub risk_score: u32,
    pub highest_severity: Severity,
    pub first_seen: String,
    pub last_seen: String,
    pub tactics: Vec<String>,
    /// Finding ids in time order.
    pub findings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleSummary {
    pub id: String,
    pub version: u32,
    pub findings: usize,
    /// Why the rule could not judge this data (baseline too short, no
    /// `--geoip`), when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingsDoc {
    pub schema_version: u32,
    pub rules_run: Vec<RuleSummary>,
    /// Rules that could not run, with the reason.
    pub rule_errors: Vec<super::RuleError>,
    pub findings: Vec<Finding>,
    pub storylines: Vec<Storyline>,
    /// The baseline period and whether the baseline rules judged anything.
    pub baseline: super::baseline::BaselineSummary,
}

fn sorted_set<'a>(it: impl Iterator<Item = Option<&'a str>>) -> Vec<String> {
    it.flatten()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn first_some<'a>(evs: &[&'a Ev<'a>], f: impl Fn(&'a Ev<'a>) -> Option<&'a str>) -> Option<String> {
    evs.iter().find_map(|e| f(e)).map(str::to_owned)
}

fn finding(meta: &'static RuleMeta, hit: &Hit, ev: &[Ev]) -> Finding {
    let mut rows = hit.rows.clone();
    rows.sort_by_key(|&i| (ev[i].time, ev[i].row));
    rows.dedup();
    let evs: Vec<&Ev> = rows.iter().map(|&i| &ev[i]).collect();
    let first_us = evs.first().map(|e| e.time).unwrap_or_default();
    let last_us = evs.last().map(|e| e.time).unwrap_or_default();
    // The actor's own events first: the finding is about them.
    let mine: Vec<&Ev> = match hit.actor_row {
        Some(r) => {
            let key = &ev[r].actor;
            let mut v: Vec<&Ev> = evs.iter().copied().filter(|e| &e.actor == key).collect();
            v.extend(evs.iter().copied().filter(|e| &e.actor != key));
            v
        }
        None => evs.clone(),
    };
    let app_id = first_some(&mine, |e| e.app_id.as_deref());
    let actor = Actor {
        caller: first_some(&mine, |e| e.caller.as_deref()),
        principal_id: first_some(&mine, |e| e.principal_id.as_deref()),
        principal_type: first_some(&mine, |e| e.principal_type.as_deref()),
        app_name: app_id.as_deref().and_then(app_name).map(str::to_owned),
        app_id,
    };
    let actor_key = mine
        .first()
        .map(|e| e.actor.to_string())
        .unwrap_or_default();
    Finding {
        id: String::new(),
        rule_id: meta.id.into(),
        rule_version: meta.version,
        title: meta.title.into(),
        severity: hit.severity.unwrap_or(meta.severity),
        confidence: hit.confidence.unwrap_or(meta.confidence),
        tactics: meta.tactics.iter().map(|s| s.to_string()).collect(),
        techniques: meta.techniques.iter().map(|s| s.to_string()).collect(),
        defender_alerts: meta.defender_alerts.iter().map(|s| s.to_string()).collect(),
        actor,
        caller_ips: sorted_set(evs.iter().map(|e| e.caller_ip.as_deref())),
        caller_ip_places: Vec::new(),
        subscriptions: sorted_set(evs.iter().map(|e| e.subscription_id.as_deref())),
        resources: sorted_set(evs.iter().map(|e| e.resource_id.as_deref())),
        operations: sorted_set(evs.iter().map(|e| Some(&*e.operation))),
        first_seen: format_micros(first_us),
        last_seen: format_micros(last_us),
        count: logical_ops(ev, &rows).len(),
        why: hit.why.clone(),
        guidance: meta.guidance.into(),
        evidence_event_ids: evs.iter().map(|e| e.event_id.to_string()).collect(),
        evidence_rows: evs.iter().map(|e| e.row).collect(),
        actor_key,
        first_us,
        last_us,
    }
}

/// Builds the findings document from every rule's hits.
pub fn build(runs: Vec<(&'static RuleMeta, Vec<Hit>, Vec<Ev>)>) -> FindingsDoc {
    let mut findings = Vec::new();
    let mut rules_run = Vec::new();
    for (meta, hits, ev) in &runs {
        rules_run.push(RuleSummary {
            id: meta.id.into(),
            version: meta.version,
            findings: hits.len(),
            note: None,
        });
        for h in hits {
            findings.push(finding(meta, h, ev));
        }
    }
    rules_run.sort_by(|a, b| a.id.cmp(&b.id));
    findings.sort_by(|a, b| {
        (
            a.first_us,
            &a.rule_id,
            &a.actor_key,
            a.last_us,
            &a.why,
            &a.evidence_event_ids,
        )
            .cmp(&(
                b.first_us,
                &b.rule_id,
                &b.actor_key,
                b.last_us,
                &b.why,
                &b.evidence_event_ids,
            ))
    });
    let mut doc = FindingsDoc {
        schema_version: SCHEMA_VERSION,
        rules_run,
        rule_errors: Vec::new(),
        findings,
        storylines: Vec::new(),
        baseline: Default::default(),
    };
    doc.number();
    doc
}

impl FindingsDoc {
    /// Numbers the findings in their order and rebuilds the storylines.
    fn number(&mut self) {
        for (i, f) in self.findings.iter_mut().enumerate() {
            f.id = format!("F{:04}", i + 1);
        }
        self.storylines = storylines(&self.findings);
    }

    /// Keeps only findings of at least `min` severity (numbered anew, so
    /// the ids of one run are contiguous); each rule's count follows.
    pub fn retain_min_severity(&mut self, min: Severity) {
        self.findings.retain(|f| f.severity >= min);
        for r in &mut self.rules_run {
            r.findings = self.findings.iter().filter(|f| f.rule_id == r.id).count();
        }
        self.number();
    }

    /// The earliest and latest evidence time of a finding, in microseconds.
    pub fn span_us(f: &Finding) -> (i64, i64) {
        (f.first_us, f.last_us)
    }
}

fn confidence_factor(c: Confidence) -> u32 {
    match c {
        Confidence::Low => 1,
        Confidence::Medium => 2,
        Confidence::High => 3,
    }
}

/// Per actor: its findings in time order, and a risk score (severity
/// weight times confidence, summed) that ranks the actors.
pub fn storylines(findings: &[Finding]) -> Vec<Storyline> {
    let mut by: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by.entry(f.actor_key.as_str()).or_default().push(f);
    }
    let mut out: Vec<Storyline> = by
        .into_iter()
        .map(|(actor, fs)| {
            let tactics: BTreeSet<String> =
                fs.iter().flat_map(|f| f.tactics.iter().cloned()).collect();
            Storyline {
                rank: 0,
                actor: actor.to_owned(),
                caller: fs.iter().find_map(|f| f.actor.caller.clone()),
                risk_score: fs
                    .iter()
                    .map(|f| f.severity.weight() * confidence_factor(f.confidence))
                    .sum(),
                highest_severity: fs
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Informational),
                first_seen: fs
                    .iter()
                    .map(|f| f.first_us)
                    .min()
                    .map(format_micros)
                    .unwrap_or_default(),
                last_seen: fs
                    .iter()
                    .map(|f| f.last_us)
                    .max()
                    .map(format_micros)
                    .unwrap_or_default(),
                tactics: tactics.into_iter().collect(),
                findings: fs.iter().map(|f| f.id.clone()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.risk_score
            .cmp(&a.risk_score)
            .then_with(|| a.actor.cmp(&b.actor))
    });
    for (i, s) in out.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    out
}
