//! `lakehouse`: every stage of the pipeline from the command line, on the embedded defaults
//! (a SQLite source and a lake folder under `./.lakehouse`) or against real services.

mod args;
mod commands;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// The same allocator as the Lambda functions (see `lakehouse_lambda`), so that the command and
/// the functions perform alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_logging(cli.verbose);
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line naming what failed: every error message of ours already includes its cause.
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: warnings by default, stage events with `-v`, or as `LAKEHOUSE_LOG` says.
/// delta-rs's merge warns about a missing internal metric on every call; that is noise to a user.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,deltalake_core::operations::merge=error",
        1 => "info,deltalake_core=warn,deltalake_core::operations::merge=error",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .compact()
        .init();
}
