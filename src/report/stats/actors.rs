//! Per actor (`principal_id`, else `caller`, as the detection engine keys
//! them): first and last seen, events, failures, and the distinct
//! operations, caller IPs and client apps with their counts. Memory grows
//! with the number of distinct actors and values, not with records.

use polars::prelude::*;
use serde::Serialize;

use super::Count;
use super::geo::{CountryCount, GeoIndex, IpCount};
use crate::detect::findings::app_name;
use crate::normalize::time::format_micros;

/// What is known of one actor.
#[derive(Clone, Debug, Default)]
pub struct ActorAgg {
    /// The actor key: `principal_id`, else `caller`; `None` when a row has
    /// neither.
    pub key: Option<String>,
    /// The first caller seen for it (input order).
    pub caller: Option<String>,
    pub principal_id: Option<String>,
    /// The first principal type seen for it (input order).
    pub principal_type: Option<String>,
    pub first: i64,
    pub last: i64,
    pub events: u64,
    pub failed: u64,
    failed_sub_status: PlHashMap<String, u64>,
    failed_no_sub_status: u64,
    operations: PlHashMap<String, u64>,
    ips: PlHashMap<String, u64>,
    apps: PlHashMap<String, u64>,
}

fn bump(map: &mut PlHashMap<String, u64>, k: &str) {
    match map.get_mut(k) {
        Some(c) => *c += 1,
        None => {
            map.insert(k.to_owned(), 1);
        }
    }
}

/// Values by count (descending), then value; the first `n`.
fn top(map: &PlHashMap<String, u64>, n: usize) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = map.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(n);
    v
}

/// The columns an actor is built from, for one chunk.
pub struct ActorColumns<'a> {
    pub time: &'a Int64Chunked,
    pub principal_id: &'a StringChunked,
    pub caller: &'a StringChunked,
    pub principal_type: &'a StringChunked,
    pub app_id: &'a StringChunked,
    pub caller_ip: &'a StringChunked,
    pub operation: &'a StringChunked,
    pub status: &'a StringChunked,
    pub sub_status: &'a StringChunked,
}

/// Every actor seen so far.
#[derive(Default)]
pub struct Actors {
    index: PlHashMap<String, usize>,
    none: Option<usize>,
    actors: Vec<ActorAgg>,
}

impl Actors {
    fn slot(&mut self, key: Option<&str>, from_principal: bool, t: i64) -> usize {
        let found = match key {
            None => self.none,
            Some(k) => self.index.get(k).copied(),
        };
        if let Some(i) = found {
            return i;
        }
        let i = self.actors.len();
        self.actors.push(ActorAgg {
            key: key.map(str::to_owned),
            principal_id: key.filter(|_| from_principal).map(str::to_owned),
            first: t,
            last: t,
            ..ActorAgg::default()
        });
        match key {
            None => self.none = Some(i),
            Some(k) => {
                self.index.insert(k.to_owned(), i);
            }
        }
        i
    }

    /// Adds one chunk. Per row: one actor look-up (skipped when the row has
    /// the previous row's actor), one look-up each for its operation, IP
    /// and app id; allocation only for values new to the actor.
    pub fn add_chunk(&mut self, c: &ActorColumns<'_>) {
        let mut last: Option<(Option<&str>, usize)> = None;
        let rows = c
            .time
            .iter()
            .zip(c.principal_id.iter())
            .zip(c.caller.iter())
            .zip(c.principal_type.iter())
            .zip(c.app_id.iter())
            .zip(c.caller_ip.iter())
            .zip(c.operation.iter())
            .zip(c.status.iter().zip(c.sub_status.iter()));
        for (((((((t, pid), caller), ptype), app), ip), op), (status, sub)) in rows {
            let Some(t) = t else { continue };
            let key = pid.or(caller);
            let i = match last {
                Some((k, i)) if k == key => i,
                _ => {
                    let i = self.slot(key, pid.is_some(), t);
                    last = Some((key, i));
                    i
                }
            };
            let a = &mut self.actors[i];
            a.events += 1;
            a.first = a.first.min(t);
            a.last = a.last.max(t);
            if a.caller.is_none()
                && let Some(v) = caller
            {
                a.caller = Some(v.to_owned());
            }
            if a.principal_type.is_none()
                && let Some(v) = ptype
            {
                a.principal_type = Some(v.to_owned());
            }
            if let Some(v) = op {
                bump(&mut a.operations, v);
            }
            if let Some(v) = ip {
                bump(&mut a.ips, v);
            }
            if let Some(v) = app {
                bump(&mut a.apps, v);
            }
            if status == Some("failed") {
                a.failed += 1;
                match sub {
                    Some(s) => bump(&mut a.failed_sub_status, s),
                    None => a.failed_no_sub_status += 1,
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }

    /// Actors by events (descending), then key (rows without one last).
    pub fn sorted(&self) -> Vec<&ActorAgg> {
        let mut v: Vec<&ActorAgg> = self.actors.iter().collect();
        v.sort_by(|a, b| {
            b.events
                .cmp(&a.events)
                .then_with(|| a.key.is_none().cmp(&b.key.is_none()))
                .then_with(|| a.key.cmp(&b.key))
        });
        v
    }
}

/// How many distinct values, and the most frequent ones.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Listed<T> {
    pub distinct: usize,
    pub top: Vec<T>,
}

/// A client app: its id, its name when it is a well-known one.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AppCount {
    pub app_id: String,
    pub app_name: Option<String>,
    pub count: u64,
}

/// One actor in the `stats` document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ActorDoc {
    pub actor: Option<String>,
    pub caller: Option<String>,
    pub principal_id: Option<String>,
    pub principal_type: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub events: u64,
    pub failed: u64,
    /// The sub-statuses of the failed events (`authorizationfailed`,
    /// `forbidden`, …); `null` for failures without one.
    pub failed_sub_status: Vec<Count>,
    pub operations: Listed<Count>,
    /// With `--geoip` each IP has its country and ASN.
    pub caller_ips: Listed<IpCount>,
    /// With `--geoip`: records per country of the caller IP (`unknown`
    /// where the databases do not say); `distinct` counts known countries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<Listed<CountryCount>>,
    pub client_apps: Listed<AppCount>,
}

fn listed(map: &PlHashMap<String, u64>, n: usize) -> Listed<Count> {
    Listed {
        distinct: map.len(),
        top: top(map, n)
            .into_iter()
            .map(|(v, c)| Count {
                value: Some(v.to_owned()),
                count: c,
            })
            .collect(),
    }
}

impl ActorAgg {
    /// The document form, with at most `n` values per list; with
    /// `--geoip`, its IPs' countries and ASNs.
    pub fn doc(&self, n: usize, geo: Option<&GeoIndex<'_>>) -> ActorDoc {
        let mut failed_sub_status = listed(&self.failed_sub_status, usize::MAX).top;
        if self.failed_no_sub_status > 0 {
            failed_sub_status.push(Count {
                value: None,
                count: self.failed_no_sub_status,
            });
            failed_sub_status
                .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        }
        failed_sub_status.truncate(n);
        ActorDoc {
            actor: self.key.clone(),
            caller: self.caller.clone(),
            principal_id: self.principal_id.clone(),
            principal_type: self.principal_type.clone(),
            first_seen: format_micros(self.first),
            last_seen: format_micros(self.last),
            events: self.events,
            failed: self.failed,
            failed_sub_status,
            operations: listed(&self.operations, n),
            caller_ips: Listed {
                distinct: self.ips.len(),
                top: top(&self.ips, n)
                    .into_iter()
                    .map(|(v, c)| IpCount {
                        value: Some(v.to_owned()),
                        count: c,
                        geo: geo.map(|g| g.ip(Some(v))),
                    })
                    .collect(),
            },
            countries: geo.map(|g| {
                let (distinct, top) =
                    g.countries(self.ips.iter().map(|(k, c)| (k.as_str(), *c)), n);
                Listed { distinct, top }
            }),
            client_apps: Listed {
                distinct: self.apps.len(),
                top: top(&self.apps, n)
                    .into_iter()
                    .map(|(id, c)| AppCount {
                        app_id: id.to_owned(),
                        app_name: app_name(id).map(str::to_owned),
                        count: c,
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, v: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options(name.into(), v.iter().copied())
    }

    struct Rows {
        time: Vec<Option<i64>>,
        cols: [Vec<Option<&'static str>>; 8],
    }

    impl Rows {
        fn add_to(&self, a: &mut Actors) {
            let c: Vec<StringChunked> = self.cols.iter().map(|v| s("c", v)).collect();
            let time = Int64Chunked::from_iter_options("t".into(), self.time.iter().copied());
            a.add_chunk(&ActorColumns {
                time: &time,
                principal_id: &c[0],
                caller: &c[1],
                principal_type: &c[2],
                app_id: &c[3],
                caller_ip: &c[4],
                operation: &c[5],
                status: &c[6],
                sub_status: &c[7],
            });
        }
    }

    const CLI: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    #[test]
    fn actors_are_keyed_by_principal_else_caller() {
        let rows = Rows {
            time: vec![Some(30), Some(10), Some(20), Some(5), Some(7)],
            cols: [
                vec![Some("p1"), Some("p1"), None, None, Some("p1")],
                vec![Some("m@x"), None, Some("svc"), None, Some("other@x")],
                vec![None, Some("user"), None, None, None],
                vec![Some(CLI), Some("a-b"), None, None, Some(CLI)],
                vec![
                    Some("1.1.1.1"),
                    Some("2.2.2.2"),
                    None,
                    None,
                    Some("1.1.1.1"),
                ],
                vec![Some("op/a"), Some("op/b"), Some("op/a"), None, Some("op/a")],
                vec![
                    Some("failed"),
                    Some("failed"),
                    Some("succeeded"),
                    None,
                    Some("failed"),
                ],
                vec![
                    Some("authorizationfailed"),
                    None,
                    None,
                    None,
                    Some("authorizationfailed"),
                ],
            ],
        };
        let mut a = Actors::default();
        rows.add_to(&mut a);
        assert_eq!(a.len(), 3);
        let sorted = a.sorted();
        let p1 = sorted[0].doc(10, None);
        assert_eq!(p1.actor.as_deref(), Some("p1"));
        assert_eq!(p1.principal_id.as_deref(), Some("p1"));
        assert_eq!(p1.caller.as_deref(), Some("m@x"));
        assert_eq!(p1.principal_type.as_deref(), Some("user"));
        assert_eq!(p1.events, 3);
        assert_eq!(p1.first_seen, format_micros(7));
        assert_eq!(p1.last_seen, format_micros(30));
        assert_eq!(p1.failed, 3);
        assert_eq!(
            p1.failed_sub_status,
            vec![
                Count {
                    value: Some("authorizationfailed".into()),
                    count: 2
                },
                Count {
                    value: None,
                    count: 1
                }
            ]
        );
        assert_eq!(p1.operations.distinct, 2);
        assert_eq!(p1.operations.top[0].value.as_deref(), Some("op/a"));
        assert_eq!(p1.caller_ips.distinct, 2);
        assert_eq!(p1.client_apps.distinct, 2);
        assert_eq!(p1.client_apps.top[0].app_name.as_deref(), Some("Azure CLI"));
        assert_eq!(p1.client_apps.top[1].app_id, "a-b");
        assert_eq!(p1.client_apps.top[1].app_name, None);
        // A caller without a principal id is its own actor; a row with
        // neither is counted under `None`, sorted last on ties.
        let svc = sorted[1].doc(10, None);
        assert_eq!(svc.actor.as_deref(), Some("svc"));
        assert_eq!(svc.principal_id, None);
        assert_eq!(svc.failed, 0);
        assert_eq!(sorted[2].key, None);
        // Lists are cut at n; the distinct counts are not.
        let cut = sorted[0].doc(1, None);
        assert_eq!(cut.operations.top.len(), 1);
        assert_eq!(cut.operations.distinct, 2);
        assert_eq!(cut.failed_sub_status.len(), 1);
    }

    #[test]
    fn chunks_accumulate_and_ties_sort_by_key() {
        let one = |pid: &'static str, t: i64| Rows {
            time: vec![Some(t)],
            cols: [
                vec![Some(pid)],
                vec![None],
                vec![None],
                vec![None],
                vec![None],
                vec![Some("op")],
                vec![Some("succeeded")],
                vec![None],
            ],
        };
        let mut a = Actors::default();
        for (p, t) in [("b", 5), ("a", 9), ("b", 1), ("a", 3)] {
            one(p, t).add_to(&mut a);
        }
        let sorted: Vec<(Option<&str>, u64, i64, i64)> = a
            .sorted()
            .iter()
            .map(|x| (x.key.as_deref(), x.events, x.first, x.last))
            .collect();
        assert_eq!(sorted, vec![(Some("a"), 2, 3, 9), (Some("b"), 2, 1, 5)]);
    }
}
