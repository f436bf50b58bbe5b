//! Behaviour baselines learnt from the data itself.
//!
//! The data is split in two at `detect_from`: the baseline period before it
//! and the detection period from it on (by default the last 7 days of the
//! data; `--detect-from` / `--baseline-until` choose). From the baseline
//! period one pass over the frame learns, per principal (`principal_id`,
//! else `caller`): the IPs and networks (/24, /48 for IPv6) it called from,
//! its client apps (`app_id`) and on which days, its operations, their
//! tactic families and resource types, its hours and
//! days of activity, its countries (with `--geoip`), and its daily volume of
//! compute creations, deletions, role assignments and authorization
//! failures. Over the whole data it keeps when each principal was active
//! (for "silent for N days") and on which days the data has any event at
//! all (so that a gap in the export is not taken for a silent account).
//!
//! A second pass marks the detection-period rows that the row-selected
//! rules look at ([`RowFlag`]): authorization failures, token IP ≠ caller
//! IP, a country new to the principal and the organisation, and the two
//! ends of an impossible journey.
//!
//! With less than [`MIN_HISTORY_DAYS`] of baseline the baseline rules do
//! not fire, and the findings document says why.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use polars::prelude::*;
use serde::Serialize;

use super::events::{Ev, StrCol};
use super::families::families;
use super::ioc::parse_ip;
use crate::error::Result;
use crate::normalize::time::format_micros;

/// Days of baseline needed before novelty and volume rules judge anything.
pub const MIN_HISTORY_DAYS: i64 = 7;
/// Default length of the detection period: the last 7 days of the data.
pub const DEFAULT_DETECTION_DAYS: i64 = 7;

const US_PER_DAY: i64 = 86_400_000_000;
const US_PER_HOUR: i64 = 3_600_000_000;

/// The day number (days since the epoch, UTC) of a time in µs.
pub fn day_of(t: i64) -> i32 {
    t.div_euclid(US_PER_DAY) as i32
}

/// `2024-05-03` for a day number.
pub fn day_text(day: i32) -> String {
    format_micros(day as i64 * US_PER_DAY)[..10].to_owned()
}

use crate::geo::Geo;

/// Something that places addresses (the `--geoip` databases).
pub trait Locate: Send + Sync {
    fn locate(&self, ip: &str) -> Option<Geo>;
}

impl Locate for crate::geo::GeoDb {
    fn locate(&self, ip: &str) -> Option<Geo> {
        self.lookup(ip)
    }
}

/// The network an address belongs to for baselines: its /24 (IPv4, also
/// v4-mapped IPv6) or /48 (IPv6).
pub fn network(ip: &str) -> Option<String> {
    let a = parse_ip(ip)?;
    Some(match a {
        IpAddr::V4(v) => net24(v),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => net24(v4),
            None => {
                let s = v.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    })
}

fn net24(v: std::net::Ipv4Addr) -> String {
    let o = v.octets();
    format!("{}.{}.{}.0/24", o[0], o[1], o[2])
}

/// Whether a network key is IPv6.
pub fn is_v6_net(net: &str) -> bool {
    net.contains(':')
}

/// Whether the actor of an event is a user (else a service principal or
/// managed identity): by `principal_type`, else by a UPN caller.
pub fn is_user(principal_type: Option<&str>, caller: Option<&str>) -> bool {
    match principal_type.map(str::to_ascii_lowercase).as_deref() {
        Some("user") => true,
        Some("serviceprincipal" | "application" | "managedidentity" | "app") => false,
        _ => caller.is_some_and(|c| c.contains('@')),
    }
}

/// The volume categories of the volume rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Volume {
    /// Virtual machines, scale sets and other compute created or changed.
    Compute,
    /// Resources deleted.
    Deletions,
    /// Role assignments written.
    RoleAssignments,
    /// Operations refused for lack of permission.
    AuthorizationFailures,
}

impl Volume {
    pub fn name(self) -> &'static str {
        match self {
            Volume::Compute => "compute resources created",
            Volume::Deletions => "resources deleted",
            Volume::RoleAssignments => "role assignments written",
            Volume::AuthorizationFailures => "operations refused (authorization failed)",
        }
    }
}

/// Operations that create compute (the volume rule's compute category).
pub const COMPUTE_CREATE: [&str; 6] = [
    "microsoft.compute/virtualmachines/write",
    "microsoft.compute/virtualmachinescalesets/write",
    "microsoft.machinelearningservices/workspaces/computes/write",
    "microsoft.batch/batchaccounts/pools/write",
    "microsoft.containerinstance/containergroups/write",
    "microsoft.containerservice/managedclusters/agentpools/write",
];

/// The role-assignment write.
pub const ROLE_ASSIGNMENT_WRITE: &str = "microsoft.authorization/roleassignments/write";

/// Whether a failed record's sub-status says the caller lacked permission.
pub fn authorization_failure(status: Option<&str>, sub_status: Option<&str>) -> bool {
    status == Some("failed")
        && matches!(
            sub_status,
            Some("forbidden" | "authorizationfailed" | "unauthorized")
        )
}

/// The volume category of a record, if any. `key` is what is counted
/// distinctly per day: the resource (or, for failures, operation and
/// resource).
pub fn volume_of(op: &str, status: Option<&str>, sub_status: Option<&str>) -> Option<Volume> {
    if authorization_failure(status, sub_status) {
        return Some(Volume::AuthorizationFailures);
    }
    // Only what was done: the Succeeded record (a Started or Accepted one
    // may still fail).
    if status != Some("succeeded") {
        return None;
    }
    if op == ROLE_ASSIGNMENT_WRITE {
        Some(Volume::RoleAssignments)
    } else if COMPUTE_CREATE.contains(&op) {
        Some(Volume::Compute)
    } else if op.ends_with("/delete") {
        Some(Volume::Deletions)
    } else {
        None
    }
}

/// What the baseline period says of one volume category for a principal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VolumeBase {
    /// The most in one day.
    pub max_per_day: u32,
    /// Days with any.
    pub days: u32,
    /// In the whole baseline.
    pub total: u32,
}

/// What a principal did in the baseline period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Days (since the epoch) with any activity.
    pub days: BTreeSet<i32>,
    /// Networks (/24, /48) → records.
    pub networks: BTreeMap<String, u32>,
    pub ips: BTreeSet<String>,
    /// Client app → days it was used on.
    pub apps: BTreeMap<String, BTreeSet<i32>>,
    pub operations: BTreeSet<String>,
    /// Tactic families used ([`super::families::Family::bit`] mask).
    pub families: u16,
    pub resource_types: BTreeSet<String>,
    /// Records per hour of the day (UTC).
    pub hours: [u32; 24],
    /// (token network, caller network) pairs seen when they differ.
    pub address_pairs: BTreeSet<(String, String)>,
    /// Countries (with `--geoip`) → records.
    pub countries: BTreeMap<String, u32>,
    pub volume: [VolumeBase; 4],
}

impl Profile {
    pub fn active_days(&self) -> usize {
        self.days.len()
    }

    /// `41 active days from 2024-04-01 to 2024-05-20`.
    pub fn describe_span(&self) -> String {
        let (Some(a), Some(b)) = (self.days.first(), self.days.last()) else {
            return "no activity".into();
        };
        let n = self.days.len();
        format!(
            "{n} active day{} from {} to {}",
            if n == 1 { "" } else { "s" },
            day_text(*a),
            day_text(*b)
        )
    }

    /// `Azure Portal on 41 of 41 active days, Azure CLI on 3`.
    pub fn describe_apps(&self) -> String {
        if self.apps.is_empty() {
            return "no client app recorded".into();
        }
        let mut v: Vec<(&String, usize)> = self.apps.iter().map(|(a, d)| (a, d.len())).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let total = self.days.len();
        v.iter()
            .enumerate()
            .map(|(i, (a, n))| {
                let name = app_label(a);
                if i == 0 {
                    format!("{name} on {n} of {total} active days")
                } else {
                    format!("{name} on {n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `active 08:00–17:59 UTC`: from the first to the last hour of the day
    /// with any activity.
    pub fn describe_hours(&self) -> String {
        let active: Vec<usize> = (0..24).filter(|&h| self.hours[h] > 0).collect();
        match (active.first(), active.last()) {
            (Some(a), Some(b)) => format!("active {a:02}:00–{b:02}:59 UTC"),
            _ => "no hours".into(),
        }
    }

    /// `203.0.113.0/24 (120 records), 198.51.100.0/24 (3)`, at most 5.
    pub fn describe_networks(&self) -> String {
        if self.networks.is_empty() {
            return "no caller IP recorded".into();
        }
        top_counts(&self.networks, 5, |n, c, first| {
            if first {
                format!("{n} ({c} records)")
            } else {
                format!("{n} ({c})")
            }
        })
    }
}

/// The `most` largest counts of `m` (ties by key), each through `show`
/// (told whether it is the first), then how many more there are.
pub fn top_counts(
    m: &BTreeMap<String, u32>,
    most: usize,
    show: impl Fn(&str, u32, bool) -> String,
) -> String {
    let mut v: Vec<(&String, &u32)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts: Vec<String> = v
        .iter()
        .take(most)
        .enumerate()
        .map(|(i, (k, c))| show(k, **c, i == 0))
        .collect();
    if v.len() > most {
        parts.push(format!("{} more", v.len() - most));
    }
    parts.join(", ")
}

/// A client app's name if well known, else its id.
pub fn app_label(app_id: &str) -> String {
    match super::findings::app_name(app_id) {
        Some(n) => n.to_owned(),
        None => format!("app {app_id}"),
    }
}

/// Rows the row-selected rules look at, marked by the baseline's second
/// pass (bits of a row's mask, next to the IOC kinds' bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowFlag {
    /// A detection-period record refused for lack of permission.
    AuthorizationFailed,
    /// A detection-period record whose token IP and caller IP differ.
    AddressesDiffer,
    /// A detection-period record from a country the principal and the
    /// organisation never used in the baseline (`--geoip`).
    NewCountry,
    /// One end of an impossible journey (`--geoip`).
    Travel,
}

impl RowFlag {
    pub fn bit(self) -> u8 {
        match self {
            RowFlag::AuthorizationFailed => 4,
            RowFlag::AddressesDiffer => 8,
            RowFlag::NewCountry => 16,
            RowFlag::Travel => 32,
        }
    }
}

/// Impossible travel: faster than this between two places is impossible.
pub const MAX_SPEED_KMH: f64 = 1000.0;
/// Impossible travel: places closer than this (after both accuracy radii)
/// are not compared (GeoIP is coarse).
pub const MIN_TRAVEL_KM: f64 = 500.0;

/// How the detection period was chosen, and what the baseline holds: the
/// `baseline` part of findings.json.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct BaselineSummary {
    /// First and last event of the data.
    pub data_first: Option<String>,
    pub data_last: Option<String>,
    /// The detection period starts here; the baseline is everything before.
    pub detect_from: Option<String>,
    /// `default` (the last 7 days of the data) or `option`.
    pub chosen_by: String,
    /// Length of the baseline period, in whole hours.
    pub history_hours: i64,
    /// Whether the baseline rules judged anything.
    pub applied: bool,
    /// Why they did not, when they did not.
    pub note: Option<String>,
    /// Principals with baseline activity.
    pub principals: usize,
    /// Whether `--geoip` placed the addresses.
    pub geoip: bool,
}

/// The learnt baselines and the whole-data activity of every principal.
#[derive(Default)]
pub struct Baseline {
    pub summary: BaselineSummary,
    /// Start of the detection period (µs); `i64::MAX` when there is no data.
    pub detect_from: i64,
    pub profiles: HashMap<String, Profile>,
    /// Countries any principal used in the baseline (with `--geoip`).
    pub org_countries: BTreeMap<String, u32>,
    /// Per principal, sorted hours (since the epoch) of activity over the
    /// whole data, with the first and last event time in each.
    activity: HashMap<String, Vec<(i64, i64, i64)>>,
    /// Days (since the epoch) on which the data has any event.
    data_days: BTreeSet<i32>,
    /// Where each distinct caller and token IP is (with `--geoip`).
    pub places: HashMap<String, Geo>,
    /// Impossible journeys of one user, (frame row, next frame row) →
    /// (distance in km after the accuracy radii, speed in km/h).
    pub journeys: HashMap<(u64, u64), (f64, f64)>,
}

impl std::fmt::Debug for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Baseline")
            .field("summary", &self.summary)
            .field("profiles", &self.profiles.len())
            .finish()
    }
}

impl Baseline {
    /// No baseline (no enabled rule reads one): it judges nothing.
    pub fn none() -> Baseline {
        Baseline {
            detect_from: i64::MAX,
            summary: BaselineSummary {
                note: Some("no enabled rule uses the behaviour baselines".into()),
                ..BaselineSummary::default()
            },
            ..Baseline::default()
        }
    }

    /// The profile of a principal with enough baseline activity to judge
    /// novelty by (at least `min_days` active days).
    pub fn profile(&self, actor: &str, min_days: usize) -> Option<&Profile> {
        self.profiles
            .get(actor)
            .filter(|p| p.active_days() >= min_days.max(1))
    }

    /// Whether the baseline is long enough to judge by.
    pub fn applied(&self) -> bool {
        self.summary.applied
    }

    /// Whether `t` lies in the detection period and the baseline rules apply.
    pub fn judges(&self, t: i64) -> bool {
        self.applied() && t >= self.detect_from
    }

    /// The latest silence of `actor` at least `gap` µs long that ended at
    /// most `within` µs before `t`: (its last activity before, its first
    /// activity after). None for a principal first seen after it.
    pub fn silence_before(&self, actor: &str, t: i64, gap: i64, within: i64) -> Option<(i64, i64)> {
        let v = self.activity.get(actor)?;
        let end = v.partition_point(|&(_, first, _)| first <= t);
        for k in (1..end).rev() {
            if v[k].1 < t - within {
                break;
            }
            if v[k].1 - v[k - 1].2 >= gap {
                return Some((v[k - 1].2, v[k].1));
            }
        }
        None
    }

    /// Days in `[from, to)` (µs) on which the data has any event.
    pub fn days_with_data(&self, from: i64, to: i64) -> usize {
        self.data_days.range(day_of(from)..day_of(to)).count()
    }

    /// Where an address is (with `--geoip`).
    pub fn place(&self, ip: &str) -> Option<&Geo> {
        self.places.get(ip)
    }

    /// Builds the baselines from `frame`, splitting it at `detect_from`
    /// (else the last 7 days of the data), and marks the rows of the
    /// row-selected rules: returns the per-row masks of [`RowFlag`] bits.
    pub fn build(
        frame: &DataFrame,
        detect_from: Option<i64>,
        geo: Option<&dyn Locate>,
    ) -> Result<(Baseline, Vec<u8>)> {
        let col = |name: &str| -> Result<StrCol> { Ok(StrCol::of(frame.column(name)?.str()?)) };
        let pid = col("principal_id")?;
        let caller = col("caller")?;
        let ptype = col("principal_type")?;
        let app = col("app_id")?;
        let cip = col("caller_ip")?;
        let tip = col("token_ip")?;
        let op = col("operation")?;
        let rtype = col("resource_type")?;
        let rid = col("resource_id")?;
        let status = col("status")?;
        let sub_status = col("sub_status")?;
        let time_col = crate::frame::times(frame)?;
        let (first, last) = (time_col.min(), time_col.max());
        let times: Vec<Option<i64>> = time_col.iter().collect();
        let n = frame.height();

        let mut b = Baseline::default();
        let (Some(first), Some(last)) = (first, last) else {
            b.detect_from = i64::MAX;
            b.summary.note = Some("no events".into());
            return Ok((b, vec![0; n]));
        };
        let (split, chosen_by) = match detect_from {
            Some(t) => (t, "option"),
            None => (last - DEFAULT_DETECTION_DAYS * US_PER_DAY, "default"),
        };
        let history = (split - first).max(0);
        b.detect_from = split;
        // Judged only when the export really holds a week of baseline: the
        // span alone could be one stray old record.
        let span_ok = history >= MIN_HISTORY_DAYS * US_PER_DAY;

        // Pass 1: the baseline period's profiles; activity everywhere.
        // Strings are interned (each distinct one handled once) and the
        // profiles hold their ids until the end.
        let mut ips = Interner::default();
        let mut names = Interner::default();
        let mut actors: PlHashMap<&str, usize> = PlHashMap::new();
        let mut builds: Vec<Build> = Vec::new();
        let mut data_days: PlHashSet<i32> = PlHashSet::new();
        for (i, &t) in times.iter().enumerate() {
            let Some(t) = t else { continue };
            data_days.insert(day_of(t));
            let Some(actor) = pid.get(i).or_else(|| caller.get(i)) else {
                continue;
            };
            let k = *actors.entry(actor).or_insert_with(|| {
                builds.push(Build::new(actor));
                builds.len() - 1
            });
            let bd = &mut builds[k];
            bd.activity
                .entry(t.div_euclid(US_PER_HOUR))
                .and_modify(|(a, z)| {
                    *a = (*a).min(t);
                    *z = (*z).max(t);
                })
                .or_insert((t, t));
            if t >= split {
                continue;
            }
            bd.rows += 1;
            let day = day_of(t);
            bd.days.insert(day);
            bd.hours[(t.rem_euclid(US_PER_DAY) / US_PER_HOUR) as usize] += 1;
            let c = cip.get(i).map(|ip| ips.id(ip));
            if let Some(c) = c {
                *bd.ips.entry(c).or_default() += 1;
            }
            if let (Some(c), Some(tk)) = (c, tip.get(i).map(|ip| ips.id(ip)))
                && c != tk
            {
                bd.pairs.insert((tk, c));
            }
            if let Some(a) = app.get(i) {
                bd.apps.insert((names.id(a), day));
            }
            // Operations, families and resource types count what was done
            // or tried and not refused; refusals are the volume rule's.
            let st = status.get(i);
            let refused = st == Some("failed");
            if let Some(r) = rtype.get(i).filter(|_| !refused) {
                bd.rtypes.insert(names.id(r));
            }
            if let Some(o) = op.get(i) {
                if !refused {
                    bd.ops.insert(names.id(o));
                }
                if let Some(v) = volume_of(o, status.get(i), sub_status.get(i)) {
                    let r = names.id(rid.get(i).unwrap_or(""));
                    let key = if v == Volume::AuthorizationFailures {
                        (names.id(o), r)
                    } else {
                        (u32::MAX, r)
                    };
                    bd.vol[v as usize].insert((day, key));
                }
            }
        }

        // Every distinct address: its network, and where it is.
        let nets: Vec<Option<String>> = ips.strings.iter().map(|ip| network(ip)).collect();
        if let Some(g) = geo {
            b.places = locate_all(frame, g)?;
        }
        let country = |id: u32| -> Option<&String> {
            b.places
                .get(ips.strings[id as usize])
                .and_then(|p| p.country.as_ref())
        };
        let mut org_countries: BTreeMap<String, u32> = BTreeMap::new();
        let mut profiles: HashMap<String, Profile> = HashMap::new();
        let mut activity: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
        let mut op_families: PlHashMap<u32, u16> = PlHashMap::new();
        for bd in &builds {
            let mut v: Vec<(i64, i64, i64)> =
                bd.activity.iter().map(|(&h, &(f, l))| (h, f, l)).collect();
            v.sort_unstable();
            activity.insert(bd.actor.to_owned(), v);
            if bd.rows == 0 {
                continue;
            }
            let mut p = Profile {
                days: bd.days.iter().copied().collect(),
                hours: bd.hours,
                ..Profile::default()
            };
            for (&ip, &count) in &bd.ips {
                p.ips.insert(ips.strings[ip as usize].to_owned());
                if let Some(net) = &nets[ip as usize] {
                    *p.networks.entry(net.clone()).or_default() += count;
                }
                if let Some(k) = country(ip) {
                    *p.countries.entry(k.clone()).or_default() += count;
                    *org_countries.entry(k.clone()).or_default() += count;
                }
            }
            for &(tk, c) in &bd.pairs {
                if let (Some(tn), Some(cn)) = (&nets[tk as usize], &nets[c as usize])
                    && tn != cn
                {
                    p.address_pairs.insert((tn.clone(), cn.clone()));
                }
            }
            for &(a, day) in &bd.apps {
                p.apps
                    .entry(names.strings[a as usize].to_owned())
                    .or_default()
                    .insert(day);
            }
            p.resource_types = bd
                .rtypes
                .iter()
                .map(|&s| names.strings[s as usize].to_owned())
                .collect();
            for &o in &bd.ops {
                let name = names.strings[o as usize];
                p.families |= *op_families.entry(o).or_insert_with(|| families(name));
                p.operations.insert(name.to_owned());
            }
            for (k, keys) in bd.vol.iter().enumerate() {
                let mut per_day: BTreeMap<i32, u32> = BTreeMap::new();
                for (day, _) in keys {
                    *per_day.entry(*day).or_default() += 1;
                }
                let vb = &mut p.volume[k];
                for &c in per_day.values() {
                    vb.max_per_day = vb.max_per_day.max(c);
                    vb.days += 1;
                    vb.total += c;
                }
            }
            profiles.insert(bd.actor.to_owned(), p);
        }
        b.profiles = profiles;
        b.activity = activity;
        b.data_days = data_days.into_iter().collect();
        let base_days = b.data_days.range(..=day_of(split - 1)).count();
        let applied = span_ok && base_days >= MIN_HISTORY_DAYS as usize;
        b.org_countries = org_countries;

        // Pass 2: the rows of the row-selected rules.
        let mut flags = vec![0u8; n];
        /// A located event of a user: actor, time, row, place, accuracy.
        type Stop<'a> = (&'a str, i64, usize, (f64, f64), u32);
        let mut travel: Vec<Stop> = Vec::new();
        for (i, flag) in flags.iter_mut().enumerate() {
            let Some(t) = times[i] else { continue };
            let (c, tk) = (cip.get(i), tip.get(i));
            if geo.is_some()
                && let (Some(ip), Some(actor)) = (c, pid.get(i).or_else(|| caller.get(i)))
                && let Some(place) = b.places.get(ip)
            {
                if let Some(loc) = place.coordinates()
                    && is_user(ptype.get(i), caller.get(i))
                {
                    travel.push((actor, t, i, loc, place.accuracy_km.unwrap_or(0)));
                }
                if t >= split
                    && let Some(k) = &place.country
                    && !b.org_countries.contains_key(k)
                    && !b
                        .profiles
                        .get(actor)
                        .is_some_and(|p| p.countries.contains_key(k))
                {
                    *flag |= RowFlag::NewCountry.bit();
                }
            }
            if t < split {
                continue;
            }
            if authorization_failure(status.get(i), sub_status.get(i)) {
                *flag |= RowFlag::AuthorizationFailed.bit();
            }
            if let (Some(c), Some(tk)) = (c, tk)
                && c != tk
            {
                *flag |= RowFlag::AddressesDiffer.bit();
            }
        }
        // Impossible travel, over the whole data: consecutive located
        // events of one user too far apart for the time between them.
        travel.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        for w in travel.windows(2) {
            let (a, b2) = (&w[0], &w[1]);
            if a.0 != b2.0 || a.3 == b2.3 {
                continue;
            }
            if let Some(j) = impossible(a.1, a.3, a.4, b2.1, b2.3, b2.4) {
                flags[a.2] |= RowFlag::Travel.bit();
                flags[b2.2] |= RowFlag::Travel.bit();
                b.journeys.insert((a.2 as u64, b2.2 as u64), j);
            }
        }

        b.summary = BaselineSummary {
            data_first: Some(format_micros(first)),
            data_last: Some(format_micros(last)),
            detect_from: Some(format_micros(split)),
            chosen_by: chosen_by.into(),
            history_hours: history / US_PER_HOUR,
            applied,
            note: (!applied).then(|| {
                if history > 0 && span_ok {
                    format!(
                        "the baseline period ({} to {}) has events on only {base_days} days; the baseline rules need {MIN_HISTORY_DAYS} days with data and judged nothing",
                        format_micros(first),
                        format_micros(split)
                    )
                } else if history == 0 {
                    format!(
                        "no baseline: the detection period starts at {}, not after the first event ({}); the baseline rules need {MIN_HISTORY_DAYS} days of history before it and judged nothing",
                        format_micros(split),
                        format_micros(first)
                    )
                } else {
                    format!(
                        "only {:.1} days of baseline ({} to {}); the baseline rules need {MIN_HISTORY_DAYS} and judged nothing",
                        history as f64 / US_PER_DAY as f64,
                        format_micros(first),
                        format_micros(split)
                    )
                }
            }),
            principals: b.profiles.len(),
            geoip: geo.is_some(),
        };
        Ok((b, flags))
    }
}

/// Where every distinct caller and token IP of `frame` is.
pub fn locate_all(frame: &DataFrame, geo: &dyn Locate) -> Result<HashMap<String, Geo>> {
    let mut all: PlHashSet<&str> = PlHashSet::new();
    for c in ["caller_ip", "token_ip"] {
        all.extend(frame.column(c)?.str()?.iter().flatten());
    }
    Ok(all
        .into_iter()
        .filter_map(|ip| Some((ip.to_owned(), geo.locate(ip)?)))
        .collect())
}

/// Distinct strings of the frame, numbered in order of first sight.
#[derive(Default)]
struct Interner<'a> {
    ids: PlHashMap<&'a str, u32>,
    strings: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        *self.ids.entry(s).or_insert_with(|| {
            self.strings.push(s);
            (self.strings.len() - 1) as u32
        })
    }
}

/// A principal's baseline while the frame is read: ids of interned strings.
struct Build<'a> {
    actor: &'a str,
    /// Baseline-period records.
    rows: u64,
    days: PlHashSet<i32>,
    hours: [u32; 24],
    /// Caller IP id → records.
    ips: PlHashMap<u32, u32>,
    /// (token IP id, caller IP id) when they differ.
    pairs: PlHashSet<(u32, u32)>,
    /// (app id, day).
    apps: PlHashSet<(u32, i32)>,
    rtypes: PlHashSet<u32>,
    ops: PlHashSet<u32>,
    /// Per volume category: (day, distinct key).
    vol: [PlHashSet<(i32, (u32, u32))>; 4],
    /// Over the whole data: hour → (first, last) event time.
    activity: PlHashMap<i64, (i64, i64)>,
}

impl<'a> Build<'a> {
    fn new(actor: &'a str) -> Self {
        Build {
            actor,
            rows: 0,
            days: Default::default(),
            hours: [0; 24],
            ips: Default::default(),
            pairs: Default::default(),
            apps: Default::default(),
            rtypes: Default::default(),
            ops: Default::default(),
            vol: Default::default(),
            activity: Default::default(),
        }
    }
}

/// The journey between two located events, when it is impossible: its
/// distance (km, after both accuracy radii) and speed (km/h).
pub fn impossible(
    t1: i64,
    loc1: (f64, f64),
    acc1: u32,
    t2: i64,
    loc2: (f64, f64),
    acc2: u32,
) -> Option<(f64, f64)> {
    let d = crate::geo::distance_km(loc1, loc2) - acc1 as f64 - acc2 as f64;
    if d < MIN_TRAVEL_KM {
        return None;
    }
    let hours = (t2 - t1).abs() as f64 / US_PER_HOUR as f64;
    let speed = if hours > 0.0 {
        d / hours
    } else {
        f64::INFINITY
    };
    (speed > MAX_SPEED_KMH).then_some((d, speed))
}

/// Whether an event's actor is a user.
pub fn ev_is_user(e: &Ev) -> bool {
    is_user(e.principal_type.as_deref(), e.caller.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_principals() {
        assert_eq!(network("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            network("::ffff:203.0.113.77").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(network("not an ip"), None);
        assert!(is_user(Some("User"), None));
        assert!(!is_user(Some("ServicePrincipal"), Some("x@y")));
        assert!(is_user(None, Some("alice@contoso.com")));
        assert!(!is_user(None, Some("3f0c5b1e-0000-0000-0000-000000000000")));
    }

    #[test]
    fn distances_and_journeys() {
        let ams = (52.37, 4.89);
        let nyc = (40.71, -74.01);
        let h = US_PER_HOUR;
        // Amsterdam → New York in one hour: impossible; in ten: possible.
        assert!(impossible(0, ams, 10, h, nyc, 10).is_some());
        assert!(impossible(0, ams, 10, 10 * h, nyc, 10).is_none());
        // Close places are never compared.
        assert!(impossible(0, ams, 10, 1, (51.92, 4.48), 10).is_none());
        // Coarse locations: the radii are taken off the distance.
        assert!(impossible(0, ams, 3000, h, nyc, 3000).is_none());
    }

    #[test]
    fn volume_categories() {
        assert_eq!(
            volume_of(
                "microsoft.compute/virtualmachines/write",
                Some("succeeded"),
                None
            ),
            Some(Volume::Compute)
        );
        assert_eq!(
            volume_of(
                "microsoft.compute/virtualmachines/write",
                Some("failed"),
                Some("conflict")
            ),
            None
        );
        assert_eq!(
            volume_of("x/y/read", Some("failed"), Some("forbidden")),
            Some(Volume::AuthorizationFailures)
        );
        // A Started record may still fail: only Succeeded ones count.
        assert_eq!(
            volume_of("microsoft.compute/disks/delete", Some("started"), None),
            None
        );
        assert_eq!(
            volume_of("microsoft.compute/disks/delete", Some("succeeded"), None),
            Some(Volume::Deletions)
        );
        assert_eq!(
            volume_of(ROLE_ASSIGNMENT_WRITE, Some("succeeded"), Some("created")),
            Some(Volume::RoleAssignments)
        );
    }
}
