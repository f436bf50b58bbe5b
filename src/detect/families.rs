//! Tactic families of high-risk operations (detections.md §1.4 and §5):
//! the buckets behind Defender's `ARM_AnomalousOperation.*` and
//! `ARM_AnomalousServiceOperation.*` alerts. The baseline remembers which
//! families a principal used; a first use of a family is the anomaly.

/// One tactic family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    CredentialAccess,
    Collection,
    DefenseEvasion,
    Execution,
    Impact,
    InitialAccess,
    LateralMovement,
    Persistence,
    PrivilegeEscalation,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::CredentialAccess,
        Family::Collection,
        Family::DefenseEvasion,
        Family::Execution,
        Family::Impact,
        Family::InitialAccess,
        Family::LateralMovement,
        Family::Persistence,
        Family::PrivilegeEscalation,
    ];

    pub fn bit(self) -> u16 {
        1 << self as u16
    }

    /// "Credential Access", as the Defender alerts name it.
    pub fn name(self) -> &'static str {
        match self {
            Family::CredentialAccess => "Credential Access",
            Family::Collection => "Data Collection",
            Family::DefenseEvasion => "Defense Evasion",
            Family::Execution => "Execution",
            Family::Impact => "Impact",
            Family::InitialAccess => "Initial Access",
            Family::LateralMovement => "Lateral Movement",
            Family::Persistence => "Persistence",
            Family::PrivilegeEscalation => "Privilege Escalation",
        }
    }

    /// The suffix of Defender's alert type: `ARM_AnomalousOperation.<suffix>`.
    pub fn alert_suffix(self) -> &'static str {
        match self {
            Family::CredentialAccess => "CredentialAccess",
            Family::Collection => "Collection",
            Family::DefenseEvasion => "DefenseEvasion",
            Family::Execution => "Execution",
            Family::Impact => "Impact",
            Family::InitialAccess => "InitialAccess",
            Family::LateralMovement => "LateralMovement",
            Family::Persistence => "Persistence",
            Family::PrivilegeEscalation => "PrivilegeEscalation",
        }
    }

    /// The families in a mask, in order.
    pub fn of_mask(mask: u16) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| mask & f.bit() != 0)
    }

    /// "Execution, Persistence" (or "none").
    pub fn names(mask: u16) -> String {
        let v: Vec<&str> = Family::of_mask(mask).map(Family::name).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }
}

use Family::*;

/// Exact operations (lower case) and their families.
const EXACT: &[(&str, &[Family])] = &[
    // Credential access.
    (
        "microsoft.storage/storageaccounts/listaccountsas/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.storage/storageaccounts/listservicesas/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.web/sites/publishxml/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.web/sites/slots/publishxml/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.web/sites/config/list/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.web/sites/slots/config/list/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.web/sites/functions/listsecrets/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.containerservice/managedclusters/listclusteradmincredential/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.containerservice/managedclusters/listclusterusercredential/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.kubernetes/connectedclusters/listclusterusercredential/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.containerregistry/registries/listcredentials/action",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.containerregistry/registries/generatecredentials/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.documentdb/databaseaccounts/readonlykeys/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.documentdb/databaseaccounts/listconnectionstrings/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.keyvault/vaults/accesspolicies/write",
        &[CredentialAccess, LateralMovement],
    ),
    (
        "microsoft.compute/disks/begingetaccess/action",
        &[CredentialAccess, Collection, LateralMovement],
    ),
    (
        "microsoft.compute/snapshots/begingetaccess/action",
        &[Collection, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachines/retrievebootdiagnosticsdata/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.apimanagement/service/namedvalues/listvalue/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.app/containerapps/listsecrets/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.operationalinsights/workspaces/sharedkeys/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.machinelearningservices/workspaces/connections/listsecrets/action",
        &[CredentialAccess],
    ),
    (
        "microsoft.search/searchservices/listadminkeys/action",
        &[CredentialAccess],
    ),
    // Execution.
    (
        "microsoft.compute/virtualmachines/runcommand/action",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachines/runcommands/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommand/action",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachinescalesets/virtualmachines/runcommands/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachines/extensions/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.compute/virtualmachinescalesets/extensions/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.hybridcompute/machines/runcommands/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.hybridcompute/machines/extensions/write",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.containerservice/managedclusters/runcommand/action",
        &[Execution, LateralMovement],
    ),
    (
        "microsoft.automation/automationaccounts/jobs/write",
        &[Execution],
    ),
    (
        "microsoft.automation/automationaccounts/runbooks/draft/testjob/write",
        &[Execution],
    ),
    ("microsoft.resources/deploymentscripts/write", &[Execution]),
    ("microsoft.portal/consoles/write", &[Execution]),
    (
        "microsoft.containerregistry/registries/tasks/write",
        &[Execution],
    ),
    (
        "microsoft.containerregistry/registries/schedulerun/action",
        &[Execution],
    ),
    // Persistence.
    (
        "microsoft.authorization/roleassignments/write",
        &[Persistence, PrivilegeEscalation],
    ),
    (
        "microsoft.authorization/roledefinitions/write",
        &[Persistence, PrivilegeEscalation],
    ),
    (
        "microsoft.automation/automationaccounts/webhooks/write",
        &[Persistence],
    ),
    (
        "microsoft.automation/automationaccounts/runbooks/write",
        &[Persistence],
    ),
    (
        "microsoft.automation/automationaccounts/runbooks/publish/action",
        &[Persistence],
    ),
    (
        "microsoft.automation/automationaccounts/schedules/write",
        &[Persistence],
    ),
    (
        "microsoft.automation/automationaccounts/jobschedules/write",
        &[Persistence],
    ),
    (
        "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials/write",
        &[Persistence],
    ),
    (
        "microsoft.network/bastionhosts/createshareablelinks/action",
        &[Persistence, LateralMovement],
    ),
    ("microsoft.compute/sshpublickeys/write", &[Persistence]),
    ("microsoft.logic/workflows/write", &[Persistence]),
    (
        "microsoft.eventhub/namespaces/authorizationrules/write",
        &[Persistence],
    ),
    (
        "microsoft.containerregistry/registries/tokens/write",
        &[Persistence],
    ),
    (
        "microsoft.web/sites/basicpublishingcredentialspolicies/write",
        &[Persistence],
    ),
    // Privilege escalation.
    (
        "microsoft.authorization/elevateaccess/action",
        &[PrivilegeEscalation],
    ),
    (
        "microsoft.managedidentity/userassignedidentities/assign/action",
        &[PrivilegeEscalation],
    ),
    (
        "microsoft.authorization/classicadministrators/write",
        &[PrivilegeEscalation, Persistence],
    ),
    // Defense evasion.
    (
        "microsoft.insights/diagnosticsettings/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.insights/diagnosticsettings/write",
        &[DefenseEvasion],
    ),
    (
        "microsoft.security/alertssuppressionrules/write",
        &[DefenseEvasion],
    ),
    ("microsoft.security/pricings/write", &[DefenseEvasion]),
    (
        "microsoft.security/autoprovisioningsettings/write",
        &[DefenseEvasion],
    ),
    (
        "microsoft.security/securitycontacts/delete",
        &[DefenseEvasion],
    ),
    ("microsoft.security/automations/delete", &[DefenseEvasion]),
    (
        "microsoft.authorization/policyassignments/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.authorization/policyexemptions/write",
        &[DefenseEvasion],
    ),
    ("microsoft.authorization/locks/delete", &[DefenseEvasion]),
    (
        "microsoft.network/networkwatchers/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.network/firewallpolicies/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.network/frontdoorwebapplicationfirewallpolicies/delete",
        &[DefenseEvasion],
    ),
    ("microsoft.network/azurefirewalls/delete", &[DefenseEvasion]),
    (
        "microsoft.network/networksecuritygroups/securityrules/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.network/networksecuritygroups/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.sql/servers/auditingsettings/write",
        &[DefenseEvasion],
    ),
    (
        "microsoft.sql/servers/securityalertpolicies/write",
        &[DefenseEvasion],
    ),
    (
        "microsoft.operationalinsights/workspaces/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.operationalinsights/workspaces/purge/action",
        &[DefenseEvasion],
    ),
    (
        "microsoft.eventhub/namespaces/eventhubs/delete",
        &[DefenseEvasion],
    ),
    (
        "microsoft.sql/servers/firewallrules/delete",
        &[DefenseEvasion],
    ),
    // Collection.
    ("microsoft.compute/snapshots/write", &[Collection]),
    ("microsoft.compute/galleries/share/action", &[Collection]),
    (
        "microsoft.sql/servers/databases/export/action",
        &[Collection],
    ),
    (
        "microsoft.storage/storageaccounts/objectreplicationpolicies/write",
        &[Collection],
    ),
    // Impact.
    (
        "microsoft.compute/restorepointcollections/delete",
        &[Impact],
    ),
    ("microsoft.compute/snapshots/delete", &[Impact]),
    ("microsoft.storage/storageaccounts/delete", &[Impact]),
    (
        "microsoft.resources/subscriptions/resourcegroups/delete",
        &[Impact],
    ),
    ("microsoft.subscription/updatetenant/action", &[Impact]),
    (
        "microsoft.keyvault/locations/deletedvaults/purge/action",
        &[Impact],
    ),
    ("microsoft.keyvault/vaults/delete", &[Impact]),
    ("microsoft.compute/disks/delete", &[Impact]),
    ("microsoft.compute/virtualmachines/delete", &[Impact]),
    (
        "microsoft.compute/virtualmachinescalesets/delete",
        &[Impact],
    ),
    ("microsoft.authorization/roleassignments/delete", &[Impact]),
    (
        "microsoft.storage/storageaccounts/encryptionscopes/write",
        &[Impact],
    ),
    // Initial access.
    (
        "microsoft.network/bastionhosts/getshareablelinks/action",
        &[InitialAccess, LateralMovement],
    ),
    (
        "microsoft.serialconsole/serialports/connect/action",
        &[InitialAccess, LateralMovement],
    ),
];

/// Suffixes (lower case) of operations of any provider, and their families.
const SUFFIXES: &[(&str, &[Family])] = &[
    ("/listkeys/action", &[CredentialAccess, LateralMovement]),
    ("/startpacketcapture/action", &[CredentialAccess]),
    ("/recoveryservices/vaults/delete", &[Impact]),
];

/// The families of a (lower-case) operation, as a mask of [`Family::bit`].
pub fn families(op: &str) -> u16 {
    let mut m = 0;
    for (o, fs) in EXACT {
        if *o == op {
            m |= fs.iter().fold(0, |a, f| a | f.bit());
        }
    }
    for (s, fs) in SUFFIXES {
        if op.ends_with(s) {
            m |= fs.iter().fold(0, |a, f| a | f.bit());
        }
    }
    if op.starts_with("microsoft.recoveryservices/") && op.ends_with("/delete") {
        m |= Impact.bit();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_fall_in_their_families() {
        let f = families("microsoft.storage/storageaccounts/listkeys/action");
        assert_eq!(Family::names(f), "Credential Access, Lateral Movement");
        let f = families("microsoft.authorization/roleassignments/write");
        assert!(f & Persistence.bit() != 0 && f & PrivilegeEscalation.bit() != 0);
        assert_eq!(
            families("microsoft.recoveryservices/vaults/backupfabrics/delete"),
            Impact.bit()
        );
        assert_eq!(
            families("microsoft.compute/virtualmachines/start/action"),
            0
        );
        assert_eq!(families("microsoft.resources/deployments/write"), 0);
        assert_eq!(Family::names(0), "none");
    }

    #[test]
    fn the_table_is_lower_case_and_has_no_duplicates() {
        let mut seen = std::collections::BTreeSet::new();
        for (o, fs) in EXACT {
            assert_eq!(*o, o.to_ascii_lowercase());
            assert!(!fs.is_empty());
            assert!(seen.insert(*o), "{o} twice");
        }
    }
}
