//! A minimal MaxMind DB writer for tests (format 2.0,
//! <https://maxmind.github.io/MaxMind-DB/>): an IPv6 search tree with 24-bit
//! records (IPv4 networks live under `::/96`, as in GeoLite2), a data
//! section of maps, strings, doubles and unsigned integers, and the
//! metadata. Tests build their own small `.mmdb` files with it; the real
//! `maxminddb` reader is what checks it.
//!
//! Used by the library's unit tests (`src/geo.rs`, through `#[path]`) and
//! by the integration tests (`tests/common`).
#![allow(dead_code)]

use std::net::IpAddr;

/// A value in the data section.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Keys in the order given.
    Map(Vec<(String, Value)>),
    Array(Vec<Value>),
    Str(String),
    F64(f64),
    U16(u16),
    U32(u32),
    U64(u64),
}

/// One branch of a search-tree node.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Child {
    Empty,
    Node(usize),
    /// Index into the inserted values.
    Data(usize),
}

/// Builds one database in memory.
pub struct MmdbWriter {
    database_type: String,
    build_epoch: u64,
    /// Node 0 is the root; `[bit 0, bit 1]`.
    nodes: Vec<[Child; 2]>,
    values: Vec<Value>,
}

/// `a.b.c.d/n` → (`::a.b.c.d` bits, 96 + n); IPv6 as it is. A bare address
/// is a single host.
fn parse_cidr(cidr: &str) -> (u128, u32) {
    let (ip, len) = match cidr.split_once('/') {
        Some((ip, len)) => (ip, Some(len.parse::<u32>().expect("prefix length"))),
        None => (cidr, None),
    };
    match ip.parse::<IpAddr>().expect("an IP address") {
        IpAddr::V4(v4) => {
            let len = len.unwrap_or(32);
            assert!(len <= 32, "{cidr}: prefix too long");
            (u32::from(v4) as u128, 96 + len)
        }
        IpAddr::V6(v6) => {
            let len = len.unwrap_or(128);
            assert!(len <= 128, "{cidr}: prefix too long");
            (u128::from(v6), len)
        }
    }
}

impl MmdbWriter {
    pub fn new(database_type: &str) -> Self {
        MmdbWriter {
            database_type: database_type.to_owned(),
            build_epoch: 1_700_000_000,
            nodes: vec![[Child::Empty; 2]],
            values: Vec::new(),
        }
    }

    /// The metadata's `build_epoch` (default 1,700,000,000).
    pub fn build_epoch(mut self, epoch: u64) -> Self {
        self.build_epoch = epoch;
        self
    }

    /// Maps a network (`203.0.113.0/24`, `2001:db8::/32`, or one address)
    /// to `value`. A later, more specific network inside an earlier one
    /// splits it; a later, wider one replaces what it covers.
    pub fn insert(&mut self, cidr: &str, value: Value) {
        let (bits, len) = parse_cidr(cidr);
        assert!(len > 0, "{cidr}: the whole address space is not supported");
        self.values.push(value);
        let data = Child::Data(self.values.len() - 1);
        let mut node = 0;
        for i in 0..len {
            let bit = ((bits >> (127 - i)) & 1) as usize;
            if i == len - 1 {
                self.nodes[node][bit] = data;
                break;
            }
            node = match self.nodes[node][bit] {
                Child::Node(n) => n,
                // Descending through a wider network (or nothing): a new
                // node whose both halves keep what was there.
                other => {
                    self.nodes.push([other; 2]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][bit] = Child::Node(n);
                    n
                }
            };
        }
    }

    /// The whole file: search tree, separator, data section, metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Number the nodes reachable from the root (breadth first, so the
        // root is 0 and every child comes after its parent).
        let mut order = vec![0usize];
        let mut number = vec![usize::MAX; self.nodes.len()];
        number[0] = 0;
        let mut i = 0;
        while i < order.len() {
            for c in self.nodes[order[i]] {
                if let Child::Node(n) = c {
                    number[n] = order.len();
                    order.push(n);
                }
            }
            i += 1;
        }
        let node_count = order.len();
        // The data section: each value once, in insertion order.
        let mut data = Vec::new();
        let mut offsets = Vec::with_capacity(self.values.len());
        for v in &self.values {
            offsets.push(data.len());
            encode(v, &mut data);
        }
        let record = |c: Child| -> u32 {
            let r = match c {
                Child::Empty => node_count,
                Child::Node(n) => number[n],
                Child::Data(d) => node_count + 16 + offsets[d],
            };
            assert!(r < 1 << 24, "too large for 24-bit records");
            r as u32
        };
        let mut out = Vec::with_capacity(node_count * 6 + 16 + data.len() + 256);
        for &n in &order {
            for c in self.nodes[n] {
                out.extend_from_slice(&record(c).to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let meta = Value::Map(vec![
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(self.build_epoch)),
            (
                "database_type".into(),
                Value::Str(self.database_type.clone()),
            ),
            (
                "description".into(),
                Value::Map(vec![(
                    "en".into(),
                    Value::Str(format!("{} test database", self.database_type)),
                )]),
            ),
            ("ip_version".into(), Value::U16(6)),
            (
                "languages".into(),
                Value::Array(vec![Value::Str("en".into())]),
            ),
            ("node_count".into(), Value::U32(node_count as u32)),
            ("record_size".into(), Value::U16(24)),
        ]);
        encode(&meta, &mut out);
        out
    }
}

/// The control byte(s) of a field: type (1–7 in the byte, 8+ extended),
/// then its size.
fn control(type_id: u8, size: usize, out: &mut Vec<u8>) {
    let (low, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, Vec::new()),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => {
            let n = size - 65_821;
            assert!(n < 1 << 24, "field too large");
            (31, (n as u32).to_be_bytes()[1..].to_vec())
        }
    };
    if type_id <= 7 {
        out.push(type_id << 5 | low);
    } else {
        out.push(low);
        out.push(type_id - 7);
    }
    out.extend_from_slice(&extra);
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn uint(type_id: u8, v: u64, out: &mut Vec<u8>) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    control(type_id, 8 - skip, out);
    out.extend_from_slice(&bytes[skip..]);
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Str(s) => {
            control(2, s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::F64(f) => {
            control(3, 8, out);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::U16(n) => uint(5, *n as u64, out),
        Value::U32(n) => uint(6, *n as u64, out),
        Value::U64(n) => uint(9, *n, out),
        Value::Map(kv) => {
            control(7, kv.len(), out);
            for (k, v) in kv {
                encode(&Value::Str(k.clone()), out);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            control(11, items.len(), out);
            for v in items {
                encode(v, out);
            }
        }
    }
}

fn names(en: &str) -> Value {
    Value::Map(vec![("en".into(), Value::Str(en.into()))])
}

/// A GeoLite2-City record: country (ISO code and English name), city,
/// location.
pub fn city(iso: &str, name: &str, city: &str, lat: f64, lon: f64, radius: u32) -> Value {
    let country = Value::Map(vec![
        ("geoname_id".into(), Value::U32(1)),
        ("iso_code".into(), Value::Str(iso.into())),
        ("names".into(), names(name)),
    ]);
    Value::Map(vec![
        (
            "city".into(),
            Value::Map(vec![("names".into(), names(city))]),
        ),
        ("country".into(), country.clone()),
        (
            "location".into(),
            Value::Map(vec![
                ("accuracy_radius".into(), Value::U16(radius as u16)),
                ("latitude".into(), Value::F64(lat)),
                ("longitude".into(), Value::F64(lon)),
                ("time_zone".into(), Value::Str("UTC".into())),
            ]),
        ),
        ("registered_country".into(), country),
    ])
}

/// A GeoLite2-ASN record.
pub fn asn(n: u32, org: &str) -> Value {
    Value::Map(vec![
        ("autonomous_system_number".into(), Value::U32(n)),
        (
            "autonomous_system_organization".into(),
            Value::Str(org.into()),
        ),
    ])
}
