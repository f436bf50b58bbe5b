//! Impact: mass deletion, expensive compute, vault and resource-group
//! deletion.

use std::collections::BTreeSet;

use super::super::events::{
    Ev, Events, clusters, human_duration, jpath, jtext, ok_ops_by_actor, op_ends_with, op_in,
};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits};

static MASS_DELETE: RuleMeta = RuleMeta {
    id: "AH-IMPA-001",
    version: 1,
    title: "Mass deletion of resources",
    description: "One actor deletes many resources in a short time (logical operations counted once): \
        destruction or ransom.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Impact"],
    techniques: &["T1485"],
    defender_alerts: &[
        "ARM_AnomalousOperation.Impact",
        "ARM_AnomalousServiceOperation.Impact",
    ],
    references: &["https://github.com/Azure/Azure-Sentinel/tree/master/Solutions/Azure%20Activity"],
    guidance: "List what was deleted and what can be recovered (soft delete, backups, snapshots); \
        suspend the actor.",
    false_positives: "Tearing down test environments; usually a whole resource group at once by its \
        owner or a pipeline.",
    params: &[
        ParamSpec {
            name: "min_deletes",
            kind: ParamKind::Count,
            default: 10,
            doc: "deletions",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 600,
            doc: "time window",
        },
    ],
};

pub struct MassDeletion;

impl Rule for MassDeletion {
    fn meta(&self) -> &'static RuleMeta {
        &MASS_DELETE
    }
    fn candidates(&self) -> OpFilter {
        op_ends_with(&["/delete"])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (n, w) = (p.count("min_deletes"), p.window("window"));
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            // Dense stretches: each op within the window of the previous one;
            // a stretch counts when some window of it holds N deletions.
            for c in clusters(ops, |o| o.time, w) {
                let dense = (0..c.len()).any(|i| {
                    let j = c.partition_point(|o| o.time <= c[i].time + w);
                    j - i >= n
                });
                if !dense {
                    continue;
                }
                let types: BTreeSet<&str> = c
                    .iter()
                    .filter_map(|o| ev[o.rows[0]].resource_type.as_deref())
                    .collect();
                let mut rows: Vec<usize> = c.iter().flat_map(|o| o.rows.iter().copied()).collect();
                rows.sort_unstable();
                hits.push(Hit::new(
                    rows,
                    format!(
                        "{} deletions in {} ({} resource types)",
                        c.len(),
                        human_duration(c[c.len() - 1].time - c[0].time),
                        types.len()
                    ),
                ));
            }
        }
        hits
    }
}

/// VM sizes that mark GPU or very large machines (Sentinel's token list).
const EXPENSIVE_SIZE_TOKENS: [&str; 19] = [
    "416", "208", "192", "128", "120", "96", "80", "72", "64", "48", "44", "40", "g5", "gs5", "g4",
    "gs4", "nc12", "nc24", "nv24",
];

fn expensive_size(size: &str) -> bool {
    let s = size.to_ascii_lowercase();
    let s = s.strip_prefix("standard_").unwrap_or(&s);
    let gpu =
        s.starts_with("nc") || s.starts_with("nd") || s.starts_with("nv") || s.starts_with("ng");
    gpu || EXPENSIVE_SIZE_TOKENS.iter().any(|t| {
        s.split(['_', '-']).any(|part| {
            let digits: String = part.chars().filter(|c| c.is_ascii_digit()).collect();
            part == *t || (!digits.is_empty() && digits == *t)
        })
    })
}

fn vm_size(e: &Ev) -> Option<String> {
    e.bodies().into_iter().find_map(|b| {
        jpath(&b, &["properties", "hardwareProfile", "vmSize"])
            .or_else(|| jpath(&b, &["sku", "name"]))
            .map(jtext)
    })
}

static EXPENSIVE_COMPUTE: RuleMeta = RuleMeta {
    id: "AH-IMPA-002",
    version: 1,
    title: "Expensive compute created (GPU, very large sizes, bursts)",
    description: "A VM or scale set is created with a GPU or very large size, or one actor creates \
        many VMs / scale sets in a short time: crypto-mining and resource hijacking.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Impact"],
    techniques: &["T1496"],
    defender_alerts: &["ARM_SuspiciousComputeCreation"],
    references: &[
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Azure%20Activity/Analytic%20Rules/Creation_of_Expensive_Computes_in_Azure.yaml",
    ],
    guidance: "Check the new machines' purpose and owner; look for mining pools in their network \
        traffic and the custom data / extensions they were created with.",
    false_positives: "Planned HPC or ML workloads by their teams.",
    params: &[
        ParamSpec {
            name: "min_creations",
            kind: ParamKind::Count,
            default: 10,
            doc: "VM / scale-set writes for a burst",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 3600,
            doc: "time window",
        },
    ],
};

pub struct ExpensiveCompute;

impl Rule for ExpensiveCompute {
    fn meta(&self) -> &'static RuleMeta {
        &EXPENSIVE_COMPUTE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.compute/virtualmachines/write",
            "microsoft.compute/virtualmachinescalesets/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (n, w) = (p.count("min_creations"), p.window("window"));
        let mut hits = event_hits(ev, w, false, |e| {
            let size = vm_size(e)?;
            expensive_size(&size).then(|| {
                Judgement::new(format!(
                    "{} created with size {size}",
                    e.resource_name.as_deref().unwrap_or_default().to_owned()
                ))
            })
        });
        for ops in ok_ops_by_actor(ev) {
            for c in clusters(ops, |o| o.time, w) {
                let names: BTreeSet<&str> = c
                    .iter()
                    .filter_map(|o| ev[o.rows[0]].resource_name.as_deref())
                    .collect();
                if names.len() < n {
                    continue;
                }
                let mut rows: Vec<usize> = c.iter().flat_map(|o| o.rows.iter().copied()).collect();
                rows.sort_unstable();
                hits.push(Hit::new(
                    rows,
                    format!(
                        "{} VMs or scale sets written in {}",
                        names.len(),
                        human_duration(c[c.len() - 1].time - c[0].time)
                    ),
                ));
            }
        }
        hits
    }
}

static VAULT_RG_DELETE: RuleMeta = RuleMeta {
    id: "AH-IMPA-003",
    version: 1,
    title: "Key Vault or resource group deleted",
    description: "A Key Vault or a whole resource group is deleted; purging a deleted vault makes the \
        loss permanent.",
    severity: Severity::Medium,
    confidence: Confidence::Low,
    tactics: &["Impact"],
    techniques: &["T1485"],
    defender_alerts: &[],
    references: &["https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview"],
    guidance: "Recover the vault while it is soft-deleted; for resource groups, list the resources \
        that went with it and restore from backups.",
    false_positives: "Decommissioning by the owner.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct VaultOrGroupDeletion;

impl Rule for VaultOrGroupDeletion {
    fn meta(&self) -> &'static RuleMeta {
        &VAULT_RG_DELETE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.keyvault/vaults/delete",
            "microsoft.keyvault/locations/deletedvaults/purge/action",
            "microsoft.resources/subscriptions/resourcegroups/delete",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, |e| {
            let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
            Some(match &*e.operation {
                "microsoft.keyvault/vaults/delete" => {
                    Judgement::new(format!("Key Vault {name} deleted"))
                }
                "microsoft.keyvault/locations/deletedvaults/purge/action" => {
                    Judgement::new(format!("deleted Key Vault {name} purged"))
                        .severity(Severity::High)
                        .confidence(Confidence::Medium)
                }
                _ => Judgement::new(format!("resource group {name} deleted")),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    fn del(n: usize, min: usize) -> Ev<'static> {
        ev(
            &format!("2024-05-01T10:{min:02}:{:02}Z", n % 60),
            "m",
            "Microsoft.Compute/disks/delete",
            &format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/d{n}"),
        )
    }

    #[test]
    fn mass_delete() {
        let h = run(&MassDeletion, (0..10).map(|n| del(n, 0)).collect());
        assert_eq!(h.len(), 1);
        assert!(h[0].why.starts_with("10 deletions in 9s"), "{}", h[0].why);
        // Near miss: nine.
        assert!(run(&MassDeletion, (0..9).map(|n| del(n, 0)).collect()).is_empty());
        // Near miss: ten, twenty minutes apart.
        let spread: Vec<Ev> = (0..10)
            .map(|n| {
                let mut e = del(n, 0);
                e.time += n as i64 * 1_200_000_000;
                e
            })
            .collect();
        assert!(run(&MassDeletion, spread).is_empty());
    }

    #[test]
    fn expensive() {
        let vm = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/miner1";
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Compute/virtualMachines/write",
            vm,
        )
        .request(r#"{"properties":{"hardwareProfile":{"vmSize":"Standard_NC24ads_A100_v4"}}}"#);
        let h = run(&ExpensiveCompute, vec![e]);
        assert_eq!(h.len(), 1);
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Compute/virtualMachines/write",
            vm,
        )
        .request(r#"{"properties":{"hardwareProfile":{"vmSize":"Standard_B2s"}}}"#);
        assert!(run(&ExpensiveCompute, vec![e]).is_empty());
        assert!(expensive_size("Standard_D96as_v5"));
        assert!(expensive_size("Standard_NV24"));
        assert!(!expensive_size("Standard_D4s_v5"));
    }

    #[test]
    fn vault_and_group_delete() {
        let rg = "/subscriptions/s1/resourceGroups/prod";
        let h = run(
            &VaultOrGroupDeletion,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Resources/subscriptions/resourceGroups/delete",
                rg,
            )],
        );
        assert_eq!(h[0].why, "resource group prod deleted");
        let h = run(
            &VaultOrGroupDeletion,
            vec![
                ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Resources/subscriptions/resourceGroups/delete",
                    rg,
                )
                .status("failed"),
            ],
        );
        assert!(h.is_empty());
    }
}
