//! `lakehouse-bench`: what `bench/run.sh` measures on the Rust side.
//!
//! - `floor <in> <out>`: reads every Parquet file under `<in>` with arrow-rs and writes it to the
//!   same path under `<out>`: the least any Bronze ingestion has to do with the same data.
//! - `cold-start <function binary> <event.json>`: starts a function under a local stand-in for
//!   the Lambda runtime API, hands it the event, and prints one JSON line: the milliseconds from
//!   process start to the runtime asking for its first event (init) and to its first answer.
//! - `many-commits <n> <lake>`: a table of `n` one-row commits, then a timed maintenance round.

mod cold_start;
mod floor;
mod many_commits;

use anyhow::{Result, bail};

/// The lakehouse's allocator, so that the floor is not held back by a slower one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["floor", input, output] => {
            let (files, rows) = floor::copy_all(input.as_ref(), output.as_ref())?;
            println!("{}", serde_json::json!({ "files": files, "rows": rows }));
        }
        ["cold-start", binary, event] => {
            let measured = cold_start::measure(binary.as_ref(), &std::fs::read_to_string(event)?).await?;
            println!("{measured}");
        }
        ["many-commits", commits, lake] => {
            println!("{}", many_commits::measure(commits.parse()?, lake).await?);
        }
        _ => bail!(
            "usage: lakehouse-bench floor <in> <out> | cold-start <function binary> <event.json> \
             | many-commits <n> <lake>"
        ),
    }
    Ok(())
}
