//! Credential access: keys, secrets and passwords taken through ARM.

use std::collections::BTreeSet;

use super::super::events::{
    EXTENSION_WRITES, Ev, Events, distinct_burst, human_duration, jpath, jtext, logical_ops, op_in,
};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits, id_through};

const STORAGE_LISTKEYS: [&str; 2] = [
    "microsoft.storage/storageaccounts/listkeys/action",
    "microsoft.classicstorage/storageaccounts/listkeys/action",
];

pub struct StorageKeySweep;

static STORAGE_KEY_SWEEP: RuleMeta = RuleMeta {
    id: "AH-CRED-001",
    version: 1,
    title: "Storage account keys listed across many accounts",
    description: "One actor lists the access keys of many distinct storage accounts in a short time: \
        the footprint of MicroBurst Get-AzStorageKeysREST / Get-AzDomainInfo and PowerZure storage \
        functions, which walk every account of a subscription. Cloud Shell storage is excluded.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Credential Access", "Collection"],
    techniques: &["T1552.007", "T1530"],
    defender_alerts: &[
        "ARM_MicroBurst.AZStorageKeysREST",
        "ARM_MicroBurst.AzDomainInfo",
        "ARM_PowerZure.ShowStorageContent",
    ],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager",
        "https://github.com/NetSPI/MicroBurst",
    ],
    guidance: "List the accounts whose keys were read and rotate both keys of each. Check the \
        storage accounts' data-plane logs (StorageBlobLogs) for access with account keys after the \
        listing, and what else the actor did in the same session (filter on the actor and time).",
    false_positives: "Backup and monitoring tools that enumerate account keys on a schedule; confirm \
        the actor is such a service principal and the pattern repeats daily.",
    params: &[
        ParamSpec {
            name: "min_accounts",
            kind: ParamKind::Count,
            default: 5,
            doc: "distinct storage accounts",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 600,
            doc: "time window",
        },
    ],
};

fn is_cloud_shell(e: &Ev) -> bool {
    e.resource_group
        .as_deref()
        .is_some_and(|g| g.starts_with("cloud-shell-storage"))
}

impl Rule for StorageKeySweep {
    fn meta(&self) -> &'static RuleMeta {
        &STORAGE_KEY_SWEEP
    }
    fn candidates(&self) -> OpFilter {
        op_in(&STORAGE_LISTKEYS)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let n = p.count("min_accounts");
        let w = p.window("window");
        let mut hits = Vec::new();
        for idx in super::super::events::by_actor(ev).into_values() {
            let idx: Vec<usize> = idx
                .into_iter()
                .filter(|&i| !is_cloud_shell(&ev[i]))
                .collect();
            let ops = logical_ops(ev, &idx);
            let ok: Vec<_> = ops.iter().filter(|o| !o.failed).cloned().collect();
            let account = |o: &super::super::events::Op| ev[o.rows[0]].target().to_owned();
            for burst in distinct_burst(&ok, account, n, w) {
                let accounts: BTreeSet<String> = burst
                    .iter()
                    .map(|o| {
                        ev[o.rows[0]]
                            .resource_name
                            .as_deref()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .collect();
                let (t0, t1) = (burst[0].time, burst[burst.len() - 1].time);
                let failed = ops
                    .iter()
                    .filter(|o| o.failed && o.time >= t0 && o.time <= t1)
                    .count();
                let mut rows: Vec<usize> =
                    burst.iter().flat_map(|o| o.rows.iter().copied()).collect();
                rows.sort_unstable();
                let names: Vec<&str> = accounts.iter().map(String::as_str).take(5).collect();
                let more = if accounts.len() > 5 { ", …" } else { "" };
                let failed_note = if failed > 0 {
                    format!(" (+{failed} failed attempts)")
                } else {
                    String::new()
                };
                hits.push(Hit::new(
                    rows,
                    format!(
                        "listKeys on {} distinct storage accounts in {} ({}{more}){failed_note}",
                        accounts.len(),
                        human_duration(t1 - t0),
                        names.join(", ")
                    ),
                ));
            }
        }
        hits
    }
}

/// Credential-family operations (detections.md §2.3, §5): each hands out
/// keys, secrets or credentials of a data plane.
pub const CREDENTIAL_FAMILY: [&str; 30] = [
    "microsoft.storage/storageaccounts/listkeys/action",
    "microsoft.web/sites/publishxml/action",
    "microsoft.web/sites/slots/publishxml/action",
    "microsoft.web/sites/config/list/action",
    "microsoft.web/sites/host/listkeys/action",
    "microsoft.web/sites/functions/listkeys/action",
    "microsoft.containerregistry/registries/listcredentials/action",
    "microsoft.documentdb/databaseaccounts/listkeys/action",
    "microsoft.documentdb/databaseaccounts/readonlykeys/action",
    "microsoft.documentdb/databaseaccounts/listconnectionstrings/action",
    "microsoft.containerservice/managedclusters/listclusteradmincredential/action",
    "microsoft.containerservice/managedclusters/listclusterusercredential/action",
    "microsoft.app/containerapps/listsecrets/action",
    "microsoft.apimanagement/service/namedvalues/listvalue/action",
    "microsoft.servicebus/namespaces/authorizationrules/listkeys/action",
    "microsoft.eventhub/namespaces/authorizationrules/listkeys/action",
    "microsoft.relay/namespaces/authorizationrules/listkeys/action",
    "microsoft.appconfiguration/configurationstores/listkeys/action",
    "microsoft.batch/batchaccounts/listkeys/action",
    "microsoft.cognitiveservices/accounts/listkeys/action",
    "microsoft.cache/redis/listkeys/action",
    "microsoft.search/searchservices/listadminkeys/action",
    "microsoft.machinelearningservices/workspaces/connections/listsecrets/action",
    "microsoft.machinelearningservices/workspaces/listkeys/action",
    "microsoft.operationalinsights/workspaces/sharedkeys/action",
    "microsoft.signalrservice/signalr/listkeys/action",
    "microsoft.maps/accounts/listkeys/action",
    "microsoft.automation/automationaccounts/listkeys/action",
    "microsoft.storage/storageaccounts/listaccountsas/action",
    "microsoft.storage/storageaccounts/listservicesas/action",
];

pub struct CredentialHarvest;

static CREDENTIAL_HARVEST: RuleMeta = RuleMeta {
    id: "AH-CRED-002",
    version: 1,
    title: "Credentials harvested from several resource providers",
    description: "One actor calls several distinct credential-handing operations (storage keys, \
        web publishing profiles and app settings, registry credentials, Cosmos DB keys, AKS \
        kubeconfigs, Service Bus / Event Hubs keys, …) across at least two resource providers in a \
        short time: the pattern of MicroBurst Get-AzPasswords.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Credential Access"],
    techniques: &["T1552", "T1555"],
    defender_alerts: &[
        "ARM_AnomalousOperation.CredentialAccess",
        "ARM_AnomalousServiceOperation.CredentialAccess",
    ],
    references: &["https://github.com/NetSPI/MicroBurst/blob/master/Az/Get-AzPasswords.ps1"],
    guidance: "Treat every credential listed as exposed: rotate keys, regenerate publishing \
        profiles, reset registry admin passwords and kubeconfigs. Then look for their use in the \
        data-plane logs of each service.",
    false_positives: "Deployment pipelines that read several connection strings in one run; they \
        repeat on a schedule from a known service principal.",
    params: &[
        ParamSpec {
            name: "min_operations",
            kind: ParamKind::Count,
            default: 3,
            doc: "distinct credential operations",
        },
        ParamSpec {
            name: "min_providers",
            kind: ParamKind::Count,
            default: 2,
            doc: "distinct resource providers",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 1800,
            doc: "time window",
        },
    ],
};

impl Rule for CredentialHarvest {
    fn meta(&self) -> &'static RuleMeta {
        &CREDENTIAL_HARVEST
    }
    fn candidates(&self) -> OpFilter {
        op_in(&CREDENTIAL_FAMILY)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (k, np, w) = (
            p.count("min_operations"),
            p.count("min_providers"),
            p.window("window"),
        );
        let mut hits = Vec::new();
        for idx in super::super::events::by_actor(ev).into_values() {
            let ops: Vec<_> = logical_ops(ev, &idx)
                .into_iter()
                .filter(|o| !o.failed)
                .collect();
            for burst in distinct_burst(&ops, |o| ev[o.rows[0]].operation.to_string(), k, w) {
                let opnames: BTreeSet<&str> =
                    burst.iter().map(|o| &*ev[o.rows[0]].operation).collect();
                let providers: BTreeSet<&str> = opnames
                    .iter()
                    .map(|o| o.split('/').next().unwrap_or(""))
                    .collect();
                if providers.len() < np {
                    continue;
                }
                let (t0, t1) = (burst[0].time, burst[burst.len() - 1].time);
                let mut rows: Vec<usize> =
                    burst.iter().flat_map(|o| o.rows.iter().copied()).collect();
                rows.sort_unstable();
                hits.push(Hit::new(
                    rows,
                    format!(
                        "{} distinct credential operations across {} providers in {} ({})",
                        opnames.len(),
                        providers.len(),
                        human_duration(t1 - t0),
                        providers.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        hits
    }
}

pub struct KeyVaultPolicy;

static KEY_VAULT_POLICY: RuleMeta = RuleMeta {
    id: "AH-CRED-003",
    version: 1,
    title: "Key Vault access policy flipped or self-granted",
    description: "A Key Vault access policy is changed twice by the same actor within minutes (grant, \
        read the secrets on the data plane, revoke: Get-AzPasswords -ModifyPolicies and PowerZure), or \
        an actor grants itself secret, key or certificate permissions.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Credential Access", "Privilege Escalation"],
    techniques: &["T1555", "T1098"],
    defender_alerts: &[
        "ARM_MicroBurst.AzKeyVaultSecretsREST",
        "ARM_MicroBurst.AzKeyVaultKeysREST",
    ],
    references: &["https://github.com/NetSPI/MicroBurst/blob/master/Az/Get-AzPasswords.ps1"],
    guidance: "Read the vault's AuditEvent resource log for SecretGet/KeyGet/CertificateGet between \
        the two policy changes; rotate every secret read. Check who else the actor granted.",
    false_positives: "Infrastructure-as-code runs that rewrite access policies; they come from a \
        pipeline identity and do not grant the caller itself.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 900,
        doc: "grant → revoke window",
    }],
};

/// The vault id of an access-policy (or vault) event.
fn vault_of(e: &Ev) -> Option<String> {
    id_through(e.resource_id.as_deref()?, "vaults")
}

/// Permissions granted to `oid` in an access-policy body, if any.
fn self_grant(e: &Ev) -> Option<String> {
    let oid = e.principal_id.as_deref()?;
    for body in e.bodies() {
        let Some(policies) =
            jpath(&body, &["properties", "accessPolicies"]).and_then(|v| v.as_array())
        else {
            continue;
        };
        for pol in policies {
            let who = pol
                .get("objectId")
                .or_else(|| pol.get("ObjectId"))
                .map(jtext)
                .unwrap_or_default();
            if !who.eq_ignore_ascii_case(oid) {
                continue;
            }
            let Some(perms) = jpath(pol, &["permissions"]) else {
                continue;
            };
            let mut granted = Vec::new();
            for kind in ["secrets", "keys", "certificates"] {
                if let Some(list) = jpath(perms, &[kind]).and_then(|v| v.as_array()) {
                    let l: Vec<String> =
                        list.iter().map(|x| jtext(x).to_ascii_lowercase()).collect();
                    if l.iter()
                        .any(|x| matches!(x.as_str(), "get" | "list" | "all" | "export" | "backup"))
                    {
                        granted.push(format!("{kind}: {}", l.join("/")));
                    }
                }
            }
            if !granted.is_empty() {
                return Some(granted.join(", "));
            }
        }
    }
    None
}

impl Rule for KeyVaultPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &KEY_VAULT_POLICY
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.keyvault/vaults/accesspolicies/write",
            "microsoft.keyvault/vaults/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        // Self-grants, one event at a time.
        hits.extend(event_hits(ev, w, false, |e| {
            self_grant(e).map(|g| {
                Judgement::new(format!(
                    "granted itself {g} on vault {}",
                    vault_of(e).unwrap_or_default()
                ))
                .confidence(Confidence::High)
            })
        }));
        // Flips: two access-policy changes of one vault by one actor within the window.
        for idx in super::super::events::by_actor(ev).into_values() {
            let ops: Vec<_> = logical_ops(ev, &idx)
                .into_iter()
                .filter(|o| !o.failed && ev[o.rows[0]].operation.ends_with("accesspolicies/write"))
                .collect();
            let mut used = vec![false; ops.len()];
            for i in 0..ops.len() {
                if used[i] {
                    continue;
                }
                let v = vault_of(&ev[ops[i].rows[0]]);
                if let Some(j) = (i + 1..ops.len()).find(|&j| {
                    !used[j] && vault_of(&ev[ops[j].rows[0]]) == v && ops[j].time - ops[i].time <= w
                }) {
                    used[i] = true;
                    used[j] = true;
                    let kind = |o: &super::super::events::Op| {
                        ev[o.rows[0]]
                            .resource_name
                            .clone()
                            .unwrap_or_else(|| "write".into())
                    };
                    let mut rows: Vec<usize> =
                        ops[i].rows.iter().chain(&ops[j].rows).copied().collect();
                    rows.sort_unstable();
                    hits.push(Hit::new(
                        rows,
                        format!(
                            "access policy of vault {} changed twice in {} ({} then {})",
                            v.unwrap_or_default(),
                            human_duration(ops[j].time - ops[i].time),
                            kind(&ops[i]),
                            kind(&ops[j])
                        ),
                    ));
                }
            }
        }
        hits
    }
}

pub struct VmAccessReset;

static VM_ACCESS_RESET: RuleMeta = RuleMeta {
    id: "AH-CRED-004",
    version: 1,
    title: "VM password or SSH key reset through the VMAccess extension",
    description: "The VMAccess extension (VMAccessAgent, VMAccessForLinux) is written to a VM: it \
        resets a local password or SSH key, or creates a local administrator, without logging in.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Credential Access", "Persistence"],
    techniques: &["T1098", "T1078.004"],
    defender_alerts: &[
        "VM_VMAccessUnusualPasswordReset",
        "VM_VMAccessUnusualSSHReset",
        "VM_VMAccessUnusualConfigReset",
    ],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-azure-vm-extensions",
    ],
    guidance: "Identify the user name in the extension settings; check the VM for that local account, \
        its logons and new SSH keys, and reset it.",
    false_positives: "Administrators recovering access to a VM; expect a ticket and a known admin.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

/// The extension type of an extension write: from the bodies, else the name.
pub fn extension_type(e: &Ev) -> String {
    for b in e.bodies() {
        if let Some(t) = jpath(&b, &["properties", "type"]) {
            return jtext(t).to_ascii_lowercase();
        }
    }
    e.resource_name.as_deref().unwrap_or_default().to_owned()
}

/// The public settings of an extension write (from either body).
pub fn extension_settings(e: &Ev) -> Option<serde_json::Value> {
    e.bodies()
        .into_iter()
        .find_map(|b| jpath(&b, &["properties", "settings"]).cloned())
}

impl Rule for VmAccessReset {
    fn meta(&self) -> &'static RuleMeta {
        &VM_ACCESS_RESET
    }
    fn candidates(&self) -> OpFilter {
        op_in(&EXTENSION_WRITES)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, |e| {
            let t = extension_type(e);
            if !t.contains("vmaccess") {
                return None;
            }
            let vm = id_through(e.resource_id.as_deref().unwrap_or(""), "virtualmachines")
                .unwrap_or_default();
            let settings = extension_settings(e);
            let user = settings
                .as_ref()
                .and_then(|s| jpath(s, &["username"]))
                .map(jtext);
            let ssh = settings
                .as_ref()
                .is_some_and(|s| jpath(s, &["reset_ssh"]).is_some());
            let what = match (user, ssh) {
                (Some(u), _) => format!("reset of local user {u:?}"),
                (None, true) => "SSH configuration reset".into(),
                (None, false) => "VMAccess extension written".into(),
            };
            Some(Judgement::new(format!("{what} on {vm}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    fn sa(n: usize, rg: &str) -> String {
        format!(
            "/subscriptions/s1/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/acct{n}"
        )
    }
    const LK: &str = "Microsoft.Storage/storageAccounts/listKeys/action";

    #[test]
    fn key_sweep_fires_on_five_accounts() {
        let v: Vec<Ev> = (0..5)
            .map(|n| {
                ev(
                    &format!("2024-05-01T10:{:02}:{:02}Z", n * 20 / 60, n * 20 % 60),
                    "mallory",
                    LK,
                    &sa(n, "rg"),
                )
            })
            .collect();
        let hits = run(&StorageKeySweep, v);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .why
                .starts_with("listKeys on 5 distinct storage accounts in 1m20s"),
            "{}",
            hits[0].why
        );
    }

    #[test]
    fn key_sweep_near_misses() {
        // Four accounts (N is 5).
        let v: Vec<Ev> = (0..4)
            .map(|n| {
                ev(
                    &format!("2024-05-01T10:{:02}:{:02}Z", n * 20 / 60, n * 20 % 60),
                    "mallory",
                    LK,
                    &sa(n, "rg"),
                )
            })
            .collect();
        assert!(run(&StorageKeySweep, v).is_empty());
        // The same account five times.
        let v: Vec<Ev> = (0..5)
            .map(|n| {
                ev(
                    &format!("2024-05-01T10:{:02}:{:02}Z", n * 20 / 60, n * 20 % 60),
                    "ops",
                    LK,
                    &sa(1, "rg"),
                )
            })
            .collect();
        assert!(run(&StorageKeySweep, v).is_empty());
        // Cloud Shell storage does not count.
        let mut v: Vec<Ev> = (0..4)
            .map(|n| {
                ev(
                    &format!("2024-05-01T10:{:02}:{:02}Z", n * 20 / 60, n * 20 % 60),
                    "u",
                    LK,
                    &sa(n, "rg"),
                )
            })
            .collect();
        v.push(ev(
            "2024-05-01T10:01:30Z",
            "u",
            LK,
            &sa(9, "cloud-shell-storage-westeurope"),
        ));
        assert!(run(&StorageKeySweep, v).is_empty());
        // Five accounts over an hour.
        let v: Vec<Ev> = (0..5)
            .map(|n| ev(&format!("2024-05-01T1{n}:00:00Z"), "u", LK, &sa(n, "rg")))
            .collect();
        assert!(run(&StorageKeySweep, v).is_empty());
    }

    #[test]
    fn harvest_fires_across_providers() {
        let v = vec![
            ev("2024-05-01T10:00:00Z", "m", LK, &sa(1, "rg")),
            ev(
                "2024-05-01T10:01:00Z",
                "m",
                "Microsoft.Web/sites/publishxml/action",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app1",
            ),
            ev(
                "2024-05-01T10:02:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/listCredentials/action",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r1",
            ),
        ];
        let hits = run(&CredentialHarvest, v);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .why
                .contains("3 distinct credential operations across 3 providers"),
            "{}",
            hits[0].why
        );
    }

    #[test]
    fn harvest_near_miss_one_provider() {
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Web/sites/publishxml/action",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app1",
            ),
            ev(
                "2024-05-01T10:01:00Z",
                "m",
                "Microsoft.Web/sites/config/list/action",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app1/config/appsettings",
            ),
            ev(
                "2024-05-01T10:02:00Z",
                "m",
                "Microsoft.Web/sites/host/listkeys/action",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app1/host/default",
            ),
        ];
        assert!(run(&CredentialHarvest, v).is_empty());
    }

    const AP: &str = "Microsoft.KeyVault/vaults/accessPolicies/write";
    fn ap(kind: &str) -> String {
        format!(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/accessPolicies/{kind}"
        )
    }

    #[test]
    fn key_vault_flip_and_self_grant() {
        let hits = run(
            &KeyVaultPolicy,
            vec![
                ev("2024-05-01T10:00:00Z", "m", AP, &ap("add")),
                ev("2024-05-01T10:04:00Z", "m", AP, &ap("remove")),
            ],
        );
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .why
                .contains("changed twice in 4m00s (add then remove)"),
            "{}",
            hits[0].why
        );
        let mut e = ev("2024-05-01T10:00:00Z", "oid-1", AP, &ap("add"));
        e.principal_id = Some("oid-1".into());
        let e = e.request(r#"{"properties":{"accessPolicies":[{"tenantId":"t","objectId":"OID-1","permissions":{"secrets":["Get","List"]}}]}}"#);
        let hits = run(&KeyVaultPolicy, vec![e]);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0].why.contains("granted itself secrets: get/list"),
            "{}",
            hits[0].why
        );
    }

    #[test]
    fn key_vault_near_misses() {
        // One change only; and two changes an hour apart.
        assert!(
            run(
                &KeyVaultPolicy,
                vec![ev("2024-05-01T10:00:00Z", "m", AP, &ap("add"))]
            )
            .is_empty()
        );
        let v = vec![
            ev("2024-05-01T10:00:00Z", "m", AP, &ap("add")),
            ev("2024-05-01T11:00:00Z", "m", AP, &ap("remove")),
        ];
        assert!(run(&KeyVaultPolicy, v).is_empty());
        // Granting someone else.
        let mut e = ev("2024-05-01T10:00:00Z", "oid-1", AP, &ap("add"));
        e.principal_id = Some("oid-1".into());
        let e = e.request(r#"{"properties":{"accessPolicies":[{"objectId":"oid-2","permissions":{"secrets":["get"]}}]}}"#);
        assert!(run(&KeyVaultPolicy, vec![e]).is_empty());
    }

    const EXT: &str = "Microsoft.Compute/virtualMachines/extensions/write";
    fn ext(name: &str) -> String {
        format!(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/{name}"
        )
    }

    #[test]
    fn vmaccess_reset() {
        let e = ev("2024-05-01T10:00:00Z", "m", EXT, &ext("enablevmaccess"))
            .request(r#"{"properties":{"publisher":"Microsoft.Compute","type":"VMAccessAgent","settings":{"UserName":"backdoor"}}}"#);
        let hits = run(&VmAccessReset, vec![e]);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0].why.contains("reset of local user \"backdoor\""),
            "{}",
            hits[0].why
        );
        let e = ev("2024-05-01T10:00:00Z", "m", EXT, &ext("bginfo"))
            .request(r#"{"properties":{"publisher":"Microsoft.Compute","type":"BGInfo"}}"#);
        assert!(run(&VmAccessReset, vec![e]).is_empty());
    }
}
