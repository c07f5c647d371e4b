//! Fitting into the shell: completion scripts (`fleetsim completions
//! SHELL`) and man pages (`fleetsim man`), both generated from the same
//! definition of the command line as `--help`, so they cannot drift.

use crate::args::{command, CompletionsArgs, ManArgs};
use crate::failure::Failure;
use crate::output::{OutDir, Stdout};
use std::process::ExitCode;

/// `fleetsim completions SHELL`: the script on standard output.
pub(crate) fn completions(a: CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut cmd = command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "fleetsim", &mut script);
    Stdout::default().emit(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// The commit's date (`2026-12-07`) for the pages' footer, so two builds
/// of one commit write the same pages; none outside a checkout.
fn date() -> Option<&'static str> {
    let last = sim_core::COMMIT.rsplit(' ').next()?;
    let b = last.as_bytes();
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-').then_some(last)
}

/// A page in roff.
fn render(page: clap::Command) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    let mut man = clap_mangen::Man::new(page);
    if let Some(d) = date() {
        man = man.date(d);
    }
    man.render(&mut out).map_err(|e| Failure::Io(e.into()))?;
    Ok(out)
}

/// The top page and one per subcommand, as (file name, roff), the way
/// `clap_mangen::generate_to` names them (`fleetsim.1`, `fleetsim-run.1`).
fn pages() -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut top = command().disable_help_subcommand(true);
    top.build();
    let mut out = Vec::new();
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = clap_mangen::Man::new(sub.clone());
        out.push((man.get_filename(), render(sub.clone())?));
    }
    out.insert(0, ("fleetsim.1".to_string(), render(top)?));
    Ok(out)
}

/// `fleetsim man`: the top page on standard output, or every page into
/// `--out-dir`.
pub(crate) fn man(a: ManArgs) -> Result<ExitCode, Failure> {
    let mut stdout = Stdout::default();
    let pages = pages()?;
    let Some(dir) = &a.out_dir else {
        stdout.emit(&String::from_utf8_lossy(&pages[0].1))?;
        return Ok(ExitCode::SUCCESS);
    };
    let dir = OutDir::prepare(dir)?;
    for (name, roff) in &pages {
        dir.write_atomic(name, roff)?;
    }
    stdout.emit(&format!(
        "wrote {} man pages into {} (fleetsim.1 and one per subcommand)\n",
        pages.len(),
        dir.path().display()
    ))?;
    Ok(ExitCode::SUCCESS)
}
