//! Persistence: Automation runbooks and webhooks, managed-identity
//! backdoors, userData command channels.

use std::collections::BTreeMap;

use super::super::events::{
    Ev, Events, Op, by_actor, clusters, human_duration, jpath, logical_ops, ok_ops_by_actor, op_in,
};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::execution::run_target;
use super::{id_through, is_random15, name_after};

/// Sample-runbook names PowerZure uses for its own code.
const POWERZURE_RUNBOOKS: [&str; 3] = [
    "azureautomationtutorialpowershell",
    "bashautomationtutorial",
    "automationtutorialpowershell",
];

const RUNBOOK_OPS: [&str; 8] = [
    "microsoft.automation/automationaccounts/runbooks/write",
    "microsoft.automation/automationaccounts/runbooks/draft/write",
    "microsoft.automation/automationaccounts/runbooks/draft/content/write",
    "microsoft.automation/automationaccounts/runbooks/publish/action",
    "microsoft.automation/automationaccounts/runbooks/draft/testjob/write",
    "microsoft.automation/automationaccounts/jobs/write",
    "microsoft.automation/automationaccounts/runbooks/delete",
    "microsoft.automation/automationaccounts/webhooks/write",
];

fn account_of(e: &Ev) -> Option<String> {
    id_through(e.resource_id.as_deref()?, "automationaccounts")
}

fn runbook_of(e: &Ev) -> Option<String> {
    name_after(e.resource_id.as_deref()?, "runbooks")
}

static EPHEMERAL_RUNBOOK: RuleMeta = RuleMeta {
    id: "AH-PERS-001",
    version: 1,
    title: "Ephemeral Automation runbook (run code, then delete it)",
    description: "A runbook is created, published or test-run, started, and deleted by the same actor \
        within minutes: MicroBurst and PowerZure run code as the Automation account's identity (and \
        dump its credentials) this way. A 15-letter random name (MicroBurst) or PowerZure's fixed \
        names raise confidence.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Execution", "Credential Access", "Persistence"],
    techniques: &["T1651", "T1552"],
    defender_alerts: &[
        "ARM_MicroBurst.RunCodeOnBehalf",
        "ARM_PowerZure.RunCodeOnBehalf",
    ],
    references: &[
        "https://github.com/NetSPI/MicroBurst",
        "https://github.com/hausec/PowerZure",
    ],
    guidance: "Get the job output and streams from the Automation account (if not purged) and check \
        what the account's managed identity / Run As account did after the job.",
    false_positives: "Automation development: test runbooks are deleted too, but keep readable names \
        and are not started as jobs.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 1200,
        doc: "create → delete window",
    }],
};

pub struct EphemeralRunbook;

impl Rule for EphemeralRunbook {
    fn meta(&self) -> &'static RuleMeta {
        &EPHEMERAL_RUNBOOK
    }
    fn candidates(&self) -> OpFilter {
        op_in(&RUNBOOK_OPS)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            let mut created: BTreeMap<(String, String), usize> = BTreeMap::new();
            for (k, op) in ops.iter().enumerate() {
                let e = &ev[op.rows[0]];
                let (Some(acct), Some(rb)) = (account_of(e), runbook_of(e)) else {
                    continue;
                };
                if e.operation.ends_with("/runbooks/write") {
                    created.entry((acct, rb)).or_insert(k);
                } else if e.operation.ends_with("/runbooks/delete") {
                    let Some(c) = created.remove(&(acct.clone(), rb.clone())) else {
                        continue;
                    };
                    if op.time - ops[c].time > w {
                        continue;
                    }
                    // Between create and delete: a publish or a test job on this
                    // runbook, or a job on this account.
                    let between: Vec<&Op> = ops[c + 1..k]
                        .iter()
                        .filter(|o| {
                            let b = &ev[o.rows[0]];
                            account_of(b).as_deref() == Some(acct.as_str())
                                && (b.operation.ends_with("/jobs/write")
                                    || (runbook_of(b).as_deref() == Some(rb.as_str())
                                        && (b.operation.ends_with("/publish/action")
                                            || b.operation.ends_with("/testjob/write")
                                            || b.operation.ends_with("/content/write"))))
                        })
                        .collect();
                    let ran = between.iter().any(|o| {
                        let b = &ev[o.rows[0]].operation;
                        b.ends_with("/jobs/write")
                            || b.ends_with("/testjob/write")
                            || b.ends_with("/publish/action")
                    });
                    if !ran {
                        continue;
                    }
                    let mut rows: Vec<usize> = ops[c]
                        .rows
                        .iter()
                        .chain(between.iter().flat_map(|o| o.rows.iter()))
                        .chain(&op.rows)
                        .copied()
                        .collect();
                    rows.sort_unstable();
                    let random = is_random15(&rb);
                    let powerzure = POWERZURE_RUNBOOKS.contains(&rb.as_str());
                    let tag = if random {
                        " (15-letter random name: MicroBurst)"
                    } else if powerzure {
                        " (PowerZure runbook name)"
                    } else {
                        ""
                    };
                    let hit = Hit::new(
                        rows,
                        format!(
                            "runbook {rb:?} created, run and deleted within {} in {}{tag}",
                            human_duration(op.time - ops[c].time),
                            acct.rsplit('/').next().unwrap_or("")
                        ),
                    );
                    hits.push(if random || powerzure {
                        hit.confidence(Confidence::High)
                    } else {
                        hit
                    });
                }
            }
        }
        hits
    }
}

static WEBHOOK_BACKDOOR: RuleMeta = RuleMeta {
    id: "AH-PERS-002",
    version: 1,
    title: "Automation webhook added next to a new runbook",
    description: "The same actor writes or publishes a runbook and creates a webhook on the same \
        Automation account: an unauthenticated URL that runs code as the account's identity whenever \
        it is called (NetSPI AutomationRunbook-OwnerPersist, PowerZure Create-Backdoor).",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Persistence"],
    techniques: &["T1098", "T1546"],
    defender_alerts: &[
        "ARM_NetSPI.MaintainPersistence",
        "ARM_PowerZure.MaintainPersistence",
    ],
    references: &[
        "https://www.netspi.com/blog/technical/cloud-penetration-testing/maintaining-azure-persistence-via-automation-accounts/",
    ],
    guidance: "Delete the webhook (its URL is the secret), review the runbook's content and every job \
        started through the webhook, and look for users or role assignments those jobs created.",
    false_positives: "Integrations that start runbooks from external systems; they are created once \
        by administrators and documented.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "runbook → webhook window",
    }],
};

pub struct WebhookBackdoor;

impl Rule for WebhookBackdoor {
    fn meta(&self) -> &'static RuleMeta {
        &WEBHOOK_BACKDOOR
    }
    fn candidates(&self) -> OpFilter {
        op_in(&RUNBOOK_OPS)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            for (k, op) in ops.iter().enumerate() {
                let e = &ev[op.rows[0]];
                if !e.operation.ends_with("/webhooks/write") {
                    continue;
                }
                let Some(acct) = account_of(e) else { continue };
                let prior: Vec<&Op> = ops[..k]
                    .iter()
                    .filter(|o| {
                        let b = &ev[o.rows[0]];
                        op.time - o.time <= w
                            && account_of(b).as_deref() == Some(acct.as_str())
                            && (b.operation.ends_with("/runbooks/write")
                                || b.operation.ends_with("/publish/action"))
                    })
                    .collect();
                if prior.is_empty() {
                    continue;
                }
                let mut rows: Vec<usize> = prior
                    .iter()
                    .flat_map(|o| o.rows.iter())
                    .chain(&op.rows)
                    .copied()
                    .collect();
                rows.sort_unstable();
                let hook = e.resource_name.as_deref().unwrap_or_default().to_owned();
                let tag = if POWERZURE_RUNBOOKS.contains(&hook.as_str()) {
                    " (PowerZure name)"
                } else {
                    ""
                };
                hits.push(Hit::new(
                    rows,
                    format!(
                        "webhook {hook:?} created on {} {} after a runbook was written{tag}",
                        acct.rsplit('/').next().unwrap_or(""),
                        human_duration(op.time - prior[0].time)
                    ),
                ));
            }
        }
        hits
    }
}

static MI_BACKDOOR: RuleMeta = RuleMeta {
    id: "AH-PERS-003",
    version: 1,
    title: "Managed-identity backdoor on a VM",
    description: "Within an hour one actor gives a VM a managed identity (VM write), assigns a role, \
        and runs a command on the same VM, optionally opening an inbound NSG rule: PowerZure \
        Invoke-AzureMIBackdoor, which leaves a VM whose identity the attacker can use from inside.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Persistence", "Privilege Escalation"],
    techniques: &["T1098", "T1078.004"],
    defender_alerts: &[],
    references: &["https://github.com/hausec/PowerZure"],
    guidance: "Remove the role assignment, check the VM's identity usage (calls by its principal id \
        from outside Azure) and the command run on the VM.",
    false_positives: "Building a new VM with an identity and a bootstrap script in one deployment; it \
        comes from a pipeline identity.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "chain window",
    }],
};

pub struct ManagedIdentityBackdoor;

fn gives_identity(e: &Ev) -> bool {
    e.bodies().iter().any(|b| {
        jpath(b, &["identity", "type"])
            .is_some_and(|t| t.to_string().to_ascii_lowercase().contains("assigned"))
    })
}

impl Rule for ManagedIdentityBackdoor {
    fn meta(&self) -> &'static RuleMeta {
        &MI_BACKDOOR
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.compute/virtualmachines/write",
            "microsoft.authorization/roleassignments/write",
            "microsoft.network/networksecuritygroups/securityrules/write",
            "microsoft.compute/virtualmachines/runcommand/action",
            "microsoft.compute/virtualmachines/runcommands/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            for (k, op) in ops.iter().enumerate() {
                let e = &ev[op.rows[0]];
                if e.operation != "microsoft.compute/virtualmachines/write"
                    || !op.rows.iter().any(|&i| gives_identity(&ev[i]))
                {
                    continue;
                }
                let vm = run_target(e);
                let later: Vec<&Op> = ops[k + 1..]
                    .iter()
                    .take_while(|o| o.time - op.time <= w)
                    .collect();
                let role = later
                    .iter()
                    .find(|o| ev[o.rows[0]].operation.ends_with("roleassignments/write"));
                let run = later.iter().find(|o| {
                    let r = &ev[o.rows[0]];
                    r.operation.contains("runcommand") && run_target(r) == vm
                });
                let (Some(role), Some(run)) = (role, run) else {
                    continue;
                };
                let nsg = later
                    .iter()
                    .find(|o| ev[o.rows[0]].operation.ends_with("securityrules/write"));
                let mut rows: Vec<usize> = op
                    .rows
                    .iter()
                    .chain(&role.rows)
                    .chain(&run.rows)
                    .copied()
                    .collect();
                if let Some(n) = nsg {
                    rows.extend(&n.rows);
                }
                rows.sort_unstable();
                hits.push(Hit::new(
                    rows,
                    format!(
                        "identity added to {}, role assigned and command run within {}{}",
                        vm.rsplit('/').next().unwrap_or(""),
                        human_duration(run.time.max(role.time) - op.time),
                        if nsg.is_some() {
                            ", inbound NSG rule written"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        hits
    }
}

static USERDATA: RuleMeta = RuleMeta {
    id: "AH-PERS-004",
    version: 1,
    title: "VM rewritten repeatedly (userData command channel)",
    description: "The same VM is written several times by one actor within minutes. PowerZure \
        Invoke-AzureVMUserDataCommand passes commands and output through the VM's userData, one \
        VM write per command.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Command and Control", "Execution"],
    techniques: &["T1059", "T1105"],
    defender_alerts: &[],
    references: &["https://github.com/hausec/PowerZure"],
    guidance: "Compare the request bodies of the writes: changes to userData only mean a command \
        channel. Read the VM's userData and the guest's agent that polls it.",
    false_positives: "Iterative configuration changes during a deployment (sizes, tags, disks).",
    params: &[
        ParamSpec {
            name: "min_writes",
            kind: ParamKind::Count,
            default: 3,
            doc: "writes of one VM",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 1800,
            doc: "time window",
        },
    ],
};

pub struct UserDataChannel;

impl Rule for UserDataChannel {
    fn meta(&self) -> &'static RuleMeta {
        &USERDATA
    }
    fn candidates(&self) -> OpFilter {
        op_in(&["microsoft.compute/virtualmachines/write"])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (n, w) = (p.count("min_writes"), p.window("window"));
        let mut hits = Vec::new();
        for idx in by_actor(ev).into_values() {
            let mut per_vm: BTreeMap<String, Vec<Op>> = BTreeMap::new();
            for op in logical_ops(ev, &idx).into_iter().filter(|o| !o.failed) {
                per_vm
                    .entry(run_target(&ev[op.rows[0]]))
                    .or_default()
                    .push(op);
            }
            for (vm, ops) in per_vm {
                for c in clusters(ops, |o| o.time, w) {
                    if c.len() < n {
                        continue;
                    }
                    let mut rows: Vec<usize> =
                        c.iter().flat_map(|o| o.rows.iter().copied()).collect();
                    rows.sort_unstable();
                    let userdata = rows.iter().any(|&i| {
                        ev[i]
                            .bodies()
                            .iter()
                            .any(|b| jpath(b, &["properties", "userData"]).is_some())
                    });
                    let hit = Hit::new(
                        rows,
                        format!(
                            "{} writes of VM {} in {}{}",
                            c.len(),
                            vm.rsplit('/').next().unwrap_or(""),
                            human_duration(c[c.len() - 1].time - c[0].time),
                            if userdata { " changing userData" } else { "" }
                        ),
                    );
                    hits.push(if userdata {
                        hit.confidence(Confidence::High)
                    } else {
                        hit
                    });
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

    const AA: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Automation/automationAccounts/aa1";

    fn rb_ops(name: &str, delete: bool) -> Vec<Ev<'static>> {
        let rb = format!("{AA}/runbooks/{name}");
        let mut v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/write",
                &rb,
            ),
            ev(
                "2024-05-01T10:00:30Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/draft/content/write",
                &format!("{rb}/draft/content"),
            ),
            ev(
                "2024-05-01T10:01:00Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/publish/action",
                &rb,
            ),
            ev(
                "2024-05-01T10:01:30Z",
                "m",
                "Microsoft.Automation/automationAccounts/jobs/write",
                &format!("{AA}/jobs/0000-1111"),
            ),
        ];
        if delete {
            v.push(ev(
                "2024-05-01T10:05:00Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/delete",
                &rb,
            ));
        }
        v
    }

    #[test]
    fn ephemeral_runbook() {
        let h = run(&EphemeralRunbook, rb_ops("QwErTyUiOpAsDfG", true));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].rows.len(), 5);
        assert!(h[0].why.contains("MicroBurst"), "{}", h[0].why);
        let h = run(
            &EphemeralRunbook,
            rb_ops("AzureAutomationTutorialPowerShell", true),
        );
        assert!(h[0].why.contains("PowerZure"), "{}", h[0].why);
        // Near miss: the same runbook kept.
        assert!(run(&EphemeralRunbook, rb_ops("QwErTyUiOpAsDfG", false)).is_empty());
        // Near miss: created and deleted without ever running.
        let rb = format!("{AA}/runbooks/scratch");
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/write",
                &rb,
            ),
            ev(
                "2024-05-01T10:05:00Z",
                "m",
                "Microsoft.Automation/automationAccounts/runbooks/delete",
                &rb,
            ),
        ];
        assert!(run(&EphemeralRunbook, v).is_empty());
    }

    #[test]
    fn webhook_backdoor() {
        let mut v = rb_ops("Persist", false);
        v.push(ev(
            "2024-05-01T10:03:00Z",
            "m",
            "Microsoft.Automation/automationAccounts/webhooks/write",
            &format!("{AA}/webhooks/hook1"),
        ));
        let h = run(&WebhookBackdoor, v);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].why.starts_with("webhook \"hook1\" created on aa1"),
            "{}",
            h[0].why
        );
        // Near miss: a webhook on its own (no runbook written by the same actor).
        let v = vec![ev(
            "2024-05-01T10:03:00Z",
            "m",
            "Microsoft.Automation/automationAccounts/webhooks/write",
            &format!("{AA}/webhooks/hook1"),
        )];
        assert!(run(&WebhookBackdoor, v).is_empty());
    }

    #[test]
    fn mi_backdoor() {
        let vm =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Compute/virtualMachines/write",
                vm,
            )
            .request(r#"{"identity":{"type":"SystemAssigned"}}"#),
            ev(
                "2024-05-01T10:02:00Z",
                "m",
                "Microsoft.Authorization/roleAssignments/write",
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
            ),
            ev(
                "2024-05-01T10:03:00Z",
                "m",
                "Microsoft.Network/networkSecurityGroups/securityRules/write",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/r",
            ),
            ev(
                "2024-05-01T10:04:00Z",
                "m",
                "Microsoft.Compute/virtualMachines/runCommand/action",
                vm,
            ),
        ];
        let h = run(&ManagedIdentityBackdoor, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].rows.len(), 4);
        // Near miss: no identity in the VM write.
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Compute/virtualMachines/write",
                vm,
            )
            .request(r#"{"tags":{}}"#),
            ev(
                "2024-05-01T10:02:00Z",
                "m",
                "Microsoft.Authorization/roleAssignments/write",
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
            ),
            ev(
                "2024-05-01T10:04:00Z",
                "m",
                "Microsoft.Compute/virtualMachines/runCommand/action",
                vm,
            ),
        ];
        assert!(run(&ManagedIdentityBackdoor, v).is_empty());
    }

    #[test]
    fn userdata_channel() {
        let vm =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
        let op = "Microsoft.Compute/virtualMachines/write";
        let v: Vec<Ev> = (0..3)
            .map(|n| {
                ev(&format!("2024-05-01T10:0{n}:00Z"), "m", op, vm)
                    .request(r#"{"properties":{"userData":"d2hvYW1p"}}"#)
            })
            .collect();
        let h = run(&UserDataChannel, v);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].why.contains("3 writes of VM vm1") && h[0].why.contains("userData"),
            "{}",
            h[0].why
        );
        let v: Vec<Ev> = (0..2)
            .map(|n| ev(&format!("2024-05-01T10:0{n}:00Z"), "m", op, vm))
            .collect();
        assert!(run(&UserDataChannel, v).is_empty());
    }
}
