//! The HTML page: one file, styles inline, charts inline as SVG, no
//! script and nothing fetched, so it opens the same from a laptop, an
//! artifact store or an air-gapped review.

use super::Page;
use crate::decide::matrix::{show_summary, Matrix, CRITERIA};
use crate::sweep::assemble::column_name;
use crate::sweep::record::metric_index;
use std::fmt::Write;

/// Points listed in the page's table; the rest are in `points.csv`.
const MAX_POINT_ROWS: usize = 200;

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;line-height:1.45;padding:0 1rem}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
table{border-collapse:collapse;font-size:.9rem;margin:.6rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}\
th:first-child,td:first-child{text-align:left}thead th{background:#f3f3f3}tr.best td{background:#eaf6ee}\
pre{background:#f6f6f6;padding:.6rem;white-space:pre-wrap;word-break:break-all;font-size:.85rem}figure{margin:1.2rem 0}figcaption{font-size:.9rem;color:#444}\
svg{max-width:100%;height:auto}.verdict{font-weight:bold}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}dd{margin:0}";

/// The whole page.
pub(crate) fn page(p: &Page<'_>) -> String {
    let m = p.manifest;
    let mut o = String::new();
    let title = format!("fleetsim report: {}", m.name);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&title));
    if !m.description.is_empty() {
        let _ = writeln!(o, "<p class=\"description\">{}</p>", esc(&m.description));
    }
    let _ = writeln!(
        o,
        "<p>{} runs: {} points × {} seeds, every point on the same seeds (common random numbers), so differences between options are not differences of luck.</p>",
        m.runs, m.points, m.seeds
    );

    let _ = writeln!(o, "<h2 id=\"summary\">Sweep</h2><dl>");
    let dd = |o: &mut String, k: &str, v: &str| {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), v);
    };
    dd(
        &mut o,
        "scenario",
        &format!(
            "<code>{}</code> (content {})",
            esc(&m.scenario),
            esc(&m.scenario_hash)
        ),
    );
    for a in &m.axes {
        let vals: Vec<String> = (0..a.values.len()).map(|i| a.label(i)).collect();
        dd(
            &mut o,
            &format!("axis {}", column_name(a)),
            &esc(&vals.join(", ")),
        );
    }
    dd(&mut o, "seeds per point", &m.seeds.to_string());
    dd(&mut o, "sweep", &esc(&m.sweep_hash));
    dd(
        &mut o,
        "wall time",
        &format!(
            "{:.1} s on {} thread(s), {:.1} runs/s",
            m.wall_seconds, m.jobs, m.runs_per_second
        ),
    );
    dd(&mut o, "fleetsim", &esc(&m.fleetsim_version));
    o.push_str("</dl>\n");
    let _ = writeln!(
        o,
        "<h2 id=\"reproduce\">Reproduce</h2><pre>{}\nfleetsim report {}</pre><p>Same scenario, axes and seeds give byte-identical results on any machine and thread count.</p>",
        esc(&m.command),
        esc(&p.dir)
    );

    let x = p.matrix;
    let _ = writeln!(
        o,
        "<h2 id=\"decision\">Decision</h2><p class=\"verdict\">{}</p>",
        esc(&x.verdict())
    );
    if !x.findings.is_empty() {
        o.push_str("<ul>");
        for f in &x.findings {
            let _ = write!(o, "<li>{}</li>", esc(f));
        }
        o.push_str("</ul>\n");
    }
    let shown = x.shown();
    let _ = write!(
        o,
        "<table id=\"decision-matrix\"><thead><tr><th>{}</th>",
        esc(&x.options_vary)
    );
    for &c in &shown {
        let cr = &x.criteria[c];
        let _ = write!(
            o,
            "<th title=\"{} is better; weight {}\">{}</th>",
            if cr.lower_is_better {
                "lower"
            } else {
                "higher"
            },
            cr.weight,
            esc(&cr.label)
        );
    }
    o.push_str("<th>SLO</th><th>score</th></tr></thead><tbody>\n");
    for (rank, &i) in x.ranking.iter().enumerate() {
        let r = &x.options[i];
        let _ = write!(
            o,
            "<tr{}><td>{}</td>",
            if rank == 0 { " class=\"best\"" } else { "" },
            esc(&r.name)
        );
        for &c in &shown {
            let cell = show_summary(x.criteria[c].unit, &r.cells[c]);
            let _ = write!(o, "<td>{}</td>", esc(&cell));
        }
        let _ = writeln!(
            o,
            "<td>{}</td><td>{}</td></tr>",
            esc(&r.slo),
            Matrix::score_text(r)
        );
    }
    let _ = writeln!(
        o,
        "</tbody></table><p>{} seed(s) per option; scores against {}, margin {}. {}</p>",
        x.seeds,
        esc(&x.baseline),
        x.margin,
        esc(crate::decide::matrix::METHOD)
    );

    let _ = writeln!(o, "<h2 id=\"charts\">Charts</h2>");
    for f in &p.figures {
        let svg = f.svg.find("<svg").map_or(f.svg.as_str(), |i| &f.svg[i..]);
        let _ = writeln!(
            o,
            "<figure id=\"chart-{}\">{}<figcaption>{} (also <code>charts/{}.png</code> and <code>.svg</code>)</figcaption></figure>",
            esc(&f.id),
            svg,
            esc(&f.caption),
            esc(&f.id)
        );
    }
    for n in &p.notes {
        let _ = writeln!(o, "<p><em>{}</em></p>", esc(n));
    }

    findings(&mut o, p);

    let _ = writeln!(o, "<h2 id=\"points\">Every point</h2>");
    let keys = ["p50", "p99", "errors", "throughput", "cost", "fairness"];
    let cols: Vec<_> = CRITERIA
        .iter()
        .filter(|c| keys.contains(&c.key))
        .filter_map(|c| Some((c, metric_index(c.metric.column)?)))
        .collect();
    o.push_str("<table id=\"points-table\"><thead><tr>");
    for a in &m.axes {
        let _ = write!(o, "<th>{}</th>", esc(column_name(a)));
    }
    for (c, _) in &cols {
        let _ = write!(o, "<th>{}</th>", esc(c.metric.label));
    }
    o.push_str("</tr></thead><tbody>\n");
    for pt in p.points.iter().take(MAX_POINT_ROWS) {
        o.push_str("<tr>");
        for l in &pt.labels {
            let _ = write!(o, "<td>{}</td>", esc(l));
        }
        for (c, i) in &cols {
            let cell = show_summary(c.metric.unit, &pt.metrics[*i]);
            let _ = write!(o, "<td>{}</td>", esc(&cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
    if p.points.len() > MAX_POINT_ROWS {
        let _ = writeln!(
            o,
            "<p>{} more points in <code>points.csv</code>.</p>",
            p.points.len() - MAX_POINT_ROWS
        );
    }
    let _ = writeln!(
        o,
        "<h2 id=\"files\">Files</h2><p><code>results.csv</code> and <code>results.parquet</code> (one row per run), <code>points.csv</code> (per point, mean and 95% interval), <code>runs.jsonl</code> (each run's metrics, latency quantiles and per-instance load), <code>manifest.json</code>, <code>charts/</code>.</p>"
    );
    o.push_str("</body></html>\n");
    o
}

/// Settings that cannot act, per point: path, code, when found, and what
/// it means.
fn findings(o: &mut String, p: &Page<'_>) {
    if p.findings.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<h2 id=\"findings\">Findings</h2><p>Settings a point's scenario writes that cannot act, or did not on its seeds (advisory: they change no result; a run finding is listed when it held on every seed, a removed canary when it happened on any).</p>"
    );
    for (point, fs) in &p.findings {
        let _ = writeln!(
            o,
            "<h3>{}</h3><table class=\"findings\"><thead><tr><th>setting</th><th>finding</th><th>found</th><th>what it means</th></tr></thead><tbody>",
            esc(point)
        );
        for f in fs {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(&f.path),
                esc(&f.code),
                f.stage.word(),
                esc(&f.message)
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
