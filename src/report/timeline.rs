//! `timeline.csv`: every evidence event, one row each, in time order, with
//! the columns Timesketch imports (`datetime`, `timestamp_desc`, `message`,
//! plus `timestamp` in microseconds) followed by the findings it supports
//! and the canonical fields. Every cell is neutralised against formula
//! injection (see [`csv_safe`]).

use polars::prelude::*;

use super::evidence::Evidence;
use super::text::csv_safe;
use crate::detect::FindingsDoc;
use crate::error::Result;
use crate::frame::Col;
use crate::input::SourceDesc;
use crate::normalize::time::format_micros;

/// The one-line description of an event Timesketch shows.
fn message(get: &dyn Fn(Col) -> Option<String>) -> String {
    let or = |c: Col, d: &str| get(c).unwrap_or_else(|| d.to_owned());
    let mut m = format!("{} {}", or(Col::Operation, "?"), or(Col::Status, "?"));
    if let Some(c) = get(Col::Caller).or_else(|| get(Col::PrincipalId)) {
        m.push_str(" by ");
        m.push_str(&c);
    }
    if let Some(ip) = get(Col::CallerIp) {
        m.push_str(" from ");
        m.push_str(&ip);
    }
    if let Some(r) = get(Col::ResourceId) {
        m.push_str(" on ");
        m.push_str(&r);
    }
    m
}

/// Renders the timeline as CSV bytes.
pub fn render(ev: &Evidence, doc: &FindingsDoc, sources: &[SourceDesc]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut header: Vec<&str> = vec![
        "datetime",
        "timestamp",
        "timestamp_desc",
        "message",
        "finding_ids",
        "rule_ids",
    ];
    header.extend(Col::ALL.iter().map(|c| c.name()));
    header.extend([
        "dialect",
        "source_path",
        "source_offset",
        "source_len",
        "source_row",
        "record_sha256",
    ]);
    let csv_err =
        |e: csv::Error| crate::error::Error::output(std::path::Path::new("timeline.csv"), e);
    w.write_record(&header).map_err(csv_err)?;
    let cols: Vec<StringChunked> = Col::ALL
        .iter()
        .map(|c| Ok(ev.frame.column(c.name())?.str()?.clone()))
        .collect::<Result<_>>()?;
    let dialect = ev.frame.column("dialect")?.cast(&DataType::String)?;
    let dialect = dialect.str()?;
    for (i, r) in ev.rows.iter().enumerate() {
        let get = |c: Col| {
            cols[c as usize]
                .get(i)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut rec: Vec<String> = vec![
            format_micros(r.time_us),
            r.time_us.to_string(),
            "Event Time".into(),
            message(&get),
            r.finding_ids(doc),
            r.findings
                .iter()
                .map(|&f| doc.findings[f].rule_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(","),
        ];
        rec.extend(cols.iter().map(|c| c.get(i).unwrap_or("").to_owned()));
        rec.push(dialect.get(i).unwrap_or("").to_owned());
        rec.push(crate::input::source_name(sources, r.source));
        rec.push(r.offset.to_string());
        rec.push(r.len.to_string());
        rec.push(r.row.to_string());
        rec.push(r.sha256.clone());
        w.write_record(rec.iter().map(|s| csv_safe(s).into_owned()))
            .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::output(std::path::Path::new("timeline.csv"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_status_actor_ip_resource() {
        let get = |c: Col| match c {
            Col::Operation => Some("microsoft.storage/storageaccounts/listkeys/action".into()),
            Col::Status => Some("succeeded".into()),
            Col::Caller => Some("eve@contoso.com".into()),
            Col::CallerIp => Some("203.0.113.9".into()),
            _ => None,
        };
        assert_eq!(
            message(&get),
            "microsoft.storage/storageaccounts/listkeys/action succeeded by eve@contoso.com from 203.0.113.9"
        );
    }
}
