//! The rows a rule looks at, taken out of the frame in time order, and the
//! helpers rules are built from: logical operations, actor groups, time
//! clusters, distinct counts, JSON fields of request and response bodies.

use std::borrow::Cow;
use std::collections::BTreeMap;

use polars::prelude::*;

use super::baseline::{Baseline, RowFlag};
use super::ioc::{IocKind, IocSet};
use crate::error::Result;

/// One candidate row. Strings are the frame's (lower-cased ids), borrowed
/// from its columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ev<'a> {
    /// Row index in the scanned frame.
    pub row: u64,
    /// Microseconds since the epoch, UTC.
    pub time: i64,
    pub event_id: Cow<'a, str>,
    /// `principal_id`, else `caller`.
    pub actor: Cow<'a, str>,
    pub caller: Option<Cow<'a, str>>,
    pub principal_id: Option<Cow<'a, str>>,
    pub principal_type: Option<Cow<'a, str>>,
    pub app_id: Option<Cow<'a, str>>,
    pub caller_ip: Option<Cow<'a, str>>,
    /// The token's `ipaddr` claim.
    pub token_ip: Option<Cow<'a, str>>,
    pub tenant_id: Option<Cow<'a, str>>,
    pub subscription_id: Option<Cow<'a, str>>,
    pub resource_id: Option<Cow<'a, str>>,
    pub resource_group: Option<Cow<'a, str>>,
    pub resource_type: Option<Cow<'a, str>>,
    pub resource_name: Option<Cow<'a, str>>,
    pub operation: Cow<'a, str>,
    pub status: Option<Cow<'a, str>>,
    pub sub_status: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    pub auth_scope: Option<Cow<'a, str>>,
    pub request_body: Option<Cow<'a, str>>,
    pub response_body: Option<Cow<'a, str>>,
}

/// Candidate rows in time order.
pub type Events<'a> = Vec<Ev<'a>>;

/// What every rule may know about the whole data set.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Actor (`principal_id`, else `caller`) → first time it acts in the data.
    pub first_seen: std::collections::HashMap<String, i64>,
    /// The `--ioc` lists (empty without them).
    pub ioc: std::sync::Arc<IocSet>,
    /// What each principal did before the detection period.
    pub baseline: std::sync::Arc<Baseline>,
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
    let time = crate::frame::times(frame)?;
    // Keyed by the frame's strings: only distinct actors are copied.
    let mut first: PlHashMap<&str, i64> = PlHashMap::new();
    for ((p, c), t) in pid.iter().zip(caller.iter()).zip(time.iter()) {
        let (Some(actor), Some(t)) = (p.or(c), t) else {
            continue;
        };
        first
            .entry(actor)
            .and_modify(|f| *f = (*f).min(t))
            .or_insert(t);
    }
    let first_seen = first.into_iter().map(|(a, t)| (a.to_owned(), t)).collect();
    Ok(Context {
        first_seen,
        ..Context::default()
    })
}

/// The columns rules read (`properties` and `claims` are not read: no
/// rule needs them, and they are most of a record's bytes).
const COLS: [&str; 20] = [
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
    "token_ip",
];

/// Indices of the address columns in [`COLS`].
const CALLER_IP: usize = 5;
const TOKEN_IP: usize = 19;

/// Which rows a rule looks at: a test of the (lower-case) operation, or of
/// the row's addresses against the `--ioc` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpFilter {
    /// The operation is one of these.
    In(Vec<String>),
    /// The operation ends with one of these.
    EndsWith(Vec<String>),
    /// Any operation whose caller IP or token IP is listed under this kind
    /// in the IOC lists (no row without them).
    Ioc(IocKind),
    /// Any operation the baseline marked so (see [`RowFlag`]).
    Flagged(RowFlag),
    /// The operation is in one of these tactic families (mask of
    /// [`super::families::Family::bit`]).
    Family(u16),
    /// Any of these.
    Either(Vec<OpFilter>),
}

impl OpFilter {
    /// Whether the filter accepts this operation by its name alone.
    pub fn matches(&self, op: &str) -> bool {
        match self {
            OpFilter::In(ops) => ops.iter().any(|o| o == op),
            OpFilter::EndsWith(sfx) => sfx.iter().any(|s| op.ends_with(s.as_str())),
            OpFilter::Family(m) => super::families::families(op) & m != 0,
            OpFilter::Either(v) => v.iter().any(|f| f.matches(op)),
            OpFilter::Ioc(_) | OpFilter::Flagged(_) => false,
        }
    }

    /// The row marks (IOC kinds by [`IocKind::bit`], baseline marks by
    /// [`RowFlag::bit`]) whose rows it accepts.
    fn row_mask(&self) -> u8 {
        match self {
            OpFilter::Ioc(k) => k.bit(),
            OpFilter::Flagged(f) => f.bit(),
            OpFilter::Either(v) => v.iter().fold(0, |m, f| m | f.row_mask()),
            _ => 0,
        }
    }
}

/// `operation` equal (case-insensitively; the frame is lower-case) to any of `ops`.
pub fn op_in(ops: &[&str]) -> OpFilter {
    assert!(!ops.is_empty(), "at least one operation");
    OpFilter::In(ops.iter().map(|o| o.to_ascii_lowercase()).collect())
}

/// `operation` ending with any of `suffixes` (case-insensitively).
pub fn op_ends_with(suffixes: &[&str]) -> OpFilter {
    assert!(!suffixes.is_empty(), "at least one suffix");
    OpFilter::EndsWith(suffixes.iter().map(|s| s.to_ascii_lowercase()).collect())
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

/// The frame's rows that some rule looks at, found in one pass over the
/// operation column and put in time order once; each rule then takes its
/// own events from them ([`Candidates::events`]) without copying strings.
pub struct Candidates<'a> {
    cols: Vec<StrCol<'a>>,
    /// Event times, by frame row.
    times: Vec<i64>,
    /// The frame's distinct operations; rows refer to them by index.
    ops: Vec<&'a str>,
    /// (row, operation index or [`NO_OP`], row marks: IOC kinds of its
    /// addresses and baseline flags) of every row some filter accepts, by
    /// time then row.
    rows: Vec<(u32, u32, u8)>,
    /// Operation index by frame row.
    row_ops: Vec<u32>,
    /// The row marks some filter accepts.
    marks_wanted: u8,
}

/// Row access to a string column: straight into its array when it is one
/// chunk (the scanned frame's rule columns are), else through polars.
pub(crate) enum StrCol<'a> {
    One(&'a polars_arrow::array::Utf8ViewArray),
    Many(&'a StringChunked),
}

impl<'a> StrCol<'a> {
    pub(crate) fn of(ca: &'a StringChunked) -> StrCol<'a> {
        match ca.downcast_iter().collect::<Vec<_>>()[..] {
            [one] => StrCol::One(one),
            _ => StrCol::Many(ca),
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrCol::One(a) => a.get(i),
            StrCol::Many(c) => c.get(i),
        }
    }
}

/// The operation index of a row without an operation.
const NO_OP: u32 = u32::MAX;

/// Per row, the IOC kinds (mask of [`IocKind::bit`]) its caller or token
/// IP is listed under. Each distinct address text is parsed and looked up
/// once.
fn ioc_masks<'a>(cols: &[&'a StringChunked], ioc: &IocSet) -> Vec<u8> {
    let mut cache: PlHashMap<&'a str, u8> = PlHashMap::new();
    let mut mask = |ip: Option<&'a str>| -> u8 {
        match ip {
            None => 0,
            Some(ip) => *cache.entry(ip).or_insert_with(|| ioc.kinds(ip)),
        }
    };
    cols[CALLER_IP]
        .iter()
        .zip(cols[TOKEN_IP].iter())
        .map(|(c, t)| mask(c) | mask(t))
        .collect()
}

impl<'a> Candidates<'a> {
    /// The rows of `frame` that one of `filters` accepts: by operation, or
    /// by the addresses `ioc` lists (the baseline's row flags are added by
    /// [`Candidates::add_flags`]).
    pub fn new(frame: &'a DataFrame, filters: &[OpFilter], ioc: &IocSet) -> Result<Self> {
        let cols: Vec<&StringChunked> = COLS
            .iter()
            .map(|c| Ok(frame.column(c)?.str()?))
            .collect::<Result<_>>()?;
        let times: Vec<i64> = crate::frame::times(frame)?
            .iter()
            .map(Option::unwrap_or_default)
            .collect();
        let mut index: PlHashMap<&'a str, u32> = PlHashMap::new();
        let mut ops: Vec<&'a str> = Vec::new();
        let op_col: &'a StringChunked = cols[12];
        let row_ops: Vec<u32> = op_col
            .iter()
            .map(|o| {
                o.map_or(NO_OP, |o| {
                    *index.entry(o).or_insert_with(|| {
                        ops.push(o);
                        (ops.len() - 1) as u32
                    })
                })
            })
            .collect();
        let wanted: Vec<bool> = ops
            .iter()
            .map(|o| filters.iter().any(|f| f.matches(o)))
            .collect();
        let marks_wanted = filters.iter().fold(0, |m, f| m | f.row_mask());
        let ioc_wanted = marks_wanted & IocKind::ALL.iter().fold(0, |m, k| m | k.bit());
        let masks = if ioc_wanted != 0 && !ioc.is_empty() {
            ioc_masks(&cols, ioc)
        } else {
            Vec::new()
        };
        let mut keyed: Vec<(i64, u32, u32, u8)> = row_ops
            .iter()
            .enumerate()
            .filter_map(|(i, &o)| {
                let m = masks.get(i).copied().unwrap_or(0) & marks_wanted;
                let by_op = o != NO_OP && wanted[o as usize];
                (by_op || m != 0).then(|| (times[i], i as u32, o, m))
            })
            .collect();
        keyed.sort_unstable();
        let rows = keyed.into_iter().map(|(_, i, o, m)| (i, o, m)).collect();
        Ok(Candidates {
            cols: cols.into_iter().map(StrCol::of).collect(),
            times,
            ops,
            rows,
            row_ops,
            marks_wanted,
        })
    }

    /// Adds the baseline's row `flags` (one mask of [`RowFlag::bit`]s per
    /// frame row): rows a filter selects by flag join the candidates.
    pub fn add_flags(&mut self, flags: &[u8]) {
        let wanted = self.marks_wanted;
        let mut flagged: PlHashMap<u32, u8> = flags
            .iter()
            .enumerate()
            .filter(|(_, f)| *f & wanted != 0)
            .map(|(i, f)| (i as u32, f & wanted))
            .collect();
        if flagged.is_empty() {
            return;
        }
        // Rows already there get the marks; the others join.
        for (row, _, m) in &mut self.rows {
            if let Some(f) = flagged.remove(row) {
                *m |= f;
            }
        }
        let row_ops = &self.row_ops;
        self.rows.extend(
            flagged
                .into_iter()
                .map(|(row, f)| (row, row_ops[row as usize], f)),
        );
        let times = &self.times;
        self.rows
            .sort_unstable_by_key(|&(row, _, _)| (times[row as usize], row));
    }

    /// The events `filter` accepts from time `from` (µs) on, in time order
    /// (`filter` must accept only rows one of the filters given to [`new`]
    /// did).
    ///
    /// [`new`]: Candidates::new
    pub fn events(&self, filter: &OpFilter, from: i64) -> Events<'a> {
        let wanted: Vec<bool> = self.ops.iter().map(|o| filter.matches(o)).collect();
        let marks = filter.row_mask();
        let start = self
            .rows
            .partition_point(|&(row, _, _)| self.times[row as usize] < from);
        let mine = || {
            self.rows[start..]
                .iter()
                .filter(|(_, o, m)| (*o != NO_OP && wanted[*o as usize]) || m & marks != 0)
        };
        let mut out = Vec::with_capacity(mine().count());
        out.extend(mine().map(|&(row, _, _)| self.ev(row as usize)));
        out
    }

    fn ev(&self, i: usize) -> Ev<'a> {
        let g = |k: usize| self.cols[k].get(i).map(Cow::Borrowed);
        let caller = g(1);
        let principal_id = g(2);
        let actor = principal_id
            .clone()
            .or_else(|| caller.clone())
            .unwrap_or_default();
        Ev {
            row: i as u64,
            time: self.times[i],
            event_id: g(0).unwrap_or_default(),
            actor,
            caller,
            principal_id,
            principal_type: g(3),
            app_id: g(4),
            caller_ip: g(CALLER_IP),
            token_ip: g(TOKEN_IP),
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
        }
    }
}

impl Ev<'_> {
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
    let mut by_key: PlHashMap<(&str, &str, &str), usize> = PlHashMap::new();
    let mut ops: Vec<Op> = Vec::new();
    for &i in idx {
        let e = &ev[i];
        let slot = e.correlation_id.as_ref().map(|c| {
            *by_key
                .entry((&**c, &*e.operation, e.target()))
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
pub fn by_actor<'e>(ev: &'e [Ev<'_>]) -> BTreeMap<&'e str, Vec<usize>> {
    let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in ev.iter().enumerate() {
        m.entry(&*e.actor).or_default().push(i);
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
    pub fn ev(t: &str, actor: &str, op: &str, resource_id: &str) -> Ev<'static> {
        let parts = crate::normalize::values::parse_resource_id(resource_id);
        let lower = |s: &str| -> Cow<'static, str> { Cow::Owned(s.to_ascii_lowercase()) };
        Ev {
            time: parse_time(t, false).unwrap(),
            event_id: format!("{t}/{op}/{resource_id}").into(),
            actor: lower(actor),
            caller: Some(lower(actor)),
            operation: lower(op),
            status: Some("succeeded".into()),
            resource_id: Some(lower(resource_id)),
            resource_group: parts.resource_group.map(lower),
            resource_type: parts.rtype.map(|t| lower(&t)),
            resource_name: parts.name.map(lower),
            subscription_id: parts.subscription.map(lower),
            correlation_id: Some(format!("corr-{t}-{op}-{resource_id}").into()),
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

    impl EvExt for Ev<'_> {
        fn status(mut self, s: &str) -> Self {
            self.status = Some(s.to_owned().into());
            self
        }
        fn corr(mut self, c: &str) -> Self {
            self.correlation_id = Some(c.to_owned().into());
            self
        }
        fn request(mut self, body: &str) -> Self {
            self.request_body = Some(body.to_owned().into());
            self
        }
        fn response(mut self, body: &str) -> Self {
            self.response_body = Some(body.to_owned().into());
            self
        }
        fn ptype(mut self, t: &str) -> Self {
            self.principal_type = Some(t.to_owned().into());
            self
        }
        fn app(mut self, a: &str) -> Self {
            self.app_id = Some(a.to_owned().into());
            self
        }
    }

    /// A frame holding the rule columns and the time of `v` (in order),
    /// as the engine reads them.
    pub fn frame_of(v: &[Ev<'_>]) -> DataFrame {
        let col = |name: &str, f: &dyn Fn(&Ev) -> Option<String>| -> Column {
            Column::new(
                name.into(),
                v.iter().map(f).collect::<Vec<Option<String>>>(),
            )
        };
        let s = |x: &Option<Cow<str>>| x.as_ref().map(|c| c.to_string());
        let mut cols = vec![
            col("event_id", &|e| Some(e.event_id.to_string())),
            col("caller", &|e| s(&e.caller)),
            col("principal_id", &|e| s(&e.principal_id)),
            col("principal_type", &|e| s(&e.principal_type)),
            col("app_id", &|e| s(&e.app_id)),
            col("caller_ip", &|e| s(&e.caller_ip)),
            col("tenant_id", &|e| s(&e.tenant_id)),
            col("subscription_id", &|e| s(&e.subscription_id)),
            col("resource_id", &|e| s(&e.resource_id)),
            col("resource_group", &|e| s(&e.resource_group)),
            col("resource_type", &|e| s(&e.resource_type)),
            col("resource_name", &|e| s(&e.resource_name)),
            col("operation", &|e| Some(e.operation.to_string())),
            col("status", &|e| s(&e.status)),
            col("sub_status", &|e| s(&e.sub_status)),
            col("correlation_id", &|e| s(&e.correlation_id)),
            col("auth_scope", &|e| s(&e.auth_scope)),
            col("request_body", &|e| s(&e.request_body)),
            col("response_body", &|e| s(&e.response_body)),
            col("token_ip", &|e| s(&e.token_ip)),
        ];
        let t: Vec<i64> = v.iter().map(|e| e.time).collect();
        cols.push(
            Column::new("time".into(), t)
                .cast(&DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .unwrap(),
        );
        DataFrame::new(v.len(), cols).unwrap()
    }

    /// Runs `r` with its default parameters and no context over `v`.
    pub fn run(r: &dyn crate::detect::Rule, v: Vec<Ev<'_>>) -> Vec<crate::detect::Hit> {
        let meta = r.meta();
        r.detect(
            &events(v),
            &Context::default(),
            &crate::detect::Params::defaults(meta),
        )
    }

    /// Events sorted by time with row numbers, as the engine hands them over.
    pub fn events(mut v: Vec<Ev<'_>>) -> Events<'_> {
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
