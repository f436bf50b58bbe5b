//! Offline threat intelligence: IP and CIDR lists (`scan --ioc FILE`)
//! parsed into prefix tries, looked up once per distinct address.
//!
//! Formats, detected per file:
//! - **plain**: one address or CIDR network per line (`203.0.113.5`,
//!   `198.51.100.0/24`, `2001:db8::/32`), an optional label after a comma
//!   (`198.51.100.0/24, APT-X staging`), `#` comments (whole line or
//!   trailing), blank lines, CRLF, a UTF-8 BOM. An entry whose label has the
//!   word `tor`, `proxy`, `vpn` or `anonymizer` is a proxy entry; the others
//!   are suspicious addresses.
//! - **tor-bulk-exit-list**: `https://check.torproject.org/torbulkexitlist`,
//!   one bare address per line. It looks like a plain list, so it is
//!   recognised by its name: a file whose name has `tor` and `exit` in it
//!   (as `torbulkexitlist` does) and whose entries have no labels. Every
//!   entry is a proxy entry labelled `Tor exit node`.
//! - **tor-exit-addresses**: TorDNSEL's `exit-addresses` (`ExitNode <fp>`,
//!   `Published`, `LastStatus`, `ExitAddress <ip> <date> <time>`), recognised
//!   by its keywords. Every `ExitAddress` is a proxy entry labelled with the
//!   relay's fingerprint and when it was seen exiting.
//!
//! A line that is none of these is an error naming the file and the line:
//! like a `--config` file, intelligence the user supplied is never dropped
//! silently.
//!
//! Matching: per kind, a binary trie over the address bits (IPv4 and IPv6
//! apart; IPv4-mapped IPv6 addresses are IPv4), longest prefix first.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// What a listed address means, which decides the Defender alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IocKind {
    /// A suspicious address (`ARM_OperationFromSuspiciousIP`).
    Suspicious,
    /// A Tor exit node or another anonymising proxy (`ARM_OperationFromSuspiciousProxyIP`).
    Proxy,
}

impl IocKind {
    pub const ALL: [IocKind; 2] = [IocKind::Suspicious, IocKind::Proxy];

    /// Its bit in a kind mask.
    pub fn bit(self) -> u8 {
        match self {
            IocKind::Suspicious => 1,
            IocKind::Proxy => 2,
        }
    }
}

/// The format of an IOC file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocFormat {
    Plain,
    TorBulkExitList,
    TorExitAddresses,
}

impl IocFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            IocFormat::Plain => "plain",
            IocFormat::TorBulkExitList => "tor-bulk-exit-list",
            IocFormat::TorExitAddresses => "tor-exit-addresses",
        }
    }
}

/// A network: address bits (IPv4 in the low 32 bits), prefix length, family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Net {
    pub addr: u128,
    pub prefix: u8,
    pub v6: bool,
}

impl Net {
    fn width(v6: bool) -> u8 {
        if v6 { 128 } else { 32 }
    }

    /// `203.0.113.5`, `198.51.100.0/24`, `2001:db8::/32`, `::ffff:192.0.2.0/120`.
    /// Host bits beyond the prefix are cleared.
    pub fn parse(s: &str) -> std::result::Result<Net, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?;
        let mapped = matches!(ip, IpAddr::V6(v) if v.to_ipv4_mapped().is_some());
        let (addr, v6) = ip_bits(ip);
        let max = Self::width(v6);
        let mut prefix = match p {
            None => max,
            Some(p) => {
                let given_max = if mapped { 128 } else { max };
                let n = p
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|&n| n <= given_max)
                    .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {given_max}"))?;
                if mapped {
                    n.checked_sub(96).ok_or_else(|| {
                        format!("{s:?}: an IPv4-mapped network needs a prefix of 96 to 128")
                    })?
                } else {
                    n
                }
            }
        };
        prefix = prefix.min(max);
        Ok(Net {
            addr: addr & mask(prefix, v6),
            prefix,
            v6,
        })
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip: IpAddr = if self.v6 {
            std::net::Ipv6Addr::from(self.addr).into()
        } else {
            std::net::Ipv4Addr::from(self.addr as u32).into()
        };
        if self.prefix == Self::width(self.v6) {
            write!(f, "{ip}")
        } else {
            write!(f, "{ip}/{}", self.prefix)
        }
    }
}

fn mask(prefix: u8, v6: bool) -> u128 {
    let width = Net::width(v6) as u32;
    if prefix == 0 {
        0
    } else {
        (u128::MAX << (width - prefix as u32)) & (u128::MAX >> (128 - width))
    }
}

/// Address bits and family; IPv4-mapped IPv6 is IPv4.
pub fn ip_bits(a: IpAddr) -> (u128, bool) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, false),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) as u128, false),
            None => (u128::from(v), true),
        },
    }
}

/// Parses an address as the frame holds it (`caller_ip`, `token_ip`):
/// an IPv4 or IPv6 address, possibly in brackets or with a zone.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next().unwrap_or(s);
    s.parse().ok()
}

/// One listed network, where it came from and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub net: Net,
    pub kind: IocKind,
    pub label: Option<String>,
    /// Index into [`IocSet::files`].
    pub file: usize,
    /// 1-based line number.
    pub line: usize,
}

/// A binary trie over address bits; a node holds the entries of the
/// network it stands for.
#[derive(Clone, Debug, Default)]
struct Trie {
    /// (child for bit 0, child for bit 1, entries) per node; node 0 is the root.
    nodes: Vec<([u32; 2], Vec<u32>)>,
}

impl Trie {
    fn insert(&mut self, net: Net, entry: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(([0, 0], Vec::new()));
        }
        let width = Net::width(net.v6) as u32;
        let mut n = 0usize;
        for i in 0..net.prefix as u32 {
            let bit = ((net.addr >> (width - 1 - i)) & 1) as usize;
            let next = self.nodes[n].0[bit];
            n = if next == 0 {
                self.nodes.push(([0, 0], Vec::new()));
                let k = self.nodes.len() - 1;
                self.nodes[n].0[bit] = k as u32;
                k
            } else {
                next as usize
            };
        }
        self.nodes[n].1.push(entry);
    }

    /// The entries of the longest listed network holding `addr`.
    fn longest(&self, addr: u128, v6: bool) -> &[u32] {
        let Some(root) = self.nodes.first() else {
            return &[];
        };
        let width = Net::width(v6) as u32;
        let mut best: &[u32] = &root.1;
        let mut n = 0usize;
        for i in 0..width {
            let bit = ((addr >> (width - 1 - i)) & 1) as usize;
            match self.nodes[n].0[bit] {
                0 => break,
                k => n = k as usize,
            }
            if !self.nodes[n].1.is_empty() {
                best = &self.nodes[n].1;
            }
        }
        best
    }
}

/// An IOC file as the manifest records it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct IocFile {
    pub path: String,
    pub sha256: String,
    pub format: IocFormat,
    /// Addresses and networks read from it (lines that list one).
    pub entries: usize,
}

/// Every IOC file of a run, ready for lookups.
#[derive(Clone, Debug, Default)]
pub struct IocSet {
    pub files: Vec<IocFile>,
    entries: Vec<Entry>,
    /// Per kind (in [`IocKind::ALL`] order) and family (v4, v6).
    tries: [[Trie; 2]; 2],
}

fn kind_index(k: IocKind) -> usize {
    match k {
        IocKind::Suspicious => 0,
        IocKind::Proxy => 1,
    }
}

/// Whether a plain-list label says the address is an anonymising proxy.
fn proxy_label(label: &str) -> bool {
    label.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "tor" | "proxy" | "vpn" | "anonymizer" | "anonymiser"
        )
    })
}

/// Strips a trailing `#` comment and surrounding blanks.
fn uncomment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// Parses the text of one IOC file. `name` is the file name (it tells the
/// Tor bulk exit list apart). Returns the format and the entries (with
/// `file` set to `file`), or `line N: what is wrong`.
pub fn parse(
    text: &str,
    name: &str,
    file: usize,
) -> std::result::Result<(IocFormat, Vec<Entry>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = || text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let tordnsel = lines().any(|(_, l)| {
        let first = l.split_whitespace().next().unwrap_or("");
        first == "ExitNode" || first == "ExitAddress"
    });
    let mut out = Vec::new();
    if tordnsel {
        let mut node: Option<String> = None;
        for (n, l) in lines() {
            let l = uncomment(l);
            let mut w = l.split_whitespace();
            match w.next() {
                None => {}
                Some("ExitNode") => {
                    node = Some(
                        w.next()
                            .ok_or_else(|| format!("line {n}: ExitNode without a fingerprint"))?
                            .to_owned(),
                    );
                }
                Some("Published") | Some("LastStatus") => {}
                Some("ExitAddress") => {
                    let ip = w
                        .next()
                        .ok_or_else(|| format!("line {n}: ExitAddress without an address"))?;
                    let net = Net::parse(ip).map_err(|e| format!("line {n}: {e}"))?;
                    let seen: Vec<&str> = w.collect();
                    let mut label = "Tor exit node".to_owned();
                    if let Some(fp) = &node {
                        label.push_str(&format!(" {fp}"));
                    }
                    if !seen.is_empty() {
                        label.push_str(&format!(" (exit seen {})", seen.join(" ")));
                    }
                    out.push(Entry {
                        net,
                        kind: IocKind::Proxy,
                        label: Some(label),
                        file,
                        line: n,
                    });
                }
                Some(other) => {
                    return Err(format!(
                        "line {n}: {other:?} is not a TorDNSEL exit-addresses line \
                         (ExitNode, Published, LastStatus, ExitAddress)"
                    ));
                }
            }
        }
        return Ok((IocFormat::TorExitAddresses, out));
    }
    for (n, l) in lines() {
        let l = uncomment(l);
        if l.is_empty() {
            continue;
        }
        let (addr, label) = match l.split_once(',') {
            Some((a, lab)) => {
                let lab = lab.trim();
                (a.trim(), (!lab.is_empty()).then(|| lab.to_owned()))
            }
            None => (l, None),
        };
        let net = Net::parse(addr).map_err(|e| {
            format!("line {n}: {e} (expected an address or CIDR network, optionally followed by \", label\")")
        })?;
        let kind = if label.as_deref().is_some_and(proxy_label) {
            IocKind::Proxy
        } else {
            IocKind::Suspicious
        };
        out.push(Entry {
            net,
            kind,
            label,
            file,
            line: n,
        });
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains("tor") && lower.contains("exit") && out.iter().all(|e| e.label.is_none()) {
        for e in &mut out {
            e.kind = IocKind::Proxy;
            e.label = Some("Tor exit node".into());
        }
        return Ok((IocFormat::TorBulkExitList, out));
    }
    Ok((IocFormat::Plain, out))
}

/// What a lookup found: the longest listed network of one kind holding the
/// address, and its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match<'s> {
    pub entries: Vec<&'s Entry>,
}

impl Match<'_> {
    /// `198.51.100.0/24 "APT-X staging" (iocs.txt:4)`, entries joined by `, `.
    pub fn describe(&self, set: &IocSet) -> String {
        self.entries
            .iter()
            .map(|e| {
                let file = set
                    .files
                    .get(e.file)
                    .map(|f| {
                        Path::new(&f.path)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| f.path.clone())
                    })
                    .unwrap_or_default();
                match &e.label {
                    Some(l) => format!("{} {l:?} ({file}:{})", e.net, e.line),
                    None => format!("{} ({file}:{})", e.net, e.line),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl IocSet {
    /// Reads and parses IOC files; a file that cannot be read or has a bad
    /// line is an error naming it (and the line).
    pub fn load(paths: &[PathBuf]) -> Result<IocSet> {
        let mut set = IocSet::default();
        for p in paths {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| Error::output(p, format!("not UTF-8 text: {e}")))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            set.add(
                &p.display().to_string(),
                crate::input::sha256_hex(&bytes),
                text,
                &name,
            )
            .map_err(|m| Error::output(p, m))?;
        }
        Ok(set)
    }

    /// Adds one file's text (see [`parse`]).
    pub fn add(
        &mut self,
        path: &str,
        sha256: String,
        text: &str,
        name: &str,
    ) -> std::result::Result<(), String> {
        let (format, entries) = parse(text, name, self.files.len())?;
        self.files.push(IocFile {
            path: path.to_owned(),
            sha256,
            format,
            entries: entries.len(),
        });
        for e in entries {
            let k = self.entries.len() as u32;
            self.tries[kind_index(e.kind)][e.net.v6 as usize].insert(e.net, k);
            self.entries.push(e);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The longest listed network of `kind` that holds `ip`.
    pub fn lookup(&self, ip: IpAddr, kind: IocKind) -> Option<Match<'_>> {
        let (addr, v6) = ip_bits(ip);
        let hits = self.tries[kind_index(kind)][v6 as usize].longest(addr, v6);
        (!hits.is_empty()).then(|| Match {
            entries: hits.iter().map(|&i| &self.entries[i as usize]).collect(),
        })
    }

    /// The kinds (a mask of [`IocKind::bit`]) under which an address text
    /// is listed; 0 when it is not an address or not listed.
    pub fn kinds(&self, ip: &str) -> u8 {
        let Some(ip) = parse_ip(ip) else { return 0 };
        IocKind::ALL
            .iter()
            .filter(|&&k| self.lookup(ip, k).is_some())
            .fold(0, |m, k| m | k.bit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> IocSet {
        let mut s = IocSet::default();
        for (name, text) in files {
            s.add(name, String::new(), text, name).unwrap();
        }
        s
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn plain_lists_with_comments_labels_crlf_bom_and_ipv6() {
        let text = "\u{feff}# incident 2024-06 IOCs\r\n\r\n203.0.113.5\r\n198.51.100.0/24, APT-X staging # from the vendor\r\n2001:db8::/32 ,  v6 infra\r\n  192.0.2.9 # no label\r\n10.9.8.7, Mullvad VPN exit\r\n";
        let (format, e) = parse(text, "iocs.txt", 0).unwrap();
        assert_eq!(format, IocFormat::Plain);
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].net.to_string(), "203.0.113.5");
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].label, None);
        assert_eq!(e[1].net.to_string(), "198.51.100.0/24");
        assert_eq!(e[1].label.as_deref(), Some("APT-X staging"));
        assert_eq!(e[1].kind, IocKind::Suspicious);
        assert_eq!(e[2].net.to_string(), "2001:db8::/32");
        assert!(e[2].net.v6);
        assert_eq!(e[2].label.as_deref(), Some("v6 infra"));
        assert_eq!(e[3].label, None);
        assert_eq!(e[4].kind, IocKind::Proxy, "a VPN label is a proxy entry");
    }

    #[test]
    fn bad_lines_name_their_line() {
        let e = parse("203.0.113.5\n\n203.0.113.300\n", "x.txt", 0).unwrap_err();
        assert!(e.starts_with("line 3: "), "{e}");
        assert!(e.contains("203.0.113.300"), "{e}");
        let e = parse("198.51.100.0/33\n", "x.txt", 0).unwrap_err();
        assert!(e.contains("line 1") && e.contains("0 to 32"), "{e}");
        let e = parse("evil.example.com, C2\n", "x.txt", 0).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse(
            "ExitNode AAAA\nExitAddress 1.2.3.4 2024-06-01 10:00:00\nGarbage here\n",
            "exit-addresses",
            0,
        )
        .unwrap_err();
        assert!(e.starts_with("line 3: ") && e.contains("Garbage"), "{e}");
        // The error of a file names it.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bad.txt");
        std::fs::write(&p, "1.2.3.4\nnope\n").unwrap();
        let err = IocSet::load(&[p]).unwrap_err().to_string();
        assert!(err.contains("bad.txt") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn tor_formats() {
        let dnsel = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-05-31 21:13:56\nLastStatus 2024-06-01 10:00:00\nExitAddress 162.247.74.201 2024-06-01 10:07:34\nExitNode 00FF\nPublished 2024-05-31 21:13:56\nLastStatus 2024-06-01 10:00:00\nExitAddress 2001:db8:1::1 2024-06-01 09:00:00\n";
        let (format, e) = parse(dnsel, "exit-addresses", 0).unwrap();
        assert_eq!(format, IocFormat::TorExitAddresses);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, IocKind::Proxy);
        assert_eq!(
            e[0].label.as_deref(),
            Some(
                "Tor exit node 0011BD2485AD45D984EC4159C88FC066E5E3300E (exit seen 2024-06-01 10:07:34)"
            )
        );
        assert_eq!(e[0].line, 4);
        assert!(e[1].net.v6);
        let (format, e) = parse("185.220.101.1\n185.220.101.2\n", "torbulkexitlist", 0).unwrap();
        assert_eq!(format, IocFormat::TorBulkExitList);
        assert!(
            e.iter()
                .all(|e| e.kind == IocKind::Proxy && e.label.as_deref() == Some("Tor exit node"))
        );
        // The same lines under another name are a plain list.
        let (format, e) = parse("185.220.101.1\n", "iocs.txt", 0).unwrap();
        assert_eq!(format, IocFormat::Plain);
        assert_eq!(e[0].kind, IocKind::Suspicious);
    }

    #[test]
    fn longest_prefix_wins_and_families_are_apart() {
        let s = set(&[(
            "iocs.txt",
            "10.0.0.0/8, wide\n10.1.0.0/16, narrower\n10.1.2.3, exact\n::ffff:192.0.2.0/120, mapped\n2001:db8::/32, v6\n0.0.0.0/0, everything v4\n",
        )]);
        let label = |a: &str| {
            s.lookup(ip(a), IocKind::Suspicious)
                .map(|m| m.entries[0].label.clone().unwrap())
        };
        assert_eq!(label("10.1.2.3").as_deref(), Some("exact"));
        assert_eq!(label("10.1.2.4").as_deref(), Some("narrower"));
        assert_eq!(label("10.2.0.1").as_deref(), Some("wide"));
        assert_eq!(label("11.0.0.1").as_deref(), Some("everything v4"));
        assert_eq!(label("192.0.2.77").as_deref(), Some("mapped"));
        assert_eq!(label("::ffff:10.1.2.3").as_deref(), Some("exact"));
        assert_eq!(label("2001:db8:5::1").as_deref(), Some("v6"));
        assert_eq!(label("2001:db9::1"), None, "0.0.0.0/0 does not cover IPv6");
        assert_eq!(s.lookup(ip("10.1.2.3"), IocKind::Proxy), None);
    }

    #[test]
    fn near_misses_and_kinds() {
        let s = set(&[
            ("iocs.txt", "198.51.100.0/24, APT-X staging\n"),
            ("torbulkexitlist", "192.0.2.77\n"),
        ]);
        assert_eq!(s.kinds("198.51.100.0"), IocKind::Suspicious.bit());
        assert_eq!(s.kinds("198.51.100.255"), IocKind::Suspicious.bit());
        assert_eq!(s.kinds("198.51.101.0"), 0);
        assert_eq!(s.kinds("198.51.99.255"), 0);
        assert_eq!(s.kinds("192.0.2.77"), IocKind::Proxy.bit());
        assert_eq!(s.kinds("192.0.2.78"), 0);
        assert_eq!(s.kinds("not an ip"), 0);
        assert_eq!(s.kinds(""), 0);
        let m = s.lookup(ip("198.51.100.23"), IocKind::Suspicious).unwrap();
        assert_eq!(
            m.describe(&s),
            "198.51.100.0/24 \"APT-X staging\" (iocs.txt:1)"
        );
        assert_eq!(s.files[1].format, IocFormat::TorBulkExitList);
        assert_eq!(s.files[0].entries, 1);
    }

    #[test]
    fn the_same_network_in_two_files_gives_both_labels() {
        let s = set(&[
            ("a.txt", "203.0.113.0/24, vendor A\n"),
            ("b.txt", "203.0.113.0/24, vendor B\n"),
        ]);
        let m = s.lookup(ip("203.0.113.9"), IocKind::Suspicious).unwrap();
        assert_eq!(
            m.describe(&s),
            "203.0.113.0/24 \"vendor A\" (a.txt:1), 203.0.113.0/24 \"vendor B\" (b.txt:1)"
        );
    }
}
