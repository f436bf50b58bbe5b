//! Threat intelligence: operations from addresses on the `--ioc` lists
//! (suspicious IPs and networks; Tor exit nodes and other proxies). Every
//! operation counts, whatever it is: the rows are selected by address, not
//! by operation. Without `--ioc` these rules run and find nothing.

use std::cell::RefCell;
use std::collections::HashMap;

use super::super::events::{Ev, Events};
use super::super::ioc::{IocKind, IocSet, parse_ip};
use super::super::{
    Confidence, Context, Hit, OpFilter, ParamKind, ParamSpec, Params, Rule, RuleMeta, Severity,
};
use super::{Judgement, event_hits};

const WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Duration,
    default: 3600,
    doc: "grouping window: operations of one actor from listed addresses closer than this make one finding",
};

/// `caller IP 198.51.100.23 in 198.51.100.0/24 "APT-X" (iocs.txt:4)`, for the
/// caller IP and the token IP (said once when they are the same address).
fn why_listed(
    set: &IocSet,
    kind: IocKind,
    caller: Option<&str>,
    token: Option<&str>,
) -> Option<String> {
    let describe = |ip: &str| -> Option<(String, String)> {
        let a = parse_ip(ip)?;
        let m = set.lookup(a, kind)?;
        Some((a.to_string(), m.describe(set)))
    };
    let c = caller.and_then(describe);
    let t = token.and_then(describe);
    match (c, t) {
        (Some(c), Some(t)) if c.0 == t.0 => Some(format!("caller and token IP {} in {}", c.0, c.1)),
        (Some(c), Some(t)) => Some(format!(
            "caller IP {} in {}; token IP {} in {}",
            c.0, c.1, t.0, t.1
        )),
        (Some(c), None) => Some(format!("caller IP {} in {}", c.0, c.1)),
        (None, Some(t)) => Some(format!("token IP {} in {}", t.0, t.1)),
        (None, None) => None,
    }
}

/// The hits of an IOC rule: every operation (failed ones too) whose caller
/// or token IP is listed under `kind`, per actor and time cluster.
fn ioc_hits(ev: &[Ev], ctx: &Context, p: &Params, kind: IocKind) -> Vec<Hit> {
    if ctx.ioc.is_empty() {
        return Vec::new();
    }
    // One lookup per distinct (caller IP, token IP) pair.
    let cache: RefCell<HashMap<(String, String), Option<String>>> = RefCell::default();
    event_hits(ev, p.window("window"), true, |e| {
        let key = (
            e.caller_ip.as_deref().unwrap_or("").to_owned(),
            e.token_ip.as_deref().unwrap_or("").to_owned(),
        );
        cache
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                why_listed(
                    &ctx.ioc,
                    kind,
                    e.caller_ip.as_deref(),
                    e.token_ip.as_deref(),
                )
            })
            .clone()
            .map(Judgement::new)
    })
}

static SUSPICIOUS_IP: RuleMeta = RuleMeta {
    id: "AH-INTL-001",
    version: 1,
    title: "Operation from a suspicious IP address (IOC list)",
    description: "Any Resource Manager operation, whatever it is and whether it succeeded, whose \
        caller IP (callerIpAddress) or token IP (the ipaddr claim) is on a `scan --ioc` list: an \
        address, or the longest listed network holding it. Plain-list entries are suspicious \
        addresses unless their label names a proxy (see AH-INTL-002). Operations of one actor \
        are grouped into one finding per burst of activity, with the matched addresses, the \
        listed networks, their labels and the file and line they come from. Without --ioc the \
        rule finds nothing.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    tactics: &["Initial Access", "Execution"],
    techniques: &["T1078.004"],
    defender_alerts: &["ARM_OperationFromSuspiciousIP"],
    references: &["https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager"],
    guidance: "Treat the account as compromised: revoke its sessions and credentials, then \
        review everything it did (`armhunt filter --caller`) and everything else done from the \
        address (`armhunt filter --ip`), also in Entra ID sign-in logs.",
    false_positives: "Stale intelligence (addresses get reassigned), shared egress such as cloud \
        NAT or corporate proxies on a list, the responder's own test traffic.",
    params: &[WINDOW],
};

pub struct SuspiciousIp;

impl Rule for SuspiciousIp {
    fn meta(&self) -> &'static RuleMeta {
        &SUSPICIOUS_IP
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Ioc(IocKind::Suspicious)
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        ioc_hits(ev, ctx, p, IocKind::Suspicious)
    }
}

static PROXY_IP: RuleMeta = RuleMeta {
    id: "AH-INTL-002",
    version: 1,
    title: "Operation from a Tor exit node or anonymising proxy",
    description: "Any Resource Manager operation whose caller IP or token IP is a Tor exit node \
        (a `--ioc` file in the Tor bulk exit list or TorDNSEL exit-addresses format) or an \
        entry of a plain list whose label says tor, proxy, vpn or anonymizer. Grouped per actor \
        and burst of activity, with the matched addresses and list entries.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    tactics: &["Defense Evasion", "Command and Control"],
    techniques: &["T1090.003", "T1078.004"],
    defender_alerts: &["ARM_OperationFromSuspiciousProxyIP"],
    references: &[
        "https://learn.microsoft.com/azure/defender-for-cloud/alerts-resource-manager",
        "https://check.torproject.org/torbulkexitlist",
        "https://metrics.torproject.org/collector.html#type-tordnsel",
    ],
    guidance: "Administrators rarely manage Azure through Tor: confirm with the account owner, \
        revoke sessions if it was not them, and review what was done (`armhunt filter --ip`). \
        Use an exit list from the time of the activity: exits change daily.",
    false_positives: "Privacy-minded administrators or red-team exercises; a consumer VPN on a \
        proxy list.",
    params: &[WINDOW],
};

pub struct ProxyIp;

impl Rule for ProxyIp {
    fn meta(&self) -> &'static RuleMeta {
        &PROXY_IP
    }
    fn candidates(&self) -> OpFilter {
        OpFilter::Ioc(IocKind::Proxy)
    }
    fn detect(&self, ev: &Events<'_>, ctx: &Context, p: &Params) -> Vec<Hit> {
        ioc_hits(ev, ctx, p, IocKind::Proxy)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use super::super::super::events::testing::*;
    use super::*;

    fn ctx() -> Context {
        let mut s = IocSet::default();
        s.add(
            "iocs.txt",
            String::new(),
            "# case 42\n198.51.100.0/24, APT-X staging\n2001:db8:bad::/48, APT-X v6\n",
            "iocs.txt",
        )
        .unwrap();
        s.add(
            "torbulkexitlist",
            String::new(),
            "192.0.2.77\n",
            "torbulkexitlist",
        )
        .unwrap();
        Context {
            ioc: Arc::new(s),
            ..Context::default()
        }
    }

    const VM: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

    fn from(t: &str, actor: &str, caller_ip: &str, token_ip: Option<&str>) -> Ev<'static> {
        let mut e = ev(t, actor, "Microsoft.Compute/virtualMachines/write", VM);
        e.caller_ip = Some(Cow::Owned(caller_ip.to_owned()));
        e.token_ip = token_ip.map(|t| Cow::Owned(t.to_owned()));
        e
    }

    fn detect(r: &dyn Rule, v: Vec<Ev<'_>>) -> Vec<Hit> {
        r.detect(&events(v), &ctx(), &Params::defaults(r.meta()))
    }

    #[test]
    fn fires_on_a_listed_address_grouped_per_actor_and_cluster() {
        let h = detect(
            &SuspiciousIp,
            vec![
                from(
                    "2024-06-01T10:00:00Z",
                    "m",
                    "198.51.100.23",
                    Some("198.51.100.23"),
                ),
                from(
                    "2024-06-01T10:05:00Z",
                    "m",
                    "198.51.100.23",
                    Some("198.51.100.23"),
                ),
                // Hours later: a second finding.
                from("2024-06-01T15:00:00Z", "m", "198.51.100.24", None),
            ],
        );
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].rows.len(), 2);
        assert_eq!(
            h[0].why,
            "caller and token IP 198.51.100.23 in 198.51.100.0/24 \"APT-X staging\" (iocs.txt:2)"
        );
        assert_eq!(
            h[1].why,
            "caller IP 198.51.100.24 in 198.51.100.0/24 \"APT-X staging\" (iocs.txt:2)"
        );
    }

    #[test]
    fn a_near_miss_does_not_fire() {
        let h = detect(
            &SuspiciousIp,
            vec![
                from(
                    "2024-06-01T10:00:00Z",
                    "m",
                    "198.51.101.0",
                    Some("198.51.99.255"),
                ),
                from("2024-06-01T10:00:00Z", "n", "2001:db8:bae::1", None),
                from("2024-06-01T10:00:00Z", "o", "192.0.2.77", None),
            ],
        );
        assert!(h.is_empty(), "{h:?}");
    }

    #[test]
    fn the_token_ip_alone_matches_and_ipv6_works() {
        let h = detect(
            &SuspiciousIp,
            vec![from(
                "2024-06-01T10:00:00Z",
                "m",
                "10.0.0.4",
                Some("2001:db8:bad::5"),
            )],
        );
        assert_eq!(h.len(), 1);
        assert_eq!(
            h[0].why,
            "token IP 2001:db8:bad::5 in 2001:db8:bad::/48 \"APT-X v6\" (iocs.txt:3)"
        );
    }

    #[test]
    fn tor_exits_are_the_proxy_rule() {
        let v = || vec![from("2024-06-01T10:00:00Z", "m", "192.0.2.77", None)];
        let h = detect(&ProxyIp, v());
        assert_eq!(h.len(), 1);
        assert_eq!(
            h[0].why,
            "caller IP 192.0.2.77 in 192.0.2.77 \"Tor exit node\" (torbulkexitlist:1)"
        );
        assert!(detect(&SuspiciousIp, v()).is_empty());
        assert!(
            detect(
                &ProxyIp,
                vec![from("2024-06-01T10:00:00Z", "m", "192.0.2.78", None)]
            )
            .is_empty()
        );
    }

    #[test]
    fn without_lists_nothing_fires() {
        let e = from("2024-06-01T10:00:00Z", "m", "198.51.100.23", None);
        assert!(run(&SuspiciousIp, vec![e.clone()]).is_empty());
        assert!(run(&ProxyIp, vec![e]).is_empty());
    }
}
