//! Rule configuration: a TOML file that overrides parameter defaults and
//! turns rules off.
//!
//! ```toml
//! [rules."AH-CRED-001"]
//! min_accounts = 8      # a count
//! window = "15m"        # a duration: "90s", "15m", "2h", or seconds
//!
//! [rules."AH-IMPA-001"]
//! enabled = false
//! ```
//!
//! Unknown rule ids, unknown parameters and bad values are errors that say
//! what was expected, so a typo never silently keeps a default.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{ParamKind, RuleMeta, catalog};
use crate::error::{Error, Result};

/// Per-rule settings from the config file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleConf {
    pub enabled: Option<bool>,
    pub params: BTreeMap<String, u64>,
}

/// The effective configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    pub rules: BTreeMap<String, RuleConf>,
    /// The `--ioc` lists the IOC rules match addresses against.
    #[serde(skip)]
    pub ioc: std::sync::Arc<super::ioc::IocSet>,
    /// The `--geoip` databases, when given.
    #[serde(skip)]
    pub geoip: Option<std::sync::Arc<crate::geo::GeoDb>>,
}

/// Parameter values for one rule run: defaults with overrides applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Params(pub BTreeMap<&'static str, u64>);

impl Params {
    /// A count parameter.
    pub fn count(&self, name: &str) -> usize {
        *self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("rule asked for undeclared parameter {name}"))
            as usize
    }
    /// A duration parameter, in microseconds.
    pub fn window(&self, name: &str) -> i64 {
        *self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("rule asked for undeclared parameter {name}")) as i64
            * 1_000_000
    }
    /// The defaults of a rule.
    pub fn defaults(meta: &RuleMeta) -> Params {
        Params(meta.params.iter().map(|p| (p.name, p.default)).collect())
    }
}

/// Parses `"90s"`, `"15m"`, `"2h"`, `"1d"` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn bad(path: &Path, msg: String) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        msg,
    }
}

impl Config {
    /// Reads and validates a TOML config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|m| bad(path, m))
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("not valid TOML: {e}"))?;
        let mut cfg = Config::default();
        for (k, v) in &doc {
            if k != "rules" {
                return Err(format!(
                    "unknown section [{k}]; expected [rules.\"RULE-ID\"]"
                ));
            }
            let rules = v.as_table().ok_or("[rules] must be a table")?;
            for (id, body) in rules {
                let meta = catalog::find(id)
                    .ok_or_else(|| format!("unknown rule {id:?} (see `armhunt rules list`)"))?
                    .meta();
                let body = body
                    .as_table()
                    .ok_or_else(|| format!("[rules.{id:?}] must be a table"))?;
                let mut rc = RuleConf::default();
                for (pk, pv) in body {
                    if pk == "enabled" {
                        rc.enabled = Some(
                            pv.as_bool()
                                .ok_or_else(|| format!("{id}.enabled must be true or false"))?,
                        );
                        continue;
                    }
                    let spec = meta.params.iter().find(|p| p.name == pk).ok_or_else(|| {
                        let names: Vec<&str> = meta.params.iter().map(|p| p.name).collect();
                        format!(
                            "rule {id} has no parameter {pk:?}; its parameters: {}",
                            names.join(", ")
                        )
                    })?;
                    let value = match (spec.kind, pv) {
                        (_, toml::Value::Integer(n)) if *n >= 0 => *n as u64,
                        (ParamKind::Duration, toml::Value::String(s)) => parse_duration(s).ok_or_else(|| {
                            format!("{id}.{pk}: {s:?} is not a duration (e.g. \"90s\", \"15m\", \"2h\")")
                        })?,
                        (ParamKind::Count, _) => return Err(format!("{id}.{pk} must be a non-negative integer")),
                        (ParamKind::Duration, _) => {
                            return Err(format!("{id}.{pk} must be a duration (\"15m\") or seconds"));
                        }
                    };
                    if spec.kind == ParamKind::Count && value == 0 {
                        return Err(format!("{id}.{pk} must be at least 1"));
                    }
                    rc.params.insert(pk.clone(), value);
                }
                cfg.rules.insert(id.clone(), rc);
            }
        }
        Ok(cfg)
    }

    pub fn enabled(&self, id: &str) -> bool {
        self.rules.get(id).and_then(|r| r.enabled).unwrap_or(true)
    }

    /// The parameters of a rule with this config's overrides.
    pub fn params(&self, meta: &RuleMeta) -> std::result::Result<Params, super::RuleError> {
        let mut p = Params::defaults(meta);
        if let Some(rc) = self.rules.get(meta.id) {
            for (k, v) in &rc.params {
                if let Some(spec) = meta.params.iter().find(|s| s.name == k) {
                    p.0.insert(spec.name, *v);
                }
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("600"), Some(600));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn overrides_and_errors() {
        let c = Config::parse("[rules.\"AH-CRED-001\"]\nmin_accounts = 8\nwindow = \"15m\"\n[rules.\"AH-IMPA-001\"]\nenabled = false\n").unwrap();
        let meta = catalog::find("AH-CRED-001").unwrap().meta();
        let p = c.params(meta).unwrap();
        assert_eq!(p.count("min_accounts"), 8);
        assert_eq!(p.window("window"), 900_000_000);
        assert!(!c.enabled("AH-IMPA-001"));
        assert!(c.enabled("AH-CRED-001"));
        let e = Config::parse("[rules.\"AH-NOPE-001\"]\nx = 1\n").unwrap_err();
        assert!(e.contains("unknown rule"), "{e}");
        let e = Config::parse("[rules.\"AH-CRED-001\"]\nmin_acounts = 1\n").unwrap_err();
        assert!(e.contains("min_accounts"), "{e}");
        let e = Config::parse("[rules.\"AH-CRED-001\"]\nwindow = \"soon\"\n").unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
        let e = Config::parse("[rules.\"AH-CRED-001\"]\nmin_accounts = 0\n").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
    }
}
