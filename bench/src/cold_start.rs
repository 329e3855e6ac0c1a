//! A function's cold start, measured against a local stand-in for the Lambda runtime API: the
//! time from spawning the process to its first `next` request (its init), and to its answer to
//! the one event it is given.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lakehouse_testkit::http::{Request, read_request};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const REQUEST_ID: &str = "cold-start-0001";

pub async fn measure(binary: &std::path::Path, event: &str) -> Result<serde_json::Value> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function")
        .to_owned();
    let started = Instant::now();
    let mut child = std::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| binary.display().to_string())?;

    let served = tokio::time::timeout(Duration::from_secs(120), serve_one(&listener, event, started)).await;
    // The function waits for a second event that never comes.
    let _ = child.kill();
    let _ = child.wait();
    let (init, answered, outcome) = served.context("the function did not answer within 120 s")??;
    Ok(serde_json::json!({
        "function": name,
        "init_ms": init.as_secs_f64() * 1000.0,
        "first_event_ms": answered.as_secs_f64() * 1000.0,
        "outcome": outcome,
    }))
}

/// Answers requests until the function has reported on its one event. Returns the time of the
/// first `next` request, the time of the report, and whether it was a response or an error.
async fn serve_one(listener: &TcpListener, event: &str, started: Instant) -> Result<(Duration, Duration, String)> {
    let mut init = None;
    loop {
        let (stream, _) = listener.accept().await?;
        let mut stream = BufReader::new(stream);
        while let Some(Request { method, path, .. }) = read_request(&mut stream).await? {
            if method == "GET" && path.ends_with("/invocation/next") {
                if init.is_some() {
                    // A second `next`: the one event was handled; leave the function waiting.
                    bail!("the function asked for a second event before answering the first");
                }
                init = Some(started.elapsed());
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis()
                    + 900_000;
                let headers = format!(
                    "Lambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
                );
                answer(stream.get_mut(), 200, &headers, event).await?;
            } else if method == "POST" && path.contains(REQUEST_ID) {
                let answered = started.elapsed();
                answer(stream.get_mut(), 202, "", "{}").await?;
                let outcome = if path.ends_with("/error") { "error" } else { "response" };
                return Ok((
                    init.context("an answer before any event")?,
                    answered,
                    outcome.to_owned(),
                ));
            } else {
                answer(stream.get_mut(), 202, "", "{}").await?;
            }
        }
    }
}

async fn answer(stream: &mut TcpStream, status: u16, headers: &str, body: &str) -> Result<()> {
    let response = format!(
        "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}
