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
    for known in ACTIVITY_CATEGORIES {
        if t.eq_ignore_ascii_case(known) {
            return Cow::Borrowed(known);
        }
    }
    Cow::Owned(lower(t).into_owned())
}

const ACTIVITY_CATEGORIES: [&str; 8] = [
    "administrative",
    "security",
    "servicehealth",
    "resourcehealth",
    "alert",
    "autoscale",
    "recommendation",
    "policy",
];

/// Whether a (resource-log) `category` value belongs to the Activity Log.
pub fn is_activity_category(s: &str) -> bool {
    let t = s.trim();
    ACTIVITY_CATEGORIES
        .iter()
        .chain(["write", "delete", "action"].iter())
        .any(|c| c.eq_ignore_ascii_case(t))
}

/// Sub-status: `Created`, `OK`, … lower-cased, with the old
/// ` (HTTP Status Code: 200)` suffix removed. Empty → none.
pub fn sub_status(s: &str) -> Option<Cow<'_, str>> {
    let mut t = s.trim();
    if let Some(i) = t.find(" (HTTP Status Code") {
        t = t[..i].trim_end();
    }
    (!t.is_empty()).then(|| lower(t))
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

/// The parts of an ARM resource id, as spelled in the id (the frame
/// lower-cases them).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ResourceParts<'a> {
    pub subscription: Option<&'a str>,
    pub resource_group: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub rtype: Option<Cow<'a, str>>,
    pub name: Option<&'a str>,
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{sub}/{name}…]`
/// and its shorter forms (subscription, resource group, provider-level,
/// management group, nested `providers` of extension resources).
pub fn parse_resource_id(id: &str) -> ResourceParts<'_> {
    let mut out = ResourceParts::default();
    let mut segs = id.split('/').filter(|s| !s.is_empty()).peekable();
    // After the last `providers`: the namespace and type/name pairs.
    let mut ns: Option<&str> = None;
    let mut pairs: Vec<(&str, Option<&str>)> = Vec::new();
    while let Some(s) = segs.next() {
        if s.eq_ignore_ascii_case("providers") {
            if let Some(n) = segs.next() {
                ns = Some(n);
                pairs.clear();
            }
        } else if ns.is_none()
            && s.eq_ignore_ascii_case("subscriptions")
            && out.subscription.is_none()
        {
            out.subscription = segs.next();
        } else if ns.is_none()
            && s.eq_ignore_ascii_case("resourcegroups")
            && out.resource_group.is_none()
        {
            out.resource_group = segs.next();
        } else if ns.is_some() {
            pairs.push((s, segs.next()));
        }
    }
    match ns {
        Some(ns) => {
            out.provider = Some(ns);
            if let Some((first, _)) = pairs.first() {
                // `ns/type` is contiguous in the id; deeper types are not.
                let start = first.as_ptr() as usize - id.as_ptr() as usize;
                let ns_start = ns.as_ptr() as usize - id.as_ptr() as usize;
                out.rtype = Some(if pairs.len() == 1 && start == ns_start + ns.len() + 1 {
                    Cow::Borrowed(&id[ns_start..start + first.len()])
                } else {
                    let mut t = ns.to_owned();
                    for (ty, _) in &pairs {
                        t.push('/');
                        t.push_str(ty);
                    }
                    Cow::Owned(t)
                });
                out.name = pairs.last().and_then(|(_, n)| *n);
            }
        }
        None => {
            if let Some(rg) = out.resource_group {
                out.provider = Some("microsoft.resources");
                out.rtype = Some(Cow::Borrowed(
                    "microsoft.resources/subscriptions/resourcegroups",
                ));
                out.name = Some(rg);
            } else if let Some(sub) = out.subscription {
                out.provider = Some("microsoft.resources");
                out.rtype = Some(Cow::Borrowed("microsoft.resources/subscriptions"));
                out.name = Some(sub);
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
        assert_eq!(p.subscription, Some("1111"));
        assert_eq!(p.resource_group, Some("RG-A"));
        assert_eq!(p.provider, Some("MICROSOFT.COMPUTE"));
        assert_eq!(
            p.rtype.as_deref(),
            Some("MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS")
        );
        assert_eq!(p.name, Some("CSE"));

        let p = parse_resource_id(
            "/subscriptions/1111/providers/microsoft.insights/diagnosticSettings/x",
        );
        assert_eq!(p.resource_group, None);
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.insights/diagnosticSettings")
        );
        assert!(matches!(p.rtype, Some(Cow::Borrowed(_))));
        assert_eq!(p.name, Some("x"));

        let p = parse_resource_id("/subscriptions/1111/resourceGroups/rg");
        assert_eq!(
            p.rtype.as_deref(),
            Some("microsoft.resources/subscriptions/resourcegroups")
        );
        assert_eq!(p.name, Some("rg"));

        let p = parse_resource_id(
            "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Insights/diagnosticSettings/d",
        );
        assert_eq!(p.provider, Some("Microsoft.Insights"));
        assert_eq!(
            p.rtype.as_deref(),
            Some("Microsoft.Insights/diagnosticSettings")
        );
        assert_eq!(p.name, Some("d"));

        let p = parse_resource_id("/providers/Microsoft.Management/managementGroups/mg1");
        assert_eq!(p.subscription, None);
        assert_eq!(
            p.rtype.as_deref(),
            Some("Microsoft.Management/managementGroups")
        );
        assert_eq!(p.name, Some("mg1"));

        assert_eq!(parse_resource_id("/"), ResourceParts::default());
    }
}
