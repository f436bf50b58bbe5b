//! The record splitter: finds the byte span of every record in a JSON
//! input without parsing it, so records can be parsed in parallel and
//! written back verbatim later.
//!
//! Framings handled: JSON Lines, a bare array (pretty or not, several
//! concatenated), single or concatenated objects, `{"records":[…]}`,
//! `{"value":[…]}` and `{"tables":[…]}` envelopes. A record the file ends
//! inside is reported as truncated; bytes that are not JSON are reported
//! with their offset, and splitting resumes at the next line that starts a
//! value, so one bad record never hides the ones after it.

use memchr::{memchr, memchr_iter, memchr2, memchr3};

use crate::frame::Framing;

/// One record's bytes in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    /// For `{"tables":[…]}` rows: index into [`Split::tables`].
    pub table: Option<u32>,
}

/// A stretch of input that is not a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub offset: usize,
    pub len: usize,
    pub reason: String,
}

/// Column names of one `{"tables":[…]}` table, and where its column list is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSpec {
    pub columns_at: Option<(usize, usize)>,
}

/// The outcome of splitting one input.
#[derive(Debug, Default)]
pub struct Split {
    pub framing: Option<Framing>,
    pub records: Vec<Span>,
    pub problems: Vec<Problem>,
    pub tables: Vec<TableSpec>,
}

#[derive(Debug, PartialEq, Eq)]
enum ScanErr {
    /// The input ended inside the value.
    Eof,
    /// A byte that cannot start or continue a value here.
    Unexpected(usize),
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index after the closing quote.
#[inline]
fn skip_string(b: &[u8], i: usize) -> Result<usize, ScanErr> {
    let mut j = i + 1;
    loop {
        match memchr2(b'"', b'\\', &b[j..]) {
            None => return Err(ScanErr::Eof),
            Some(k) => {
                let at = j + k;
                if b[at] == b'"' {
                    return Ok(at + 1);
                }
                j = at + 2;
                if j > b.len() {
                    return Err(ScanErr::Eof);
                }
            }
        }
    }
}

/// Byte classes for the structural scan.
const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'{' as usize] = 2;
    t[b'[' as usize] = 2;
    t[b'}' as usize] = 3;
    t[b']' as usize] = 3;
    t
}
static CLASS: [u8; 256] = class_table();

/// `i` at the first byte of a value; returns the index after it.
fn skip_value(b: &[u8], i: usize) -> Result<usize, ScanErr> {
    match b[i] {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match CLASS[b[j] as usize] {
                    0 => j += 1,
                    1 => j = skip_string(b, j)?,
                    2 => {
                        depth += 1;
                        j += 1;
                    }
                    _ => {
                        depth -= 1;
                        j += 1;
                        if depth == 0 {
                            return Ok(j);
                        }
                    }
                }
            }
            Err(ScanErr::Eof)
        }
        b'"' => skip_string(b, i),
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b']' | b'}') && !is_ws(b[j]) {
                j += 1;
            }
            Ok(j)
        }
        _ => Err(ScanErr::Unexpected(i)),
    }
}

/// The next line start at or after `from` whose first non-blank byte opens
/// a value (`{` or `[`); the input length when there is none.
fn resync(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() {
        let nl = match memchr(b'\n', &b[i..]) {
            Some(k) => i + k + 1,
            None => return b.len(),
        };
        let j = skip_ws_inline(b, nl);
        if j < b.len() && matches!(b[j], b'{' | b'[') {
            return j;
        }
        i = nl;
    }
    b.len()
}

fn skip_ws_inline(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    i
}

fn describe(b: &[u8], at: usize) -> String {
    match b.get(at) {
        Some(c) if c.is_ascii_graphic() => format!("expected a JSON value, found {:?}", *c as char),
        Some(c) => format!("expected a JSON value, found byte 0x{c:02x}"),
        None => "expected a JSON value, found the end of the input".into(),
    }
}

/// Where the content starts: after a UTF-8 byte-order mark.
pub fn content_start(b: &[u8]) -> usize {
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    }
}

/// Splits a JSON input (the bytes after any BOM are looked at).
pub fn split_json(b: &[u8]) -> Split {
    let start = skip_ws(b, content_start(b));
    let mut out = Split::default();
    if start >= b.len() {
        return out;
    }
    if b[start] == b'{' && looks_like_lines(b, start) {
        split_lines(b, start, &mut out);
    } else {
        split_generic(b, start, &mut out);
    }
    out
}

/// True when the first value is complete on its first line (JSON Lines).
fn looks_like_lines(b: &[u8], start: usize) -> bool {
    let line_end = memchr(b'\n', &b[start..])
        .map(|k| start + k)
        .unwrap_or(b.len());
    match skip_value(&b[..line_end], start) {
        Ok(end) => skip_ws(&b[..line_end], end) == line_end,
        Err(_) => false,
    }
}

fn split_lines(b: &[u8], start: usize, out: &mut Split) {
    out.framing = Some(Framing::JsonLines);
    let mut i = start;
    while i < b.len() {
        let end = memchr(b'\n', &b[i..]).map(|k| i + k).unwrap_or(b.len());
        let mut s = i;
        let mut e = end;
        while s < e && is_ws(b[s]) {
            s += 1;
        }
        while e > s && is_ws(b[e - 1]) {
            e -= 1;
        }
        if e > s {
            if b[s] == b'{' && starts_envelope(&b[s..e]) {
                // A whole `{"records":[…]}` body on one line.
                let mut inner = Split::default();
                split_generic(&b[..e], s, &mut inner);
                if let Some(f) = inner.framing {
                    out.framing = Some(f);
                }
                let base = out.tables.len() as u32;
                out.records.extend(inner.records.into_iter().map(|mut r| {
                    if let Some(t) = &mut r.table {
                        *t += base;
                    }
                    r
                }));
                out.problems.extend(inner.problems);
                out.tables.extend(inner.tables);
            } else {
                out.records.push(Span {
                    offset: s,
                    len: e - s,
                    table: None,
                });
            }
        }
        i = end + 1;
    }
}

/// Cheap test for a line that opens with an envelope key.
fn starts_envelope(line: &[u8]) -> bool {
    let j = skip_ws(line, 1);
    let rest = &line[j..];
    [
        &b"\"records\""[..],
        b"\"value\"",
        b"\"tables\"",
        b"\"Records\"",
    ]
    .iter()
    .any(|k| rest.starts_with(k))
        && line.len() > 2
}

fn split_generic(b: &[u8], start: usize, out: &mut Split) {
    let mut i = start;
    let mut first = true;
    loop {
        i = skip_ws(b, i);
        if i >= b.len() {
            break;
        }
        match b[i] {
            b'[' => {
                if first {
                    out.framing.get_or_insert(Framing::Array);
                }
                i = scan_array(b, i, None, out);
            }
            b'{' => {
                i = scan_object(b, i, first, out);
            }
            b',' => {
                // A stray separator between concatenated values.
                i += 1;
                continue;
            }
            _ => {
                let next = resync(b, i);
                out.problems.push(Problem {
                    offset: i,
                    len: next - i,
                    reason: describe(b, i),
                });
                i = next;
            }
        }
        first = false;
    }
    if out.framing.is_none() && !out.records.is_empty() {
        out.framing = Some(Framing::Objects);
    }
}

/// Scans `[ … ]` at `i`, adding each element as a record (or, for a table
/// `rows` array, as a row of `table`). Returns the index after the array
/// (or where scanning stopped).
fn scan_array(b: &[u8], i: usize, table: Option<u32>, out: &mut Split) -> usize {
    let mut j = i + 1;
    loop {
        j = skip_ws(b, j);
        if j >= b.len() {
            out.problems.push(Problem {
                offset: i,
                len: b.len() - i,
                reason: "truncated: the input ends inside an array".into(),
            });
            return b.len();
        }
        if b[j] == b']' {
            return j + 1;
        }
        let el = j;
        match skip_value(b, el) {
            Ok(end) => {
                out.records.push(Span {
                    offset: el,
                    len: end - el,
                    table,
                });
                j = skip_ws(b, end);
                match b.get(j) {
                    Some(b',') => j += 1,
                    Some(b']') => return j + 1,
                    None => {
                        out.problems.push(Problem {
                            offset: j,
                            len: 0,
                            reason: "truncated: the input ends inside an array (missing ']')"
                                .into(),
                        });
                        return b.len();
                    }
                    Some(_) => {
                        let next = resync(b, j);
                        out.problems.push(Problem {
                            offset: j,
                            len: next - j,
                            reason: "expected ',' or ']' after an array element".into(),
                        });
                        j = next;
                    }
                }
            }
            Err(ScanErr::Eof) => {
                out.problems.push(Problem {
                    offset: el,
                    len: b.len() - el,
                    reason: "truncated record: the input ends inside it".into(),
                });
                return b.len();
            }
            Err(ScanErr::Unexpected(at)) => {
                let next = resync(b, at);
                out.problems.push(Problem {
                    offset: at,
                    len: next - at,
                    reason: describe(b, at),
                });
                j = next;
                if j >= b.len() {
                    return j;
                }
            }
        }
    }
}

/// Scans a top-level object: an envelope whose array members hold the
/// records, or a record itself.
fn scan_object(b: &[u8], i: usize, first: bool, out: &mut Split) -> usize {
    let end = match skip_value(b, i) {
        Ok(e) => e,
        Err(_) => {
            out.problems.push(Problem {
                offset: i,
                len: b.len() - i,
                reason: "truncated record: the input ends inside it".into(),
            });
            return b.len();
        }
    };
    match envelope_members(b, i, end) {
        Some((kind, arr_at)) => {
            let framing = match kind {
                Envelope::Records => Framing::Records,
                Envelope::Value => Framing::Value,
                Envelope::Tables => Framing::Tables,
            };
            if first || out.framing.is_none() {
                out.framing = Some(framing);
            }
            match kind {
                Envelope::Tables => scan_tables(b, arr_at, out),
                _ => {
                    scan_array(b, arr_at, None, out);
                }
            }
        }
        None => out.records.push(Span {
            offset: i,
            len: end - i,
            table: None,
        }),
    }
    end
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Envelope {
    Records,
    Value,
    Tables,
}

/// Walks the members of the object `[i, end)`; when it is an envelope,
/// returns its kind and the offset of its array.
fn envelope_members(b: &[u8], i: usize, end: usize) -> Option<(Envelope, usize)> {
    let b = &b[..end];
    let mut j = skip_ws(b, i + 1);
    let mut found = None;
    while j < b.len() && b[j] == b'"' {
        let kend = skip_string(b, j).ok()?;
        let key = &b[j + 1..kend - 1];
        j = skip_ws(b, kend);
        if b.get(j) != Some(&b':') {
            return None;
        }
        j = skip_ws(b, j + 1);
        let vstart = j;
        let vend = skip_value(b, vstart).ok()?;
        let is_arr = b[vstart] == b'[';
        match key {
            b"records" | b"Records" if is_arr => found = Some((Envelope::Records, vstart)),
            b"value" if is_arr => found = Some((Envelope::Value, vstart)),
            b"tables" if is_arr => found = Some((Envelope::Tables, vstart)),
            // Record keys: this object is a record, not an envelope.
            b"time" | b"eventTimestamp" | b"TimeGenerated" | b"operationName" | b"eventDataId" => {
                return None;
            }
            _ => {}
        }
        j = skip_ws(b, vend);
        if b.get(j) == Some(&b',') {
            j = skip_ws(b, j + 1);
        }
    }
    found
}

/// `{"tables":[{"name":…,"columns":[…],"rows":[[…],…]},…]}`.
fn scan_tables(b: &[u8], arr_at: usize, out: &mut Split) {
    let mut tables = Split::default();
    scan_array(b, arr_at, None, &mut tables);
    out.problems.extend(tables.problems);
    for t in tables.records {
        let tb = &b[..t.offset + t.len];
        let mut spec = TableSpec::default();
        let mut rows_at = None;
        let mut j = skip_ws(tb, t.offset + 1);
        while j < tb.len() && tb[j] == b'"' {
            let Ok(kend) = skip_string(tb, j) else { break };
            let key = &tb[j + 1..kend - 1];
            j = skip_ws(tb, kend);
            if tb.get(j) != Some(&b':') {
                break;
            }
            j = skip_ws(tb, j + 1);
            let vstart = j;
            let Ok(vend) = skip_value(tb, vstart) else {
                break;
            };
            match key {
                b"columns" => spec.columns_at = Some((vstart, vend - vstart)),
                b"rows" if tb[vstart] == b'[' => rows_at = Some(vstart),
                _ => {}
            }
            j = skip_ws(tb, vend);
            if tb.get(j) == Some(&b',') {
                j = skip_ws(tb, j + 1);
            }
        }
        let idx = out.tables.len() as u32;
        out.tables.push(spec);
        match rows_at {
            Some(r) => {
                scan_array(tb, r, Some(idx), out);
            }
            None => out.problems.push(Problem {
                offset: t.offset,
                len: t.len,
                reason: "a table without a rows array".into(),
            }),
        }
    }
}

/// Splits a JSON value that turned out to be an array (or envelope) after
/// parsing: returns child spans relative to `base`.
pub fn split_nested(b: &[u8], base: usize) -> Split {
    let mut out = Split::default();
    split_generic(b, 0, &mut out);
    for r in &mut out.records {
        r.offset += base;
    }
    for p in &mut out.problems {
        p.offset += base;
    }
    for t in &mut out.tables {
        if let Some((o, _)) = &mut t.columns_at {
            *o += base;
        }
    }
    out
}

/// Whether the valid JSON text `b` holds no insignificant whitespace, so
/// that [`minify_into`] would return it unchanged. Cheaper than minifying:
/// a valid JSON text holds raw tabs, newlines and carriage returns only
/// between tokens, and every run of spaces between tokens touches a
/// structural character (`{}[],:`) or an end of the text, since two values
/// are never adjacent. A space inside a string next to one of those (as in
/// `"a, b"`) makes this answer `false`, which only costs a full minify.
pub fn is_compact(b: &[u8]) -> bool {
    if memchr3(b'\n', b'\r', b'\t', b).is_some() {
        return false;
    }
    let structural = |c: u8| matches!(c, b'{' | b'}' | b'[' | b']' | b',' | b':');
    memchr_iter(b' ', b)
        .all(|i| i > 0 && i + 1 < b.len() && !structural(b[i - 1]) && !structural(b[i + 1]))
}

/// Removes insignificant whitespace between JSON tokens, leaving string
/// contents, key order, number spelling and escapes untouched.
pub fn minify_into(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let end = skip_string(b, i).unwrap_or(b.len());
            out.extend_from_slice(&b[i..end]);
            i = end;
        } else {
            if !is_ws(c) {
                out.push(c);
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(b: &'a [u8], s: &Split) -> Vec<&'a str> {
        s.records
            .iter()
            .map(|r| std::str::from_utf8(&b[r.offset..r.offset + r.len]).unwrap())
            .collect()
    }

    #[test]
    fn json_lines() {
        let b = b"{\"a\":1}\n\n{\"b\":\"x\\\"}\"}\r\n  {\"c\":[1,2]}  \n";
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::JsonLines));
        assert_eq!(
            texts(b, &s),
            ["{\"a\":1}", "{\"b\":\"x\\\"}\"}", "{\"c\":[1,2]}"]
        );
        assert!(s.problems.is_empty());
    }

    #[test]
    fn bom_and_array() {
        let b = "\u{feff}[\n  {\"a\": 1},\n  {\"b\": [\"]\"]}\n]\n".as_bytes();
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Array));
        assert_eq!(texts(b, &s), ["{\"a\": 1}", "{\"b\": [\"]\"]}"]);
    }

    #[test]
    fn concatenated_arrays_and_objects() {
        let b = b"[{\"a\":1}][{\"b\":2}]\n[\n{\"c\":3}\n]";
        let s = split_json(b);
        assert_eq!(texts(b, &s), ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        let b = b"{\n\"a\":1\n}{\"b\":2}\n{\n\"c\":3}";
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Objects));
        assert_eq!(texts(b, &s), ["{\n\"a\":1\n}", "{\"b\":2}", "{\n\"c\":3}"]);
    }

    #[test]
    fn envelopes() {
        let b = b"{\"records\": [{\"time\":\"t\"}, {\"time\":\"u\"}]}";
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Records));
        assert_eq!(texts(b, &s), ["{\"time\":\"t\"}", "{\"time\":\"u\"}"]);
        let b = b"{\n \"nextLink\": \"https://x\",\n \"value\": [\n {\"eventDataId\":\"1\"}\n ]\n}";
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Value));
        assert_eq!(texts(b, &s), ["{\"eventDataId\":\"1\"}"]);
        // A record that merely has a `value` member is a record.
        let b = b"{\n\"time\":\"t\",\n\"value\":[1]}";
        let s = split_json(b);
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.records[0].len, b.len());
    }

    #[test]
    fn envelope_per_line() {
        let b = b"{\"records\":[{\"a\":1},{\"a\":2}]}\n{\"records\":[{\"a\":3}]}\n";
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Records));
        assert_eq!(texts(b, &s), ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]);
    }

    #[test]
    fn tables() {
        let b = br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"A","type":"string"}],"rows":[["x"],["y"]]}]}"#;
        let s = split_json(b);
        assert_eq!(s.framing, Some(Framing::Tables));
        assert_eq!(texts(b, &s), ["[\"x\"]", "[\"y\"]"]);
        assert_eq!(s.records[0].table, Some(0));
        let (o, l) = s.tables[0].columns_at.unwrap();
        assert_eq!(&b[o..o + l], br#"[{"name":"A","type":"string"}]"#);
    }

    #[test]
    fn truncated_final_record() {
        let b = b"[{\"a\":1},{\"b\":\"unterminated";
        let s = split_json(b);
        assert_eq!(texts(b, &s), ["{\"a\":1}"]);
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.problems[0].offset, 9);
        assert!(s.problems[0].reason.contains("truncated"));
        let b = b"{\"a\":1}\n{\"b\":";
        let s = split_json(b);
        // JSON Lines: the cut line is a record the parser will reject.
        assert_eq!(texts(b, &s), ["{\"a\":1}", "{\"b\":"]);
    }

    #[test]
    fn garbage_is_reported_and_skipped() {
        let b = b"[{\"a\":1}]\nnot json here\n[{\"b\":2}]";
        let s = split_json(b);
        assert_eq!(texts(b, &s), ["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.problems[0].offset, 10);
        assert_eq!(s.problems[0].len, 14);
    }

    #[test]
    fn compact_texts_are_recognised() {
        let mut out = Vec::new();
        for (text, compact) in [
            (&b"{\"a b\":[1,\"x\\\" y\"],\"c\":1.50}"[..], true),
            (b"{\"a\":\"West Europe\",\"b\":\"Mozilla/5.0 (X11)\"}", true),
            (b"{\"a\": 1}", false),
            (b"{\"a\":1 }", false),
            (b" {\"a\":1}", false),
            (b"{\"a\":\"x, y\"}", false),
            (b"{\"a\":\"x\",\n\"b\":2}", false),
            (b"{\"a\":\"x\"\t}", false),
            (b"[1 ,2]", false),
        ] {
            assert_eq!(
                is_compact(text),
                compact,
                "{}",
                String::from_utf8_lossy(text)
            );
            if compact {
                out.clear();
                minify_into(text, &mut out);
                assert_eq!(out, text);
            }
        }
    }

    #[test]
    fn minify_keeps_strings() {
        let mut out = Vec::new();
        minify_into(b"{ \"a b\" : [ 1 , \"x\\\" y\" ],\n \"c\":1.50 }", &mut out);
        assert_eq!(out, b"{\"a b\":[1,\"x\\\" y\"],\"c\":1.50}");
    }
}
