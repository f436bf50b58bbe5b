//! `report.html`: one self-contained page for people (no script, no
//! network, no external asset; a Content-Security-Policy forbids them too).
//! Summary, a timeline chart in inline SVG, the storylines ranked by risk,
//! and every finding with its metadata, guidance and evidence table.
//!
//! Every string that comes from a log is attacker-controlled: it goes
//! through [`esc`], which makes control and bidi-override characters
//! visible and escapes HTML.

use std::fmt::Write as _;

use polars::prelude::*;

use super::evidence::Evidence;
use super::text::{human_bytes, term_safe};
use crate::detect::{Finding, FindingsDoc, Severity, catalog};
use crate::error::Result;
use crate::frame::Col;
use crate::ingest::IngestReport;
use crate::normalize::time::format_micros;

/// Evidence rows shown per finding; the evidence file has them all.
const MAX_ROWS: usize = 200;
/// Resources listed per finding before "and N more".
const MAX_LIST: usize = 25;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let s = term_safe(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Events per time bucket over the whole frame, for the timeline chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    pub first_us: i64,
    pub last_us: i64,
    pub width_us: i64,
    pub counts: Vec<u64>,
}

impl Histogram {
    pub const BUCKETS: i64 = 120;

    pub fn of(frame: &DataFrame) -> Result<Histogram> {
        let t = crate::frame::times(frame)?;
        let (Some(first), Some(last)) = (t.min(), t.max()) else {
            return Ok(Histogram::default());
        };
        // Whole seconds per bucket, so the axis reads well.
        let span = (last - first).max(1);
        let raw = (span / Self::BUCKETS + 1).max(1_000_000);
        let width = (raw + 999_999) / 1_000_000 * 1_000_000;
        let n = (span / width + 1) as usize;
        let mut counts = vec![0u64; n];
        for v in t.into_no_null_iter() {
            counts[((v - first) / width) as usize] += 1;
        }
        Ok(Histogram {
            first_us: first,
            last_us: last,
            width_us: width,
            counts,
        })
    }
}

/// What the page shows.
pub struct Page<'a> {
    pub doc: &'a FindingsDoc,
    pub evidence: &'a Evidence,
    pub ingest: &'a IngestReport,
    pub histogram: &'a Histogram,
    /// Rules that ran (enabled).
    pub rules_run: usize,
    pub min_severity: Option<Severity>,
    /// Per finding, its evidence file relative to the report.
    pub evidence_files: &'a [String],
    /// Per evidence row, its input's name.
    pub source_names: &'a [String],
    pub rejects: u64,
    /// The `--ioc` files.
    pub ioc_files: &'a [crate::detect::ioc::IocFile],
    /// The `--geoip` databases.
    pub geoip_files: &'a [crate::geo::GeoFile],
}

fn sev_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#6a1b9a",
        Severity::High => "#c62828",
        Severity::Medium => "#ef6c00",
        Severity::Low => "#f9a825",
        Severity::Informational => "#546e7a",
    }
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1c2430;background:#f4f6f9}
header{background:#1c2430;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c2d0}
main{padding:8px 28px 40px;max-width:1400px}
h2{margin:28px 0 10px;font-size:18px;border-bottom:2px solid #d5dbe3;padding-bottom:4px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.badge{display:inline-block;border-radius:4px;color:#fff;padding:1px 7px;font-size:12px;font-weight:600;text-transform:uppercase}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}
th,td{border:1px solid #d5dbe3;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.mono,td.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
section.finding{background:#fff;border:1px solid #d5dbe3;border-left:6px solid var(--sev);border-radius:6px;padding:10px 16px;margin:16px 0}
section.finding h3{margin:4px 0 8px;font-size:16px}
.why{font-size:15px;background:#fdf6e3;border:1px solid #efe2b8;padding:6px 10px;border-radius:4px}
table.meta th{width:170px}
.note{color:#5a6675;font-size:13px}
svg text{font:11px system-ui,sans-serif;fill:#3a4554}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
";

/// MITRE ATT&CK page of a technique id (`T1552.001` → `T1552/001/`).
fn technique_url(t: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        t.replace('.', "/")
    )
}

fn badge(s: Severity) -> String {
    format!(
        "<span class=\"badge\" style=\"background:{}\">{}</span>",
        sev_colour(s),
        s.as_str()
    )
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "&mdash;".into();
    }
    let mut s = items
        .iter()
        .take(MAX_LIST)
        .map(|i| format!("<span class=\"mono\">{}</span>", esc(i)))
        .collect::<Vec<_>>()
        .join("<br>");
    if items.len() > MAX_LIST {
        let _ = write!(
            s,
            "<br><span class=\"note\">and {} more</span>",
            items.len() - MAX_LIST
        );
    }
    s
}

/// Renders the page.
pub fn render(p: &Page<'_>) -> Result<String> {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>armhunt report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n");
    let _ = write!(
        h,
        "<header><h1>armhunt report</h1><p>Azure Activity Log findings &middot; armhunt {} &middot; findings schema {}</p></header>\n<main>\n",
        esc(env!("CARGO_PKG_VERSION")),
        p.doc.schema_version
    );
    summary(&mut h, p);
    chart(&mut h, p);
    storylines(&mut h, p);
    findings(&mut h, p)?;
    inputs(&mut h, p);
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

fn summary(h: &mut String, p: &Page<'_>) {
    let t = p.ingest.totals;
    let read = p
        .ingest
        .files
        .iter()
        .filter(|f| f.skipped.is_none())
        .count();
    let skipped = p.ingest.files.len() - read;
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">\n");
    let card = |h: &mut String, label: &str, value: String| {
        let _ = writeln!(h, "<div class=\"card\"><b>{value}</b>{label}</div>");
    };
    card(h, "inputs read", format!("{read}"));
    if skipped > 0 {
        card(h, "inputs skipped", format!("{skipped}"));
    }
    card(h, "records read", t.records_kept.to_string());
    card(h, "records rejected", t.rejected.to_string());
    card(h, "duplicates dropped", t.duplicates.to_string());
    card(h, "rules run", p.rules_run.to_string());
    card(h, "findings", p.doc.findings.len().to_string());
    h.push_str("</div>\n");
    let hist = p.histogram;
    if !hist.counts.is_empty() {
        let _ = writeln!(
            h,
            "<p>Time span of the data: <span class=\"mono\">{}</span> to <span class=\"mono\">{}</span> (UTC).</p>",
            format_micros(hist.first_us),
            format_micros(hist.last_us)
        );
    }
    h.push_str("<p>Findings by severity: ");
    for s in SEVERITIES {
        let n = p.doc.findings.iter().filter(|f| f.severity == s).count();
        let _ = write!(h, "{} {n} &nbsp; ", badge(s));
    }
    h.push_str("</p>\n");
    if let Some(m) = p.min_severity {
        let _ = writeln!(
            h,
            "<p class=\"note\">Only findings of severity {} or higher are reported (<span class=\"mono\">--min-severity</span>).</p>",
            m.as_str()
        );
    }
    if t.rejected > 0 {
        let _ = writeln!(
            h,
            "<p class=\"note\">{} records could not be read; each is in <a href=\"rejects.jsonl\">rejects.jsonl</a> with its file, offset and reason.</p>",
            p.rejects
        );
    }
    if p.ioc_files.is_empty() {
        h.push_str("<p>Threat intelligence: none (no <span class=\"mono\">--ioc</span> list; AH-INTL rules found nothing).</p>\n");
    } else {
        h.push_str("<p>Threat intelligence (<span class=\"mono\">--ioc</span>):</p>\n<ul>\n");
        for f in p.ioc_files {
            let _ = writeln!(
                h,
                "<li><span class=\"mono\">{}</span>: {}, {} entries, SHA-256 <span class=\"mono\">{}</span></li>",
                esc(&f.path),
                f.format.as_str(),
                f.entries,
                esc(&f.sha256)
            );
        }
        h.push_str("</ul>\n");
    }
    if !p.geoip_files.is_empty() {
        h.push_str("<p>GeoIP (<span class=\"mono\">--geoip</span>):</p>\n<ul>\n");
        for f in p.geoip_files {
            // The build day (the metadata's build_epoch).
            let built = i64::try_from(f.build_epoch)
                .ok()
                .and_then(|s| s.checked_mul(1_000_000))
                .map(crate::normalize::time::format_micros)
                .map(|t| t.get(..10).unwrap_or(&t).to_owned())
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<li><span class=\"mono\">{}</span>: {}, built {}, SHA-256 <span class=\"mono\">{}</span></li>",
                esc(&f.path),
                esc(&f.database_type),
                esc(&built),
                esc(&f.sha256)
            );
        }
        h.push_str("</ul>\n");
    }
    baseline_summary(h, p);
    for e in &p.doc.rule_errors {
        let _ = writeln!(
            h,
            "<p class=\"note\"><b>Rule {} failed:</b> {}</p>",
            esc(&e.rule_id),
            esc(&e.error)
        );
    }
}

/// The baseline period, and the rules that could not judge this data.
fn baseline_summary(h: &mut String, p: &Page<'_>) {
    let b = &p.doc.baseline;
    if let (Some(first), Some(from)) = (&b.data_first, &b.detect_from) {
        let _ = writeln!(
            h,
            "<p>Behaviour baselines (AH-ANOM rules): learnt from {} to {} ({} days{}), judged from {} on ({}); {} principals profiled.</p>",
            esc(first),
            esc(from),
            b.history_hours / 24,
            if b.geoip { ", with GeoIP" } else { "" },
            esc(from),
            if b.chosen_by == "option" {
                "<span class=\"mono\">--detect-from</span>"
            } else {
                "the last 7 days of the data"
            },
            b.principals
        );
    }
    let notes: Vec<_> = p
        .doc
        .rules_run
        .iter()
        .filter_map(|r| Some((r, r.note.as_deref()?)))
        .collect();
    if !notes.is_empty() {
        h.push_str("<p class=\"note\">Rules that could not judge this data:</p>\n<ul>\n");
        for (r, n) in notes {
            let _ = writeln!(
                h,
                "<li><span class=\"mono\">{}</span>: {}</li>",
                esc(&r.id),
                esc(n)
            );
        }
        h.push_str("</ul>\n");
    }
}

fn chart(h: &mut String, p: &Page<'_>) {
    let hist = p.histogram;
    h.push_str("<h2 id=\"timeline\">Timeline</h2>\n");
    if hist.counts.is_empty() {
        h.push_str("<p class=\"note\">No events.</p>\n");
        return;
    }
    let (w, top, plot_h, left) = (1000.0f64, 68.0f64, 150.0f64, 80.0f64);
    let plot_w = w - left - 10.0;
    let n = hist.counts.len() as f64;
    let max = *hist.counts.iter().max().unwrap_or(&1) as f64;
    let span = (hist.width_us as f64) * n;
    let x_of = |us: i64| left + (us - hist.first_us) as f64 / span * plot_w;
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {}\" width=\"100%\" role=\"img\" aria-label=\"events and findings over time\">",
        top + plot_h + 40.0
    );
    let _ = writeln!(
        h,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"#fff\" stroke=\"#d5dbe3\"/>"
    );
    let bw = plot_w / n;
    for (i, &c) in hist.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = (c as f64 / max * plot_h).max(1.0);
        let t0 = hist.first_us + i as i64 * hist.width_us;
        let _ = writeln!(
            h,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"#90a4ae\"><title>{} events from {}</title></rect>",
            left + i as f64 * bw,
            top + plot_h - bh,
            (bw - 0.5).max(0.5),
            c,
            format_micros(t0)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        left - 4.0,
        top + 10.0,
        max as u64,
        left - 4.0,
        top + plot_h
    );
    for k in 0..=4 {
        let us = hist.first_us + ((span as i64) / 4) * k;
        let x = x_of(us);
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let label = format_micros(us);
        let _ = writeln!(
            h,
            "<line x1=\"{x:.2}\" y1=\"{}\" x2=\"{x:.2}\" y2=\"{}\" stroke=\"#9aa5b4\"/><text x=\"{x:.2}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            top + plot_h,
            top + plot_h + 5.0,
            top + plot_h + 18.0,
            &label[..19.min(label.len())].replace('T', " ")
        );
    }
    // Findings: a bar from first to last seen, one lane per severity.
    for (lane, s) in SEVERITIES.iter().enumerate() {
        let _ = writeln!(
            h,
            "<text x=\"{}\" y=\"{:.2}\" text-anchor=\"end\">{}</text>",
            left - 4.0,
            12.0 + lane as f64 * 12.0,
            s.as_str()
        );
    }
    for f in &p.doc.findings {
        let (a, b) = FindingsDoc::span_us(f);
        let lane = SEVERITIES
            .iter()
            .position(|&s| s == f.severity)
            .unwrap_or(4) as f64;
        let y = 3.0 + lane * 12.0;
        let (x1, x2) = (x_of(a) - 3.0, x_of(b).max(x_of(a)) + 3.0);
        let _ = writeln!(
            h,
            "<a href=\"#{id}\"><rect x=\"{x1:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"10\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.85\"><title>{id} {} {}: {}</title></rect></a>",
            x2 - x1,
            sev_colour(f.severity),
            esc(&f.rule_id),
            f.severity.as_str(),
            esc(&f.title),
            id = esc(&f.id)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\">events per {} (grey bars); findings by severity, first to last seen (coloured bars)</text>",
        left,
        top + plot_h + 34.0,
        human_duration(hist.width_us)
    );
    h.push_str("</svg>\n");
}

fn human_duration(us: i64) -> String {
    let s = us / 1_000_000;
    if s % 86_400 == 0 {
        format!("{} d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn storylines(h: &mut String, p: &Page<'_>) {
    h.push_str("<h2 id=\"storylines\">Actors ranked by risk</h2>\n");
    if p.doc.storylines.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    h.push_str("<table><thead><tr><th>#</th><th>actor</th><th>risk</th><th>highest</th><th>first seen</th><th>last seen</th><th>tactics</th><th>findings, in time order</th></tr></thead><tbody>\n");
    for s in &p.doc.storylines {
        let who = match &s.caller {
            Some(c) if c != &s.actor => format!(
                "{}<br><span class=\"note mono\">{}</span>",
                esc(c),
                esc(&s.actor)
            ),
            _ => esc(&s.actor),
        };
        let links = s
            .findings
            .iter()
            .map(|id| {
                let f = p.doc.findings.iter().find(|f| &f.id == id);
                let title = f
                    .map(|f| format!("{} {}", f.rule_id, f.title))
                    .unwrap_or_default();
                format!(
                    "<a href=\"#{0}\" title=\"{1}\">{0}</a>",
                    esc(id),
                    esc(&title)
                )
            })
            .collect::<Vec<_>>()
            .join(" &rarr; ");
        let _ = writeln!(
            h,
            "<tr><td class=\"n\">{}</td><td>{who}</td><td class=\"n\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{links}</td></tr>",
            s.rank,
            s.risk_score,
            badge(s.highest_severity),
            esc(&s.first_seen),
            esc(&s.last_seen),
            esc(&s.tactics.join(", "))
        );
    }
    h.push_str("</tbody></table>\n");
}

fn findings(h: &mut String, p: &Page<'_>) -> Result<()> {
    h.push_str("<h2 id=\"findings\">Findings</h2>\n");
    if p.doc.findings.is_empty() {
        h.push_str("<p>No rule fired.</p>\n");
        return Ok(());
    }
    let frame = &p.evidence.frame;
    let col = |c: Col| -> Result<StringChunked> { Ok(frame.column(c.name())?.str()?.clone()) };
    let (op, status, caller, ip, res) = (
        col(Col::Operation)?,
        col(Col::Status)?,
        col(Col::Caller)?,
        col(Col::CallerIp)?,
        col(Col::ResourceId)?,
    );
    for (fi, f) in p.doc.findings.iter().enumerate() {
        finding_head(h, f, &p.evidence_files[fi], p.evidence.of_finding[fi].len());
        let rows = &p.evidence.of_finding[fi];
        h.push_str("<table class=\"evidence\"><thead><tr><th>line</th><th>time (UTC)</th><th>operation</th><th>status</th><th>caller</th><th>caller IP</th><th>resource</th><th>event id</th><th>original record</th></tr></thead><tbody>\n");
        for (line, &k) in rows.iter().enumerate().take(MAX_ROWS) {
            let r = &p.evidence.rows[k];
            let s = |c: &StringChunked| esc(c.get(k).unwrap_or(""));
            let place = if r.len > 0 {
                format!(
                    "{} @ byte {} (+{})",
                    esc(&p.source_names[k]),
                    r.offset,
                    r.len
                )
            } else {
                format!("{} row {}", esc(&p.source_names[k]), r.row)
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"n\"><a href=\"{}\">{}</a></td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{place}<br>sha256 {}</td></tr>",
                esc(&p.evidence_files[fi]),
                line + 1,
                format_micros(r.time_us),
                s(&op),
                s(&status),
                s(&caller),
                s(&ip),
                s(&res),
                esc(&f.evidence_event_ids[line]),
                esc(&r.sha256)
            );
        }
        h.push_str("</tbody></table>\n");
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                h,
                "<p class=\"note\">{} more evidence records are in <a href=\"{1}\">{1}</a>.</p>",
                rows.len() - MAX_ROWS,
                esc(&p.evidence_files[fi])
            );
        }
        h.push_str("</section>\n");
    }
    Ok(())
}

fn finding_head(h: &mut String, f: &Finding, file: &str, records: usize) {
    let _ = writeln!(
        h,
        "<section class=\"finding\" id=\"{}\" style=\"--sev:{}\">\n<h3>{} {} &middot; {} &middot; {}</h3>",
        esc(&f.id),
        sev_colour(f.severity),
        badge(f.severity),
        esc(&f.id),
        esc(&f.rule_id),
        esc(&f.title)
    );
    let _ = writeln!(h, "<p class=\"why\">{}</p>", esc(&f.why));
    h.push_str("<table class=\"meta\">\n");
    let row = |h: &mut String, k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    let a = &f.actor;
    let mut actor = String::new();
    if let Some(c) = &a.caller {
        let _ = write!(actor, "<b>{}</b>", esc(c));
    }
    for (label, v) in [
        ("principal id", &a.principal_id),
        ("type", &a.principal_type),
        ("app id", &a.app_id),
    ] {
        if let Some(v) = v {
            let _ = write!(actor, "<br>{label}: <span class=\"mono\">{}</span>", esc(v));
        }
    }
    if let Some(n) = &a.app_name {
        let _ = write!(actor, " ({})", esc(n));
    }
    row(h, "Actor", actor);
    row(
        h,
        "When",
        format!(
            "<span class=\"mono\">{}</span> to <span class=\"mono\">{}</span> &middot; {} logical operation{}",
            esc(&f.first_seen),
            esc(&f.last_seen),
            f.count,
            if f.count == 1 { "" } else { "s" }
        ),
    );
    row(
        h,
        "Rule",
        format!(
            "{} version {} &middot; confidence {}",
            esc(&f.rule_id),
            f.rule_version,
            f.confidence.as_str()
        ),
    );
    row(h, "MITRE ATT&amp;CK tactics", esc(&f.tactics.join(", ")));
    row(
        h,
        "Techniques",
        f.techniques
            .iter()
            .map(|t| format!("<a href=\"{}\">{}</a>", esc(&technique_url(t)), esc(t)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !f.defender_alerts.is_empty() {
        row(h, "Defender for Resource Manager", list(&f.defender_alerts));
    }
    if f.caller_ip_places.is_empty() {
        row(h, "Caller IPs", list(&f.caller_ips));
    } else {
        let placed: Vec<String> = f
            .caller_ips
            .iter()
            .map(|ip| match f.caller_ip_places.iter().find(|p| &p.ip == ip) {
                Some(p) => format!("{ip} ({})", p.describe()),
                None => ip.clone(),
            })
            .collect();
        row(h, "Caller IPs", list(&placed));
    }
    row(h, "Subscriptions", list(&f.subscriptions));
    row(h, "Resources", list(&f.resources));
    row(h, "Operations", list(&f.operations));
    row(h, "Investigation", esc(&f.guidance));
    if let Some(r) = catalog::find(&f.rule_id) {
        row(h, "False positives", esc(r.meta().false_positives));
    }
    row(
        h,
        "Evidence",
        format!(
            "<a href=\"{0}\">{0}</a> &middot; {records} original record{1}, one per line",
            esc(file),
            if records == 1 { "" } else { "s" }
        ),
    );
    h.push_str("</table>\n");
}

fn inputs(h: &mut String, p: &Page<'_>) {
    let files = &p.ingest.files;
    let _ = writeln!(
        h,
        "<h2 id=\"inputs\">Inputs</h2>\n<details><summary>{} input{} ({} total)</summary>",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        human_bytes(files.iter().map(|f| f.bytes).sum())
    );
    h.push_str("<table><thead><tr><th>path</th><th>dialect</th><th>bytes</th><th>sha256</th><th>found</th><th>kept</th><th>duplicates</th><th>rejected</th><th>note</th></tr></thead><tbody>\n");
    for f in files {
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&f.path),
            esc(f.dialect.as_deref().unwrap_or("")),
            f.bytes,
            esc(f.sha256.as_deref().unwrap_or("")),
            f.records_found,
            f.records_kept,
            f.duplicates,
            f.rejected,
            esc(f
                .skipped
                .as_deref()
                .map(|s| format!("skipped: {s}"))
                .as_deref()
                .unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"\u{1b}[31m\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\\u{1b}[31m\\u{202e}"
        );
    }

    #[test]
    fn technique_links() {
        assert_eq!(
            technique_url("T1552.001"),
            "https://attack.mitre.org/techniques/T1552/001/"
        );
        assert_eq!(
            technique_url("T1098"),
            "https://attack.mitre.org/techniques/T1098/"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(60_000_000), "1 min");
        assert_eq!(human_duration(7_200_000_000), "2 h");
        assert_eq!(human_duration(86_400_000_000), "1 d");
        assert_eq!(human_duration(7_000_000), "7 s");
    }
}
