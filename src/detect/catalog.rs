//! The rule catalog: every rule, in a fixed order (by id).

use std::sync::OnceLock;

use super::Rule;
use super::rules::{
    anomaly as anom, credential_access as cred, defense_evasion as evas, execution as exec,
    exposure as init, impact as impa, lateral_movement as latm, persistence as pers,
    privilege_escalation as privesc, threat_intel as intl,
};

/// Every rule of the catalog, sorted by id.
pub fn all() -> &'static [Box<dyn Rule>] {
    static CATALOG: OnceLock<Vec<Box<dyn Rule>>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut v: Vec<Box<dyn Rule>> = vec![
            Box::new(cred::StorageKeySweep),
            Box::new(cred::CredentialHarvest),
            Box::new(cred::KeyVaultPolicy),
            Box::new(cred::VmAccessReset),
            Box::new(exec::RunCommandFanout),
            Box::new(exec::RunCommandRepeat),
            Box::new(exec::ArcRunCommand),
            Box::new(exec::AcrTask),
            Box::new(exec::DeploymentScript),
            Box::new(exec::AksNodeRunCommand),
            Box::new(exec::SuspiciousExtension),
            Box::new(pers::EphemeralRunbook),
            Box::new(pers::WebhookBackdoor),
            Box::new(pers::ManagedIdentityBackdoor),
            Box::new(pers::UserDataChannel),
            Box::new(privesc::ElevateAccess),
            Box::new(privesc::PrivilegedAssignment),
            Box::new(privesc::PrivilegedCustomRole),
            Box::new(privesc::ClassicAdministrator),
            Box::new(evas::AntimalwareTampering),
            Box::new(evas::DefenderWeakened),
            Box::new(evas::LoggingRemoved),
            Box::new(init::ManagementPortExposed),
            Box::new(init::DatabaseOpen),
            Box::new(init::StoragePublic),
            Box::new(latm::DiskExport),
            Box::new(latm::StorageSas),
            Box::new(latm::PublishingCredentials),
            Box::new(latm::BastionShareableLink),
            Box::new(latm::SerialConsole),
            Box::new(latm::VaultRecovery),
            Box::new(impa::MassDeletion),
            Box::new(impa::ExpensiveCompute),
            Box::new(impa::VaultOrGroupDeletion),
            Box::new(intl::SuspiciousIp),
            Box::new(intl::ProxyIp),
            Box::new(anom::UnusedApp),
            Box::new(anom::InactiveAccount),
            Box::new(anom::NovelTacticUser),
            Box::new(anom::NovelTacticService),
            Box::new(anom::NewNetwork),
            Box::new(anom::TokenElsewhere),
            Box::new(anom::VolumeAnomaly),
            Box::new(anom::NewCountry),
            Box::new(anom::ImpossibleTravel),
        ];
        v.sort_by_key(|r| r.meta().id);
        v
    })
}

/// The rule with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all()
        .iter()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id))
        .map(|b| b.as_ref())
}

/// A content hash of a rule's metadata and version, for the manifest:
/// it changes whenever the rule's definition does.
pub fn rule_hash(r: &dyn Rule) -> String {
    let json = serde_json::to_string(r.meta()).expect("metadata serialises");
    let h = xxhash_rust::xxh3::xxh3_64(json.as_bytes());
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let ids: Vec<&str> = all().iter().map(|r| r.meta().id).collect();
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(ids, sorted, "ids must be unique and sorted");
        for r in all() {
            let m = r.meta();
            assert!(m.id.starts_with("AH-") && m.id.len() == 11, "{}", m.id);
            assert!(
                !m.tactics.is_empty() && !m.techniques.is_empty(),
                "{}",
                m.id
            );
            assert!(
                !m.guidance.is_empty() && !m.false_positives.is_empty(),
                "{}",
                m.id
            );
            for p in m.params {
                assert!(p.default > 0, "{}.{}", m.id, p.name);
            }
        }
        assert!(find("ah-cred-001").is_some());
    }
}
