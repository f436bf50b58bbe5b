//! `stats`: what is in the data. Aggregates frame chunks as they stream by
//! (time span, top values per column, per actor, per subscription and day,
//! gaps) and renders the ingest ledger with them, as text for people or one
//! JSON document for scripts.

pub mod actors;
pub mod coverage;
pub mod geo;

use std::fmt::Write as _;

use polars::prelude::*;
use serde::Serialize;

use super::text::{human_bytes, term_safe};
use crate::error::Result;
use crate::ingest::{FrameSink, IngestReport, Totals};
use crate::normalize::time::format_micros;
use actors::{ActorColumns, ActorDoc, Actors};
use coverage::{GapPosition, RESOLUTION_SECS, Subscriptions};
use geo::{GeoIndex, IpCount};

/// The columns `stats` counts values of, with their JSON key.
pub const TOP_COLUMNS: [(&str, &str); 5] = [
    ("subscription", "subscription_id"),
    ("caller", "caller"),
    ("operation", "operation"),
    ("status", "status"),
    ("caller_ip", "caller_ip"),
];

/// The index of `caller_ip` in [`TOP_COLUMNS`].
const CALLER_IP: usize = 4;

/// Streams over frame chunks and keeps counts.
#[derive(Default)]
pub struct StatsSink {
    first: Option<i64>,
    last: Option<i64>,
    rows: u64,
    counts: [PlHashMap<String, u64>; 5],
    nulls: [u64; 5],
    actors: Actors,
    subscriptions: Subscriptions,
}

fn strs<'a>(df: &'a DataFrame, col: &str) -> Result<&'a StringChunked> {
    Ok(df.column(col)?.str()?)
}

impl FrameSink for StatsSink {
    fn frame(&mut self, df: DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let t = crate::frame::times(&df)?;
        if let Some(mn) = t.min() {
            self.first = Some(self.first.map_or(mn, |f| f.min(mn)));
        }
        if let Some(mx) = t.max() {
            self.last = Some(self.last.map_or(mx, |l| l.max(mx)));
        }
        self.actors.add_chunk(&ActorColumns {
            time: &t,
            principal_id: strs(&df, "principal_id")?,
            caller: strs(&df, "caller")?,
            principal_type: strs(&df, "principal_type")?,
            app_id: strs(&df, "app_id")?,
            caller_ip: strs(&df, "caller_ip")?,
            operation: strs(&df, "operation")?,
            status: strs(&df, "status")?,
            sub_status: strs(&df, "sub_status")?,
        });
        self.subscriptions
            .add_chunk(strs(&df, "subscription_id")?, &t);
        for (k, (_, col)) in TOP_COLUMNS.iter().enumerate() {
            let ca = df.column(col)?.str()?;
            let map = &mut self.counts[k];
            for v in ca.iter() {
                match v {
                    None => self.nulls[k] += 1,
                    Some(v) => match map.get_mut(v) {
                        Some(c) => *c += 1,
                        None => {
                            map.insert(v.to_owned(), 1);
                        }
                    },
                }
            }
        }
        Ok(())
    }
}

/// One counted value.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub value: Option<String>,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimeSpan {
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RejectsInfo {
    pub path: Option<String>,
    pub count: u64,
}

/// Events on one UTC day.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DayCount {
    pub date: String,
    pub events: u64,
}

/// A run of whole UTC minutes without an event.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GapDoc {
    /// The first empty minute.
    pub start: String,
    /// The minute of the next event (or the end of the data's last minute).
    pub end: String,
    pub seconds: u64,
    pub position: GapPosition,
}

/// One subscription's coverage.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SubscriptionDoc {
    pub subscription_id: Option<String>,
    pub events: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// Every UTC day of the whole data's span, zero days included.
    pub daily: Vec<DayCount>,
    /// The days of the whole data's span without an event of this subscription.
    pub empty_days: Vec<String>,
    pub gaps: Vec<GapDoc>,
}

/// How `stats` looks for gaps.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct GapSettings {
    /// `--gap`: runs of empty minutes at least this long are reported.
    pub threshold_seconds: u64,
    /// The precision: gaps are measured in whole UTC minutes.
    pub resolution_seconds: u64,
}

/// What the document holds beyond the ledger and the top values.
#[derive(Clone, Copy, Debug)]
pub struct DocOptions {
    /// Values per `top` column and per actor list.
    pub top: usize,
    /// Actors listed (by events); `None`: all.
    pub actors: Option<usize>,
    /// `--gap`, in seconds.
    pub gap_seconds: u64,
}

/// Default `--gap`: six hours.
pub const DEFAULT_GAP: &str = "6h";

/// The `stats --json` document.
#[derive(Clone, Debug, Serialize)]
pub struct StatsDoc {
    pub files: Vec<crate::ingest::FileReport>,
    pub totals: Totals,
    pub time_span: TimeSpan,
    pub top: serde_json::Map<String, serde_json::Value>,
    pub rejects: RejectsInfo,
    /// How many actors there are; `actors` may list fewer (`--actors`).
    pub actors_total: usize,
    pub actors: Vec<ActorDoc>,
    pub gap: GapSettings,
    pub subscriptions: Vec<SubscriptionDoc>,
    /// Days of the data's span without any event at all.
    pub empty_days: Vec<String>,
}

impl StatsSink {
    /// Top `n` values per column: by count, then by value, so ties are stable.
    pub fn top(&self, n: usize) -> Vec<(&'static str, Vec<Count>)> {
        TOP_COLUMNS
            .iter()
            .zip(self.counts.iter().zip(self.nulls))
            .map(|((key, _), (map, nulls))| {
                let mut v: Vec<Count> = map
                    .iter()
                    .map(|(k, c)| Count {
                        value: Some(k.clone()),
                        count: *c,
                    })
                    .chain((nulls > 0).then_some(Count {
                        value: None,
                        count: nulls,
                    }))
                    .collect();
                v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                v.truncate(n);
                (*key, v)
            })
            .collect()
    }

    /// The document. With `geoip`, every distinct caller IP is looked up
    /// once: the IPs listed get their country and ASN, `top` gets
    /// `country` and `asn` (records with a caller IP), each actor its
    /// countries.
    pub fn doc(
        &self,
        report: &IngestReport,
        o: DocOptions,
        rejects: RejectsInfo,
        geoip: Option<&crate::geo::GeoDb>,
    ) -> StatsDoc {
        let ips = &self.counts[CALLER_IP];
        let geo = geoip.map(|db| GeoIndex::new(db, ips.keys().map(String::as_str)));
        fn json(v: impl Serialize) -> serde_json::Value {
            serde_json::to_value(v).expect("serialisable")
        }
        let mut top = serde_json::Map::new();
        for (k, v) in self.top(o.top) {
            let v = match &geo {
                Some(g) if k == TOP_COLUMNS[CALLER_IP].0 => json(
                    v.into_iter()
                        .map(|c| IpCount {
                            geo: Some(g.ip(c.value.as_deref())),
                            value: c.value,
                            count: c.count,
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => json(v),
            };
            top.insert(k.to_owned(), v);
        }
        if let Some(g) = &geo {
            let per_ip = || ips.iter().map(|(k, c)| (k.as_str(), *c));
            top.insert("country".into(), json(g.countries(per_ip(), o.top).1));
            top.insert("asn".into(), json(g.asns(per_ip(), o.top)));
        }
        let actors: Vec<ActorDoc> = self
            .actors
            .sorted()
            .into_iter()
            .take(o.actors.unwrap_or(usize::MAX))
            .map(|a| a.doc(o.top, geo.as_ref()))
            .collect();
        let (subscriptions, empty_days) = match (self.first, self.last) {
            (Some(first), Some(last)) => self.coverage(first, last, o.gap_seconds),
            _ => (Vec::new(), Vec::new()),
        };
        StatsDoc {
            files: report.files.clone(),
            totals: report.totals,
            time_span: TimeSpan {
                first: self.first.map(format_micros),
                last: self.last.map(format_micros),
            },
            top,
            rejects,
            actors_total: self.actors.len(),
            actors,
            gap: GapSettings {
                threshold_seconds: o.gap_seconds,
                resolution_seconds: RESOLUTION_SECS,
            },
            subscriptions,
            empty_days,
        }
    }

    /// Per subscription its days, empty days and gaps within the whole
    /// data's span (`first..=last`, µs); and the days without any event.
    fn coverage(
        &self,
        first: i64,
        last: i64,
        gap_seconds: u64,
    ) -> (Vec<SubscriptionDoc>, Vec<String>) {
        use coverage::{day_of, format_day, format_minute, minute_of};
        let (d0, d1) = (day_of(first), day_of(last));
        let span = (minute_of(first), minute_of(last));
        let min_minutes = i64::try_from(gap_seconds.div_ceil(RESOLUTION_SECS)).unwrap_or(i64::MAX);
        let subs = self
            .subscriptions
            .sorted()
            .into_iter()
            .map(|(id, c)| SubscriptionDoc {
                subscription_id: id.map(str::to_owned),
                events: c.events(),
                first_seen: c.first().map(format_micros).unwrap_or_default(),
                last_seen: c.last().map(format_micros).unwrap_or_default(),
                daily: (d0..=d1)
                    .map(|d| DayCount {
                        date: format_day(d),
                        events: c.day_events(d),
                    })
                    .collect(),
                empty_days: (d0..=d1)
                    .filter(|&d| c.day_events(d) == 0)
                    .map(format_day)
                    .collect(),
                gaps: c
                    .gaps(span, min_minutes)
                    .into_iter()
                    .map(|g| GapDoc {
                        start: format_minute(g.start),
                        end: format_minute(g.end),
                        seconds: g.seconds(),
                        position: g.position,
                    })
                    .collect(),
            })
            .collect();
        let empty = self
            .subscriptions
            .empty_days(d0, d1)
            .into_iter()
            .map(format_day)
            .collect();
        (subs, empty)
    }
}

/// `93780` → `1d 2h 3m`, `90` → `1m 30s`, `0` → `0s`.
pub fn format_duration(secs: u64) -> String {
    let parts: Vec<String> = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, u)| format!("{n}{u}"))
    .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Renders the stats document for a terminal. Every log-derived value and
/// every path is escaped.
pub fn render_text(doc: &StatsDoc) -> String {
    let mut s = String::new();
    let skipped = doc.files.iter().filter(|f| f.skipped.is_some()).count();
    let _ = writeln!(s, "inputs: {} ({} skipped)", doc.files.len(), skipped);
    let _ = writeln!(
        s,
        "{:<18}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  FILE",
        "DIALECT", "BYTES", "FOUND", "KEPT", "DUPS", "REJECTED"
    );
    for f in &doc.files {
        let dialect = match (&f.skipped, &f.dialect) {
            (Some(_), _) => "skipped".to_owned(),
            (None, Some(d)) => d.clone(),
            (None, None) => "-".to_owned(),
        };
        let _ = writeln!(
            s,
            "{:<18}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  {}",
            dialect,
            human_bytes(f.bytes),
            f.records_found,
            f.records_kept,
            f.duplicates,
            f.rejected,
            term_safe(&f.path),
        );
    }
    for f in doc.files.iter().filter(|f| f.skipped.is_some()) {
        let _ = writeln!(
            s,
            "skipped: {}: {}",
            term_safe(&f.path),
            term_safe(f.skipped.as_deref().unwrap_or(""))
        );
    }
    let t = &doc.totals;
    let _ = writeln!(
        s,
        "\nrecords: {} found = {} kept + {} duplicates + {} rejected",
        t.records_found, t.records_kept, t.duplicates, t.rejected
    );
    match (&doc.time_span.first, &doc.time_span.last) {
        (Some(a), Some(b)) => {
            let _ = writeln!(s, "time span: {a} .. {b}");
        }
        _ => {
            let _ = writeln!(s, "time span: no records");
        }
    }
    match (&doc.rejects.path, doc.rejects.count) {
        (_, 0) => {
            let _ = writeln!(s, "rejects: none");
        }
        (Some(p), n) => {
            let _ = writeln!(s, "rejects: {n} written to {}", term_safe(p));
        }
        (None, n) => {
            let _ = writeln!(s, "rejects: {n}");
        }
    }
    for (k, v) in &doc.top {
        let _ = writeln!(s, "\ntop {k}:");
        if let Some(arr) = v.as_array() {
            for c in arr {
                let count = c.get("count").and_then(|x| x.as_u64()).unwrap_or(0);
                let val = c
                    .get("value")
                    .and_then(|x| x.as_str())
                    .map(term_safe)
                    .unwrap_or_else(|| "(none)".into());
                let _ = writeln!(s, "  {count:>9}  {val}{}", geo_suffix(k, c));
            }
        }
    }
    render_actors(&mut s, doc);
    render_subscriptions(&mut s, doc);
    s
}

/// What `--geoip` adds to a line of a top list: a caller IP's country and
/// AS, a country's name, an AS's organisation. Empty without `--geoip`.
fn geo_suffix(list: &str, entry: &serde_json::Value) -> String {
    let text = |k: &str| entry.get(k).and_then(|x| x.as_str()).map(term_safe);
    match list {
        "caller_ip" if entry.get("country").is_some() => ip_geo_text(
            text("country").as_deref(),
            entry.get("asn").and_then(|x| x.as_u64()),
            text("as_org").as_deref(),
        ),
        "country" => text("country_name")
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        "asn" => text("as_org").map(|n| format!("  {n}")).unwrap_or_default(),
        _ => String::new(),
    }
}

/// `  NL  AS1136 KPN B.V.`; `unknown` for an unknown country, no AS part
/// without an ASN. Values are escaped by the caller.
fn ip_geo_text(country: Option<&str>, asn: Option<u64>, org: Option<&str>) -> String {
    let mut s = format!("  {}", country.unwrap_or(geo::UNKNOWN));
    if let Some(n) = asn {
        let _ = write!(s, "  AS{n}");
        if let Some(o) = org {
            let _ = write!(s, " {o}");
        }
    }
    s
}

fn opt_safe(v: Option<&str>) -> String {
    v.map(term_safe).unwrap_or_else(|| "(none)".into())
}

/// One actor list: `label  N distinct`, then its counts, one a line.
fn render_list<'a>(
    s: &mut String,
    label: &str,
    distinct: usize,
    items: impl Iterator<Item = (u64, String)> + 'a,
) {
    let _ = writeln!(s, "    {label:<12}{distinct} distinct");
    for (count, val) in items {
        let _ = writeln!(s, "      {count:>9}  {val}");
    }
}

fn render_actors(s: &mut String, doc: &StatsDoc) {
    let shown = doc.actors.len();
    let _ = if shown < doc.actors_total {
        writeln!(
            s,
            "\nactors: {} by events, the first {shown} shown (--actors N; all in --json)",
            doc.actors_total
        )
    } else {
        writeln!(s, "\nactors: {} by events", doc.actors_total)
    };
    for a in &doc.actors {
        let name = match (&a.caller, &a.actor) {
            (Some(c), _) => term_safe(c),
            (None, Some(k)) => term_safe(k),
            (None, None) => "(no principal id or caller)".into(),
        };
        let _ = writeln!(s, "  {name}");
        if a.principal_id.is_some() || a.principal_type.is_some() {
            let kind = a
                .principal_type
                .as_deref()
                .map(|t| format!(" ({})", term_safe(t)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    {:<12}{}{kind}",
                "principal",
                opt_safe(a.principal_id.as_deref()),
            );
        }
        let _ = writeln!(s, "    {:<12}{} .. {}", "seen", a.first_seen, a.last_seen);
        let mut failed = format!("{} failed", a.failed);
        if !a.failed_sub_status.is_empty() {
            let subs: Vec<String> = a
                .failed_sub_status
                .iter()
                .map(|c| format!("{} {}", c.count, opt_safe(c.value.as_deref())))
                .collect();
            let _ = write!(failed, ": {}", subs.join(", "));
        }
        let _ = writeln!(s, "    {:<12}{} ({failed})", "events", a.events);
        let counts = |l: &[Count]| {
            l.iter()
                .map(|c| (c.count, opt_safe(c.value.as_deref())))
                .collect::<Vec<_>>()
        };
        render_list(
            s,
            "operations",
            a.operations.distinct,
            counts(&a.operations.top).into_iter(),
        );
        render_list(
            s,
            "caller ips",
            a.caller_ips.distinct,
            a.caller_ips.top.iter().map(|c| {
                let mut v = opt_safe(c.value.as_deref());
                if let Some(g) = &c.geo {
                    v.push_str(&ip_geo_text(
                        g.country.as_deref().map(term_safe).as_deref(),
                        g.asn.map(u64::from),
                        g.as_org.as_deref().map(term_safe).as_deref(),
                    ));
                }
                (c.count, v)
            }),
        );
        if let Some(cs) = &a.countries {
            render_list(
                s,
                "countries",
                cs.distinct,
                cs.top.iter().map(|c| {
                    let v = match &c.country_name {
                        Some(n) => format!("{} ({})", term_safe(&c.value), term_safe(n)),
                        None => term_safe(&c.value),
                    };
                    (c.count, v)
                }),
            );
        }
        render_list(
            s,
            "client apps",
            a.client_apps.distinct,
            a.client_apps.top.iter().map(|c| {
                let id = term_safe(&c.app_id);
                let v = match &c.app_name {
                    Some(n) => format!("{} ({id})", term_safe(n)),
                    None => id,
                };
                (c.count, v)
            }),
        );
    }
}

fn render_subscriptions(s: &mut String, doc: &StatsDoc) {
    let _ = writeln!(
        s,
        "\nsubscriptions: {} (events per UTC day; gaps: runs of whole minutes without an event, at least {})",
        doc.subscriptions.len(),
        format_duration(doc.gap.threshold_seconds)
    );
    for sub in &doc.subscriptions {
        let _ = writeln!(
            s,
            "  {}: {} events, {} .. {}",
            opt_safe(sub.subscription_id.as_deref()),
            sub.events,
            sub.first_seen,
            sub.last_seen
        );
        let _ = writeln!(s, "    events per day:");
        // Runs of days without events are one line.
        let mut i = 0;
        while i < sub.daily.len() {
            let d = &sub.daily[i];
            let mut j = i + 1;
            if d.events == 0 {
                while j < sub.daily.len() && sub.daily[j].events == 0 {
                    j += 1;
                }
            }
            let _ = if j - i > 1 {
                writeln!(
                    s,
                    "      {} .. {}  {:>9}  ({} days)",
                    d.date,
                    sub.daily[j - 1].date,
                    0,
                    j - i
                )
            } else {
                writeln!(s, "      {}  {:>9}", d.date, d.events)
            };
            i = j;
        }
        if sub.gaps.is_empty() {
            let _ = writeln!(s, "    gaps: none");
        }
        for g in &sub.gaps {
            let what = match g.position {
                GapPosition::Leading => "  (before its first event)",
                GapPosition::Inner => "",
                GapPosition::Trailing => "  (after its last event)",
            };
            let _ = writeln!(
                s,
                "    gap: {} .. {}  {}{what}",
                g.start,
                g.end,
                format_duration(g.seconds)
            );
        }
    }
    let _ = writeln!(
        s,
        "\ndays with no data at all: {}",
        day_ranges(&doc.empty_days)
    );
}

/// `2024-05-02, 2024-05-03, 2024-05-04, 2024-05-09` →
/// `2024-05-02 .. 2024-05-04 (3 days), 2024-05-09`; `none` when empty.
fn day_ranges(days: &[String]) -> String {
    let num = |d: &str| -> Option<i64> {
        let mut it = d.splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let dd = it.next()?.parse().ok()?;
        Some(crate::normalize::time::days_from_civil(y, m, dd))
    };
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i + 1;
        while j < days.len()
            && matches!((num(&days[j - 1]), num(&days[j])), (Some(a), Some(b)) if b == a + 1)
        {
            j += 1;
        }
        out.push(if j - i > 1 {
            format!("{} .. {} ({} days)", days[i], days[j - 1], j - i)
        } else {
            days[i].clone()
        });
        i = j;
    }
    if out.is_empty() {
        "none".to_owned()
    } else {
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_days_hours_minutes() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(90), "1m 30s");
        assert_eq!(format_duration(21_600), "6h");
        assert_eq!(format_duration(93_780), "1d 2h 3m");
        assert_eq!(format_duration(86_400 * 3 + 60), "3d 1m");
    }

    #[test]
    fn geoip_text_of_an_ip() {
        assert_eq!(
            ip_geo_text(Some("NL"), Some(1136), Some("KPN")),
            "  NL  AS1136 KPN"
        );
        assert_eq!(ip_geo_text(Some("NL"), Some(1136), None), "  NL  AS1136");
        assert_eq!(ip_geo_text(None, None, Some("x")), "  unknown");
        let e = serde_json::json!({"value": "AS1", "as_org": "Evil\u{1b}[31m"});
        assert_eq!(
            geo_suffix("asn", &e),
            format!("  {}", term_safe("Evil\u{1b}[31m"))
        );
        assert_eq!(geo_suffix("caller", &e), "");
    }

    #[test]
    fn consecutive_days_are_one_range() {
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(day_ranges(&[]), "none");
        assert_eq!(day_ranges(&d(&["2024-05-02"])), "2024-05-02");
        assert_eq!(
            day_ranges(&d(&[
                "2024-02-28",
                "2024-02-29",
                "2024-03-01",
                "2024-03-03",
                "2024-12-31",
                "2025-01-01"
            ])),
            "2024-02-28 .. 2024-03-01 (3 days), 2024-03-03, 2024-12-31 .. 2025-01-01 (2 days)"
        );
    }
}
