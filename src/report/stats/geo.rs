//! `stats --geoip`: caller IPs with their country and autonomous system,
//! records per country and per ASN, and each actor's countries. Every
//! distinct caller IP is looked up once; the per-country and per-ASN counts
//! are sums over the per-IP counts, so no record is visited again.

use polars::prelude::PlHashMap;
use serde::Serialize;

use crate::geo::{Geo, GeoDb};

/// What stands for an address the databases know nothing of (or for a
/// country or ASN they do not give).
pub const UNKNOWN: &str = "unknown";

/// What `--geoip` says of one caller IP.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct IpGeo {
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
}

/// A counted caller IP; with `--geoip` its country and ASN follow.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct IpCount {
    pub value: Option<String>,
    pub count: u64,
    #[serde(flatten)]
    pub geo: Option<IpGeo>,
}

/// Records from one country (`value` is its ISO code, or `unknown`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountryCount {
    pub value: String,
    pub country_name: Option<String>,
    pub count: u64,
}

/// Records from one autonomous system (`value` is `AS<number>`, or
/// `unknown`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AsnCount {
    pub value: String,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    pub count: u64,
}

/// The databases' answer for every distinct caller IP of the data.
pub struct GeoIndex<'a> {
    known: PlHashMap<&'a str, Geo>,
}

/// Keeps the smaller of two names, so a country or ASN named differently
/// by two records is named the same in every run.
fn keep_least(slot: &mut Option<String>, v: Option<&String>) {
    if let Some(v) = v
        && slot.as_ref().is_none_or(|s| v < s)
    {
        *slot = Some(v.clone());
    }
}

/// By count (descending), then value; the first `n`.
fn ranked<T>(mut v: Vec<T>, n: usize, key: impl Fn(&T) -> (u64, &str)) -> Vec<T> {
    v.sort_by(|a, b| {
        let (ca, va) = key(a);
        let (cb, vb) = key(b);
        cb.cmp(&ca).then_with(|| va.cmp(vb))
    });
    v.truncate(n);
    v
}

impl<'a> GeoIndex<'a> {
    /// Looks up each of `ips` (distinct) once.
    pub fn new(db: &GeoDb, ips: impl Iterator<Item = &'a str>) -> Self {
        let known = ips
            .filter_map(|ip| db.lookup(ip).map(|g| (ip, g)))
            .collect();
        GeoIndex { known }
    }

    /// What is known of `ip` (nothing for an address not in the index).
    pub fn geo(&self, ip: &str) -> Option<&Geo> {
        self.known.get(ip)
    }

    /// The stats fields of `ip`.
    pub fn ip(&self, ip: Option<&str>) -> IpGeo {
        match ip.and_then(|ip| self.geo(ip)) {
            None => IpGeo::default(),
            Some(g) => IpGeo {
                country: g.country.clone(),
                asn: g.asn,
                as_org: g.as_org.clone(),
            },
        }
    }

    /// Per-IP counts become counts per country, the first `n` by count;
    /// and how many distinct (known) countries there are.
    pub fn countries<'i>(
        &self,
        ips: impl Iterator<Item = (&'i str, u64)>,
        n: usize,
    ) -> (usize, Vec<CountryCount>) {
        let mut by: PlHashMap<&str, (u64, Option<String>)> = PlHashMap::default();
        for (ip, count) in ips {
            let g = self.geo(ip);
            let key = g.and_then(|g| g.country.as_deref()).unwrap_or(UNKNOWN);
            let e = by.entry(key).or_default();
            e.0 += count;
            keep_least(&mut e.1, g.and_then(|g| g.country_name.as_ref()));
        }
        let distinct = by.len() - usize::from(by.contains_key(UNKNOWN));
        let v = by
            .into_iter()
            .map(|(k, (count, name))| CountryCount {
                value: k.to_owned(),
                country_name: name,
                count,
            })
            .collect();
        (distinct, ranked(v, n, |c| (c.count, c.value.as_str())))
    }

    /// Per-IP counts become counts per autonomous system, the first `n`.
    pub fn asns<'i>(&self, ips: impl Iterator<Item = (&'i str, u64)>, n: usize) -> Vec<AsnCount> {
        let mut by: PlHashMap<Option<u32>, (u64, Option<String>)> = PlHashMap::default();
        for (ip, count) in ips {
            let g = self.geo(ip);
            let e = by.entry(g.and_then(|g| g.asn)).or_default();
            e.0 += count;
            keep_least(&mut e.1, g.and_then(|g| g.as_org.as_ref()));
        }
        let v = by
            .into_iter()
            .map(|(asn, (count, org))| AsnCount {
                value: asn.map_or_else(|| UNKNOWN.to_owned(), |a| format!("AS{a}")),
                asn,
                // An org only goes with a number.
                as_org: asn.and(org),
                count,
            })
            .collect();
        ranked(v, n, |c| (c.count, c.value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> GeoIndex<'static> {
        let g = |c: Option<&str>, name: Option<&str>, asn: Option<u32>, org: Option<&str>| Geo {
            country: c.map(Into::into),
            country_name: name.map(Into::into),
            asn,
            as_org: org.map(Into::into),
            ..Geo::default()
        };
        GeoIndex {
            known: [
                (
                    "1.1.1.1",
                    g(Some("NL"), Some("Netherlands"), Some(1136), Some("KPN")),
                ),
                (
                    "2.2.2.2",
                    g(Some("NL"), Some("Netherlands"), Some(64500), None),
                ),
                ("3.3.3.3", g(Some("US"), None, Some(1136), Some("KPN"))),
                ("4.4.4.4", g(None, None, Some(7), Some("Seven"))),
            ]
            .into_iter()
            .collect(),
        }
    }

    const COUNTS: [(&str, u64); 5] = [
        ("1.1.1.1", 5),
        ("2.2.2.2", 1),
        ("3.3.3.3", 6),
        ("4.4.4.4", 2),
        ("9.9.9.9", 2),
    ];

    #[test]
    fn records_add_up_per_country() {
        let (distinct, v) = index().countries(COUNTS.into_iter(), 10);
        assert_eq!(distinct, 2);
        let got: Vec<(&str, Option<&str>, u64)> = v
            .iter()
            .map(|c| (c.value.as_str(), c.country_name.as_deref(), c.count))
            .collect();
        assert_eq!(
            got,
            [
                ("NL", Some("Netherlands"), 6),
                ("US", None, 6),
                ("unknown", None, 4)
            ]
        );
        let (_, cut) = index().countries(COUNTS.into_iter(), 1);
        assert_eq!(cut.len(), 1);
    }

    #[test]
    fn records_add_up_per_asn() {
        let v = index().asns(COUNTS.into_iter(), 10);
        let got: Vec<(&str, Option<u32>, Option<&str>, u64)> = v
            .iter()
            .map(|c| (c.value.as_str(), c.asn, c.as_org.as_deref(), c.count))
            .collect();
        assert_eq!(
            got,
            [
                ("AS1136", Some(1136), Some("KPN"), 11),
                ("AS7", Some(7), Some("Seven"), 2),
                ("unknown", None, None, 2),
                ("AS64500", Some(64500), None, 1),
            ]
        );
    }

    #[test]
    fn ip_fields() {
        let i = index();
        assert_eq!(
            i.ip(Some("1.1.1.1")),
            IpGeo {
                country: Some("NL".into()),
                asn: Some(1136),
                as_org: Some("KPN".into())
            }
        );
        assert_eq!(i.ip(Some("9.9.9.9")), IpGeo::default());
        assert_eq!(i.ip(None), IpGeo::default());
        let json = |g| {
            serde_json::to_string(&IpCount {
                value: Some("1.1.1.1".into()),
                count: 2,
                geo: g,
            })
            .unwrap()
        };
        assert_eq!(json(None), r#"{"value":"1.1.1.1","count":2}"#);
        assert_eq!(
            json(Some(IpGeo::default())),
            r#"{"value":"1.1.1.1","count":2,"country":null,"asn":null,"as_org":null}"#
        );
    }
}
