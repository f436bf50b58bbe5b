//! Network exposure (initial access): management ports opened to the
//! Internet, databases opened to every address, public storage.

use super::super::events::{Ev, Events, jpath, jtext, op_in};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits};

const MGMT_PORTS: [u32; 4] = [22, 3389, 5985, 5986];

fn any_source(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "*" | "internet" | "0.0.0.0/0" | "any" | "::/0" | "0.0.0.0"
    )
}

/// Whether a port-range text (`*`, `22`, `3380-3390`) covers a management port.
fn covers_mgmt(range: &str) -> Option<String> {
    let r = range.trim();
    if r == "*" {
        return Some("*".into());
    }
    let (lo, hi) = match r.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
        None => {
            let p = r.parse::<u32>().ok()?;
            (p, p)
        }
    };
    MGMT_PORTS
        .iter()
        .find(|p| **p >= lo && **p <= hi)
        .map(|p| p.to_string())
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().map(jtext).collect(),
        Some(x) => vec![jtext(x)],
        None => Vec::new(),
    }
}

/// An inbound Allow rule from anywhere to a management port, in a
/// security-rule properties object.
fn exposed_rule(props: &serde_json::Value) -> Option<String> {
    let access = jpath(props, &["access"]).map(jtext).unwrap_or_default();
    let dir = jpath(props, &["direction"]).map(jtext).unwrap_or_default();
    if !access.eq_ignore_ascii_case("allow") || !dir.eq_ignore_ascii_case("inbound") {
        return None;
    }
    let mut sources = strings(jpath(props, &["sourceAddressPrefix"]));
    sources.extend(strings(jpath(props, &["sourceAddressPrefixes"])));
    let src = sources.iter().find(|s| any_source(s))?.clone();
    let mut ports = strings(jpath(props, &["destinationPortRange"]));
    ports.extend(strings(jpath(props, &["destinationPortRanges"])));
    let port = ports.iter().find_map(|p| covers_mgmt(p))?;
    Some(format!("port {port} open to {src}"))
}

static MGMT_EXPOSED: RuleMeta = RuleMeta {
    id: "AH-INIT-001",
    version: 1,
    title: "Management port opened to the Internet",
    description: "A network security group rule (or NSG), or an Azure Firewall (policy) network or NAT \
        rule, is written that allows inbound traffic from any source (`*`, `Internet`, `0.0.0.0/0`) to \
        SSH, RDP or WinRM (22, 3389, 5985, 5986) or to every port. The rule attributes are read from \
        the request or response body.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Initial Access", "Persistence"],
    techniques: &["T1133", "T1562.007"],
    defender_alerts: &[],
    references: &[
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Azure%20Activity/Hunting%20Queries/PortOpenedForAzureResource.yaml",
    ],
    guidance: "Remove or restrict the rule, then check the VMs behind the NSG for logons from the \
        Internet during the exposure (sign-in events, auth.log).",
    false_positives: "Temporary rules for troubleshooting; they should be short-lived and scoped to \
        an address.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct ManagementPortExposed;

/// An Azure Firewall (policy) rule anywhere in a body that lets any source
/// reach a management port: objects with `sourceAddresses` and
/// `destinationPorts`, as network and NAT rules have.
fn exposed_firewall_rule(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => {
            let src = strings(m.get("sourceAddresses"));
            let ports = strings(m.get("destinationPorts"));
            if let (Some(s), Some(p)) = (
                src.iter().find(|s| any_source(s)),
                ports.iter().find_map(|p| covers_mgmt(p)),
            ) {
                let name = m.get("name").map(jtext).unwrap_or_default();
                return Some(format!("firewall rule {name}: port {p} open to {s}"));
            }
            m.values().find_map(exposed_firewall_rule)
        }
        serde_json::Value::Array(a) => a.iter().find_map(exposed_firewall_rule),
        _ => None,
    }
}

fn nsg_judgement(e: &Ev) -> Option<Judgement> {
    let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
    if e.operation.contains("firewall") {
        return e
            .bodies()
            .iter()
            .find_map(exposed_firewall_rule)
            .map(Judgement::new);
    }
    for b in e.bodies() {
        if let Some(props) = jpath(&b, &["properties"]) {
            if let Some(what) = exposed_rule(props) {
                return Some(Judgement::new(format!("security rule {name}: {what}")));
            }
            for r in jpath(props, &["securityRules"])
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let rname = jpath(r, &["name"]).map(jtext).unwrap_or_default();
                if let Some(what) = jpath(r, &["properties"]).and_then(exposed_rule) {
                    return Some(Judgement::new(format!("NSG {name} rule {rname}: {what}")));
                }
            }
        }
    }
    None
}

impl Rule for ManagementPortExposed {
    fn meta(&self) -> &'static RuleMeta {
        &MGMT_EXPOSED
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.network/networksecuritygroups/securityrules/write",
            "microsoft.network/networksecuritygroups/write",
            "microsoft.network/firewallpolicies/rulecollectiongroups/write",
            "microsoft.network/azurefirewalls/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, nsg_judgement)
    }
}

static DB_OPEN: RuleMeta = RuleMeta {
    id: "AH-INIT-002",
    version: 1,
    title: "Database firewall opened to every address",
    description: "A SQL (or PostgreSQL / MySQL) server firewall rule allows 0.0.0.0 to \
        255.255.255.255: the database listens to the whole Internet.",
    severity: Severity::High,
    confidence: Confidence::High,
    tactics: &["Initial Access", "Defense Evasion"],
    techniques: &["T1133", "T1562.007"],
    defender_alerts: &[],
    references: &["https://learn.microsoft.com/azure/azure-sql/database/firewall-configure"],
    guidance: "Delete the rule and review the server's audit logs for logins from unknown addresses.",
    false_positives: "None that are safe; the Azure-services rule is 0.0.0.0-0.0.0.0 and is not this.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct DatabaseOpen;

fn db_judgement(e: &Ev) -> Option<Judgement> {
    for b in e.bodies() {
        let (Some(start), Some(end)) = (
            jpath(&b, &["properties", "startIpAddress"]).map(jtext),
            jpath(&b, &["properties", "endIpAddress"]).map(jtext),
        ) else {
            continue;
        };
        if start.trim() == "0.0.0.0" && end.trim() == "255.255.255.255" {
            return Some(Judgement::new(format!(
                "firewall rule {} allows 0.0.0.0-255.255.255.255",
                e.resource_name.as_deref().unwrap_or_default().to_owned()
            )));
        }
    }
    None
}

impl Rule for DatabaseOpen {
    fn meta(&self) -> &'static RuleMeta {
        &DB_OPEN
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.sql/servers/firewallrules/write",
            "microsoft.dbforpostgresql/servers/firewallrules/write",
            "microsoft.dbforpostgresql/flexibleservers/firewallrules/write",
            "microsoft.dbformysql/servers/firewallrules/write",
            "microsoft.dbformysql/flexibleservers/firewallrules/write",
            "microsoft.dbformariadb/servers/firewallrules/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, db_judgement)
    }
}

static STORAGE_PUBLIC: RuleMeta = RuleMeta {
    id: "AH-INIT-003",
    version: 1,
    title: "Storage made publicly readable",
    description: "A storage account is written with allowBlobPublicAccess true, or a container is \
        given public access (Blob or Container): data can be read anonymously.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Collection", "Exfiltration"],
    techniques: &["T1530", "T1567"],
    defender_alerts: &[],
    references: &["https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent"],
    guidance: "Turn anonymous access off and read StorageBlobLogs for anonymous reads during the \
        exposure.",
    false_positives: "Public static-website or download containers, set up deliberately.",
    params: &[ParamSpec {
        name: "window",
        kind: ParamKind::Duration,
        default: 3600,
        doc: "grouping window",
    }],
};

pub struct StoragePublic;

fn storage_judgement(e: &Ev) -> Option<Judgement> {
    let name = e.resource_name.as_deref().unwrap_or_default().to_owned();
    for b in e.bodies() {
        if e.operation.ends_with("storageaccounts/write")
            && jpath(&b, &["properties", "allowBlobPublicAccess"])
                .is_some_and(|v| jtext(v).eq_ignore_ascii_case("true"))
        {
            return Some(Judgement::new(format!(
                "storage account {name}: allowBlobPublicAccess enabled"
            )));
        }
        if e.operation.ends_with("containers/write") {
            let level = jpath(&b, &["properties", "publicAccess"])
                .map(jtext)
                .unwrap_or_default();
            if level.eq_ignore_ascii_case("blob") || level.eq_ignore_ascii_case("container") {
                return Some(Judgement::new(format!(
                    "container {name}: public access {level}"
                )));
            }
        }
    }
    None
}

impl Rule for StoragePublic {
    fn meta(&self) -> &'static RuleMeta {
        &STORAGE_PUBLIC
    }
    fn candidates(&self) -> OpFilter {
        op_in(&[
            "microsoft.storage/storageaccounts/write",
            "microsoft.storage/storageaccounts/blobservices/containers/write",
        ])
    }
    fn detect(&self, ev: &Events<'_>, _ctx: &Context, p: &Params) -> Vec<Hit> {
        event_hits(ev, p.window("window"), false, storage_judgement)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::testing::*;
    use super::*;

    #[test]
    fn nsg_rules() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1/securityRules/allow-rdp";
        let op = "Microsoft.Network/networkSecurityGroups/securityRules/write";
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).response(
            r#"{"properties":{"access":"Allow","direction":"Inbound","sourceAddressPrefix":"*","destinationPortRange":"3389","protocol":"TCP"}}"#,
        );
        let h = run(&ManagementPortExposed, vec![e]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "security rule allow-rdp: port 3389 open to *");
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).response(
            r#"{"properties":{"access":"Allow","direction":"Inbound","sourceAddressPrefixes":["Internet"],"destinationPortRanges":["3000-4000"]}}"#,
        );
        assert_eq!(run(&ManagementPortExposed, vec![e]).len(), 1);
        // Near misses: from one address; and port 443 from anywhere.
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).response(
            r#"{"properties":{"access":"Allow","direction":"Inbound","sourceAddressPrefix":"198.51.100.7/32","destinationPortRange":"3389"}}"#,
        );
        assert!(run(&ManagementPortExposed, vec![e]).is_empty());
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).response(
            r#"{"properties":{"access":"Allow","direction":"Inbound","sourceAddressPrefix":"Internet","destinationPortRange":"443"}}"#,
        );
        assert!(run(&ManagementPortExposed, vec![e]).is_empty());
    }

    #[test]
    fn azure_firewall_rules() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/firewallPolicies/fwp/ruleCollectionGroups/dnat";
        let op = "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write";
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"ruleCollections":[{"rules":[{"name":"rdp-in","ruleType":"NatRule","sourceAddresses":["*"],"destinationPorts":["3389"]}]}]}}"#,
        );
        let h = run(&ManagementPortExposed, vec![e]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].why, "firewall rule rdp-in: port 3389 open to *");
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"ruleCollections":[{"rules":[{"name":"rdp-in","sourceAddresses":["10.0.0.0/8"],"destinationPorts":["3389"]}]}]}}"#,
        );
        assert!(run(&ManagementPortExposed, vec![e]).is_empty());
    }

    #[test]
    fn sql_firewall() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/sql1/firewallRules/all";
        let op = "Microsoft.Sql/servers/firewallRules/write";
        let e = ev("2024-05-01T10:00:00Z", "m", op, id).request(
            r#"{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"255.255.255.255"}}"#,
        );
        assert_eq!(run(&DatabaseOpen, vec![e]).len(), 1);
        let e = ev("2024-05-01T10:00:00Z", "m", op, id)
            .request(r#"{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"0.0.0.0"}}"#);
        assert!(run(&DatabaseOpen, vec![e]).is_empty());
    }

    #[test]
    fn storage_public() {
        let id =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1";
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Storage/storageAccounts/write",
            id,
        )
        .request(r#"{"properties":{"allowBlobPublicAccess":true}}"#);
        assert_eq!(run(&StoragePublic, vec![e]).len(), 1);
        let e = ev(
            "2024-05-01T10:00:00Z",
            "m",
            "Microsoft.Storage/storageAccounts/write",
            id,
        )
        .request(r#"{"properties":{"allowBlobPublicAccess":false}}"#);
        assert!(run(&StoragePublic, vec![e]).is_empty());
    }
}
