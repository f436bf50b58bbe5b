//! The `armhunt` binary: a thin shell over the library.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
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
