//! Privilege escalation: elevate access, privileged role assignments and
//! definitions, classic administrators.

use super::super::events::{Ev, Events, human_duration, jpath, jtext, ok_ops_by_actor, op_in};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits};

/// Privileged built-in role definition ids (detections.md §1.5) and names.
pub const PRIVILEGED_ROLES: [(&str, &str); 35] = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
    (
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Role Based Access Control Administrator",
    ),
    (
        "92b92042-07d9-4307-87f7-36a593fc5850",
        "Azure File Sync Administrator",
    ),
    (
        "a8889054-8d42-49c9-bc1c-52486c10e7cd",
        "Reservations Administrator",
    ),
    (
        "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        "Virtual Machine Contributor",
    ),
    (
        "1c0163c0-47e6-4577-8991-ea5c82e286e4",
        "Virtual Machine Administrator Login",
    ),
    (
        "fb879df8-f326-4884-b1cf-06f3ad86be52",
        "Virtual Machine User Login",
    ),
    (
        "602da2ba-a5c2-41da-b01d-5360126ab525",
        "Virtual Machine Local User Login",
    ),
    (
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "Key Vault Administrator",
    ),
    (
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "Key Vault Secrets Officer",
    ),
    (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
    ),
    (
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        "Key Vault Crypto Officer",
    ),
    (
        "a4417e6f-fecd-4de8-b567-7b0420556985",
        "Key Vault Certificates Officer",
    ),
    (
        "f25e0fa2-a7c8-4377-a976-54943a77a395",
        "Key Vault Contributor",
    ),
    (
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "Storage Account Contributor",
    ),
    (
        "81a9662b-bebf-436f-a333-f67b29880f12",
        "Storage Account Key Operator Service Role",
    ),
    (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Blob Data Owner",
    ),
    (
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Storage Blob Data Contributor",
    ),
    (
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Storage Blob Data Reader",
    ),
    (
        "f353d9bd-d4a6-484e-a77a-8050b599b867",
        "Automation Contributor",
    ),
    (
        "d3881f73-407a-4167-8283-e981cbba0404",
        "Automation Operator",
    ),
    (
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        "AKS Cluster Admin Role",
    ),
    (
        "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        "AKS RBAC Cluster Admin",
    ),
    (
        "f1a07417-d97a-45cb-824c-7a7467783830",
        "Managed Identity Operator",
    ),
    (
        "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
        "Managed Identity Contributor",
    ),
    (
        "de139f84-1756-47ae-9be6-808fbbe84772",
        "Website Contributor",
    ),
    ("230815da-be43-4aae-9cb4-875f7bd000aa", "Cosmos DB Operator"),
    (
        "5bd9cd88-fe45-4216-938b-f97437e15450",
        "DocumentDB Account Contributor",
    ),
    (
        "7efff54f-a5b4-42b5-a1c5-5411624893ce",
        "Disk Snapshot Contributor",
    ),
    (
        "959f8984-c045-4866-89c7-12bf9737be2e",
        "Data Operator for Managed Disks",
    ),
    ("fb1c8493-542b-48eb-b624-b4c8fea62acd", "Security Admin"),
    (
        "92aaf0da-9dab-42b6-94a3-d43ce8d16293",
        "Log Analytics Contributor",
    ),
    (
        "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
        "Monitoring Contributor",
    ),
];

/// Roles that give control of everything in scope.
const TOP_ROLES: [&str; 4] = [
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
];

/// What a role-assignment write assigns, from its request or response body.
pub struct Assignment {
    /// The role definition's guid, lower-case.
    pub role: String,
    pub principal_id: Option<String>,
    pub principal_type: Option<String>,
    pub scope: Option<String>,
}

pub fn assignment(e: &Ev) -> Option<Assignment> {
    for b in e.bodies() {
        let props = jpath(&b, &["properties"]).unwrap_or(&b);
        let Some(rd) = jpath(props, &["roleDefinitionId"]).map(jtext) else {
            continue;
        };
        return Some(Assignment {
            role: rd.rsplit('/').next().unwrap_or("").to_ascii_lowercase(),
            principal_id: jpath(props, &["principalId"]).map(|v| jtext(v).to_ascii_lowercase()),
            principal_type: jpath(props, &["principalType"]).map(jtext),
            scope: jpath(props, &["scope"]).map(jtext),
        });
    }
    None
}

fn role_name(guid: &str) -> Option<&'static str> {
    PRIVILEGED_ROLES
        .iter()
        .find(|(g, _)| *g == guid)
        .map(|(_, n)| *n)
}

/// Whether a scope is the root, a management group or a subscription.
fn broad_scope(scope: &str) -> bool {
    let s = scope.trim_end_matches('/').to_ascii_lowercase();
    s.is_empty()
        || s.starts_with("/providers/microsoft.management/managementgroups")
        || (s.starts_with("/subscriptions/") && s.matches('/').count() == 2)
}

static ELEVATE: RuleMeta = RuleMeta {
    id: "AH-PRIV-001",
    version: 1,
    title: "Elevate access: Global Administrator took User Access Administrator at root",
    description: "Microsoft.Authorization/elevateAccess/action gives a Global Administrator User Access \
        Administrator over every subscription of the tenant (PowerZure Set-AzureElevatedPrivileges). \
        A role assignment at root, management-group or subscription scope by the same actor \
        afterwards makes it critical. This event is in the tenant's directory activity log.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Privilege Escalation"],
    techniques: &["T1078.004", "T1098"],
    defender_alerts: &[
        "ARM_PowerZure.AzureElevatedPrivileges",
        "ARM_AnomalousElevateAccess",
    ],
    references: &[
        "https://learn.microsoft.com/azure/role-based-access-control/elevate-access-global-admin",
    ],
    guidance: "Confirm with the administrator; remove the root User Access Administrator assignment \
        and any assignment made after it; review Entra ID audit logs for the same account.",
    false_positives: "Break-glass use by a tenant administrator, which should be rare and announced.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "elevation → assignment window",
    }],
};

pub struct ElevateAccess;

impl Rule for ElevateAccess {
    fn meta(&self) -> &'static RuleMeta {
        &ELEVATE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.authorization/elevateaccess/action",
            "microsoft.authorization/roleassignments/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            for (k, op) in ops.iter().enumerate() {
                if !ev[op.rows[0]].operation.ends_with("elevateaccess/action") {
                    continue;
                }
                let follow: Vec<_> = ops[k + 1..]
                    .iter()
                    .take_while(|o| o.time - op.time <= w)
                    .filter(|o| {
                        o.rows.iter().any(|&i| {
                            let e = &ev[i];
                            e.operation.ends_with("roleassignments/write")
                                && assignment(e)
                                    .and_then(|a| a.scope)
                                    .or_else(|| e.auth_scope.as_deref().map(str::to_owned))
                                    .or_else(|| {
                                        e.resource_id.as_ref().map(|r| super::parent_id(r, 2))
                                    })
                                    .is_some_and(|s| broad_scope(&s))
                        })
                    })
                    .collect();
                let mut rows: Vec<usize> = op
                    .rows
                    .iter()
                    .chain(follow.iter().flat_map(|o| o.rows.iter()))
                    .copied()
                    .collect();
                rows.sort_unstable();
                if follow.is_empty() {
                    hits.push(Hit::new(
                        rows,
                        "elevateAccess: User Access Administrator at root scope".into(),
                    ));
                } else {
                    hits.push(
                        Hit::new(
                            rows,
                            format!(
                                "elevateAccess, then {} role assignment(s) at broad scope within {}",
                                follow.len(),
                                human_duration(follow[follow.len() - 1].time - op.time)
                            ),
                        )
                        .severity(Severity::Critical),
                    );
                }
            }
        }
        hits
    }
}

static PRIVILEGED_ASSIGNMENT: RuleMeta = RuleMeta {
    id: "AH-PRIV-002",
    version: 1,
    title: "Privileged role assigned",
    description: "A role assignment grants a privileged built-in role (Owner, Contributor, User Access \
        Administrator, RBAC Administrator, Key Vault / storage data roles, VM login, …). Assignments to \
        a service principal or to a principal never seen acting in the data, and top roles at broad \
        scope, rank higher.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Privilege Escalation", "Persistence"],
    techniques: &["T1098.003"],
    defender_alerts: &["ARM_AnomalousRBACRoleAssignment"],
    references: &["https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager"],
    guidance: "Check that the assignment was requested; identify the assignee (user, service principal, \
        managed identity) and what it did after; remove it if not expected.",
    false_positives: "Routine access grants by administrators and PIM activations; these come from \
        known admins and named, long-lived principals.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct PrivilegedAssignment;

impl Rule for PrivilegedAssignment {
    fn meta(&self) -> &'static RuleMeta {
        &PRIVILEGED_ASSIGNMENT
    }
    fn candidates(&self) -> OpFilter {
        op_in(&["microsoft.authorization/roleassignments/write"])
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, |e| {
            let Assignment {
                role: guid,
                principal_id: pid,
                principal_type: ptype,
                scope,
            } = assignment(e)?;
            let role = role_name(&guid)?;
            let scope = scope
                .or_else(|| e.auth_scope.as_deref().map(str::to_owned))
                .unwrap_or_default();
            let sp = ptype.as_deref().is_some_and(|t| {
                matches!(
                    t.to_ascii_lowercase().as_str(),
                    "serviceprincipal" | "foreigngroup"
                )
            });
            let new = pid.as_deref().is_some_and(|p| !ctx.seen_before(p, e.time));
            let top = TOP_ROLES.contains(&guid.as_str());
            let mut why = format!(
                "{role} assigned to {} {}",
                ptype.as_deref().unwrap_or("principal"),
                pid.as_deref().unwrap_or("?")
            );
            if !scope.is_empty() {
                why.push_str(&format!(" at {scope}"));
            }
            if new {
                why.push_str(" (principal never seen acting before)");
            }
            let mut j = Judgement::new(why);
            if top && (broad_scope(&scope) || sp || new) {
                j = j.severity(Severity::High);
            }
            if sp || new {
                j = j.confidence(Confidence::High);
            }
            Some(j)
        })
    }
}

static CUSTOM_ROLE: RuleMeta = RuleMeta {
    id: "AH-PRIV-003",
    version: 1,
    title: "Privileged custom role created or changed",
    description: "A custom role definition is written whose actions include wildcards or the \
        operations attackers want (`*`, `*/write`, `Microsoft.Authorization/*`, role assignment \
        writes, Run Command, listKeys), or that is assignable at the tenant root.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Privilege Escalation", "Defense Evasion"],
    techniques: &["T1098.003"],
    defender_alerts: &["ARM_PrivilegedRoleDefinitionCreation"],
    references: &["https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager"],
    guidance: "Read the role's actions and assignable scopes; find its assignments (roleAssignments \
        writes with this role definition id) and who holds them.",
    false_positives: "Platform teams creating broad custom roles for automation; review anyway.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct PrivilegedCustomRole;

fn risky_action(a: &str) -> bool {
    let a = a.to_ascii_lowercase();
    a == "*"
        || a == "*/write"
        || a.starts_with("microsoft.authorization/*")
        || a == "microsoft.authorization/roleassignments/write"
        || a == "microsoft.authorization/roledefinitions/write"
        || a.ends_with("/runcommand/action")
        || a.ends_with("/listkeys/action")
        || a == "microsoft.compute/*"
        || a == "microsoft.keyvault/vaults/accesspolicies/write"
}

impl Rule for PrivilegedCustomRole {
    fn meta(&self) -> &'static RuleMeta {
        &CUSTOM_ROLE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&["microsoft.authorization/roledefinitions/write"])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, |e| {
            for b in e.bodies() {
                let props = jpath(&b, &["properties"]).unwrap_or(&b);
                let name = jpath(props, &["roleName"]).map(jtext).unwrap_or_default();
                let mut risky: Vec<String> = Vec::new();
                if let Some(perms) = jpath(props, &["permissions"]).and_then(|v| v.as_array()) {
                    for perm in perms {
                        for key in ["actions", "dataActions"] {
                            for a in jpath(perm, &[key])
                                .and_then(|v| v.as_array())
                                .into_iter()
                                .flatten()
                            {
                                let a = jtext(a);
                                if risky_action(&a) && !risky.contains(&a) {
                                    risky.push(a);
                                }
                            }
                        }
                    }
                }
                let root = jpath(props, &["assignableScopes"])
                    .and_then(|v| v.as_array())
                    .is_some_and(|s| s.iter().any(|x| jtext(x).trim() == "/"));
                if !risky.is_empty() || root {
                    let mut why = format!("custom role {name:?}");
                    if !risky.is_empty() {
                        why.push_str(&format!(" allows {}", risky.join(", ")));
                    }
                    if root {
                        why.push_str(" (assignable at /)");
                    }
                    let wildcard = risky.iter().any(|a| {
                        a == "*"
                            || a == "*/write"
                            || a.starts_with("Microsoft.Authorization/*")
                            || a.starts_with("microsoft.authorization/*")
                    });
                    let j = Judgement::new(why);
                    return Some(if wildcard || root {
                        j.severity(Severity::High)
                    } else {
                        j
                    });
                }
            }
            None
        })
    }
}

static CLASSIC_ADMIN: RuleMeta = RuleMeta {
    id: "AH-PRIV-004",
    version: 1,
    title: "Classic subscription administrator changed",
    description: "A classic administrator (co-administrator) is added or removed. Classic \
        administrators have Owner-equivalent access outside Azure RBAC and are rarely changed today.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Privilege Escalation", "Persistence"],
    techniques: &["T1098"],
    defender_alerts: &["ARM_AnomalousClassicRoleAssignment"],
    references: &[
        "https://learn.microsoft.com/azure/role-based-access-control/classic-administrators",
    ],
    guidance: "List the subscription's classic administrators and remove unexpected ones.",
    false_positives: "Migrations off classic administrators (removals by the subscription owner).",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct ClassicAdministrator;

impl Rule for ClassicAdministrator {
    fn meta(&self) -> &'static RuleMeta {
        &CLASSIC_ADMIN
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.authorization/classicadministrators/write",
            "microsoft.authorization/classicadministrators/delete",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, |e| {
            let verb = if e.operation.ends_with("/delete") {
                "removed"
            } else {
                "added or changed"
            };
            Some(Judgement::new(format!(
                "classic administrator {} {verb}",
                e.resource_name.as_deref().unwrap_or_default().to_owned()
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    const RA: &str = "Microsoft.Authorization/roleAssignments/write";
    fn ra_body(role: &str, ptype: &str, scope: &str) -> String {
        format!(
            r#"{{"properties":{{"roleDefinitionId":"/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role}","principalId":"p-1","principalType":"{ptype}","scope":"{scope}"}}}}"#
        )
    }

    #[test]
    fn elevate_then_assignment() {
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "ga",
                "Microsoft.Authorization/elevateAccess/action",
                "/providers/Microsoft.Authorization/elevateAccess",
            ),
            ev(
                "2024-05-01T10:10:00Z",
                "ga",
                RA,
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
            )
            .request(&ra_body(
                "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "User",
                "/subscriptions/s1",
            )),
        ];
        let h = run(&ElevateAccess, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Some(Severity::Critical));
        let v = vec![ev(
            "2024-05-01T10:00:00Z",
            "ga",
            "Microsoft.Authorization/elevateAccess/action",
            "/providers/Microsoft.Authorization/elevateAccess",
        )];
        let h = run(&ElevateAccess, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, None);
        // Near miss: a role assignment with no elevation.
        let v = vec![ev(
            "2024-05-01T10:10:00Z",
            "ga",
            RA,
            "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
        )];
        assert!(run(&ElevateAccess, v).is_empty());
    }

    #[test]
    fn privileged_assignment() {
        let e = ev(
            "2024-05-01T10:10:00Z",
            "adm",
            RA,
            "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
        )
        .request(&ra_body(
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "ServicePrincipal",
            "/subscriptions/s1",
        ));
        let h = run(&PrivilegedAssignment, vec![e]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Some(Severity::High));
        assert!(
            h[0].why
                .starts_with("Owner assigned to ServicePrincipal p-1 at /subscriptions/s1"),
            "{}",
            h[0].why
        );
        // Near miss: Reader (not privileged).
        let e = ev(
            "2024-05-01T10:10:00Z",
            "adm",
            RA,
            "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
        )
        .request(&ra_body(
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "User",
            "/subscriptions/s1",
        ));
        assert!(run(&PrivilegedAssignment, vec![e]).is_empty());
        // A known principal getting a data role: medium.
        let mut ctx = Context::default();
        ctx.first_seen.insert("p-1".into(), 0);
        let e = ev("2024-05-01T10:10:00Z", "adm", RA, "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/ra1")
            .request(&ra_body("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "User", "/subscriptions/s1/resourceGroups/rg"));
        let h = PrivilegedAssignment.detect(
            &events(vec![e]),
            &ctx,
            &Params::defaults(PrivilegedAssignment.meta()),
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, None);
    }

    #[test]
    fn custom_role() {
        let op = "Microsoft.Authorization/roleDefinitions/write";
        let id = "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/rd1";
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"roleName":"helper","permissions":[{"actions":["Microsoft.Compute/virtualMachines/runCommand/action","*/read"]}],"assignableScopes":["/subscriptions/s1"]}}"#,
        );
        let h = run(&PrivilegedCustomRole, vec![e]);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("runCommand"), "{}", h[0].why);
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"roleName":"reader2","permissions":[{"actions":["*/read"]}],"assignableScopes":["/subscriptions/s1"]}}"#,
        );
        assert!(run(&PrivilegedCustomRole, vec![e]).is_empty());
    }

    #[test]
    fn classic_admin() {
        let id = "/subscriptions/s1/providers/Microsoft.Authorization/classicAdministrators/x";
        let h = run(
            &ClassicAdministrator,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Authorization/classicAdministrators/write",
                id,
            )],
        );
        assert_eq!(h.len(), 1);
        let h = run(
            &ClassicAdministrator,
            vec![
                ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Authorization/classicAdministrators/write",
                    id,
                )
                .status("failed"),
            ],
        );
        assert!(h.is_empty());
    }
}
