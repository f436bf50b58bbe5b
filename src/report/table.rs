//! The compact terminal table `scan` prints when no output folder is
//! given: one line per finding, then the actors ranked by risk. Log values
//! are made terminal-safe; colours only when asked for (a TTY by default).

use std::fmt::Write as _;

use super::text::{cut, term_safe};
use crate::detect::{FindingsDoc, Severity};

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;35m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Informational => "\x1b[2m",
    }
}

/// Renders the table. `width` limits each line (the `why` column is cut
/// to fit); `None` leaves lines whole.
pub fn render(doc: &FindingsDoc, colours: bool, width: Option<usize>) -> String {
    let mut s = String::new();
    if doc.findings.is_empty() {
        s.push_str("no findings\n");
        notes(&mut s, doc);
        return s;
    }
    let paint = |sev: Severity, text: &str| {
        if colours {
            format!("{}{text}\x1b[0m", colour(sev))
        } else {
            text.to_owned()
        }
    };
    let _ = writeln!(
        s,
        "{:<6} {:<13} {:<19} {:<11} {:<32} WHY",
        "ID", "SEVERITY", "FIRST SEEN (UTC)", "RULE", "ACTOR"
    );
    let fixed = 6 + 1 + 13 + 1 + 19 + 1 + 11 + 1 + 32 + 1;
    for f in &doc.findings {
        let actor = f
            .actor
            .caller
            .as_deref()
            .or(f.actor.principal_id.as_deref())
            .unwrap_or("-");
        let why = term_safe(&f.why);
        let why = match width {
            Some(w) => cut(&why, w.saturating_sub(fixed).max(20)),
            None => why,
        };
        let first = f
            .first_seen
            .get(..19)
            .unwrap_or(&f.first_seen)
            .replace('T', " ");
        let _ = writeln!(
            s,
            "{:<6} {} {:<19} {:<11} {:<32} {}",
            f.id,
            paint(f.severity, &format!("{:<13}", f.severity.as_str())),
            term_safe(&first),
            f.rule_id,
            cut(&term_safe(actor), 32),
            why
        );
    }
    s.push('\n');
    let _ = writeln!(s, "actors by risk:");
    for st in &doc.storylines {
        let _ = writeln!(
            s,
            "  #{} {} risk {} ({}), {} finding{}: {}",
            st.rank,
            term_safe(st.caller.as_deref().unwrap_or(&st.actor)),
            st.risk_score,
            paint(st.highest_severity, st.highest_severity.as_str()),
            st.findings.len(),
            if st.findings.len() == 1 { "" } else { "s" },
            st.findings.join(" ")
        );
    }
    notes(&mut s, doc);
    s
}

/// The rules that could not judge this data, grouped by reason.
fn notes(s: &mut String, doc: &FindingsDoc) {
    let mut by_note: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for r in &doc.rules_run {
        if let Some(n) = &r.note {
            by_note.entry(n).or_default().push(&r.id);
        }
    }
    for (note, ids) in by_note {
        let _ = writeln!(s, "note: {}: {}", ids.join(", "), note);
    }
}
