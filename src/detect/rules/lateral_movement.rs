//! Management plane → data plane: operations that hand out disk SAS URLs,
//! storage SAS, publishing credentials, browser RDP links, serial consoles,
//! and recover deleted vaults.

use std::collections::BTreeMap;

use super::super::events::{
    Events, human_duration, jpath, jtext, logical_ops, ok_ops_by_actor, op_in,
};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits, id_through};

static DISK_SAS: RuleMeta = RuleMeta {
    id: "AH-LATM-001",
    version: 1,
    title: "Disk or snapshot exported with a SAS URL",
    description: "beginGetAccess on a managed disk or snapshot mints a URL that downloads the whole \
        disk (PowerZure Get-AzureVMDisk; Stratus disk export). A snapshot written by the same actor \
        shortly before (snapshot the OS disk, then export it) raises severity.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Exfiltration", "Credential Access"],
    techniques: &["T1537", "T1003"],
    defender_alerts: &[],
    references: &["https://github.com/hausec/PowerZure"],
    guidance: "Treat the disk's contents as stolen (local password hashes, keys, data); revoke access \
        (endGetAccess) and look for the download in the network logs if available.",
    false_positives: "Backup and migration tools that export disks, from known identities.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "snapshot → export window",
    }],
};

pub struct DiskExport;

impl Rule for DiskExport {
    fn meta(&self) -> &'static RuleMeta {
        &DISK_SAS
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.compute/disks/begingetaccess/action",
            "microsoft.compute/snapshots/begingetaccess/action",
            "microsoft.compute/snapshots/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            for (k, op) in ops.iter().enumerate() {
                let e = &ev[op.rows[0]];
                if !e.operation.ends_with("begingetaccess/action") {
                    continue;
                }
                let kind = if e.operation.contains("/snapshots/") {
                    "snapshot"
                } else {
                    "disk"
                };
                let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
                let snap = ops[..k].iter().rev().find(|o| {
                    let s = &ev[o.rows[0]];
                    s.operation.ends_with("snapshots/write") && op.time - o.time <= w
                });
                let mut rows = op.rows.clone();
                match snap {
                    Some(s) => {
                        rows.extend(&s.rows);
                        rows.sort_unstable();
                        hits.push(
                            Hit::new(
                                rows,
                                format!(
                                    "{kind} {name} exported with a SAS URL {} after a snapshot was taken",
                                    human_duration(op.time - s.time)
                                ),
                            )
                            .severity(Severity::High)
                            .confidence(Confidence::High),
                        );
                    }
                    None => hits.push(Hit::new(
                        rows,
                        format!("{kind} {name} exported with a SAS URL"),
                    )),
                }
            }
        }
        hits
    }
}

/// (operations, rule meta, what is handed out) of the simple hand-out rules.
macro_rules! handout_rule {
    ($ty:ident, $meta:ident, $ops:expr, $what:expr) => {
        pub struct $ty;

        impl Rule for $ty {
            fn meta(&self) -> &'static RuleMeta {
                &$meta
            }
            fn candidates(&self) -> OpFilter {
                op_in(&$ops)
            }
            fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
                let what: fn(&super::super::events::Ev) -> Option<Judgement> = $what;
                event_hits(ev, p.window("window"), false, what)
            }
        }
    };
}

static STORAGE_SAS: RuleMeta = RuleMeta {
    id: "AH-LATM-002",
    version: 1,
    title: "Storage SAS token minted through ARM",
    description: "listAccountSas / listServiceSas create a shared access signature for a storage \
        account: data-plane access that outlives the caller's role and is logged under no identity.",
    severity: Severity::Medium,
    confidence: Confidence::Low,
    tactics: &["Credential Access", "Lateral Movement"],
    techniques: &["T1528", "T1550"],
    defender_alerts: &[],
    references: &[
        "https://learn.microsoft.com/rest/api/storagerp/storage-accounts/list-account-sas",
    ],
    guidance: "The SAS lifetime and permissions are in the request body when logged; rotate the \
        account keys to invalidate account SAS tokens.",
    false_positives: "Applications generating SAS for uploads; they do so continuously from a \
        service identity.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

handout_rule!(
    StorageSas,
    STORAGE_SAS,
    [
        "microsoft.storage/storageaccounts/listaccountsas/action",
        "microsoft.storage/storageaccounts/listservicesas/action"
    ],
    |e| {
        let kind = if e.operation.contains("listaccountsas") {
            "account"
        } else {
            "service"
        };
        Some(Judgement::new(format!(
            "{kind} SAS minted for {}",
            e.resource_name.as_deref().unwrap_or_default().to_owned()
        )))
    }
);

static PUBLISHING: RuleMeta = RuleMeta {
    id: "AH-LATM-003",
    version: 1,
    title: "Web app publishing credentials or settings read",
    description: "The publishing profile (FTP / Web Deploy / Kudu credentials), app settings and \
        connection strings of a web or function app are read, or basic-auth publishing is re-enabled: \
        code deployment and secrets without app-level sign-in (Invoke-AzAppServicesCMD, \
        Get-AzPasswords -AppServices).",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Credential Access", "Lateral Movement"],
    techniques: &["T1552.001", "T1078"],
    defender_alerts: &[],
    references: &["https://github.com/NetSPI/MicroBurst"],
    guidance: "Reset the publishing credentials, rotate the secrets in the app settings, and check \
        the app's deployment log and Kudu (SCM) access after this time.",
    false_positives: "Visual Studio / CI deployments download publishing profiles from known \
        identities.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

handout_rule!(
    PublishingCredentials,
    PUBLISHING,
    [
        "microsoft.web/sites/publishxml/action",
        "microsoft.web/sites/slots/publishxml/action",
        "microsoft.web/sites/config/list/action",
        "microsoft.web/sites/slots/config/list/action",
        "microsoft.web/sites/publishingcredentials/action",
        "microsoft.web/sites/basicpublishingcredentialspolicies/write"
    ],
    |e| {
        let app = id_through(e.resource_id.as_deref().unwrap_or(""), "sites").unwrap_or_default();
        let app = app.rsplit('/').next().unwrap_or("").to_owned();
        if e.operation
            .ends_with("basicpublishingcredentialspolicies/write")
        {
            let on = e
                .bodies()
                .iter()
                .any(|b| jpath(b, &["properties", "allow"]).is_some_and(|v| jtext(v) == "true"));
            return on.then(|| {
                Judgement::new(format!(
                    "basic-auth publishing ({}) enabled on {app}",
                    e.resource_name.as_deref().unwrap_or_default().to_owned()
                ))
            });
        }
        let what = if e.operation.contains("publishxml") {
            "publishing profile"
        } else if e.operation.contains("config/list") {
            "app settings / connection strings"
        } else {
            "publishing credentials"
        };
        Some(Judgement::new(format!("{what} of {app} read")))
    }
);

static BASTION: RuleMeta = RuleMeta {
    id: "AH-LATM-004",
    version: 1,
    title: "Bastion shareable link created",
    description: "A Bastion shareable link gives browser RDP/SSH to a VM to anyone holding the URL, \
        without signing in to Azure (Stratus create-bastion-shareable-link).",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Persistence", "Lateral Movement"],
    techniques: &["T1021", "T1133"],
    defender_alerts: &[],
    references: &[
        "https://stratus-red-team.cloud/attack-techniques/azure/azure.persistence.create-bastion-shareable-link/",
    ],
    guidance: "Delete the shareable links (deleteShareableLinks) and check the VMs for sessions.",
    false_positives: "Support access for third parties, arranged in advance.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

handout_rule!(
    BastionShareableLink,
    BASTION,
    [
        "microsoft.network/bastionhosts/createshareablelinks/action",
        "microsoft.network/bastionhosts/getshareablelinks/action"
    ],
    |e| {
        let verb = if e.operation.contains("create") {
            "created"
        } else {
            "listed"
        };
        Some(Judgement::new(format!(
            "shareable links {verb} on Bastion {}",
            e.resource_name.as_deref().unwrap_or_default().to_owned()
        )))
    }
);

static SERIAL: RuleMeta = RuleMeta {
    id: "AH-LATM-005",
    version: 1,
    title: "Serial console connection",
    description: "An interactive serial console session to a VM: a shell that bypasses network \
        security groups.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Lateral Movement", "Execution"],
    techniques: &["T1021"],
    defender_alerts: &[],
    references: &[
        "https://learn.microsoft.com/troubleshoot/azure/virtual-machines/serial-console-overview",
    ],
    guidance: "Check the VM's console history and logons; serial console is for break-glass recovery.",
    false_positives: "Recovery of an unreachable VM by its administrator.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

handout_rule!(
    SerialConsole,
    SERIAL,
    ["microsoft.serialconsole/serialports/connect/action"],
    |e| {
        let vm = id_through(e.resource_id.as_deref().unwrap_or(""), "virtualmachines")
            .unwrap_or_default();
        Some(Judgement::new(format!(
            "serial console opened on {}",
            vm.rsplit('/').next().unwrap_or("")
        )))
    }
);

static VAULT_RECOVERY: RuleMeta = RuleMeta {
    id: "AH-LATM-006",
    version: 1,
    title: "Deleted Key Vault recovered by someone else",
    description: "A soft-deleted Key Vault is recovered (vault write with createMode recover) by a \
        different actor than the one who deleted it: the recovered vault's secrets become reachable \
        with the recoverer's access.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Lateral Movement", "Credential Access"],
    techniques: &["T1555"],
    defender_alerts: &["Arm_Suspicious_Vault_Recovering"],
    references: &["https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager"],
    guidance: "Check the vault's access policies after recovery and its AuditEvent log for secret \
        reads; confirm with both actors.",
    false_positives: "An administrator restoring a vault another team deleted by mistake.",
    params: &[],
};

pub struct VaultRecovery;

impl Rule for VaultRecovery {
    fn meta(&self) -> &'static RuleMeta {
        &VAULT_RECOVERY
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.keyvault/vaults/delete",
            "microsoft.keyvault/vaults/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, _p: &Params) -> Vec<Hit> {
        let all: Vec<usize> = (0..ev.len()).collect();
        let ops: Vec<_> = logical_ops(ev, &all)
            .into_iter()
            .filter(|o| !o.failed)
            .collect();
        let mut deleted: BTreeMap<String, &super::super::events::Op> = BTreeMap::new();
        let mut hits = Vec::new();
        for op in &ops {
            let e = &ev[op.rows[0]];
            let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
            if e.operation.ends_with("/delete") {
                deleted.insert(name, op);
                continue;
            }
            let recover = op.rows.iter().any(|&i| {
                ev[i].bodies().iter().any(|b| {
                    jpath(b, &["properties", "createMode"])
                        .is_some_and(|m| jtext(m).eq_ignore_ascii_case("recover"))
                })
            });
            if !recover {
                continue;
            }
            if let Some(d) = deleted.get(&name) {
                let deleter = &ev[d.rows[0]].actor;
                if deleter != &e.actor {
                    let mut rows: Vec<usize> = d.rows.iter().chain(&op.rows).copied().collect();
                    rows.sort_unstable();
                    hits.push(
                        Hit::new(
                            rows,
                            format!(
                                "vault {name} deleted by {deleter} and recovered {} later by {}",
                                human_duration(op.time - d.time),
                                e.caller.clone().unwrap_or_else(|| e.actor.clone())
                            ),
                        )
                        .actor_row(op.rows[0]),
                    );
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {

    use super::super::super::events::testing::*;
    use super::*;

    #[test]
    fn disk_export() {
        let snap =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/snapshots/osdisk-snap";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Compute/snapshots/write",
                snap,
            ),
            ev(
                "2024-05-01T10:05:00Z",
                "m",
                "Microsoft.Compute/snapshots/beginGetAccess/action",
                snap,
            ),
        ];
        let h = run(&DiskExport, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Some(Severity::High));
        // A snapshot alone is not an export.
        assert!(
            run(
                &DiskExport,
                vec![ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Compute/snapshots/write",
                    snap
                )]
            )
            .is_empty()
        );
    }

    #[test]
    fn handouts() {
        let site = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app1";
        let h = run(
            &PublishingCredentials,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Web/sites/publishxml/action",
                site,
            )],
        );
        assert_eq!(h[0].why, "publishing profile of app1 read");
        // Near miss: basic-auth policy written but left off.
        let pol = format!("{site}/basicPublishingCredentialsPolicies/scm");
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write",
            &pol,
        )
        .request(r#"{"properties":{"allow":false}}"#);
        assert!(run(&PublishingCredentials, vec![e]).is_empty());
        let b = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bh1";
        assert_eq!(
            run(
                &BastionShareableLink,
                vec![ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Network/bastionHosts/createShareableLinks/action",
                    b
                )]
            )
            .len(),
            1
        );
        assert!(
            run(
                &BastionShareableLink,
                vec![
                    ev(
                        "2024-05-01T10:00:00Z",
                        "m",
                        "Microsoft.Network/bastionHosts/createShareableLinks/action",
                        b
                    )
                    .status("failed")
                ]
            )
            .is_empty()
        );
        let sa =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1";
        assert_eq!(
            run(
                &StorageSas,
                vec![ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Storage/storageAccounts/listAccountSas/action",
                    sa
                )]
            )
            .len(),
            1
        );
        let sc = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.SerialConsole/serialPorts/0";
        let h = run(
            &SerialConsole,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.SerialConsole/serialPorts/connect/action",
                sc,
            )],
        );
        assert_eq!(h[0].why, "serial console opened on vm1");
    }

    #[test]
    fn vault_recovery() {
        let kv = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "alice",
                "Microsoft.KeyVault/vaults/delete",
                kv,
            ),
            ev(
                "2024-05-03T10:00:00Z",
                "mallory",
                "Microsoft.KeyVault/vaults/write",
                kv,
            )
            .request(r#"{"properties":{"createMode":"recover"}}"#),
        ];
        let h = run(&VaultRecovery, v);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].why
                .contains("deleted by alice and recovered 48h00m later by mallory"),
            "{}",
            h[0].why
        );
        assert_eq!(h[0].actor_row, Some(1));
        // Near miss: the deleter recovers it.
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "alice",
                "Microsoft.KeyVault/vaults/delete",
                kv,
            ),
            ev(
                "2024-05-01T11:00:00Z",
                "alice",
                "Microsoft.KeyVault/vaults/write",
                kv,
            )
            .request(r#"{"properties":{"createMode":"recover"}}"#),
        ];
        assert!(run(&VaultRecovery, v).is_empty());
    }
}
