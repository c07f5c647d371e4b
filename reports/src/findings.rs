//! Findings (settings that cannot act, [`sim_core::Finding`]) as a person
//! reads them: in the run summary, under `fleetsim validate`, in the
//! gate's Markdown and in the HTML report.

use sim_core::Finding;
use std::fmt::Write;

/// The findings as text, one per entry under a heading; empty when there
/// are none.
pub fn findings_text(findings: &[Finding]) -> String {
    let mut o = String::new();
    if findings.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "Findings: {} setting{} that cannot act (advisory; `findings` in --json)",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for f in findings {
        let _ = writeln!(o, "  {:<6} {} [{}]", f.stage.word(), f.path, f.code);
        let _ = writeln!(o, "         {}", f.message);
    }
    o
}

/// The findings as a Markdown list, each with its scenario (`None`: no
/// scenario column); empty when there are none.
pub fn findings_markdown(findings: &[(Option<&str>, &Finding)]) -> String {
    let mut o = String::new();
    if findings.is_empty() {
        return o;
    }
    let _ = writeln!(o, "#### Findings: settings that cannot act (advisory)\n");
    for (scenario, f) in findings {
        let at = scenario.map_or_else(String::new, |s| format!("`{s}` "));
        let _ = writeln!(
            o,
            "- {at}`{}` **{}** ({}): {}",
            f.path,
            f.code,
            f.stage.word(),
            f.message
        );
    }
    o
}
