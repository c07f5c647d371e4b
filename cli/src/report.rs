//! `fleetsim report`: a finished sweep's charts and HTML report.

use crate::args::ReportArgs;
use crate::failure::Failure;
use crate::output::Stdout;
use std::process::ExitCode;

/// `fleetsim report DIR`.
pub(crate) fn report(a: ReportArgs) -> Result<ExitCode, Failure> {
    let written = reports::report::write_report(&a.dir)?;
    let mut out = Stdout::default();
    out.emit(&format!(
        "wrote {} ({} charts, SVG and PNG, in {})\n",
        written.html.display(),
        written.charts,
        written.chart_dir.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}
