//! The catalog's rules, one file per ATT&CK tactic, and the shapes they
//! share: event rules (one event matches), bursts (distinct counts per actor
//! in a window) and ephemeral sequences (created, used and deleted).

pub mod anomaly;
pub mod credential_access;
pub mod defense_evasion;
pub mod execution;
pub mod exposure;
pub mod impact;
pub mod lateral_movement;
pub mod persistence;
pub mod privilege_escalation;
pub mod threat_intel;

use std::collections::BTreeMap;

use super::events::{Ev, Op, by_actor, clusters, logical_ops, ok_ops_by_actor};
use super::{Confidence, Hit, Severity};

/// What an event rule says about one event that matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub why: String,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
}

impl Judgement {
    pub fn new(why: impl Into<String>) -> Self {
        Judgement {
            why: why.into(),
            severity: None,
            confidence: None,
        }
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

/// Runs an event rule: every logical operation one of whose records `judge`
/// accepts is a match (its whole Started→Succeeded chain is evidence);
/// matches are grouped per actor and time cluster (`window` µs), one hit each.
pub fn event_hits(
    ev: &[Ev],
    window: i64,
    include_failed: bool,
    judge: impl Fn(&Ev) -> Option<Judgement>,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    for idx in by_actor(ev).into_values() {
        let matched: Vec<(Op, Judgement)> = logical_ops(ev, &idx)
            .into_iter()
            .filter(|op| include_failed || !op.failed)
            .filter_map(|op| {
                let j = op.rows.iter().find_map(|&i| judge(&ev[i]))?;
                Some((op, j))
            })
            .collect();
        for cluster in clusters(matched, |(op, _)| op.time, window) {
            let mut rows: Vec<usize> = cluster
                .iter()
                .flat_map(|(op, _)| op.rows.iter().copied())
                .collect();
            rows.sort_unstable();
            let whys: Vec<&str> = {
                let mut seen = Vec::new();
                for (_, j) in &cluster {
                    if !seen.contains(&j.why.as_str()) {
                        seen.push(j.why.as_str());
                    }
                }
                seen
            };
            let why = match whys.len() {
                1 => whys[0].to_owned(),
                n if n <= 3 => whys.join("; "),
                n => format!("{}; and {} more", whys[..3].join("; "), n - 3),
            };
            let severity = cluster.iter().filter_map(|(_, j)| j.severity).max();
            let confidence = cluster.iter().filter_map(|(_, j)| j.confidence).max();
            hits.push(Hit {
                rows,
                why,
                severity,
                confidence,
                actor_row: None,
            });
        }
    }
    hits
}

/// MicroBurst names its throw-away resources with 15 random letters.
pub fn is_random15(name: &str) -> bool {
    name.len() == 15 && name.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The id of the resource `segments` levels up from `id` (`/a/b/c/d`, 2 → `/a/b`).
pub fn parent_id(id: &str, levels: usize) -> String {
    let mut s = id.trim_end_matches('/');
    for _ in 0..levels {
        match s.rfind('/') {
            Some(i) => s = &s[..i],
            None => return String::new(),
        }
    }
    s.to_owned()
}

/// The resource id cut right after `/<segment>/<name>` (case-insensitive),
/// e.g. the VM of a run-command or extension id.
pub fn id_through(id: &str, segment: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let pat = format!("/{}/", segment.to_ascii_lowercase());
    let at = lower.find(&pat)? + pat.len();
    let end = lower[at..].find('/').map(|k| at + k).unwrap_or(lower.len());
    Some(lower[..end].to_owned())
}

/// The name that follows `/<segment>/` in a resource id.
pub fn name_after(id: &str, segment: &str) -> Option<String> {
    let full = id_through(id, segment)?;
    full.rsplit('/').next().map(str::to_owned)
}

/// A created-then-deleted resource: per actor and resource key, a create
/// operation followed by a delete of the same key within `window` µs.
/// Returns (create op, delete op, key) in time order.
pub fn ephemeral(
    ev: &[Ev],
    is_create: impl Fn(&Ev) -> bool,
    is_delete: impl Fn(&Ev) -> bool,
    key: impl Fn(&Ev) -> Option<String>,
    window: i64,
) -> Vec<(Op, Op, String)> {
    let mut out = Vec::new();
    for ops in ok_ops_by_actor(ev) {
        let mut open: BTreeMap<String, Op> = BTreeMap::new();
        for op in ops {
            let e = &ev[op.rows[0]];
            let Some(k) = key(e) else { continue };
            if is_create(e) {
                open.entry(k).or_insert(op);
            } else if is_delete(e)
                && let Some(c) = open.remove(&k)
                && op.time - c.time <= window
            {
                out.push((c, op, k));
            }
        }
    }
    out.sort_by_key(|(c, _, _)| c.time);
    out
}

/// Operations of `ev` (indices) by `actor` within `[from, to]` that `f` accepts.
pub fn ops_between(
    ev: &[Ev],
    actor: &str,
    from: i64,
    to: i64,
    f: impl Fn(&Ev) -> bool,
) -> Vec<usize> {
    ev.iter()
        .enumerate()
        .filter(|(_, e)| e.actor == actor && e.time >= from && e.time <= to && !e.failed() && f(e))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert!(is_random15("AbCdEfGhIjKlMnO"));
        assert!(!is_random15("AbCdEfGhIjKlMn1"));
        assert!(!is_random15("short"));
        let id = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1/runcommands/x";
        assert_eq!(
            id_through(id, "virtualMachines").unwrap(),
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
        );
        assert_eq!(name_after(id, "runcommands").unwrap(), "x");
        assert_eq!(
            parent_id(id, 2),
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
        );
    }
}
