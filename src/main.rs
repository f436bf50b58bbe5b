//! The `armhunt` binary: a thin shell over the library.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc backs its arenas with transparent huge pages where the system
    // allows it; with the frame held in memory (scan) the kernel then spends
    // seconds zeroing 2 MiB pages. Normal pages are faster here (see
    // BENCHMARKS.md), so this process does without huge pages.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let cli = armhunt::cli::Cli::parse();
    match armhunt::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e = anyhow::Error::from(e);
            eprintln!("armhunt: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
