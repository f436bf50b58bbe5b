//! Anomalies against the principal's own baseline (see [`baseline`]): the
//! behaviour half of Defender for Resource Manager. Every rule here judges
//! only the detection period, and only when the baseline period holds at
//! least seven days (the findings document says so otherwise); impossible
//! travel needs no baseline, only `--geoip`. Each finding says what the
//! baseline was.
//!
//! [`baseline`]: super::super::baseline

use std::collections::BTreeMap;

use super::super::baseline::{
    self, Baseline, Profile, RowFlag, Volume, app_label, day_of, day_text, ev_is_user, network,
    volume_of,
};
use super::super::events::{Ev, Events, by_actor, clusters, human_duration, logical_ops};
use super::super::families::Family;
use super::super::{
    Confidence, Context, Hit, Needs, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta,
    Severity,
};
use crate::normalize::time::format_micros;

const WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Duration,
    default: 86_400,
    doc: "grouping window: events of one actor with the same novelty closer than this make one finding",
};

const MIN_DAYS: ParamSpec = ParamSpec {
    name: "min_active_days",
    kind: ParamKind::Count,
    default: 3,
    doc: "a principal needs this many active days in the baseline before anything it does is judged new",
};

const REFS: &[&str] = &[
    "https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager",
    "https://learn.microsoft.com/azure/sentinel/anomalies-reference",
];

/// The tactics of the tactic-family rules.
const FAMILY_TACTICS: &[&str] = &[
    "Credential Access",
    "Collection",
    "Defense Evasion",
    "Execution",
    "Impact",
    "Initial Access",
    "Lateral Movement",
    "Persistence",
    "Privilege Escalation",
];

/// Every tactic family.
fn all_families() -> u16 {
    Family::ALL.iter().fold(0, |m, f| m | f.bit())
}

/// Groups matched events by actor and key, then in time clusters of
/// `window`: one hit per cluster, whose why is the first match's, with how
/// many logical operations followed. A logical operation that failed (and
/// never succeeded) counts only with `include_failed`.
fn keyed_hits(
    ev: &[Ev],
    window: i64,
    include_failed: bool,
    judge: impl Fn(&Ev) -> Option<(String, String)>,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    for idx in by_actor(ev).into_values() {
        let mut by_key: BTreeMap<String, Vec<(i64, Vec<usize>, String)>> = BTreeMap::new();
        for op in logical_ops(ev, &idx) {
            if op.failed && !include_failed {
                continue;
            }
            if let Some((key, why)) = op.rows.iter().find_map(|&i| judge(&ev[i])) {
                by_key
                    .entry(key)
                    .or_default()
                    .push((op.time, op.rows.clone(), why));
            }
        }
        for ops in by_key.into_values() {
            for cluster in clusters(ops, |o| o.0, window) {
                let n = cluster.len();
                let mut why = cluster[0].2.clone();
                if n > 1 {
                    why.push_str(&format!(
                        "; {} more such operation{} until {}",
                        n - 1,
                        if n == 2 { "" } else { "s" },
                        format_micros(cluster[n - 1].0)
                    ));
                }
                let mut rows: Vec<usize> = cluster.into_iter().flat_map(|c| c.1).collect();
                rows.sort_unstable();
                hits.push(Hit::new(rows, why));
            }
        }
    }
    hits
}

/// The short name of an operation: its last two segments.
fn short_op(op: &str) -> String {
    let parts: Vec<&str> = op.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [a, b, _] => format!("{b}/{a}"),
        _ => op.to_owned(),
    }
}

/// `roleassignments/write on /subscriptions/…/x at 2024-06-10T10:00:00Z`.
fn what(e: &Ev) -> String {
    format!(
        "{} on {} at {}",
        short_op(&e.operation),
        e.target(),
        format_micros(e.time)
    )
}

// ---------------------------------------------------------------------------

static UNUSED_APP: RuleMeta = RuleMeta {
    id: "AH-ANOM-001",
    version: 1,
    title: "Persistence operation through a client app the principal never used",
    description: "In the detection period, a principal performs a persistence operation (role \
        assignments and definitions, automation runbooks, webhooks and schedules, federated \
        credentials on managed identities, SSH keys, Logic Apps, …) through a client application \
        (the token's appid: Azure PowerShell, the Azure Portal, Azure CLI, or any other) that it \
        never used in the baseline period, although it was active there on at least \
        min_active_days days. Defender raises this for PowerShell and the Portal; here every \
        client app counts. The finding says which apps the principal used, on how many days.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Persistence"],
    techniques: &["T1098", "T1078.004"],
    defender_alerts: &[
        "ARM_UnusedAppPowershellPersistence",
        "ARM_UnusedAppIbizaPersistence",
    ],
    references: REFS,
    guidance: "Ask the principal's owner whether they switched tools. If not, the session is \
        likely someone else's (a stolen token or password used from an attack toolkit): revoke \
        its sessions and review every change it made since (`armhunt filter --caller`).",
    false_positives: "A new workstation or a new automation tool (Terraform through Azure CLI, \
        a new pipeline) adopted during the detection period.",
    params: &[WINDOW, MIN_DAYS],
};

pub struct UnusedApp;

impl Rule for UnusedApp {
    fn meta(&self) -> &'static RuleMeta {
        &UNUSED_APP
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Family(Family::Persistence.bit())
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let min = p.count("min_active_days");
        keyed_hits(ev, p.window("window"), false, |e| {
            if !b.judges(e.time) || e.failed() {
                return None;
            }
            let app = e.app_id.as_deref()?;
            let prof = b.profile(&e.actor, min)?;
            if prof.apps.contains_key(app) {
                return None;
            }
            Some((
                app.to_owned(),
                format!(
                    "first {} use by this principal, for persistence: {}; baseline: {} ({})",
                    app_label(app),
                    what(e),
                    prof.describe_apps(),
                    prof.describe_span()
                ),
            ))
        })
    }
}

// ---------------------------------------------------------------------------

const SILENT: ParamSpec = ParamSpec {
    name: "silent",
    kind: ParamKind::Duration,
    default: 21 * 86_400,
    doc: "an account inactive for at least this long before a privileged or persistence operation is flagged",
};

const RETURN_WINDOW: ParamSpec = ParamSpec {
    name: "return_window",
    kind: ParamKind::Duration,
    default: 86_400,
    doc: "the operation must come within this long of the account's first activity after the silence",
};

static INACTIVE: RuleMeta = RuleMeta {
    id: "AH-ANOM-002",
    version: 1,
    title: "Privileged or persistence operation by an account silent for weeks",
    description: "In the detection period, a principal that did nothing for at least `silent` \
        (21 days) performs, within `return_window` of coming back, a persistence or \
        privilege-escalation operation (role assignments and definitions, elevate access, \
        automation, federated credentials, managed identity assignment, …). The silence must be \
        real: the data must hold events of other principals on at least two thirds of the silent \
        days, so a gap in the export is not taken for an inactive account. A principal first \
        seen in the data is new, not inactive.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Persistence", "Privilege Escalation"],
    techniques: &["T1078.004", "T1098"],
    defender_alerts: &["ARM_UnusedAccountPersistence"],
    references: REFS,
    guidance: "Dormant accounts are a favourite foothold. Confirm with the owner; if it was not \
        them, disable the account, remove what it granted, and look for how its credentials \
        were obtained (Entra ID sign-in logs).",
    false_positives: "Seasonal administrators, break-glass accounts used in an emergency, \
        contractors coming back.",
    params: &[SILENT, RETURN_WINDOW, WINDOW],
};

pub struct InactiveAccount;

impl Rule for InactiveAccount {
    fn meta(&self) -> &'static RuleMeta {
        &INACTIVE
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Family(Family::Persistence.bit() | Family::PrivilegeEscalation.bit())
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let (gap, within) = (p.window("silent"), p.window("return_window"));
        keyed_hits(ev, p.window("window"), false, |e| {
            if !b.judges(e.time) || e.failed() {
                return None;
            }
            let (last, back) = b.silence_before(&e.actor, e.time, gap, within)?;
            let days = (day_of(back) - day_of(last) - 1).max(0) as usize;
            let covered = b.days_with_data(last + 86_400_000_000, back);
            if covered * 3 < days * 2 {
                return None;
            }
            Some((
                last.to_string(),
                format!(
                    "no activity for {} (last {}, back {}; the data has events on {covered} of the {days} days between), then {}",
                    human_days(back - last),
                    format_micros(last),
                    format_micros(back),
                    what(e)
                ),
            ))
        })
    }
}

/// `52 days`.
fn human_days(us: i64) -> String {
    let d = us / 86_400_000_000;
    if d >= 2 {
        format!("{d} days")
    } else {
        human_duration(us)
    }
}

// ---------------------------------------------------------------------------

/// The hits of the novel-tactic rules, for users or for service principals.
fn novel_family_hits(ev: &[Ev], ctx: &Context, p: &Params, users: bool) -> Vec<Hit> {
    let b = &ctx.baseline;
    let min = p.count("min_active_days");
    keyed_hits(ev, p.window("window"), false, |e| {
        if !b.judges(e.time) || e.failed() || ev_is_user(e) != users {
            return None;
        }
        let prof = b.profile(&e.actor, min)?;
        let new = super::super::families::families(&e.operation) & !prof.families;
        if new == 0 {
            return None;
        }
        let names = Family::names(new);
        let rtype = e
            .resource_type
            .as_deref()
            .filter(|t| !prof.resource_types.contains(*t))
            .map(|t| format!("; never touched {t} before"))
            .unwrap_or_default();
        Some((
            names.clone(),
            format!(
                "first {names} operation of this {}: {}{rtype}; baseline: {}, {}, {} distinct operation{}, tactic families: {}",
                if users { "user" } else { "service principal" },
                what(e),
                prof.describe_span(),
                prof.describe_hours(),
                prof.operations.len(),
                if prof.operations.len() == 1 { "" } else { "s" },
                Family::names(prof.families)
            ),
        ))
    })
}

static NOVEL_USER: RuleMeta = RuleMeta {
    id: "AH-ANOM-003",
    version: 1,
    title: "High-risk operation of a tactic this user never used",
    description: "In the detection period, a user performs a high-risk operation of a tactic \
        family (credential access, data collection, defense evasion, execution, impact, initial \
        access, lateral movement, persistence, privilege escalation: detections.md §1.4) of \
        which it performed no operation at all in the baseline, where it was active on at least \
        min_active_days days. Failed attempts are left to AH-ANOM-007 (refusals). One finding \
        per user and new families, for operations that follow each other within `window` (a \
        day); it names the families the user did use.",
    severity: Severity::Medium,
    confidence: Confidence::Low,
    tactics: FAMILY_TACTICS,
    techniques: &["T1078.004"],
    defender_alerts: &[
        "ARM_AnomalousOperation.CredentialAccess",
        "ARM_AnomalousOperation.Collection",
        "ARM_AnomalousOperation.DefenseEvasion",
        "ARM_AnomalousOperation.Execution",
        "ARM_AnomalousOperation.Impact",
        "ARM_AnomalousOperation.InitialAccess",
        "ARM_AnomalousOperation.LateralMovement",
        "ARM_AnomalousOperation.Persistence",
        "ARM_AnomalousOperation.PrivilegeEscalation",
    ],
    references: REFS,
    guidance: "Check the operation against the user's role and any change ticket; when it is \
        unexplained, treat the account as compromised and review its session \
        (`armhunt filter --caller … --around …`).",
    false_positives: "A new job or project for the user; a first incident response or \
        migration; rarely used break-glass procedures.",
    params: &[WINDOW, MIN_DAYS],
};

pub struct NovelTacticUser;

impl Rule for NovelTacticUser {
    fn meta(&self) -> &'static RuleMeta {
        &NOVEL_USER
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Family(all_families())
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        novel_family_hits(ev, ctx, p, true)
    }
}

static NOVEL_SP: RuleMeta = RuleMeta {
    id: "AH-ANOM-004",
    version: 1,
    title: "High-risk operation of a tactic this service principal never used",
    description: "As AH-ANOM-003, for service principals and managed identities: automation \
        usually repeats itself, so a first operation of a new tactic family (for instance a \
        deployment identity that suddenly lists storage keys or assigns roles) stands out. The \
        principal must have been active on at least min_active_days days of the baseline.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: FAMILY_TACTICS,
    techniques: &["T1078.004", "T1098.001"],
    defender_alerts: &[
        "ARM_AnomalousServiceOperation.CredentialAccess",
        "ARM_AnomalousServiceOperation.Collection",
        "ARM_AnomalousServiceOperation.DefenseEvasion",
        "ARM_AnomalousServiceOperation.Execution",
        "ARM_AnomalousServiceOperation.Impact",
        "ARM_AnomalousServiceOperation.InitialAccess",
        "ARM_AnomalousServiceOperation.LateralMovement",
        "ARM_AnomalousServiceOperation.Persistence",
        "ARM_AnomalousServiceOperation.PrivilegeEscalation",
    ],
    references: REFS,
    guidance: "Find who controls the service principal's credentials (secrets, certificates, \
        federated credentials) and whether its code or pipeline changed; rotate its \
        credentials if not.",
    false_positives: "A pipeline given new duties; a new release of the automation.",
    params: &[WINDOW, MIN_DAYS],
};

pub struct NovelTacticService;

impl Rule for NovelTacticService {
    fn meta(&self) -> &'static RuleMeta {
        &NOVEL_SP
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Family(all_families())
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        novel_family_hits(ev, ctx, p, false)
    }
}

// ---------------------------------------------------------------------------

static NEW_NETWORK: RuleMeta = RuleMeta {
    id: "AH-ANOM-005",
    version: 1,
    title: "Sensitive operation from a network the principal never used",
    description: "In the detection period, a principal performs a high-risk operation (any \
        tactic family of AH-ANOM-003) from a caller IP whose network (/24 for IPv4, /48 for \
        IPv6) it never called from in the baseline, where it was active on at least \
        min_active_days days. A new network alone is common (travel, home, mobile); the finding \
        needs the sensitive operation too, and one that did not fail. It lists the networks the \
        principal did use.",
    severity: Severity::Medium,
    confidence: Confidence::Low,
    tactics: &["Initial Access"],
    techniques: &["T1078.004"],
    defender_alerts: &["ARM_AnomalousOperation.InitialAccess"],
    references: REFS,
    guidance: "Look the address up (owner, ASN, `--geoip`), check Entra ID sign-ins from it, and \
        review everything done from it (`armhunt filter --ip`).",
    false_positives: "Travel, a new office or ISP, a VPN change, cloud shells and build agents \
        with changing addresses.",
    params: &[WINDOW, MIN_DAYS],
};

pub struct NewNetwork;

impl Rule for NewNetwork {
    fn meta(&self) -> &'static RuleMeta {
        &NEW_NETWORK
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Family(all_families())
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let min = p.count("min_active_days");
        keyed_hits(ev, p.window("window"), false, |e| {
            if !b.judges(e.time) || e.failed() {
                return None;
            }
            let prof = b.profile(&e.actor, min)?;
            let ip = e.caller_ip.as_deref()?;
            let net = network(ip)?;
            if prof.networks.contains_key(&net) {
                return None;
            }
            let fam = Family::names(super::super::families::families(&e.operation));
            Some((
                net.clone(),
                format!(
                    "caller IP {ip}{} (network {net}) never used by this principal in the baseline, for a high-risk operation ({fam}): {}; baseline networks: {} ({})",
                    place_of(b, ip),
                    what(e),
                    prof.describe_networks(),
                    prof.describe_span()
                ),
            ))
        })
    }
}

/// ` (Amsterdam, NL (AS1136 KPN))` with `--geoip`, else nothing.
fn place_of(b: &Baseline, ip: &str) -> String {
    b.place(ip)
        .map(|p| format!(" ({})", p.describe()))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------

static TOKEN_ELSEWHERE: RuleMeta = RuleMeta {
    id: "AH-ANOM-006",
    version: 1,
    title: "Token used from another network than the one it was issued to",
    description: "In the detection period, the token's ipaddr claim (where Entra ID issued it) \
        and the caller IP (where Resource Manager received the call) are in different networks \
        (/24, /48) of the same IP version, and the caller's network is one the principal never \
        called from in the baseline, nor did it ever show this pair of networks there. That is \
        the mark of a token replayed from elsewhere (stolen from a browser, a developer machine, \
        a pipeline). IPv4-versus-IPv6 pairs are skipped: dual-stack clients produce them \
        innocently. A principal without a baseline is judged with low confidence.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Credential Access", "Defense Evasion"],
    techniques: &["T1550.001", "T1528"],
    defender_alerts: &[],
    references: &[
        "https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference",
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager",
    ],
    guidance: "Revoke the principal's refresh tokens and sessions (revokeSignInSessions), find \
        where the token was taken from (device, pipeline, developer machine) and review what \
        the caller address did (`armhunt filter --ip`).",
    false_positives: "A VPN connected or disconnected within the token's lifetime; split-tunnel \
        or multi-homed networks; tokens fetched on one host and used on a jump host.",
    params: &[WINDOW],
};

pub struct TokenElsewhere;

impl Rule for TokenElsewhere {
    fn meta(&self) -> &'static RuleMeta {
        &TOKEN_ELSEWHERE
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Flagged(RowFlag::AddressesDiffer)
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let hits = std::cell::RefCell::new(Vec::new());
        let out = keyed_hits(ev, p.window("window"), true, |e| {
            if !b.judges(e.time) {
                return None;
            }
            let (cip, tip) = (e.caller_ip.as_deref()?, e.token_ip.as_deref()?);
            let (cn, tn) = (network(cip)?, network(tip)?);
            if cn == tn || baseline::is_v6_net(&cn) != baseline::is_v6_net(&tn) {
                return None;
            }
            let prof: Option<&Profile> = b.profiles.get(&*e.actor);
            let seen = prof.is_some_and(|p| {
                p.networks.contains_key(&cn) || p.address_pairs.contains(&(tn.clone(), cn.clone()))
            });
            if seen {
                return None;
            }
            let base = match prof {
                Some(p) => format!(
                    "baseline networks: {} ({})",
                    p.describe_networks(),
                    p.describe_span()
                ),
                None => {
                    hits.borrow_mut().push(e.row);
                    "no baseline activity for this principal".into()
                }
            };
            Some((
                format!("{tn} {cn}"),
                format!(
                    "token issued to {tip}{} ({tn}) used from {cip}{} ({cn}): {}; {base}",
                    place_of(b, tip),
                    place_of(b, cip),
                    what(e)
                ),
            ))
        });
        let unknown = hits.into_inner();
        out.into_iter()
            .map(|h| {
                if h.rows.iter().any(|&i| unknown.contains(&ev[i].row)) {
                    h.confidence(Confidence::Low)
                } else {
                    h
                }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------

const FACTOR: ParamSpec = ParamSpec {
    name: "factor",
    kind: ParamKind::Count,
    default: 3,
    doc: "a day's count must exceed this many times the principal's busiest baseline day",
};
const COMPUTE_FLOOR: ParamSpec = ParamSpec {
    name: "compute_floor",
    kind: ParamKind::Count,
    default: 5,
    doc: "at least this many compute resources created or changed in a day",
};
const DELETE_FLOOR: ParamSpec = ParamSpec {
    name: "delete_floor",
    kind: ParamKind::Count,
    default: 15,
    doc: "at least this many resources deleted in a day",
};
const ROLE_FLOOR: ParamSpec = ParamSpec {
    name: "role_floor",
    kind: ParamKind::Count,
    default: 5,
    doc: "at least this many role assignments written in a day",
};
const FAILURE_FLOOR: ParamSpec = ParamSpec {
    name: "failure_floor",
    kind: ParamKind::Count,
    default: 15,
    doc: "at least this many distinct operations refused (authorization failed) in a day",
};

static VOLUME: RuleMeta = RuleMeta {
    id: "AH-ANOM-007",
    version: 1,
    title: "A day's volume of creations, deletions, role assignments or refusals far above the principal's baseline",
    description: "Per principal and UTC day of the detection period, counts distinct resources \
        of compute created or changed (VMs, scale sets, ML computes, Batch pools, container \
        groups, AKS pools), distinct resources deleted, distinct role assignments written, and \
        distinct operations on resources refused for lack of permission (Forbidden / \
        AuthorizationFailed: permission probing). A count at or above its floor and above \
        `factor` times the principal's busiest day of the baseline is a finding, which gives \
        the baseline's busiest day, its number of days with any and its total. Principals \
        without baseline activity are judged against the floors alone.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Impact", "Discovery", "Privilege Escalation"],
    techniques: &["T1496", "T1485", "T1098", "T1580"],
    defender_alerts: &["ARM_SuspiciousComputeCreation"],
    references: REFS,
    guidance: "Compute: look for crypto-mining (GPU sizes, new regions) and stop it. Deletions: \
        check backups and soft-delete, and whether the deleter should have that right. Role \
        assignments: verify each assignee. Refusals: the principal is probing its rights; \
        someone else may hold its credentials.",
    false_positives: "Planned migrations, scale-out events, clean-ups and access reviews; a \
        principal whose baseline period was unusually quiet.",
    params: &[
        FACTOR,
        COMPUTE_FLOOR,
        DELETE_FLOOR,
        ROLE_FLOOR,
        FAILURE_FLOOR,
    ],
};

pub struct VolumeAnomaly;

impl Rule for VolumeAnomaly {
    fn meta(&self) -> &'static RuleMeta {
        &VOLUME
    }
    fn candidates(&self) -> OpFilter {
        let mut ops: Vec<&str> = baseline::COMPUTE_CREATE.to_vec();
        ops.push(baseline::ROLE_ASSIGNMENT_WRITE);
        OpFilter::Either(vec![
            super::super::events::op_in(&ops),
            super::super::events::op_ends_with(&["/delete"]),
            OpFilter::Flagged(RowFlag::AuthorizationFailed),
        ])
    }
    fn needs(&self) -> Needs {
        Needs::BASELINE
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let factor = p.count("factor") as u32;
        let floors = [
            p.count("compute_floor"),
            p.count("delete_floor"),
            p.count("role_floor"),
            p.count("failure_floor"),
        ];
        // (actor, day, category) → distinct keys → rows.
        type Groups<'e> =
            BTreeMap<(&'e str, i32, Volume), BTreeMap<(&'e str, &'e str), Vec<usize>>>;
        let mut groups: Groups = BTreeMap::new();
        for (i, e) in ev.iter().enumerate() {
            if !b.judges(e.time) {
                continue;
            }
            let Some(v) = volume_of(&e.operation, e.status.as_deref(), e.sub_status.as_deref())
            else {
                continue;
            };
            // Keyed as the baseline keys them: by resource id.
            let r = e.resource_id.as_deref().unwrap_or("");
            let key = if v == Volume::AuthorizationFailures {
                (&*e.operation, r)
            } else {
                ("", r)
            };
            groups
                .entry((&*e.actor, day_of(e.time), v))
                .or_default()
                .entry(key)
                .or_default()
                .push(i);
        }
        let mut hits = Vec::new();
        for ((actor, day, v), keys) in groups {
            let n = keys.len();
            let base = b
                .profiles
                .get(actor)
                .map(|p: &Profile| (p.volume[v as usize], p.describe_span()));
            let max = base.as_ref().map_or(0, |(vb, _)| vb.max_per_day);
            if n < floors[v as usize] || n as u64 <= factor as u64 * max as u64 {
                continue;
            }
            let said = match &base {
                Some((vb, span)) if vb.days > 0 => format!(
                    "baseline: at most {} a day, on {} days with any ({} in all; {span})",
                    vb.max_per_day, vb.days, vb.total
                ),
                Some((_, span)) => format!("baseline: none ({span})"),
                None => "no baseline activity for this principal".into(),
            };
            let mut rows: Vec<usize> = keys.into_values().flatten().collect();
            rows.sort_unstable();
            let mut hit = Hit::new(
                rows,
                format!("{n} {} on {} (UTC); {said}", v.name(), day_text(day)),
            );
            if base.is_none() {
                hit = hit.confidence(Confidence::Low);
            }
            if v == Volume::Deletions && n >= 3 * floors[1] {
                hit = hit.severity(Severity::High);
            }
            hits.push(hit);
        }
        hits
    }
}

// ---------------------------------------------------------------------------

static NEW_COUNTRY: RuleMeta = RuleMeta {
    id: "AH-ANOM-008",
    version: 1,
    title: "Activity from a country no principal used in the baseline",
    description: "With `--geoip`: in the detection period, a caller IP placed in a country that \
        neither this principal nor any other principal of the data called from in the baseline \
        period. One finding per principal and country, for calls that follow each other within \
        `window` (a day), with the countries of the baseline.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Initial Access"],
    techniques: &["T1078.004"],
    defender_alerts: &["ARM.MCAS_ActivityFromInfrequentCountry"],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-reference",
        "https://dev.maxmind.com/geoip/docs/databases",
    ],
    guidance: "Confirm travel with the principal's owner; otherwise treat the session as \
        hostile, revoke it and review what was done from the address.",
    false_positives: "Travel, VPN exits abroad, cloud-hosted tooling in a new region, stale \
        GeoIP data.",
    params: &[WINDOW],
};

pub struct NewCountry;

impl Rule for NewCountry {
    fn meta(&self) -> &'static RuleMeta {
        &NEW_COUNTRY
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Flagged(RowFlag::NewCountry)
    }
    fn needs(&self) -> Needs {
        Needs {
            baseline: true,
            geoip: true,
        }
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let org = countries(&b.org_countries);
        keyed_hits(ev, p.window("window"), true, |e| {
            if !b.judges(e.time) {
                return None;
            }
            let ip = e.caller_ip.as_deref()?;
            let place = b.place(ip)?;
            let k = place.country.as_deref()?;
            let mine = b
                .profiles
                .get(&*e.actor)
                .map(|p| countries(&p.countries))
                .unwrap_or_else(|| "no baseline activity".into());
            Some((
                k.to_owned(),
                format!(
                    "caller IP {ip} is in {}{}: {}; in the baseline no principal called from {k} (countries then: {org}; this principal: {mine})",
                    place.describe(),
                    place
                        .country_name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    what(e)
                ),
            ))
        })
    }
}

/// `NL 1200 records, DE 30`, at most 6.
fn countries(m: &BTreeMap<String, u32>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    baseline::top_counts(m, 6, |k, n, first| {
        if first {
            format!("{k} {n} records")
        } else {
            format!("{k} {n}")
        }
    })
}

// ---------------------------------------------------------------------------

const TRAVEL_WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Duration,
    default: 3600,
    doc: "impossible journeys of one user closer than this make one finding",
};

static TRAVEL: RuleMeta = RuleMeta {
    id: "AH-ANOM-009",
    version: 1,
    title: "Impossible travel: one user in two places too far apart for the time between",
    description: "With `--geoip`, over the whole data: two consecutive operations of one user \
        whose caller IPs are placed farther apart than an airliner could fly in the time \
        between them (over 1,000 km/h), counting the distance after both locations' accuracy \
        radii are taken off and ignoring places less than 500 km apart. Service principals and \
        managed identities are not judged: they legitimately run in several cloud regions at \
        once.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Initial Access"],
    techniques: &["T1078.004", "T1550.001"],
    defender_alerts: &["ARM.MCAS_ImpossibleTravelActivity"],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-reference",
        "https://learn.microsoft.com/defender-cloud-apps/anomaly-detection-policy",
    ],
    guidance: "One of the two sessions is probably not the user's: compare both addresses with \
        the user's known locations and Entra ID sign-ins, revoke sessions, and review what the \
        unexpected address did.",
    false_positives: "VPNs and proxies that egress far from the user, mobile carriers, GeoIP \
        errors, accounts shared by a team in several countries.",
    params: &[TRAVEL_WINDOW],
};

pub struct ImpossibleTravel;

impl Rule for ImpossibleTravel {
    fn meta(&self) -> &'static RuleMeta {
        &TRAVEL
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Flagged(RowFlag::Travel)
    }
    fn needs(&self) -> Needs {
        Needs {
            baseline: false,
            geoip: true,
        }
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        let b = &ctx.baseline;
        let mut hits = Vec::new();
        for idx in by_actor(ev).into_values() {
            // The journeys the baseline found between consecutive located
            // calls (both ends are this rule's rows).
            let mut journeys: Vec<(i64, usize, usize, String)> = Vec::new();
            for w in idx.windows(2) {
                let (e1, e2) = (&ev[w[0]], &ev[w[1]]);
                let Some(&(km, speed)) = b.journeys.get(&(e1.row, e2.row)) else {
                    continue;
                };
                let at = |e: &Ev| {
                    let ip = e.caller_ip.as_deref().unwrap_or("");
                    let place = b.place(ip).map(|g| g.describe()).unwrap_or_default();
                    format!("{ip} ({place}) at {}", format_micros(e.time))
                };
                let why = format!(
                    "{}, then {}: {km:.0} km in {} ({} km/h; the limit is {:.0} km/h)",
                    at(e1),
                    at(e2),
                    human_duration(e2.time - e1.time),
                    if speed.is_finite() {
                        format!("{speed:.0}")
                    } else {
                        "no time between".into()
                    },
                    baseline::MAX_SPEED_KMH
                );
                journeys.push((e2.time, w[0], w[1], why));
            }
            for c in clusters(journeys, |j| j.0, p.window("window")) {
                let mut rows: Vec<usize> = c.iter().flat_map(|j| [j.1, j.2]).collect();
                rows.sort_unstable();
                rows.dedup();
                let mut why = c[0].3.clone();
                if c.len() > 1 {
                    why.push_str(&format!("; and {} more such jumps", c.len() - 1));
                }
                hits.push(Hit::new(rows, why));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests;
