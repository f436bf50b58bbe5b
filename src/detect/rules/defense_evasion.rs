//! Defense evasion: antimalware and Defender for Cloud weakened, logging
//! and alerting removed.

use super::super::events::{EXTENSION_DELETES, EXTENSION_WRITES, Ev, Events, jpath, jtext, op_in};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::credential_access::{extension_settings, extension_type};
use super::{Judgement, event_hits, id_through};

static ANTIMALWARE: RuleMeta = RuleMeta {
    id: "AH-EVAS-001",
    version: 1,
    title: "Antimalware disabled, excluded or removed on a VM",
    description: "The Microsoft Antimalware extension (IaaSAntimalware) is written with protection \
        off (AntimalwareEnabled or RealtimeProtectionEnabled false) or with broad exclusions (drive \
        roots, wildcards, script and binary extensions, shells), or the antimalware or Defender for \
        Endpoint (MDE.Windows, MDE.Linux) extension is deleted.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Defense Evasion"],
    techniques: &["T1562.001"],
    defender_alerts: &[
        "VM_AmDisablement",
        "VM_AmRealtimeProtectionDisabled",
        "VM_AmBroadFilesExclusion",
        "VM_AmTempFileExclusion",
    ],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-azure-vm-extensions",
    ],
    guidance: "Restore the protection settings, then look for what ran on the VM while it was off \
        (Run Command, Custom Script, new services) and scan it.",
    false_positives: "Performance exclusions for databases or build agents, set by administrators \
        through policy with narrow paths.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

fn broad_exclusion(kind: &str, value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    match kind {
        "paths" => {
            v == "*"
                || v.ends_with(":\\")
                || v.ends_with(":\\*")
                || v == "c:"
                || v.contains("%windir%")
                || v.contains("%systemroot%")
                || v.contains("%userprofile%")
                || v.contains("%temp%")
                || v == "c:\\windows"
                || v == "c:\\users"
                || v == "/"
        }
        "extensions" => matches!(
            v.trim_start_matches('.'),
            "exe" | "dll" | "ps1" | "bat" | "cmd" | "vbs" | "js" | "*"
        ),
        "processes" => matches!(
            v.as_str(),
            "powershell.exe" | "cmd.exe" | "pwsh.exe" | "rundll32.exe" | "*"
        ),
        _ => false,
    }
}

fn antimalware_judgement(e: &Ev) -> Option<Judgement> {
    let t = extension_type(e);
    let vm =
        id_through(e.resource_id.as_deref().unwrap_or(""), "virtualmachines").unwrap_or_default();
    let vm = vm.rsplit('/').next().unwrap_or("").to_owned();
    if e.operation.ends_with("/delete") {
        let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
        if name.contains("antimalware") || name.starts_with("mde.") || name.contains("mdatp") {
            return Some(Judgement::new(format!(
                "{name} extension deleted from {vm}"
            )));
        }
        return None;
    }
    if !t.contains("antimalware") {
        return None;
    }
    let s = extension_settings(e)?;
    let off = |k: &str| jpath(&s, &[k]).is_some_and(|v| jtext(v).eq_ignore_ascii_case("false"));
    if off("AntimalwareEnabled") {
        return Some(Judgement::new(format!("antimalware disabled on {vm}")));
    }
    if off("RealtimeProtectionEnabled") {
        return Some(Judgement::new(format!(
            "real-time protection disabled on {vm}"
        )));
    }
    let mut broad = Vec::new();
    for kind in ["Paths", "Extensions", "Processes"] {
        if let Some(list) = jpath(&s, &["Exclusions", kind]) {
            for item in jtext(list).split(';') {
                if broad_exclusion(&kind.to_ascii_lowercase(), item) {
                    broad.push(item.trim().to_owned());
                }
            }
        }
    }
    (!broad.is_empty()).then(|| {
        Judgement::new(format!(
            "broad antimalware exclusions on {vm}: {}",
            broad.join("; ")
        ))
        .severity(Severity::Medium)
    })
}

pub struct AntimalwareTampering;

impl Rule for AntimalwareTampering {
    fn meta(&self) -> &'static RuleMeta {
        &ANTIMALWARE
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[EXTENSION_WRITES, EXTENSION_DELETES].concat())
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, antimalware_judgement)
    }
}

static DEFENDER: RuleMeta = RuleMeta {
    id: "AH-EVAS-002",
    version: 1,
    title: "Defender for Cloud weakened",
    description: "A Defender for Cloud plan is set to the Free tier, security contacts or workflow \
        automations are deleted, auto-provisioning is turned off, or an alert suppression rule is \
        written: alerts stop reaching anyone.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Defense Evasion"],
    techniques: &["T1562.001"],
    defender_alerts: &[],
    references: &["https://learn.microsoft.com/azure/defender-for-cloud/"],
    guidance: "Restore the plan and contacts; review the alerts Defender raised (or would have) in the \
        period and who changed the settings.",
    false_positives: "Cost-driven plan changes by the subscription owner, announced beforehand.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct DefenderWeakened;

fn defender_judgement(e: &Ev) -> Option<Judgement> {
    let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
    let op = &*e.operation;
    if op == "microsoft.security/pricings/write" {
        let free = e.bodies().iter().any(|b| {
            jpath(b, &["properties", "pricingTier"])
                .is_some_and(|t| jtext(t).eq_ignore_ascii_case("free"))
        });
        return free.then(|| Judgement::new(format!("Defender plan {name} set to Free")));
    }
    if op == "microsoft.security/autoprovisioningsettings/write" {
        let off = e.bodies().iter().any(|b| {
            jpath(b, &["properties", "autoProvision"])
                .is_some_and(|t| jtext(t).eq_ignore_ascii_case("off"))
        });
        return off.then(|| {
            Judgement::new(format!("auto-provisioning {name} turned off"))
                .severity(Severity::Medium)
        });
    }
    if op == "microsoft.security/securitycontacts/delete" {
        return Some(
            Judgement::new(format!("security contact {name} deleted")).severity(Severity::Medium),
        );
    }
    if op == "microsoft.security/automations/delete" {
        return Some(
            Judgement::new(format!("workflow automation {name} deleted"))
                .severity(Severity::Medium),
        );
    }
    if op == "microsoft.security/alertssuppressionrules/write" {
        return Some(Judgement::new(format!(
            "alert suppression rule {name} written"
        )));
    }
    None
}

impl Rule for DefenderWeakened {
    fn meta(&self) -> &'static RuleMeta {
        &DEFENDER
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.security/pricings/write",
            "microsoft.security/autoprovisioningsettings/write",
            "microsoft.security/securitycontacts/delete",
            "microsoft.security/automations/delete",
            "microsoft.security/alertssuppressionrules/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, defender_judgement)
    }
}

static LOGGING: RuleMeta = RuleMeta {
    id: "AH-EVAS-003",
    version: 1,
    title: "Logging or alerting removed",
    description: "A diagnostic setting, activity-log alert or action group is deleted, a Log \
        Analytics workspace is deleted or purged, a resource lock is deleted, or NSG flow logs / a \
        network watcher are removed or disabled: evidence and alerting disappear.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Defense Evasion"],
    techniques: &["T1562.008", "T1070"],
    defender_alerts: &[],
    references: &[
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Azure%20Activity/Analytic%20Rules/AzDiagSettingsDeleted.yaml",
    ],
    guidance: "Find what the removed setting sent where (its last write); recover logs from the \
        remaining destinations; check for a gap in the exports after this time (`armhunt stats`).",
    false_positives: "Decommissioning resources together with their diagnostic settings.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct LoggingRemoved;

fn logging_judgement(e: &Ev) -> Option<Judgement> {
    let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
    let what = match &*e.operation {
        "microsoft.insights/diagnosticsettings/delete" => "diagnostic setting deleted",
        "microsoft.insights/activitylogalerts/delete" => "activity-log alert deleted",
        "microsoft.insights/actiongroups/delete" => "action group deleted",
        "microsoft.insights/logprofiles/delete" => "log profile deleted",
        "microsoft.operationalinsights/workspaces/delete" => "Log Analytics workspace deleted",
        "microsoft.operationalinsights/workspaces/purge/action" => "Log Analytics data purged",
        "microsoft.authorization/locks/delete" => "resource lock deleted",
        "microsoft.network/networkwatchers/delete" => "network watcher deleted",
        "microsoft.network/networkwatchers/flowlogs/delete" => "flow log deleted",
        "microsoft.network/networkwatchers/flowlogs/write" => {
            let off = e.bodies().iter().any(|b| {
                jpath(b, &["properties", "enabled"])
                    .is_some_and(|v| jtext(v).eq_ignore_ascii_case("false"))
            });
            if !off {
                return None;
            }
            "flow log disabled"
        }
        _ => return None,
    };
    let j = Judgement::new(format!("{what}: {name}"));
    Some(if e.operation.ends_with("purge/action") {
        j.severity(Severity::Critical)
    } else {
        j
    })
}

impl Rule for LoggingRemoved {
    fn meta(&self) -> &'static RuleMeta {
        &LOGGING
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.insights/diagnosticsettings/delete",
            "microsoft.insights/activitylogalerts/delete",
            "microsoft.insights/actiongroups/delete",
            "microsoft.insights/logprofiles/delete",
            "microsoft.operationalinsights/workspaces/delete",
            "microsoft.operationalinsights/workspaces/purge/action",
            "microsoft.authorization/locks/delete",
            "microsoft.network/networkwatchers/delete",
            "microsoft.network/networkwatchers/flowlogs/delete",
            "microsoft.network/networkwatchers/flowlogs/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, logging_judgement)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    const EXT: &str = "Microsoft.Compute/virtualMachines/extensions/write";
    const ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/IaaSAntimalware";

    #[test]
    fn antimalware() {
        let e = ev("2024-05-01T10:00:00Z", "m", EXT, ID)
            .request(r#"{"properties":{"publisher":"Microsoft.Azure.Security","type":"IaaSAntimalware","settings":{"AntimalwareEnabled":false}}}"#);
        let h = run(&AntimalwareTampering, vec![e]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "antimalware disabled on vm1");
        let e = ev("2024-05-01T10:00:00Z", "m", EXT, ID).request(
            r#"{"properties":{"type":"IaaSAntimalware","settings":{"AntimalwareEnabled":true,"Exclusions":{"Paths":"C:\\;D:\\data\\db","Processes":"powershell.exe"}}}}"#,
        );
        let h = run(&AntimalwareTampering, vec![e]);
        assert_eq!(h.len(), 1);
        assert!(h[0].why.contains("C:\\; powershell.exe"), "{}", h[0].why);
        let mde = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/MDE.Windows";
        let h = run(
            &AntimalwareTampering,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Compute/virtualMachines/extensions/delete",
                mde,
            )],
        );
        assert_eq!(h.len(), 1);
        // Near miss: narrow exclusions, protection on.
        let e = ev("2024-05-01T10:00:00Z", "m", EXT, ID).request(
            r#"{"properties":{"type":"IaaSAntimalware","settings":{"AntimalwareEnabled":true,"RealtimeProtectionEnabled":"true","Exclusions":{"Paths":"D:\\sql\\data"}}}}"#,
        );
        assert!(run(&AntimalwareTampering, vec![e]).is_empty());
    }

    #[test]
    fn defender() {
        let id = "/subscriptions/s1/providers/Microsoft.Security/pricings/VirtualMachines";
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Security/pricings/write",
            id,
        )
        .request(r#"{"properties":{"pricingTier":"Free"}}"#);
        let h = run(&DefenderWeakened, vec![e]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "Defender plan virtualmachines set to Free");
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Security/pricings/write",
            id,
        )
        .request(r#"{"properties":{"pricingTier":"Standard"}}"#);
        assert!(run(&DefenderWeakened, vec![e]).is_empty());
    }

    #[test]
    fn logging() {
        let id = "/subscriptions/s1/providers/microsoft.insights/diagnosticSettings/to-sentinel";
        let h = run(
            &LoggingRemoved,
            vec![ev(
                "2024-05-01T10:00:00Z",
                "m",
                "Microsoft.Insights/diagnosticSettings/delete",
                id,
            )],
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "diagnostic setting deleted: to-sentinel");
        // Near miss: a failed delete, and a flow log that stays enabled.
        let h = run(
            &LoggingRemoved,
            vec![
                ev(
                    "2024-05-01T10:00:00Z",
                    "m",
                    "Microsoft.Insights/diagnosticSettings/delete",
                    id,
                )
                .status("failed"),
            ],
        );
        assert!(h.is_empty());
        let fl = "/subscriptions/s1/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/nw/flowLogs/f1";
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Network/networkWatchers/flowLogs/write",
            fl,
        )
        .request(r#"{"properties":{"enabled":true}}"#);
        assert!(run(&LoggingRemoved, vec![e]).is_empty());
    }
}
