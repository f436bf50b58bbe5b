//! `filter`: the investigation step Microsoft documents for every Defender
//! for Resource Manager alert (the subscription, the time frame and the
//! account of the alert), over offline exports. [`Criteria`] is what to
//! keep; [`Criteria::mask`] judges one frame chunk. Values of one flag OR
//! together, different flags AND.

use std::net::IpAddr;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::Col;

/// An IP address or network (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: u128,
    prefix: u8,
    v6: bool,
}

fn bits(a: IpAddr) -> (u128, bool) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, false),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) as u128, false),
            None => (u128::from(v), true),
        },
    }
}

impl IpNet {
    pub fn parse(s: &str) -> std::result::Result<IpNet, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?;
        let (addr, v6) = bits(ip);
        let max = if v6 { 128 } else { 32 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet {
            addr: addr & Self::mask(prefix, v6),
            prefix,
            v6,
        })
    }

    fn mask(prefix: u8, v6: bool) -> u128 {
        let width = if v6 { 128 } else { 32 };
        if prefix == 0 {
            0
        } else {
            (u128::MAX << (width - prefix as u32)) & (u128::MAX >> (128 - width))
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, v6) = bits(ip);
        v6 == self.v6 && a & Self::mask(self.prefix, v6) == self.addr
    }
}

/// A case-insensitive glob over operation names: `*` any run of
/// characters (`/` included), `?` one character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(p: &str) -> Glob {
        Glob(p.to_lowercase().chars().collect())
    }

    /// Matches `s` (already lower-case, as the frame's operations are).
    pub fn matches(&self, s: &str) -> bool {
        let p = &self.0;
        let t: Vec<char> = s.chars().collect();
        let (mut i, mut j) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while j < t.len() {
            if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
                star = Some((i, j));
                i += 1;
            } else if let Some((si, sj)) = star {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|&c| c == '*')
    }
}

/// What to keep. Empty lists do not restrict.
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    pub subscriptions: Vec<String>,
    /// Inclusive lower bound, µs since the epoch.
    pub from_us: Option<i64>,
    /// Exclusive upper bound, µs since the epoch.
    pub until_us: Option<i64>,
    /// UPNs or object ids: matched against `caller` and `principal_id`.
    pub callers: Vec<String>,
    /// Matched against `caller_ip` and `token_ip`.
    pub ips: Vec<IpNet>,
    pub operations: Vec<Glob>,
    pub resource_groups: Vec<String>,
    /// A resource id keeps the resource and everything under it.
    pub resources: Vec<String>,
    pub correlation_ids: Vec<String>,
    pub statuses: Vec<String>,
    /// A polars SQL predicate over the canonical columns, and its text.
    pub sql: Option<(Expr, String)>,
}

fn lower_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().to_lowercase()).collect()
}

/// Parses a `--where` predicate and checks that every column it names is
/// a canonical column.
pub fn parse_where(text: &str) -> Result<Expr> {
    let usage = |msg: String| Error::Usage {
        flag: "--where".into(),
        msg,
    };
    let expr = polars::sql::sql_expr(text).map_err(|e| usage(format!("{text:?}: {e}")))?;
    let known = crate::frame::column_names();
    for name in expr.clone().meta().root_names() {
        if !known.contains(&name.as_str()) {
            return Err(usage(format!(
                "{text:?}: there is no column {:?}; the columns are: {}",
                name.as_str(),
                known.join(", ")
            )));
        }
    }
    Ok(expr)
}

impl Criteria {
    /// Lower-cases the values that the frame holds lower-cased and
    /// normalises statuses the way the ingest does (`Success` = `succeeded`).
    pub fn normalised(mut self) -> Criteria {
        self.subscriptions = lower_all(&self.subscriptions);
        self.callers = lower_all(&self.callers);
        self.resource_groups = lower_all(&self.resource_groups);
        self.resources = lower_all(&self.resources)
            .into_iter()
            .map(|r| r.trim_end_matches('/').to_owned())
            .collect();
        self.correlation_ids = lower_all(&self.correlation_ids);
        self.statuses = self
            .statuses
            .iter()
            .map(|s| crate::normalize::values::status(s.trim()).into_owned())
            .collect();
        self
    }

    /// Which rows of `df` (a canonical frame chunk) to keep.
    pub fn mask(&self, df: &DataFrame) -> Result<BooleanChunked> {
        let n = df.height();
        let mut keep = vec![true; n];
        let str_col = |c: Col| -> Result<StringChunked> { Ok(df.column(c.name())?.str()?.clone()) };
        let retain = |keep: &mut Vec<bool>, ca: &StringChunked, f: &dyn Fn(&str) -> bool| {
            for (k, v) in keep.iter_mut().zip(ca.iter()) {
                if *k {
                    *k = v.is_some_and(f);
                }
            }
        };
        let any_of = |vals: &[String]| {
            let vals = vals.to_vec();
            move |s: &str| vals.iter().any(|v| v == s)
        };
        if self.from_us.is_some() || self.until_us.is_some() {
            let t = crate::frame::times(df)?;
            let (lo, hi) = (
                self.from_us.unwrap_or(i64::MIN),
                self.until_us.unwrap_or(i64::MAX),
            );
            for (k, v) in keep.iter_mut().zip(t.iter()) {
                *k = *k && v.is_some_and(|v| v >= lo && v < hi);
            }
        }
        if !self.subscriptions.is_empty() {
            retain(
                &mut keep,
                &str_col(Col::SubscriptionId)?,
                &any_of(&self.subscriptions),
            );
        }
        if !self.callers.is_empty() {
            let (c, p) = (str_col(Col::Caller)?, str_col(Col::PrincipalId)?);
            for ((k, c), p) in keep.iter_mut().zip(c.iter()).zip(p.iter()) {
                if *k {
                    *k = self
                        .callers
                        .iter()
                        .any(|v| c == Some(v.as_str()) || p == Some(v.as_str()));
                }
            }
        }
        if !self.ips.is_empty() {
            let (c, t) = (str_col(Col::CallerIp)?, str_col(Col::TokenIp)?);
            let hit = |s: Option<&str>| {
                s.and_then(|s| s.parse::<IpAddr>().ok())
                    .is_some_and(|ip| self.ips.iter().any(|n| n.contains(ip)))
            };
            for ((k, c), t) in keep.iter_mut().zip(c.iter()).zip(t.iter()) {
                if *k {
                    *k = hit(c) || hit(t);
                }
            }
        }
        if !self.operations.is_empty() {
            retain(&mut keep, &str_col(Col::Operation)?, &|s: &str| {
                self.operations.iter().any(|g| g.matches(s))
            });
        }
        if !self.resource_groups.is_empty() {
            retain(
                &mut keep,
                &str_col(Col::ResourceGroup)?,
                &any_of(&self.resource_groups),
            );
        }
        if !self.resources.is_empty() {
            retain(&mut keep, &str_col(Col::ResourceId)?, &|s: &str| {
                self.resources.iter().any(|r| {
                    s.strip_prefix(r.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
            });
        }
        if !self.correlation_ids.is_empty() {
            retain(
                &mut keep,
                &str_col(Col::CorrelationId)?,
                &any_of(&self.correlation_ids),
            );
        }
        if !self.statuses.is_empty() {
            retain(&mut keep, &str_col(Col::Status)?, &any_of(&self.statuses));
        }
        if let Some((expr, text)) = &self.sql
            && keep.iter().any(|&k| k)
        {
            let m = df
                .clone()
                .lazy()
                .select([expr.clone().alias("__where")])
                .collect()
                .map_err(|e| Error::Usage {
                    flag: "--where".into(),
                    msg: format!("{text:?}: {e}"),
                })?;
            let col = m.column("__where")?;
            let b = col.bool().map_err(|_| Error::Usage {
                flag: "--where".into(),
                msg: format!(
                    "{text:?} is not a predicate (it gives {}, not true/false)",
                    col.dtype()
                ),
            })?;
            if b.len() == 1 && n != 1 {
                let v = b.get(0).unwrap_or(false);
                keep.iter_mut().for_each(|k| *k = *k && v);
            } else {
                for (k, v) in keep.iter_mut().zip(b.iter()) {
                    *k = *k && v.unwrap_or(false);
                }
            }
        }
        Ok(BooleanChunked::from_slice(
            PlSmallStr::from_static("keep"),
            &keep,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = Glob::new("Microsoft.Storage/*/listKeys/action");
        assert!(g.matches("microsoft.storage/storageaccounts/listkeys/action"));
        assert!(!g.matches("microsoft.storage/storageaccounts/listkeys/actions"));
        assert!(Glob::new("*delete").matches("microsoft.compute/virtualmachines/delete"));
        assert!(Glob::new("microsoft.?eyvault/*").matches("microsoft.keyvault/vaults/write"));
        assert!(!Glob::new("microsoft.keyvault/*").matches("microsoft.storage/x"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("a*b*c").matches("axxbyyc"));
        assert!(!Glob::new("a*b*c").matches("axxbyy"));
        assert!(Glob::new("exact/op").matches("exact/op"));
    }

    #[test]
    fn networks() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(
            n.contains("::ffff:10.1.2.3".parse().unwrap()),
            "v4-mapped v6"
        );
        let one = IpNet::parse("203.0.113.7").unwrap();
        assert!(one.contains("203.0.113.7".parse().unwrap()));
        assert!(!one.contains("203.0.113.8".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("10.1.2.3".parse().unwrap()));
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("10.0.0/8").is_err());
        assert!(IpNet::parse("bad").is_err());
    }

    #[test]
    fn where_names_unknown_columns() {
        assert!(parse_where("status = 'failed' AND caller LIKE '%@contoso.com'").is_ok());
        let e = parse_where("statuz = 'failed'").unwrap_err().to_string();
        assert!(e.contains("\"statuz\"") && e.contains("caller_ip"), "{e}");
        assert!(parse_where("status = = 'x'").is_err());
    }
}
