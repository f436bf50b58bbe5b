use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::super::super::baseline::Locate;
use super::super::super::events::testing::*;
use super::super::super::{Config, FindingsDoc, run_rules};
use super::*;
use crate::geo::Geo;
use crate::normalize::time::format_micros;

const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;
/// 2024-05-01T00:00:00Z.
const BASE: i64 = 1_714_521_600_000_000;

const PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const PWSH: &str = "1950a258-227b-4e31-a9cf-717495945fc2";
const VM: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
const SA: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1";
const RA: &str = "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1";
const START: &str = "Microsoft.Compute/virtualMachines/start/action";
const LISTKEYS: &str = "Microsoft.Storage/storageAccounts/listKeys/action";
const RA_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";

/// An event `day` days and `hour` hours after BASE, from `ip` through `app`.
fn at(day: i64, hour: i64, actor: &str, op: &str, res: &str, ip: &str, app: &str) -> Ev<'static> {
    let t = format_micros(BASE + day * DAY + hour * HOUR);
    let mut e = ev(&t, actor, op, res).app(app);
    e.caller_ip = Some(Cow::Owned(ip.to_owned()));
    e
}

/// `actor` starting VMs from `ip` through `app` every day of `days`.
fn routine(actor: &str, days: std::ops::Range<i64>, ip: &str, app: &str) -> Vec<Ev<'static>> {
    days.map(|d| at(d, 9, actor, START, VM, ip, app)).collect()
}

fn run(rule: impl Rule + 'static, evs: Vec<Ev<'static>>, config: &Config) -> FindingsDoc {
    let evs = events(evs);
    let frame = frame_of(&evs);
    let rules: Vec<Box<dyn Rule>> = vec![Box::new(rule)];
    let doc = run_rules(&frame, &rules, config).unwrap();
    assert!(doc.rule_errors.is_empty(), "{:?}", doc.rule_errors);
    doc
}

fn callers(doc: &FindingsDoc) -> Vec<String> {
    doc.findings
        .iter()
        .map(|f| f.actor.caller.clone().unwrap_or_default())
        .collect()
}

/// 40 days of history (days 0..40) for the background principal that
/// keeps the data covered every day; the detection period is days 33..40.
fn background() -> Vec<Ev<'static>> {
    routine("ops@contoso.com", 0..40, "192.0.2.10", PORTAL)
}

#[test]
fn first_use_of_a_client_app_for_persistence() {
    let mut v = background();
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.push(at(
        36,
        10,
        "alice@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PWSH,
    ));
    // Near misses: persistence through the usual app; PowerShell for a
    // non-persistence operation; a principal with too little baseline.
    v.extend(routine("bob@contoso.com", 0..30, "203.0.113.6", PORTAL));
    v.push(at(
        36,
        10,
        "bob@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.6",
        PORTAL,
    ));
    v.push(at(
        36,
        11,
        "bob@contoso.com",
        START,
        VM,
        "203.0.113.6",
        PWSH,
    ));
    v.extend(routine("carol@contoso.com", 0..2, "203.0.113.7", PORTAL));
    v.push(at(
        36,
        10,
        "carol@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.7",
        PWSH,
    ));
    let doc = run(UnusedApp, v, &Config::default());
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(why.contains("first Azure PowerShell use"), "{why}");
    assert!(
        why.contains("Azure Portal on 30 of 30 active days"),
        "{why}"
    );
    assert!(doc.baseline.applied);
    assert!(doc.rules_run[0].note.is_none());
}

#[test]
fn too_little_history_says_so_and_judges_nothing() {
    let mut v = routine("alice@contoso.com", 0..10, "203.0.113.5", PORTAL);
    v.push(at(
        9,
        10,
        "alice@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PWSH,
    ));
    let doc = run(UnusedApp, v, &Config::default());
    assert!(doc.findings.is_empty());
    assert!(!doc.baseline.applied);
    let note = doc.rules_run[0].note.as_deref().unwrap();
    assert!(note.starts_with("only 2.0 days of baseline"), "{note}");
    // Choosing the detection period by hand gives the baseline room.
    let config = Config {
        detect_from: Some(BASE + 9 * DAY),
        ..Config::default()
    };
    let mut v = routine("alice@contoso.com", 0..10, "203.0.113.5", PORTAL);
    v.push(at(
        9,
        10,
        "alice@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PWSH,
    ));
    let doc = run(UnusedApp, v, &config);
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    assert_eq!(doc.baseline.chosen_by, "option");
}

#[test]
fn an_account_back_after_weeks_of_silence() {
    let mut v = background();
    v.extend(routine("dormant@contoso.com", 0..5, "203.0.113.5", PORTAL));
    v.push(at(
        35,
        10,
        "dormant@contoso.com",
        START,
        VM,
        "203.0.113.5",
        PORTAL,
    ));
    v.push(at(
        35,
        11,
        "dormant@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PORTAL,
    ));
    // Near miss: silent for ten days only.
    v.extend(routine(
        "holiday@contoso.com",
        20..25,
        "203.0.113.6",
        PORTAL,
    ));
    v.push(at(
        35,
        11,
        "holiday@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.6",
        PORTAL,
    ));
    let doc = run(InactiveAccount, v, &Config::default());
    assert_eq!(callers(&doc), ["dormant@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(why.contains("no activity for 31 days"), "{why}");
    assert!(
        why.contains("the data has events on 30 of the 30 days"),
        "{why}"
    );
}

#[test]
fn a_gap_in_the_export_is_not_a_silent_account() {
    // Nobody has events between day 12 and day 35: the export has a gap.
    let mut v = routine("ops@contoso.com", 0..12, "192.0.2.10", PORTAL);
    v.extend(routine("ops@contoso.com", 35..42, "192.0.2.10", PORTAL));
    v.extend(routine("dormant@contoso.com", 0..5, "203.0.113.5", PORTAL));
    v.push(at(
        35,
        11,
        "dormant@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PORTAL,
    ));
    let doc = run(InactiveAccount, v, &Config::default());
    assert!(doc.baseline.applied, "{:?}", doc.baseline);
    assert!(doc.findings.is_empty(), "{:?}", doc.findings);
}

#[test]
fn one_stray_old_record_is_not_a_baseline() {
    // A record from a month before, then nine days of data: the span is
    // long, the baseline holds three days with data.
    let mut v = vec![at(0, 9, "ops@contoso.com", START, VM, "192.0.2.10", PORTAL)];
    v.extend(routine("ops@contoso.com", 30..39, "192.0.2.10", PORTAL));
    v.extend(routine("alice@contoso.com", 30..32, "203.0.113.5", PORTAL));
    v.push(at(
        37,
        10,
        "alice@contoso.com",
        RA_WRITE,
        RA,
        "203.0.113.5",
        PWSH,
    ));
    let doc = run(UnusedApp, v, &Config::default());
    assert!(!doc.baseline.applied);
    assert!(doc.findings.is_empty());
    let note = doc.baseline.note.as_deref().unwrap();
    assert!(note.contains("has events on only 3 days"), "{note}");
}

#[test]
fn failed_operations_are_not_novelties() {
    // alice's role assignment through PowerShell from a new network was
    // refused by a lock (Started, then Failed): nothing was written.
    let mut v = background();
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.extend(refused(
        at(
            36,
            10,
            "alice@contoso.com",
            RA_WRITE,
            RA,
            "198.51.100.9",
            PWSH,
        ),
        "c-1",
    ));
    assert!(
        run(UnusedApp, v.clone(), &Config::default())
            .findings
            .is_empty()
    );
    assert!(
        run(NovelTacticUser, v.clone(), &Config::default())
            .findings
            .is_empty()
    );
    assert!(run(NewNetwork, v, &Config::default()).findings.is_empty());
}

#[test]
fn first_operation_of_a_new_tactic_users_and_service_principals_apart() {
    let sp = "0d5f8a1e-1111-4e2b-9a1c-2b3c4d5e6f70";
    let mut v = background();
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.push(at(
        36,
        10,
        "alice@contoso.com",
        LISTKEYS,
        SA,
        "203.0.113.5",
        PORTAL,
    ));
    // Near miss: listing keys is routine for this user.
    v.extend(routine("keys@contoso.com", 0..30, "203.0.113.6", PORTAL));
    v.extend((0..30).map(|d| {
        at(
            d,
            12,
            "keys@contoso.com",
            LISTKEYS,
            SA,
            "203.0.113.6",
            PORTAL,
        )
    }));
    v.push(at(
        36,
        10,
        "keys@contoso.com",
        LISTKEYS,
        SA,
        "203.0.113.6",
        PORTAL,
    ));
    // A service principal doing it for the first time.
    v.extend(
        routine(sp, 0..30, "20.50.1.1", "app-1")
            .into_iter()
            .map(|e| e.ptype("ServicePrincipal")),
    );
    v.push(at(36, 10, sp, LISTKEYS, SA, "20.50.1.1", "app-1").ptype("ServicePrincipal"));
    let users = run(NovelTacticUser, v.clone(), &Config::default());
    assert_eq!(callers(&users), ["alice@contoso.com"]);
    let why = &users.findings[0].why;
    assert!(
        why.contains("first Credential Access, Lateral Movement operation of this user"),
        "{why}"
    );
    assert!(
        why.contains("never touched microsoft.storage/storageaccounts"),
        "{why}"
    );
    assert!(why.contains("active 09:00–09:59 UTC"), "{why}");
    let sps = run(NovelTacticService, v, &Config::default());
    assert_eq!(callers(&sps), [sp]);
}

#[test]
fn a_sensitive_operation_from_a_new_network() {
    let mut v = background();
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.push(at(
        36,
        10,
        "alice@contoso.com",
        LISTKEYS,
        SA,
        "198.51.100.9",
        PORTAL,
    ));
    // Near misses: a new home network doing everyday work; the usual
    // network from another address.
    v.extend(routine("bob@contoso.com", 0..30, "203.0.113.6", PORTAL));
    v.push(at(
        36,
        10,
        "bob@contoso.com",
        START,
        VM,
        "198.51.100.10",
        PORTAL,
    ));
    v.extend(routine("carol@contoso.com", 0..30, "203.0.113.7", PORTAL));
    v.push(at(
        36,
        10,
        "carol@contoso.com",
        LISTKEYS,
        SA,
        "203.0.113.99",
        PORTAL,
    ));
    let doc = run(NewNetwork, v, &Config::default());
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(
        why.contains("198.51.100.9 (network 198.51.100.0/24)"),
        "{why}"
    );
    assert!(
        why.contains("baseline networks: 203.0.113.0/24 (30 records)"),
        "{why}"
    );
}

#[test]
fn a_token_used_away_from_where_it_was_issued() {
    let token = |mut e: Ev<'static>, ip: &str| {
        e.token_ip = Some(Cow::Owned(ip.to_owned()));
        e
    };
    let mut v = background();
    v.extend(
        routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL)
            .into_iter()
            .map(|e| token(e, "203.0.113.5")),
    );
    v.push(token(
        at(
            36,
            10,
            "alice@contoso.com",
            START,
            VM,
            "198.51.100.9",
            PORTAL,
        ),
        "203.0.113.5",
    ));
    // Near misses: a dual-stack client; a caller in its usual network.
    v.extend(routine("bob@contoso.com", 0..30, "203.0.113.6", PORTAL));
    v.push(token(
        at(
            36,
            10,
            "bob@contoso.com",
            START,
            VM,
            "198.51.100.10",
            PORTAL,
        ),
        "2001:db8::6",
    ));
    v.extend(routine("carol@contoso.com", 0..30, "203.0.113.7", PORTAL));
    v.push(token(
        at(
            36,
            10,
            "carol@contoso.com",
            START,
            VM,
            "203.0.113.8",
            PORTAL,
        ),
        "192.0.2.200",
    ));
    let doc = run(TokenElsewhere, v, &Config::default());
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(
        why.contains(
            "token issued to 203.0.113.5 (203.0.113.0/24) used from 198.51.100.9 (198.51.100.0/24)"
        ),
        "{why}"
    );
    assert_eq!(doc.findings[0].confidence, Confidence::Medium);
}

fn disk(n: usize) -> String {
    format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/d{n:03}")
}

#[test]
fn volumes_above_the_principals_own_baseline() {
    const DEL: &str = "Microsoft.Compute/disks/delete";
    let sp = "0d5f8a1e-1111-4e2b-9a1c-2b3c4d5e6f70";
    let mut v = background();
    // The automation deletes 30 disks every day: a stable pattern.
    for d in 0..40 {
        for n in 0..30 {
            v.push(
                at(
                    d,
                    2,
                    sp,
                    DEL,
                    &disk(n + d as usize * 100),
                    "20.50.1.1",
                    "app-1",
                )
                .ptype("ServicePrincipal"),
            );
        }
    }
    // A user who deletes a disk now and then deletes 20 in one day.
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.push(at(
        3,
        10,
        "alice@contoso.com",
        DEL,
        &disk(999),
        "203.0.113.5",
        PORTAL,
    ));
    for n in 0..20 {
        v.push(at(
            36,
            10,
            "alice@contoso.com",
            DEL,
            &disk(5000 + n),
            "203.0.113.5",
            PORTAL,
        ));
    }
    // Permission probing: 16 distinct refused operations; and a near
    // miss with 10.
    v.extend(routine("probe@contoso.com", 0..30, "203.0.113.6", PORTAL));
    for n in 0..16 {
        v.push(
            at(
                37,
                10,
                "probe@contoso.com",
                &format!("Microsoft.Web/sites/op{n}/action"),
                VM,
                "203.0.113.6",
                PORTAL,
            )
            .status("failed")
            .tap_sub("forbidden"),
        );
    }
    v.extend(routine("tries@contoso.com", 0..30, "203.0.113.7", PORTAL));
    for n in 0..10 {
        v.push(
            at(
                37,
                10,
                "tries@contoso.com",
                &format!("Microsoft.Web/sites/op{n}/action"),
                VM,
                "203.0.113.7",
                PORTAL,
            )
            .status("failed")
            .tap_sub("forbidden"),
        );
    }
    // Twenty deletions refused by a lock (Started, then Failed.Conflict)
    // delete nothing.
    v.extend(routine("locked@contoso.com", 0..30, "203.0.113.8", PORTAL));
    for n in 0..20 {
        let c = format!("lock-{n}");
        let d = disk(7000 + n);
        v.extend(refused(
            at(36, 10, "locked@contoso.com", DEL, &d, "203.0.113.8", PORTAL),
            &c,
        ));
    }
    let doc = run(VolumeAnomaly, v, &Config::default());
    let mut got = callers(&doc);
    got.sort();
    assert_eq!(got, ["alice@contoso.com", "probe@contoso.com"]);
    let alice = doc
        .findings
        .iter()
        .find(|f| f.actor.caller.as_deref() == Some("alice@contoso.com"))
        .unwrap();
    assert!(alice.why.starts_with("20 resources deleted on 2024-06-06 (UTC); baseline: at most 1 a day, on 1 days with any"), "{}", alice.why);
    let probe = doc
        .findings
        .iter()
        .find(|f| f.actor.caller.as_deref() == Some("probe@contoso.com"))
        .unwrap();
    assert!(
        probe
            .why
            .starts_with("16 operations refused (authorization failed)"),
        "{}",
        probe.why
    );
}

/// An operation refused by a lock: its Started record, then its Failed
/// (Conflict) one, under correlation id `corr`.
fn refused(e: Ev<'static>, corr: &str) -> [Ev<'static>; 2] {
    let e = e.corr(corr);
    [
        e.clone().status("started"),
        e.status("failed").tap_sub("conflict"),
    ]
}

trait SubStatus {
    fn tap_sub(self, s: &str) -> Self;
}
impl SubStatus for Ev<'_> {
    fn tap_sub(mut self, s: &str) -> Self {
        self.sub_status = Some(Cow::Owned(s.to_owned()));
        self
    }
}

/// A GeoIP stand-in: addresses by their first three octets.
struct Fake(HashMap<&'static str, Geo>);

impl Locate for Fake {
    fn locate(&self, ip: &str) -> Option<Geo> {
        let prefix = ip.rsplit_once('.')?.0;
        self.0.get(prefix).cloned()
    }
}

fn geo() -> Config {
    let place = |k: &str, city: &str, lat: f64, lon: f64| Geo {
        country: Some(k.into()),
        city: Some(city.into()),
        latitude: Some(lat),
        longitude: Some(lon),
        accuracy_km: Some(20),
        ..Geo::default()
    };
    let m = HashMap::from([
        ("203.0.113", place("NL", "Amsterdam", 52.37, 4.89)),
        ("192.0.2", place("NL", "Rotterdam", 51.92, 4.48)),
        ("198.51.100", place("AU", "Sydney", -33.87, 151.21)),
        ("20.50.1", place("DE", "Frankfurt", 50.11, 8.68)),
        ("20.60.1", place("US", "Boydton", 36.67, -78.39)),
    ]);
    Config {
        locate: Some(Arc::new(Fake(m))),
        ..Config::default()
    }
}

#[test]
fn a_country_nobody_used() {
    let mut v = background();
    v.extend(routine("alice@contoso.com", 0..30, "203.0.113.5", PORTAL));
    v.push(at(
        36,
        10,
        "alice@contoso.com",
        START,
        VM,
        "198.51.100.9",
        PORTAL,
    ));
    // Near misses: a country another principal used (DE); the usual one.
    v.extend(routine("svc@contoso.com", 0..30, "20.50.1.1", PORTAL));
    v.extend(routine("bob@contoso.com", 0..30, "203.0.113.6", PORTAL));
    v.push(at(
        36,
        10,
        "bob@contoso.com",
        START,
        VM,
        "20.50.1.7",
        PORTAL,
    ));
    v.push(at(
        36,
        11,
        "bob@contoso.com",
        START,
        VM,
        "192.0.2.77",
        PORTAL,
    ));
    let doc = run(NewCountry, v.clone(), &geo());
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(
        why.contains("caller IP 198.51.100.9 is in Sydney, AU"),
        "{why}"
    );
    assert!(why.contains("countries then: NL "), "{why}");
    assert!(
        why.contains(", DE 30; this principal: NL 30 records)"),
        "{why}"
    );
    // Without --geoip the rule says what it needs.
    let doc = run(NewCountry, v, &Config::default());
    assert!(doc.findings.is_empty());
    assert_eq!(
        doc.rules_run[0].note.as_deref(),
        Some("needs a GeoIP database (--geoip)")
    );
}

#[test]
fn impossible_travel_for_users_only() {
    let sp = "0d5f8a1e-1111-4e2b-9a1c-2b3c4d5e6f70";
    let mut v = routine("alice@contoso.com", 0..3, "203.0.113.5", PORTAL);
    v.push(at(
        2,
        10,
        "alice@contoso.com",
        START,
        VM,
        "198.51.100.9",
        PORTAL,
    ));
    // Near misses: the same journey in 30 hours; Amsterdam to Rotterdam in
    // a minute; a service principal in two regions.
    v.extend(routine("bob@contoso.com", 0..3, "203.0.113.6", PORTAL));
    v.push(at(
        4,
        15,
        "bob@contoso.com",
        START,
        VM,
        "198.51.100.10",
        PORTAL,
    ));
    v.push(at(
        1,
        9,
        "carol@contoso.com",
        START,
        VM,
        "203.0.113.7",
        PORTAL,
    ));
    v.push(at(
        1,
        9,
        "carol@contoso.com",
        START,
        VM,
        "192.0.2.7",
        PORTAL,
    ));
    v.push(at(1, 9, sp, START, VM, "20.50.1.1", "app-1").ptype("ServicePrincipal"));
    v.push(at(1, 10, sp, START, VM, "20.60.1.1", "app-1").ptype("ServicePrincipal"));
    let doc = run(ImpossibleTravel, v, &geo());
    assert_eq!(callers(&doc), ["alice@contoso.com"]);
    let why = &doc.findings[0].why;
    assert!(why.starts_with("203.0.113.5 (Amsterdam, NL) at 2024-05-03T09:00:00.000000Z, then 198.51.100.9 (Sydney, AU) at 2024-05-03T10:00:00.000000Z"), "{why}");
    assert_eq!(doc.findings[0].evidence_event_ids.len(), 2);
}
