//! When events happened, per subscription, at one-minute precision: for each
//! subscription and UTC day, the number of events and a bitmap of the
//! minutes that hold at least one (1,440 bits). Memory grows with the
//! number of subscriptions and days, never with the number of records, and
//! chunks may come in any time order (inputs are not sorted across files).
//! Daily counts, days without data and gaps are derived from it.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::Serialize;

use crate::normalize::time::{civil_from_days, format_micros};

/// The precision of gaps, in seconds: a gap is a run of whole UTC minutes
/// without any event.
pub const RESOLUTION_SECS: u64 = 60;

const US_PER_MIN: i64 = 60_000_000;
const MIN_PER_DAY: i64 = 1_440;
const WORDS: usize = (MIN_PER_DAY as usize).div_ceil(64);

#[derive(Clone, Debug)]
struct Day {
    events: u64,
    minutes: [u64; WORDS],
}

impl Default for Day {
    fn default() -> Self {
        Day {
            events: 0,
            minutes: [0; WORDS],
        }
    }
}

/// The occupied minutes and daily counts of one subscription.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    days: BTreeMap<i64, Day>,
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
}

/// Where a gap lies relative to the subscription's own events.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GapPosition {
    /// From the start of the data to the subscription's first event.
    Leading,
    /// Between two of the subscription's events.
    Inner,
    /// From the subscription's last event to the end of the data.
    Trailing,
}

/// A run of minutes without events: `start` inclusive, `end` exclusive,
/// both in minutes since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub start: i64,
    pub end: i64,
    pub position: GapPosition,
}

impl Gap {
    pub fn seconds(&self) -> u64 {
        ((self.end - self.start) * 60) as u64
    }
}

/// Minute number (since the epoch) of a time in microseconds.
pub fn minute_of(t: i64) -> i64 {
    t.div_euclid(US_PER_MIN)
}

/// UTC day number (since the epoch) of a time in microseconds.
pub fn day_of(t: i64) -> i64 {
    minute_of(t).div_euclid(MIN_PER_DAY)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 of the start of a minute number.
pub fn format_minute(m: i64) -> String {
    format_micros(m * US_PER_MIN)
}

impl Coverage {
    /// Counts one event at `t` (microseconds since the epoch).
    #[inline]
    pub fn add(&mut self, t: i64) {
        let m = minute_of(t);
        let i = m.rem_euclid(MIN_PER_DAY) as usize;
        let d = self.days.entry(m.div_euclid(MIN_PER_DAY)).or_default();
        d.events += 1;
        d.minutes[i / 64] |= 1 << (i % 64);
        self.events += 1;
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn first(&self) -> Option<i64> {
        self.first
    }

    pub fn last(&self) -> Option<i64> {
        self.last
    }

    /// Events on a UTC day (day number since the epoch).
    pub fn day_events(&self, day: i64) -> u64 {
        self.days.get(&day).map_or(0, |d| d.events)
    }

    /// The days that hold events, ascending.
    pub fn days(&self) -> impl Iterator<Item = i64> + '_ {
        self.days.keys().copied()
    }

    /// The minutes (since the epoch) that hold events, ascending.
    pub fn minutes(&self) -> impl Iterator<Item = i64> + '_ {
        self.days.iter().flat_map(|(&day, d)| {
            d.minutes.iter().enumerate().flat_map(move |(w, &word)| {
                let mut bits = word;
                std::iter::from_fn(move || {
                    (bits != 0).then(|| {
                        let b = bits.trailing_zeros() as i64;
                        bits &= bits - 1;
                        day * MIN_PER_DAY + w as i64 * 64 + b
                    })
                })
            })
        })
    }

    /// Runs of empty minutes of at least `min_minutes` (at least 1) within
    /// `span` (the first and last minute of the whole data, inclusive):
    /// before the first event, between events, after the last.
    pub fn gaps(&self, span: (i64, i64), min_minutes: i64) -> Vec<Gap> {
        let min = min_minutes.max(1);
        let mut out = Vec::new();
        let mut push = |start: i64, end: i64, position| {
            if end - start >= min {
                out.push(Gap {
                    start,
                    end,
                    position,
                });
            }
        };
        let mut prev: Option<i64> = None;
        for m in self.minutes() {
            match prev {
                None => push(span.0, m, GapPosition::Leading),
                Some(p) => push(p + 1, m, GapPosition::Inner),
            }
            prev = Some(m);
        }
        if let Some(p) = prev {
            push(p + 1, span.1 + 1, GapPosition::Trailing);
        }
        out
    }
}

/// Coverage per subscription (`None`: rows without a subscription).
#[derive(Default)]
pub struct Subscriptions {
    index: PlHashMap<String, usize>,
    none: Option<usize>,
    subs: Vec<(Option<String>, Coverage)>,
}

impl Subscriptions {
    fn slot(&mut self, id: Option<&str>) -> usize {
        let found = match id {
            None => self.none,
            Some(s) => self.index.get(s).copied(),
        };
        if let Some(i) = found {
            return i;
        }
        let i = self.subs.len();
        self.subs.push((id.map(str::to_owned), Coverage::default()));
        match id {
            None => self.none = Some(i),
            Some(s) => {
                self.index.insert(s.to_owned(), i);
            }
        }
        i
    }

    /// Adds one chunk: its `subscription_id` and `time` (µs) columns.
    pub fn add_chunk(&mut self, ids: &StringChunked, times: &Int64Chunked) {
        let mut last: Option<(Option<&str>, usize)> = None;
        for (id, t) in ids.iter().zip(times.iter()) {
            let Some(t) = t else { continue };
            let i = match last {
                Some((k, i)) if k == id => i,
                _ => {
                    let i = self.slot(id);
                    last = Some((id, i));
                    i
                }
            };
            self.subs[i].1.add(t);
        }
    }

    /// Subscriptions by events (descending), then id (rows without one last).
    pub fn sorted(&self) -> Vec<(Option<&str>, &Coverage)> {
        let mut v: Vec<_> = self.subs.iter().map(|(k, c)| (k.as_deref(), c)).collect();
        v.sort_by(|a, b| {
            b.1.events()
                .cmp(&a.1.events())
                .then_with(|| a.0.is_none().cmp(&b.0.is_none()))
                .then_with(|| a.0.cmp(&b.0))
        });
        v
    }

    /// Days within `first..=last` (day numbers) without any event at all.
    pub fn empty_days(&self, first: i64, last: i64) -> Vec<i64> {
        let occupied: BTreeSet<i64> = self.subs.iter().flat_map(|(_, c)| c.days()).collect();
        (first..=last).filter(|d| !occupied.contains(d)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = US_PER_MIN;
    /// 2024-05-01T00:00:00Z in µs.
    const T0: i64 = 1_714_521_600_000_000;

    fn cov(times: &[i64]) -> Coverage {
        let mut c = Coverage::default();
        for &t in times {
            c.add(t);
        }
        c
    }

    fn span_of(c: &Coverage) -> (i64, i64) {
        (minute_of(c.first().unwrap()), minute_of(c.last().unwrap()))
    }

    #[test]
    fn minutes_are_sorted_and_distinct_whatever_the_order() {
        let c = cov(&[
            T0 + 5 * MIN + 7,
            T0,
            T0 + 59_999_999,
            T0 + 2 * 1440 * MIN,
            T0 - 1,
        ]);
        let m0 = minute_of(T0);
        let got: Vec<i64> = c.minutes().collect();
        assert_eq!(got, vec![m0 - 1, m0, m0 + 5, m0 + 2 * 1440]);
        assert_eq!(c.events(), 5);
        assert_eq!(c.first(), Some(T0 - 1));
        assert_eq!(c.last(), Some(T0 + 2 * 1440 * MIN));
        assert_eq!(c.day_events(day_of(T0)), 3);
        assert_eq!(c.day_events(day_of(T0) - 1), 1);
        assert_eq!(c.day_events(day_of(T0) + 1), 0);
        assert_eq!(format_day(day_of(T0)), "2024-05-01");
        assert_eq!(format_minute(m0 + 5), "2024-05-01T00:05:00.000000Z");
    }

    #[test]
    fn single_event_has_no_gap() {
        let c = cov(&[T0 + 42]);
        assert!(c.gaps(span_of(&c), 1).is_empty());
    }

    #[test]
    fn gap_exactly_at_threshold_is_reported_one_minute_less_is_not() {
        // Events at 10:00:30 and 16:01:10: minutes 10:01 .. 16:00 are
        // empty, exactly 6 h.
        let a = T0 + 600 * MIN + 30_000_000;
        let b = T0 + 961 * MIN + 10_000_000;
        let c = cov(&[b, a]);
        let g = c.gaps(span_of(&c), 360);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].seconds(), 6 * 3600);
        assert_eq!(g[0].position, GapPosition::Inner);
        assert_eq!(format_minute(g[0].start), "2024-05-01T10:01:00.000000Z");
        assert_eq!(format_minute(g[0].end), "2024-05-01T16:01:00.000000Z");
        assert!(c.gaps(span_of(&c), 361).is_empty());
        // Adjacent minutes are no gap at all.
        let c = cov(&[T0, T0 + MIN]);
        assert!(c.gaps(span_of(&c), 1).is_empty());
    }

    #[test]
    fn gaps_across_days_and_unordered_chunks() {
        let mut ids = Vec::new();
        let mut ts = Vec::new();
        // Day 1 10:00, day 3 09:00 (day 2 empty), then day 1 11:00 late.
        for t in [T0 + 600 * MIN, T0 + (2 * 1440 + 540) * MIN, T0 + 660 * MIN] {
            ids.push(Some("s1"));
            ts.push(Some(t));
        }
        let mut subs = Subscriptions::default();
        subs.add_chunk(
            &StringChunked::from_iter_options("s".into(), ids[..2].iter().copied()),
            &Int64Chunked::from_iter_options("t".into(), ts[..2].iter().copied()),
        );
        subs.add_chunk(
            &StringChunked::from_iter_options("s".into(), ids[2..].iter().copied()),
            &Int64Chunked::from_iter_options("t".into(), ts[2..].iter().copied()),
        );
        let sorted = subs.sorted();
        assert_eq!(sorted.len(), 1);
        let c = sorted[0].1;
        let g = c.gaps(span_of(c), 360);
        let got: Vec<(String, String)> = g
            .iter()
            .map(|g| (format_minute(g.start), format_minute(g.end)))
            .collect();
        assert_eq!(
            got,
            vec![(
                "2024-05-01T11:01:00.000000Z".into(),
                "2024-05-03T09:00:00.000000Z".into()
            )]
        );
        let d0 = day_of(T0);
        assert_eq!(subs.empty_days(d0, d0 + 2), vec![d0 + 1]);
    }

    #[test]
    fn several_subscriptions_and_none_with_leading_and_trailing_gaps() {
        let rows: Vec<(Option<&str>, i64)> = vec![
            (Some("b"), T0),
            (Some("a"), T0 + 480 * MIN),
            (None, T0 + 60 * MIN),
            (Some("b"), T0 + 1439 * MIN),
            (Some("a"), T0 + 490 * MIN),
            (None, T0 + 61 * MIN),
            (Some("b"), T0 + 700 * MIN),
        ];
        let mut subs = Subscriptions::default();
        subs.add_chunk(
            &StringChunked::from_iter_options("s".into(), rows.iter().map(|r| r.0)),
            &Int64Chunked::from_iter_options("t".into(), rows.iter().map(|r| Some(r.1))),
        );
        let sorted = subs.sorted();
        let keys: Vec<Option<&str>> = sorted.iter().map(|s| s.0).collect();
        assert_eq!(keys, vec![Some("b"), Some("a"), None]);
        let span = (minute_of(T0), minute_of(T0 + 1439 * MIN));
        let gaps = |i: usize| -> Vec<(i64, i64, GapPosition)> {
            sorted[i]
                .1
                .gaps(span, 360)
                .iter()
                .map(|g| (g.start - span.0, g.end - span.0, g.position))
                .collect()
        };
        assert_eq!(
            gaps(0),
            vec![
                (1, 700, GapPosition::Inner),
                (701, 1439, GapPosition::Inner)
            ]
        );
        assert_eq!(
            gaps(1),
            vec![
                (0, 480, GapPosition::Leading),
                (491, 1440, GapPosition::Trailing)
            ]
        );
        assert_eq!(gaps(2), vec![(62, 1440, GapPosition::Trailing)]);
        assert_eq!(sorted[2].1.events(), 2);
        let d0 = day_of(T0);
        assert!(subs.empty_days(d0, d0).is_empty());
        assert_eq!(subs.empty_days(d0 - 1, d0 + 1), vec![d0 - 1, d0 + 1]);
    }

    #[test]
    fn times_before_the_epoch() {
        let c = cov(&[-1, -MIN * 1440 - 1]);
        let got: Vec<i64> = c.minutes().collect();
        assert_eq!(got, vec![-1441, -1]);
        assert_eq!(format_day(day_of(-1)), "1969-12-31");
    }
}
