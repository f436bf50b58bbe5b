//! Tabular inputs (Log Analytics CSV, Parquet): each row becomes a JSON
//! object keyed by column name, so it goes through the same mapper as JSON
//! records, and so evidence can show the row as JSON with its number.

use std::fmt::Write as _;

use polars::prelude::*;

use super::split::Problem;
use crate::normalize::tape::write_json_str;
use crate::normalize::time::format_micros;

/// One table row, as a JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TabRow {
    /// Byte offset of the row in the input (CSV); 0 for Parquet.
    pub offset: u64,
    /// Byte length of the row in the input (CSV); 0 for Parquet.
    pub len: u32,
    /// Row number among the data rows, from 0.
    pub row: u32,
    pub json: String,
}

/// The rows of a table, or why the file is not read.
pub enum Table {
    Rows {
        rows: Vec<TabRow>,
        problems: Vec<(u32, Problem)>,
    },
    Skip(String),
}

/// Column name without the `[UTC]` suffix the portal adds to datetimes.
fn clean_header(h: &str) -> String {
    let h = h.trim().trim_start_matches('\u{feff}');
    h.strip_suffix("[UTC]")
        .map(str::trim_end)
        .unwrap_or(h)
        .to_owned()
}

/// Reads a Log Analytics `AzureActivity` CSV export.
pub fn read_csv(b: &[u8]) -> Table {
    let start = super::split::content_start(b);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(&b[start..]);
    let headers: Vec<String> = match rdr.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|c| clean_header(&String::from_utf8_lossy(c)))
            .collect(),
        Err(e) => return Table::Skip(format!("unreadable CSV header: {e}")),
    };
    let has = |n: &str| headers.iter().any(|h| h.eq_ignore_ascii_case(n));
    if has("Operation name") && has("Event initiated by") {
        return Table::Skip(
            "Azure portal 'Download as CSV' summary: it has no operation ids, IP addresses or \
             claims; export the Activity Log as JSON (or the AzureActivity table) instead"
                .into(),
        );
    }
    if !(has("TimeGenerated")
        && (has("OperationNameValue") || has("ActivityStatusValue") || has("CategoryValue")))
    {
        return Table::Skip(
            "CSV without AzureActivity columns (TimeGenerated, OperationNameValue)".into(),
        );
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let mut n: u32 = 0;
    loop {
        let pos = rdr.position().byte();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let end = rdr.position().byte();
                // The reader's position can sit on the `\n` of a `\r\n`.
                let mut first = pos;
                while first < end && matches!(b[start + first as usize], b'\n' | b'\r') {
                    first += 1;
                }
                let raw = &b[start + first as usize..start + end as usize];
                let mut len = raw.len() as u64;
                while len > 0 && matches!(raw[len as usize - 1], b'\n' | b'\r') {
                    len -= 1;
                }
                let offset = start as u64 + first;
                let mut json = String::with_capacity(raw.len() + headers.len() * 8);
                json.push('{');
                let mut bad = None;
                for (i, cell) in rec.iter().enumerate() {
                    let Ok(v) = std::str::from_utf8(cell) else {
                        bad = Some(i);
                        break;
                    };
                    if i > 0 {
                        json.push(',');
                    }
                    let name = headers.get(i).map(String::as_str).unwrap_or("");
                    if name.is_empty() {
                        write_json_str(&format!("column{}", i + 1), &mut json);
                    } else {
                        write_json_str(name, &mut json);
                    }
                    json.push(':');
                    write_json_str(v, &mut json);
                }
                json.push('}');
                match bad {
                    Some(i) => problems.push((
                        n,
                        Problem {
                            offset: offset as usize,
                            len: len as usize,
                            reason: format!("invalid UTF-8 in CSV column {}", i + 1),
                        },
                    )),
                    None => rows.push(TabRow {
                        offset,
                        len: len as u32,
                        row: n,
                        json,
                    }),
                }
                n += 1;
            }
            Err(e) => {
                let end = rdr.position().byte().max(pos + 1);
                problems.push((
                    n,
                    Problem {
                        offset: start + pos as usize,
                        len: (end - pos) as usize,
                        reason: format!("unreadable CSV row: {e}"),
                    },
                ));
                n += 1;
                if end as usize + start >= b.len() {
                    break;
                }
            }
        }
    }
    Table::Rows { rows, problems }
}

/// Reads a Parquet file into JSON rows.
pub fn read_parquet(b: &[u8]) -> Table {
    let df = match ParquetReader::new(std::io::Cursor::new(b)).finish() {
        Ok(df) => df,
        Err(e) => return Table::Skip(format!("unreadable Parquet: {e}")),
    };
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
        return Table::Skip(
            "Parquet without Activity Log columns (AzureActivity, resource-log or canonical)"
                .into(),
        );
    }
    let cols = df.columns();
    let mut rows = Vec::with_capacity(df.height());
    let mut json = String::new();
    for i in 0..df.height() {
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
        rows.push(TabRow {
            offset: 0,
            len: 0,
            row: i as u32,
            json: json.clone(),
        });
    }
    Table::Rows {
        rows,
        problems: Vec::new(),
    }
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

    #[test]
    fn csv_rows_with_offsets() {
        let b = "\u{feff}TimeGenerated [UTC],OperationNameValue,Properties\r\n\
                 \"5/25/2023, 4:32:49.469 AM\",MICROSOFT.X/Y,\"{\"\"a\"\":1}\"\r\n\
                 \"5/25/2023, 4:33:00.000 AM\",MICROSOFT.X/Z,\r\n"
            .as_bytes();
        let Table::Rows { rows, problems } = read_csv(b) else {
            panic!("skipped")
        };
        assert!(problems.is_empty());
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].json,
            r#"{"TimeGenerated":"5/25/2023, 4:32:49.469 AM","OperationNameValue":"MICROSOFT.X/Y","Properties":"{\"a\":1}"}"#
        );
        let r = &rows[1];
        let raw =
            std::str::from_utf8(&b[r.offset as usize..r.offset as usize + r.len as usize]).unwrap();
        assert_eq!(raw, "\"5/25/2023, 4:33:00.000 AM\",MICROSOFT.X/Z,");
        assert_eq!(r.row, 1);
    }

    #[test]
    fn csv_skips() {
        assert!(
            matches!(read_csv(b"Correlation id,Operation name,Status,Event initiated by\n"), Table::Skip(s) if s.contains("portal"))
        );
        assert!(matches!(read_csv(b"a,b,c\n1,2,3\n"), Table::Skip(_)));
    }

    #[test]
    fn csv_invalid_utf8_row() {
        let b = b"TimeGenerated,OperationNameValue\nx,\xff\xfe\ny,z\n";
        let Table::Rows { rows, problems } = read_csv(b) else {
            panic!()
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, 0);
        assert!(problems[0].1.reason.contains("UTF-8"));
    }
}
