//! Value normalisation shared by every dialect: statuses, levels,
//! categories, IP addresses, ids and resource ids.

use std::borrow::Cow;

/// Lower-cases ASCII (and, where needed, Unicode) without allocating when
/// the text is already lower-case.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Canonical status: `started`/`accepted`/`succeeded`/`failed`/`canceled`,
/// from both the REST noun forms and the resource-log verb forms; anything
/// else lower-cased.
pub fn status(s: &str) -> Cow<'static, str> {
    let t = s.trim();
    let known = [
        ("start", "started"),
        ("started", "started"),
        ("accept", "accepted"),
        ("accepted", "accepted"),
        ("success", "succeeded"),
        ("succeeded", "succeeded"),
        ("failure", "failed"),
        ("failed", "failed"),
        ("fail", "failed"),
        ("cancel", "canceled"),
        ("canceled", "canceled"),
        ("cancelled", "canceled"),
    ];
    for (from, to) in known {
        if t.eq_ignore_ascii_case(from) {
            return Cow::Borrowed(to);
        }
    }
    Cow::Owned(lower(t).into_owned())
}

/// Canonical level: `informational` (also from `Information`), `warning`,
/// `error`, `critical`, `verbose`; the numeric .NET `EventLevel` too.
pub fn level(s: &str) -> Cow<'static, str> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("information") || t.eq_ignore_ascii_case("informational") {
        return Cow::Borrowed("informational");
    }
    match t {
        "0" => Cow::Borrowed("critical"),
        "1" => Cow::Borrowed("error"),
        "2" => Cow::Borrowed("warning"),
        "3" => Cow::Borrowed("informational"),
        "4" => Cow::Borrowed("verbose"),
        _ => Cow::Owned(lower(t).into_owned()),
    }
}

/// Activity Log categories, lower-case. Legacy `Write`/`Delete`/`Action`
/// (log-profile records) are administrative.
pub fn category(s: &str) -> Cow<'static, str> {
    let t = s.trim();
    for legacy in ["write", "delete", "action"] {
        if t.eq_ignore_ascii_case(legacy) {
            return Cow::Borrowed("administrative");
        }
    }
    if t.eq_ignore_ascii_case("service health") {
        return Cow::Borrowed("servicehealth");
    }
    if t.eq_ignore_ascii_case("resource health") {
        return Cow::Borrowed("resourcehealth");
    }
    Cow::Owned(lower(t).into_owned())
}

/// Whether a (resource-log) `category` value belongs to the Activity Log.
pub fn is_activity_category(s: &str) -> bool {
    const CATS: [&str; 11] = [
        "administrative",
        "security",
        "servicehealth",
        "resourcehealth",
        "alert",
        "autoscale",
        "recommendation",
        "policy",
        "write",
        "delete",
        "action",
    ];
    CATS.iter().any(|c| c.eq_ignore_ascii_case(s.trim()))
}

/// Sub-status: `Created`, `OK`, … lower-cased, with the old
/// ` (HTTP Status Code: 200)` suffix removed. Empty → none.
pub fn sub_status(s: &str) -> Option<String> {
    let mut t = s.trim();
    if let Some(i) = t.find(" (HTTP Status Code") {
        t = t[..i].trim_end();
    }
    (!t.is_empty()).then(|| lower(t).into_owned())
}

/// Strips a port from `ip:port` and `[v6]:port`; plain IPv6 is kept.
pub fn strip_port(s: &str) -> &str {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    if t.bytes().filter(|&b| b == b':').count() == 1 && t.contains('.') {
        return t.split(':').next().unwrap_or(t);
    }
    t
}

/// Formats a 32-hex id without dashes (role-assignment evidence) as a GUID.
pub fn dashed_guid(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if b.len() == 32 && b.iter().all(u8::is_ascii_hexdigit) {
        Cow::Owned(format!(
            "{}-{}-{}-{}-{}",
            &s[..8],
            &s[8..12],
            &s[12..16],
            &s[16..20],
            &s[20..]
        ))
    } else {
        Cow::Borrowed(s)
    }
}

/// The parts of an ARM resource id. All lower-case.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ResourceParts {
    pub subscription: Option<String>,
    pub resource_group: Option<String>,
    pub provider: Option<String>,
    pub rtype: Option<String>,
    pub name: Option<String>,
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{sub}/{name}…]`
/// and its shorter forms (subscription, resource group, provider-level,
/// management group, nested `providers` of extension resources).
pub fn parse_resource_id(id: &str) -> ResourceParts {
    let mut out = ResourceParts::default();
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let mut i = 0;
    let mut last_provider: Option<usize> = None;
    while i < segs.len() {
        let s = segs[i];
        if s.eq_ignore_ascii_case("subscriptions")
            && i + 1 < segs.len()
            && out.subscription.is_none()
        {
            out.subscription = Some(segs[i + 1].to_ascii_lowercase());
            i += 2;
        } else if s.eq_ignore_ascii_case("resourcegroups")
            && i + 1 < segs.len()
            && out.resource_group.is_none()
        {
            out.resource_group = Some(lower(segs[i + 1]).into_owned());
            i += 2;
        } else if s.eq_ignore_ascii_case("providers") && i + 1 < segs.len() {
            last_provider = Some(i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    match last_provider {
        Some(p) => {
            let ns = segs[p].to_ascii_lowercase();
            // After the namespace: type/name pairs.
            let rest = &segs[p + 1..];
            let mut ty = ns.clone();
            let mut name = None;
            for pair in rest.chunks(2) {
                ty.push('/');
                ty.push_str(&lower(pair[0]));
                name = pair.get(1).map(|n| lower(n).into_owned());
            }
            out.provider = Some(ns);
            if !rest.is_empty() {
                out.rtype = Some(ty);
            }
            out.name = name;
        }
        None => {
            if let Some(rg) = &out.resource_group {
                out.provider = Some("microsoft.resources".into());
                out.rtype = Some("microsoft.resources/subscriptions/resourcegroups".into());
                out.name = Some(rg.clone());
            } else if let Some(sub) = &out.subscription {
                out.provider = Some("microsoft.resources".into());
                out.rtype = Some("microsoft.resources/subscriptions".into());
                out.name = Some(sub.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for (i, o) in [
            ("Start", "started"),
            ("Started", "started"),
            ("Success", "succeeded"),
            ("SUCCEEDED", "succeeded"),
            ("Failure", "failed"),
            ("Accept", "accepted"),
            ("Canceled", "canceled"),
            ("In Progress", "in progress"),
            ("Active", "active"),
        ] {
            assert_eq!(status(i), o);
        }
    }

    #[test]
    fn levels_and_categories() {
        assert_eq!(level("Information"), "informational");
        assert_eq!(level("Informational"), "informational");
        assert_eq!(level("Warning"), "warning");
        assert_eq!(level("4"), "verbose");
        assert_eq!(category("Write"), "administrative");
        assert_eq!(category("Action"), "administrative");
        assert_eq!(category("Administrative"), "administrative");
        assert_eq!(category("ServiceHealth"), "servicehealth");
        assert!(is_activity_category("Policy"));
        assert!(!is_activity_category("AuditEvent"));
    }

    #[test]
    fn sub_statuses() {
        assert_eq!(
            sub_status("OK (HTTP Status Code: 200)").as_deref(),
            Some("ok")
        );
        assert_eq!(sub_status("Created").as_deref(), Some("created"));
        assert_eq!(sub_status("").as_deref(), None);
    }

    #[test]
    fn ports() {
        assert_eq!(strip_port("1.2.3.4:5678"), "1.2.3.4");
        assert_eq!(strip_port("1.2.3.4"), "1.2.3.4");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
    }

    #[test]
    fn guids() {
        assert_eq!(
            dashed_guid("55555555555555555555555555555555"),
            "55555555-5555-5555-5555-555555555555"
        );
        assert_eq!(dashed_guid("abc"), "abc");
    }

    #[test]
    fn resource_ids() {
        let p = parse_resource_id(
            "/SUBSCRIPTIONS/1111/RESOURCEGROUPS/RG-A/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1/EXTENSIONS/CSE",
        );
        assert_eq!(p.subscription.as_deref(), Some("1111"));
        assert_eq!(p.resource_group.as_deref(), Some("rg-a"));
        assert_eq!(p.provider.as_deref(), Some("microsoft.compute"));
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.compute/virtualmachines/extensions")
        );
        assert_eq!(p.name.as_deref(), Some("cse"));

        let p = parse_resource_id(
            "/subscriptions/1111/providers/microsoft.insights/diagnosticSettings/x",
        );
        assert_eq!(p.resource_group, None);
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.insights/diagnosticsettings")
        );
        assert_eq!(p.name.as_deref(), Some("x"));

        let p = parse_resource_id("/subscriptions/1111/resourceGroups/rg");
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.resources/subscriptions/resourcegroups")
        );
        assert_eq!(p.name.as_deref(), Some("rg"));

        let p = parse_resource_id(
            "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Insights/diagnosticSettings/d",
        );
        assert_eq!(p.provider.as_deref(), Some("microsoft.insights"));
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.insights/diagnosticsettings")
        );

        let p = parse_resource_id("/providers/Microsoft.Management/managementGroups/mg1");
        assert_eq!(p.subscription, None);
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.management/managementgroups")
        );
        assert_eq!(p.name.as_deref(), Some("mg1"));

        assert_eq!(parse_resource_id("/"), ResourceParts::default());
    }
}
