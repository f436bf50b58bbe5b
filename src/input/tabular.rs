//! Tabular inputs (Log Analytics CSV, Parquet): each row becomes a JSON
//! object keyed by column name, so it goes through the same mapper as JSON
//! records, and so evidence can show the row as JSON with its number.
//!
//! Tables are opened once (CSV: header and row boundaries; Parquet: the
//! frame) and rows are turned into JSON lazily, by range, so the work runs
//! in parallel units and memory holds no second copy of the table.

use std::fmt::Write as _;

use memchr::memchr2;
use polars::prelude::*;

use crate::normalize::tape::write_json_str;
use crate::normalize::time::format_micros;

/// A row's bytes in a CSV input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvRow {
    pub offset: usize,
    pub len: usize,
}

/// An opened table.
pub enum Table {
    Csv {
        headers: Vec<String>,
        rows: Vec<CsvRow>,
    },
    Parquet {
        df: DataFrame,
        names: Vec<String>,
    },
}

impl Table {
    pub fn len(&self) -> usize {
        match self {
            Table::Csv { rows, .. } => rows.len(),
            Table::Parquet { df, .. } => df.height(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where row `i` is in the input: (offset, length); (0, 0) for Parquet.
    pub fn span(&self, i: usize) -> (usize, usize) {
        match self {
            Table::Csv { rows, .. } => (rows[i].offset, rows[i].len),
            Table::Parquet { .. } => (0, 0),
        }
    }

    /// An estimate of the work a row is, for sizing units.
    pub fn row_weight(&self, i: usize) -> u64 {
        match self {
            Table::Csv { rows, .. } => rows[i].len as u64,
            Table::Parquet { names, .. } => 64 * names.len() as u64,
        }
    }

    /// Writes rows `range` as JSON objects, calling `f(row, json)` for each
    /// (`Err` with the reason for a row that cannot be read).
    pub fn rows_json(
        &self,
        b: &[u8],
        range: std::ops::Range<usize>,
        mut f: impl FnMut(usize, Result<&str, String>),
    ) {
        let mut json = String::new();
        match self {
            Table::Csv { headers, rows } => {
                if range.is_empty() {
                    return;
                }
                // One reader over the range's bytes; row boundaries were found
                // with the same quoting rules, so the k-th record is the k-th
                // row. Should a record ever straddle them, each row is
                // re-read on its own.
                let first = rows[range.start];
                let last = rows[range.end - 1];
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(&b[first.offset..last.offset + last.len]);
                let mut rec = csv::ByteRecord::new();
                let mut out: Vec<Result<String, String>> = Vec::with_capacity(range.len());
                let mut aligned = true;
                for i in range.clone() {
                    // The reader's position can sit on the `\n` of a `\r\n`
                    // or on a blank line; the row starts after them.
                    let mut pos = first.offset + rdr.position().byte() as usize;
                    while pos < b.len() && matches!(b[pos], b'\r' | b'\n') {
                        pos += 1;
                    }
                    match rdr.read_byte_record(&mut rec) {
                        Ok(true) if pos == rows[i].offset => {
                            out.push(csv_json(headers, &rec, &mut json).map(|()| json.clone()));
                        }
                        Err(e) if pos == rows[i].offset => {
                            out.push(Err(format!("unreadable CSV row: {e}")))
                        }
                        _ => {
                            aligned = false;
                            break;
                        }
                    }
                }
                if aligned {
                    for (i, r) in range.zip(out) {
                        f(i, r.as_deref().map_err(Clone::clone));
                    }
                    return;
                }
                for i in range {
                    let r = rows[i];
                    let mut rdr = csv::ReaderBuilder::new()
                        .has_headers(false)
                        .flexible(true)
                        .from_reader(&b[r.offset..r.offset + r.len]);
                    let res = match rdr.read_byte_record(&mut rec) {
                        Ok(true) => csv_json(headers, &rec, &mut json).map(|()| json.as_str()),
                        Ok(false) => Err("an empty CSV row".into()),
                        Err(e) => Err(format!("unreadable CSV row: {e}")),
                    };
                    f(i, res);
                }
            }
            Table::Parquet { df, names } => {
                let cols = df.columns();
                for i in range {
                    json.clear();
                    json.push('{');
                    for (k, (name, c)) in names.iter().zip(cols).enumerate() {
                        if k > 0 {
                            json.push(',');
                        }
                        write_json_str(name, &mut json);
                        json.push(':');
                        match c.get(i) {
                            Ok(av) => write_any(&av, &mut json),
                            Err(_) => json.push_str("null"),
                        }
                    }
                    json.push('}');
                    f(i, Ok(json.as_str()));
                }
            }
        }
    }
}

/// One CSV record as a JSON object of its cells.
fn csv_json(headers: &[String], rec: &csv::ByteRecord, json: &mut String) -> Result<(), String> {
    json.clear();
    json.push('{');
    for (i, cell) in rec.iter().enumerate() {
        let v = std::str::from_utf8(cell)
            .map_err(|_| format!("invalid UTF-8 in CSV column {}", i + 1))?;
        if i > 0 {
            json.push(',');
        }
        match headers.get(i).filter(|h| !h.is_empty()) {
            Some(h) => write_json_str(h, json),
            None => write_json_str(&format!("column{}", i + 1), json),
        }
        json.push(':');
        write_json_str(v, json);
    }
    json.push('}');
    Ok(())
}

/// Finds where each CSV record ends: a newline outside double quotes.
/// Returns the records' spans (line terminators excluded, blank lines
/// skipped) starting at `from`.
fn csv_rows(b: &[u8], from: usize) -> Vec<CsvRow> {
    let mut rows = Vec::new();
    let mut i = from;
    while i < b.len() {
        let start = i;
        let mut in_quote = false;
        let mut end = b.len();
        while let Some(k) = memchr2(b'"', b'\n', &b[i..]) {
            let at = i + k;
            if b[at] == b'"' {
                in_quote = !in_quote;
                i = at + 1;
            } else if in_quote {
                i = at + 1;
            } else {
                end = at;
                break;
            }
        }
        let next = if end < b.len() { end + 1 } else { b.len() };
        let mut e = end;
        while e > start && b[e - 1] == b'\r' {
            e -= 1;
        }
        if e > start {
            rows.push(CsvRow {
                offset: start,
                len: e - start,
            });
        }
        i = next;
    }
    rows
}

/// Column name without the `[UTC]` suffix the portal adds to datetimes.
fn clean_header(h: &str) -> String {
    let h = h.trim().trim_start_matches('\u{feff}');
    h.strip_suffix("[UTC]")
        .map(str::trim_end)
        .unwrap_or(h)
        .to_owned()
}

/// Opens a Log Analytics `AzureActivity` CSV export: its header and where
/// each row is. `Err` says why the file is not read.
pub fn open_csv(b: &[u8]) -> Result<Table, String> {
    let start = super::split::content_start(b);
    let header_rows = csv_rows(&b[..b.len().min(start + (1 << 20))], start);
    let Some(h) = header_rows.first().copied() else {
        return Err("empty CSV".into());
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&b[h.offset..h.offset + h.len]);
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => return Err("empty CSV".into()),
        Err(e) => return Err(format!("unreadable CSV header: {e}")),
    }
    let headers: Vec<String> = rec
        .iter()
        .map(|c| clean_header(&String::from_utf8_lossy(c)))
        .collect();
    let has = |n: &str| headers.iter().any(|h| h.eq_ignore_ascii_case(n));
    if has("Operation name") && has("Event initiated by") {
        return Err(
            "Azure portal 'Download as CSV' summary: it has no operation ids, IP addresses or \
                    claims; export the Activity Log as JSON (or the AzureActivity table) instead"
                .into(),
        );
    }
    if !(has("TimeGenerated")
        && (has("OperationNameValue") || has("ActivityStatusValue") || has("CategoryValue")))
    {
        return Err("CSV without AzureActivity columns (TimeGenerated, OperationNameValue)".into());
    }
    let rows = csv_rows(b, h.offset + h.len);
    Ok(Table::Csv { headers, rows })
}

/// Opens a Parquet file with Activity Log columns.
pub fn open_parquet(b: &[u8]) -> Result<Table, String> {
    let df = ParquetReader::new(std::io::Cursor::new(b))
        .finish()
        .map_err(|e| format!("unreadable Parquet: {e}"))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let has = |n: &str| names.iter().any(|h| h == n);
    let known = (has("TimeGenerated") && (has("OperationNameValue") || has("ActivityStatusValue")))
        || (has("time") && has("operationName"))
        || (has("eventTimestamp") && has("operationName"))
        || (has("time") && has("operation") && has("source_offset"));
    if !known {
        return Err(
            "Parquet without Activity Log columns (AzureActivity, resource-log or canonical)"
                .into(),
        );
    }
    Ok(Table::Parquet { df, names })
}

fn to_micros(v: i64, tu: TimeUnit) -> i64 {
    match tu {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v * 1000,
    }
}

/// Writes one cell as JSON.
fn write_any(av: &AnyValue<'_>, out: &mut String) {
    match av {
        AnyValue::Null => out.push_str("null"),
        AnyValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        AnyValue::String(s) => write_json_str(s, out),
        AnyValue::StringOwned(s) => write_json_str(s, out),
        AnyValue::UInt8(v) => _ = write!(out, "{v}"),
        AnyValue::UInt16(v) => _ = write!(out, "{v}"),
        AnyValue::UInt32(v) => _ = write!(out, "{v}"),
        AnyValue::UInt64(v) => _ = write!(out, "{v}"),
        AnyValue::Int8(v) => _ = write!(out, "{v}"),
        AnyValue::Int16(v) => _ = write!(out, "{v}"),
        AnyValue::Int32(v) => _ = write!(out, "{v}"),
        AnyValue::Int64(v) => _ = write!(out, "{v}"),
        AnyValue::Float32(v) if v.is_finite() => _ = write!(out, "{v:?}"),
        AnyValue::Float64(v) if v.is_finite() => _ = write!(out, "{v:?}"),
        AnyValue::Datetime(v, tu, _) | AnyValue::DatetimeOwned(v, tu, _) => {
            write_json_str(&format_micros(to_micros(*v, *tu)), out)
        }
        AnyValue::Date(d) => write_json_str(&format_micros(*d as i64 * 86_400_000_000), out),
        AnyValue::List(s) => {
            out.push('[');
            for (k, v) in s.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_any(&v, out);
            }
            out.push(']');
        }
        AnyValue::Struct(_, _, fields) => {
            out.push('{');
            for (k, (v, f)) in av._iter_struct_av().zip(fields.iter()).enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_json_str(f.name(), out);
                out.push(':');
                write_any(&v, out);
            }
            out.push('}');
        }
        AnyValue::StructOwned(b) => {
            out.push('{');
            for (k, (v, f)) in b.0.iter().zip(b.1.iter()).enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_json_str(f.name(), out);
                out.push(':');
                write_any(v, out);
            }
            out.push('}');
        }
        AnyValue::Binary(b) => write_json_str(&String::from_utf8_lossy(b), out),
        AnyValue::BinaryOwned(b) => write_json_str(&String::from_utf8_lossy(b), out),
        other => match other.get_str() {
            Some(s) => write_json_str(s, out),
            None => write_json_str(&other.to_string(), out),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_json(t: &Table, b: &[u8]) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        t.rows_json(b, 0..t.len(), |_, r| out.push(r.map(str::to_owned)));
        out
    }

    #[test]
    fn csv_rows_with_offsets() {
        let b = "\u{feff}TimeGenerated [UTC],OperationNameValue,Properties\r\n\
                 \"5/25/2023, 4:32:49.469 AM\",MICROSOFT.X/Y,\"{\"\"a\"\":1,\n\"\"b\"\":2}\"\r\n\
                 \r\n\
                 \"5/25/2023, 4:33:00.000 AM\",MICROSOFT.X/Z,\r\n"
            .as_bytes();
        let t = open_csv(b).unwrap();
        assert_eq!(t.len(), 2);
        let rows = all_json(&t, b);
        assert_eq!(
            rows[0].as_deref().unwrap(),
            r#"{"TimeGenerated":"5/25/2023, 4:32:49.469 AM","OperationNameValue":"MICROSOFT.X/Y","Properties":"{\"a\":1,\n\"b\":2}"}"#
        );
        let (o, l) = t.span(1);
        assert_eq!(
            std::str::from_utf8(&b[o..o + l]).unwrap(),
            "\"5/25/2023, 4:33:00.000 AM\",MICROSOFT.X/Z,"
        );
    }

    #[test]
    fn csv_skips() {
        assert!(
            matches!(open_csv(b"Correlation id,Operation name,Status,Event initiated by\n"), Err(s) if s.contains("portal"))
        );
        assert!(open_csv(b"a,b,c\n1,2,3\n").is_err());
    }

    #[test]
    fn csv_invalid_utf8_row() {
        let b = b"TimeGenerated,OperationNameValue\nx,\xff\xfe\ny,z\n";
        let t = open_csv(b).unwrap();
        let rows = all_json(&t, b);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].as_ref().unwrap_err().contains("UTF-8"));
        assert_eq!(
            rows[1].as_deref().unwrap(),
            r#"{"TimeGenerated":"y","OperationNameValue":"z"}"#
        );
    }

    #[test]
    fn parquet_struct_columns_become_objects() {
        let claims = StructChunked::from_series(
            PlSmallStr::from_static("claims"),
            1,
            [Series::new(PlSmallStr::from_static("ipaddr"), ["1.2.3.4"])].iter(),
        )
        .unwrap()
        .into_series();
        let identity =
            StructChunked::from_series(PlSmallStr::from_static("identity"), 1, [claims].iter())
                .unwrap()
                .into_series();
        let mut df = DataFrame::new(
            1,
            vec![
                Series::new(PlSmallStr::from_static("time"), ["2024-01-01T00:00:00Z"])
                    .into_column(),
                Series::new(PlSmallStr::from_static("operationName"), ["A/B"]).into_column(),
                identity.into_column(),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut df).unwrap();
        let t = open_parquet(&buf).unwrap();
        let rows = all_json(&t, &buf);
        assert_eq!(
            rows[0].as_deref().unwrap(),
            r#"{"time":"2024-01-01T00:00:00Z","operationName":"A/B","identity":{"claims":{"ipaddr":"1.2.3.4"}}}"#
        );
    }
}
