//! Navigation over a simd-json tape (`&[Node]`) in document order, and
//! re-serialisation of a sub-tree as compact JSON text.
//!
//! The tape keeps keys in their original order (unlike simd-json's
//! `BorrowedValue`, whose large objects are hash maps), so the JSON text
//! written for `properties` and `claims` is deterministic and follows the
//! record's own key order.

use simd_json::{Node, StaticNode};

/// A value on the tape: its first node and everything nested under it.
#[derive(Clone, Copy, Debug)]
pub struct TVal<'t, 'i>(pub &'t [Node<'i>]);

/// Number of nodes a value occupies, header included.
#[inline]
fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl<'t, 'i> TVal<'t, 'i> {
    pub fn root(nodes: &'t [Node<'i>]) -> Self {
        let n = nodes.first().map(span).unwrap_or(0);
        TVal(&nodes[..n])
    }

    #[inline]
    pub fn as_str(self) -> Option<&'i str> {
        match self.0.first() {
            Some(Node::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn is_object(self) -> bool {
        matches!(self.0.first(), Some(Node::Object { .. }))
    }

    pub fn is_array(self) -> bool {
        matches!(self.0.first(), Some(Node::Array { .. }))
    }

    pub fn is_null(self) -> bool {
        matches!(self.0.first(), Some(Node::Static(StaticNode::Null)) | None)
    }

    pub fn as_i64(self) -> Option<i64> {
        match self.0.first() {
            Some(Node::Static(StaticNode::I64(v))) => Some(*v),
            Some(Node::Static(StaticNode::U64(v))) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// Members of an object, in document order. Empty for a non-object.
    pub fn members(self) -> Members<'t, 'i> {
        match self.0.first() {
            Some(Node::Object { len, .. }) => Members {
                nodes: &self.0[1..],
                left: *len,
            },
            _ => Members {
                nodes: &[],
                left: 0,
            },
        }
    }

    /// Elements of an array, in order. Empty for a non-array.
    pub fn elements(self) -> Elements<'t, 'i> {
        match self.0.first() {
            Some(Node::Array { len, .. }) => Elements {
                nodes: &self.0[1..],
                left: *len,
            },
            _ => Elements {
                nodes: &[],
                left: 0,
            },
        }
    }

    /// Looks a member up by exact key.
    pub fn get(self, key: &str) -> Option<TVal<'t, 'i>> {
        self.members().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Looks a member up ignoring ASCII case and underscores
    /// (`clientIpAddress` = `ClientIpAddress` = `client_ip_address`).
    pub fn get_loose(self, key: &str) -> Option<TVal<'t, 'i>> {
        self.members()
            .find(|(k, _)| loose_eq(k, key))
            .map(|(_, v)| v)
    }

    /// A string, or the `value` member of a `{value, localizedValue}` object.
    pub fn str_or_value(self) -> Option<&'i str> {
        match self.0.first() {
            Some(Node::String(s)) => Some(s),
            Some(Node::Object { .. }) => self.get_loose("value").and_then(|v| v.as_str()),
            _ => None,
        }
    }

    /// The `localizedValue` member of a `{value, localizedValue}` object.
    pub fn localized(self) -> Option<&'i str> {
        self.get_loose("localizedValue").and_then(|v| v.as_str())
    }

    /// Writes the value as compact JSON text.
    pub fn write_json(self, out: &mut String) {
        write_nodes(self.0, out);
    }

    pub fn to_json(self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }
}

/// Key comparison ignoring ASCII case and `_` in `k` (the needle has none).
#[inline]
pub fn loose_eq(k: &str, needle: &str) -> bool {
    let kb = k.as_bytes();
    let nb = needle.as_bytes();
    if kb.len() == nb.len() {
        return kb.eq_ignore_ascii_case(nb);
    }
    let mut j = 0;
    for &c in kb {
        if c == b'_' {
            continue;
        }
        if j >= nb.len() || !c.eq_ignore_ascii_case(&nb[j]) {
            return false;
        }
        j += 1;
    }
    j == nb.len()
}

pub struct Members<'t, 'i> {
    nodes: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Members<'t, 'i> {
    type Item = (&'i str, TVal<'t, 'i>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.nodes.len() < 2 {
            return None;
        }
        self.left -= 1;
        let key = match self.nodes[0] {
            Node::String(s) => s,
            _ => return None,
        };
        let n = span(&self.nodes[1]);
        let v = TVal(&self.nodes[1..1 + n]);
        self.nodes = &self.nodes[1 + n..];
        Some((key, v))
    }
}

pub struct Elements<'t, 'i> {
    nodes: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Elements<'t, 'i> {
    type Item = TVal<'t, 'i>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.nodes.is_empty() {
            return None;
        }
        self.left -= 1;
        let n = span(&self.nodes[0]);
        let v = TVal(&self.nodes[..n]);
        self.nodes = &self.nodes[n..];
        Some(v)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of the word is `"`, `\\` or a control character.
#[inline]
fn word_needs_escape(x: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    (below_space | has_zero(x ^ (ONES * b'"' as u64)) | has_zero(x ^ (ONES * b'\\' as u64))) != 0
}

/// Index of the first byte at or after `i` that must be escaped.
#[inline]
fn next_escape(b: &[u8], mut i: usize) -> Option<usize> {
    while i + 8 <= b.len() {
        let x = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if word_needs_escape(x) {
            break;
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
        .map(|k| i + k)
}

/// Appends `s` as a JSON string literal (quotes included).
pub fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    let b = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(b, start) {
        out.push_str(&s[start..i]);
        match b[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{c:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_static(n: &StaticNode, out: &mut String) {
    use std::fmt::Write;
    match n {
        StaticNode::Null => out.push_str("null"),
        StaticNode::Bool(true) => out.push_str("true"),
        StaticNode::Bool(false) => out.push_str("false"),
        StaticNode::I64(v) => {
            let _ = write!(out, "{v}");
        }
        StaticNode::U64(v) => {
            let _ = write!(out, "{v}");
        }
        StaticNode::F64(v) => {
            if v.is_finite() {
                let _ = write!(out, "{v:?}");
            } else {
                out.push_str("null");
            }
        }
        #[allow(unreachable_patterns)]
        _ => out.push_str("null"),
    }
}

/// Writes one value (and its nested nodes) from the front of `nodes`;
/// returns the number of nodes consumed.
fn write_nodes(nodes: &[Node<'_>], out: &mut String) -> usize {
    let Some(first) = nodes.first() else {
        return 0;
    };
    match first {
        Node::String(s) => {
            write_json_str(s, out);
            1
        }
        Node::Static(n) => {
            write_static(n, out);
            1
        }
        Node::Object { len, .. } => {
            out.push('{');
            let mut i = 1;
            for k in 0..*len {
                if k > 0 {
                    out.push(',');
                }
                if let Some(Node::String(key)) = nodes.get(i) {
                    write_json_str(key, out);
                }
                out.push(':');
                i += 1;
                i += write_nodes(&nodes[i..], out);
            }
            out.push('}');
            i
        }
        Node::Array { len, .. } => {
            out.push('[');
            let mut i = 1;
            for k in 0..*len {
                if k > 0 {
                    out.push(',');
                }
                i += write_nodes(&nodes[i..], out);
            }
            out.push(']');
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tape<R>(json: &str, f: impl FnOnce(TVal<'_, '_>) -> R) -> R {
        let mut buf = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut buf).unwrap();
        f(TVal::root(&tape.0))
    }

    #[test]
    fn navigation_and_order() {
        with_tape(
            r#"{"z":1,"a":{"Value":"x","localizedValue":"X"},"arr":[1,[2,3],{"k":"v"}],"s":"t"}"#,
            |v| {
                let keys: Vec<_> = v.members().map(|(k, _)| k).collect();
                assert_eq!(keys, ["z", "a", "arr", "s"]);
                assert_eq!(v.get("a").unwrap().str_or_value(), Some("x"));
                assert_eq!(v.get("a").unwrap().localized(), Some("X"));
                assert_eq!(v.get("s").unwrap().as_str(), Some("t"));
                assert_eq!(v.get("arr").unwrap().elements().count(), 3);
                assert_eq!(v.get("z").unwrap().as_i64(), Some(1));
                assert!(v.get("missing").is_none());
            },
        );
    }

    #[test]
    fn loose_keys() {
        assert!(loose_eq("client_ip_address", "clientipaddress"));
        assert!(loose_eq("ClientIpAddress", "clientIpAddress"));
        assert!(!loose_eq("clientIp", "clientipaddress"));
        assert!(loose_eq("_ResourceId", "resourceid"));
    }

    #[test]
    fn string_escapes_at_every_position() {
        for n in 0..20 {
            for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '\u{7f}'] {
                let s: String = "a".repeat(n) + &special.to_string() + "tail";
                let mut out = String::new();
                write_json_str(&s, &mut out);
                let back: String = serde_json::from_str(&out).unwrap();
                assert_eq!(back, s, "{out}");
                // serde_json writes the same escapes for these characters.
                assert_eq!(out, serde_json::to_string(&s).unwrap());
            }
        }
    }

    #[test]
    fn json_round_trip_keeps_order_and_escapes() {
        let src =
            r#"{"b":"x\"y\\z\n\u0001","a":[true,false,null,-5,18446744073709551615,1.5],"c":{}}"#;
        let out = with_tape(src, |v| v.to_json());
        assert_eq!(
            out,
            r#"{"b":"x\"y\\z\n\u0001","a":[true,false,null,-5,18446744073709551615,1.5],"c":{}}"#
        );
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(src).unwrap()
        );
    }
}
