//! The rows a rule looks at, taken out of the frame in time order, and the
//! helpers rules are built from: logical operations, actor groups, time
//! clusters, distinct counts, JSON fields of request and response bodies.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::Result;

/// One candidate row. Strings are the frame's (lower-cased ids).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ev {
    /// Row index in the scanned frame.
    pub row: u64,
    /// Microseconds since the epoch, UTC.
    pub time: i64,
    pub event_id: String,
    /// `principal_id`, else `caller`.
    pub actor: String,
    pub caller: Option<String>,
    pub principal_id: Option<String>,
    pub principal_type: Option<String>,
    pub app_id: Option<String>,
    pub caller_ip: Option<String>,
    pub tenant_id: Option<String>,
    pub subscription_id: Option<String>,
    pub resource_id: Option<String>,
    pub resource_group: Option<String>,
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
    pub operation: String,
    pub status: Option<String>,
    pub sub_status: Option<String>,
    pub correlation_id: Option<String>,
    pub auth_scope: Option<String>,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

/// Candidate rows in time order.
pub type Events = Vec<Ev>;

/// What every rule may know about the whole data set.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Actor (`principal_id`, else `caller`) → first time it acts in the data.
    pub first_seen: std::collections::HashMap<String, i64>,
}

impl Context {
    /// Whether `actor` (an actor key or a principal id) acts anywhere in the
    /// data before `t`.
    pub fn seen_before(&self, actor: &str, t: i64) -> bool {
        self.first_seen.get(actor).is_some_and(|&f| f < t)
    }
}

/// Builds the [`Context`] from the frame.
pub fn context(frame: &DataFrame) -> Result<Context> {
    let pid = frame.column("principal_id")?.str()?;
    let caller = frame.column("caller")?.str()?;
    let time = frame
        .column("time")?
        .as_materialized_series()
        .datetime()?
        .physical()
        .clone();
    let mut first_seen = std::collections::HashMap::new();
    for ((p, c), t) in pid.iter().zip(caller.iter()).zip(time.iter()) {
        let (Some(actor), Some(t)) = (p.or(c), t) else {
            continue;
        };
        first_seen
            .entry(actor.to_owned())
            .and_modify(|f: &mut i64| *f = (*f).min(t))
            .or_insert(t);
    }
    Ok(Context { first_seen })
}

/// The columns rules read (`properties` and `claims` are not copied: no
/// rule needs them, and they are most of a record's bytes).
const COLS: [&str; 19] = [
    "event_id",
    "caller",
    "principal_id",
    "principal_type",
    "app_id",
    "caller_ip",
    "tenant_id",
    "subscription_id",
    "resource_id",
    "resource_group",
    "resource_type",
    "resource_name",
    "operation",
    "status",
    "sub_status",
    "correlation_id",
    "auth_scope",
    "request_body",
    "response_body",
];

/// Evaluates `predicate` over the frame, then reads only the matching rows
/// (and only the columns rules use), in time order. Nothing is copied but
/// the candidates.
pub fn load(frame: &DataFrame, predicate: Expr) -> Result<Events> {
    let mask = frame
        .clone()
        .lazy()
        .select([predicate.alias("__m")])
        .collect()?;
    let mask = mask.column("__m")?.bool()?.clone();
    let idx: Vec<IdxSize> = mask
        .iter()
        .enumerate()
        .filter(|(_, m)| m.unwrap_or(false))
        .map(|(i, _)| i as IdxSize)
        .collect();
    // Read the selected rows straight from the frame's columns (no gather).
    let strs: Vec<&StringChunked> = COLS
        .iter()
        .map(|c| Ok(frame.column(c)?.str()?))
        .collect::<Result<_>>()?;
    let times = frame
        .column("time")?
        .as_materialized_series()
        .datetime()?
        .physical()
        .clone();
    let mut out = Vec::with_capacity(idx.len());
    for &row in &idx {
        let i = row as usize;
        let g = |k: usize| strs[k].get(i).map(str::to_owned);
        let caller = g(1);
        let principal_id = g(2);
        let actor = principal_id
            .clone()
            .or_else(|| caller.clone())
            .unwrap_or_default();
        out.push(Ev {
            row: row as u64,
            time: times.get(i).unwrap_or_default(),
            event_id: g(0).unwrap_or_default(),
            actor,
            caller,
            principal_id,
            principal_type: g(3),
            app_id: g(4),
            caller_ip: g(5),
            tenant_id: g(6),
            subscription_id: g(7),
            resource_id: g(8),
            resource_group: g(9),
            resource_type: g(10),
            resource_name: g(11),
            operation: g(12).unwrap_or_default(),
            status: g(13),
            sub_status: g(14),
            correlation_id: g(15),
            auth_scope: g(16),
            request_body: g(17),
            response_body: g(18),
        });
    }
    out.sort_by_key(|e| (e.time, e.row));
    Ok(out)
}

/// `operation` equal (case-insensitively; the frame is lower-case) to any of `ops`.
pub fn op_in(ops: &[&str]) -> Expr {
    let mut it = ops.iter();
    let first = it.next().expect("at least one operation");
    it.fold(
        col("operation").eq(lit(first.to_ascii_lowercase())),
        |acc, o| acc.or(col("operation").eq(lit(o.to_ascii_lowercase()))),
    )
}

/// Extension writes on VMs, scale sets and Arc machines.
pub const EXTENSION_WRITES: [&str; 3] = [
    "microsoft.compute/virtualmachines/extensions/write",
    "microsoft.compute/virtualmachinescalesets/extensions/write",
    "microsoft.hybridcompute/machines/extensions/write",
];

/// Extension deletions on VMs, scale sets and Arc machines.
pub const EXTENSION_DELETES: [&str; 3] = [
    "microsoft.compute/virtualmachines/extensions/delete",
    "microsoft.compute/virtualmachinescalesets/extensions/delete",
    "microsoft.hybridcompute/machines/extensions/delete",
];

/// `operation` ending with any of `suffixes` (lower-case). Slower than
/// [`op_in`]: use it only where the operations cannot be listed.
pub fn op_ends_with(suffixes: &[&str]) -> Expr {
    let mut it = suffixes.iter();
    let first = it.next().expect("at least one suffix");
    it.fold(
        col("operation")
            .str()
            .ends_with(lit(first.to_ascii_lowercase())),
        |acc, s| {
            acc.or(col("operation")
                .str()
                .ends_with(lit(s.to_ascii_lowercase())))
        },
    )
}

impl Ev {
    pub fn failed(&self) -> bool {
        self.status.as_deref() == Some("failed")
    }

    /// The resource the event acts on: its id, else its name.
    pub fn target(&self) -> &str {
        self.resource_id
            .as_deref()
            .or(self.resource_name.as_deref())
            .unwrap_or("")
    }

    /// The parsed request body, if any.
    pub fn request(&self) -> Option<serde_json::Value> {
        self.request_body.as_deref().and_then(parse_body)
    }

    /// The parsed response body, if any.
    pub fn response(&self) -> Option<serde_json::Value> {
        self.response_body.as_deref().and_then(parse_body)
    }

    /// Request and response bodies, parsed, in that order.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.request().into_iter().chain(self.response()).collect()
    }
}

/// Parses a body: JSON text, or JSON text encoded once more as a string.
pub fn parse_body(s: &str) -> Option<serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(s).ok()? {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).ok(),
        v => Some(v),
    }
}

/// Looks up a path of keys (case-insensitively) in a JSON value.
pub fn jpath<'v>(v: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    let mut cur = v;
    for k in path {
        let obj = cur.as_object()?;
        cur = obj
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v)?;
    }
    Some(cur)
}

/// A JSON value as text: strings as they are, anything else as JSON.
pub fn jtext(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One logical operation: the Started/Accepted/Succeeded/Failed records
/// that share a correlation id, operation and resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// Indices into the events, in time order; the first is the earliest.
    pub rows: Vec<usize>,
    pub time: i64,
    /// Failed, and never succeeded.
    pub failed: bool,
}

/// Groups events into logical operations (in order of their first record).
pub fn logical_ops(ev: &[Ev], idx: &[usize]) -> Vec<Op> {
    let mut by_key: std::collections::HashMap<(&str, &str, &str), usize> =
        std::collections::HashMap::new();
    let mut ops: Vec<Op> = Vec::new();
    for &i in idx {
        let e = &ev[i];
        let slot = e.correlation_id.as_ref().map(|c| {
            *by_key
                .entry((c.as_str(), e.operation.as_str(), e.target()))
                .or_insert(ops.len())
        });
        match slot {
            Some(k) if k < ops.len() => ops[k].rows.push(i),
            _ => ops.push(Op {
                rows: vec![i],
                time: e.time,
                failed: false,
            }),
        }
    }
    for op in &mut ops {
        let any_failed = op.rows.iter().any(|&i| ev[i].failed());
        let any_ok = op
            .rows
            .iter()
            .any(|&i| ev[i].status.as_deref() == Some("succeeded"));
        op.failed = any_failed && !any_ok;
    }
    ops
}

/// Per actor (in actor order): its logical operations that did not fail,
/// in time order.
pub fn ok_ops_by_actor(ev: &[Ev]) -> Vec<Vec<Op>> {
    by_actor(ev)
        .into_values()
        .map(|idx| {
            logical_ops(ev, &idx)
                .into_iter()
                .filter(|o| !o.failed)
                .collect()
        })
        .collect()
}

/// Event indices grouped by actor, each group in time order; groups in
/// order of actor.
pub fn by_actor(ev: &[Ev]) -> BTreeMap<&str, Vec<usize>> {
    let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in ev.iter().enumerate() {
        m.entry(e.actor.as_str()).or_default().push(i);
    }
    m
}

/// Splits items (sorted by time) into clusters: an item joins the current
/// cluster when it is within `window` µs of the cluster's previous item.
pub fn clusters<T>(items: Vec<T>, time: impl Fn(&T) -> i64, window: i64) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut last = i64::MIN;
    for it in items {
        let t = time(&it);
        match out.last_mut() {
            Some(c) if t.saturating_sub(last) <= window => c.push(it),
            _ => out.push(vec![it]),
        }
        last = t;
    }
    out
}

/// The shortest span of `ops` (sorted by time) holding at least `n`
/// distinct keys within `window` µs; returns the ops of the first such
/// window extended to everything chained within `window` of it.
pub fn distinct_burst(
    ops: &[Op],
    key: impl Fn(&Op) -> String,
    n: usize,
    window: i64,
) -> Vec<Vec<&Op>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        // Grow j while within the window from i; count distinct keys.
        let mut seen = std::collections::BTreeSet::new();
        let mut j = i;
        while j < ops.len() && ops[j].time - ops[i].time <= window {
            seen.insert(key(&ops[j]));
            j += 1;
        }
        if seen.len() >= n {
            // Extend the burst while the next op is within `window` of the last.
            let mut end = j;
            while end < ops.len() && ops[end].time - ops[end - 1].time <= window {
                end += 1;
            }
            out.push(ops[i..end].iter().collect());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// `1m54s`, `2h05m`, `12s`: a duration for "why it fired" lines.
pub fn human_duration(us: i64) -> String {
    let s = us.max(0) / 1_000_000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s / 60) % 60)
    }
}

/// Microseconds in `secs` seconds.
pub fn secs(secs: u64) -> i64 {
    secs as i64 * 1_000_000
}

#[cfg(test)]
pub mod testing {
    //! Building events for rule tests.
    use super::*;
    use crate::normalize::time::parse_time;

    /// An event at `t` (RFC 3339) by `actor` doing `op` on `resource_id`.
    pub fn ev(t: &str, actor: &str, op: &str, resource_id: &str) -> Ev {
        let parts = crate::normalize::values::parse_resource_id(resource_id);
        Ev {
            time: parse_time(t, false).unwrap(),
            event_id: format!("{t}/{op}/{resource_id}"),
            actor: actor.to_ascii_lowercase(),
            caller: Some(actor.to_ascii_lowercase()),
            operation: op.to_ascii_lowercase(),
            status: Some("succeeded".into()),
            resource_id: Some(resource_id.to_ascii_lowercase()),
            resource_group: parts.resource_group.map(str::to_ascii_lowercase),
            resource_type: parts.rtype.map(|t| t.to_ascii_lowercase()),
            resource_name: parts.name.map(str::to_ascii_lowercase),
            subscription_id: parts.subscription.map(str::to_ascii_lowercase),
            correlation_id: Some(format!("corr-{t}-{op}-{resource_id}")),
            ..Ev::default()
        }
    }

    pub trait EvExt {
        fn status(self, s: &str) -> Self;
        fn corr(self, c: &str) -> Self;
        fn request(self, body: &str) -> Self;
        fn response(self, body: &str) -> Self;
        fn ptype(self, t: &str) -> Self;
        fn app(self, a: &str) -> Self;
    }

    impl EvExt for Ev {
        fn status(mut self, s: &str) -> Self {
            self.status = Some(s.into());
            self
        }
        fn corr(mut self, c: &str) -> Self {
            self.correlation_id = Some(c.into());
            self
        }
        fn request(mut self, body: &str) -> Self {
            self.request_body = Some(body.into());
            self
        }
        fn response(mut self, body: &str) -> Self {
            self.response_body = Some(body.into());
            self
        }
        fn ptype(mut self, t: &str) -> Self {
            self.principal_type = Some(t.into());
            self
        }
        fn app(mut self, a: &str) -> Self {
            self.app_id = Some(a.into());
            self
        }
    }

    /// Runs `r` with its default parameters and no context over `v`.
    pub fn run(r: &dyn crate::detect::Rule, v: Vec<Ev>) -> Vec<crate::detect::Hit> {
        let meta = r.meta();
        r.detect(
            &events(v),
            &Context::default(),
            &crate::detect::Params::defaults(meta),
        )
    }

    /// Events sorted by time with row numbers, as the engine hands them over.
    pub fn events(mut v: Vec<Ev>) -> Events {
        v.sort_by_key(|e| e.time);
        for (i, e) in v.iter_mut().enumerate() {
            e.row = i as u64;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn logical_ops_merge_started_and_succeeded() {
        let evs = events(vec![
            ev(
                "2024-01-01T00:00:00Z",
                "a",
                "x/y/write",
                "/subscriptions/s/resourceGroups/r/providers/p/t/n",
            )
            .corr("c1")
            .status("started"),
            ev(
                "2024-01-01T00:00:01Z",
                "a",
                "x/y/write",
                "/subscriptions/s/resourceGroups/r/providers/p/t/n",
            )
            .corr("c1")
            .status("succeeded"),
            ev(
                "2024-01-01T00:00:02Z",
                "a",
                "x/y/write",
                "/subscriptions/s/resourceGroups/r/providers/p/t/n",
            )
            .corr("c2")
            .status("started"),
            ev(
                "2024-01-01T00:00:03Z",
                "a",
                "x/y/write",
                "/subscriptions/s/resourceGroups/r/providers/p/t/n",
            )
            .corr("c2")
            .status("failed"),
        ]);
        let idx: Vec<usize> = (0..evs.len()).collect();
        let ops = logical_ops(&evs, &idx);
        assert_eq!(ops.len(), 2);
        assert!(!ops[0].failed);
        assert!(ops[1].failed);
    }

    #[test]
    fn clusters_and_bursts() {
        let c = clusters(vec![0i64, 10, 20, 100, 105], |t| *t, 15);
        assert_eq!(c, vec![vec![0, 10, 20], vec![100, 105]]);
        let ops: Vec<Op> = [0i64, 1, 2, 50, 51]
            .iter()
            .map(|&t| Op {
                rows: vec![t as usize],
                time: t,
                failed: false,
            })
            .collect();
        let b = distinct_burst(&ops, |o| o.time.to_string(), 3, 10);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].len(), 3);
        let b = distinct_burst(&ops, |o| o.time.to_string(), 4, 10);
        assert!(b.is_empty());
    }

    #[test]
    fn bodies() {
        let v = parse_body(r#""{\"a\":{\"B\":1}}""#).unwrap();
        assert_eq!(jpath(&v, &["a", "b"]).unwrap(), 1);
        assert_eq!(human_duration(114_000_000), "1m54s");
    }
}
