//! A local HTTP server standing in for Slack's incoming webhook: it records every request it
//! receives and answers with the statuses a test scripts (then 200s).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::http;

/// One request the webhook received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub body: serde_json::Value,
}

/// An answer to give: a status and extra headers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<Answer>,
}

/// The running webhook; it stops when dropped.
pub struct Webhook {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    /// Starts a webhook at `http://127.0.0.1:<port><path>` that answers `script` in order, then 200.
    pub async fn start(path: &str, script: Vec<Answer>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}{path}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State {
            received: Vec::new(),
            script: script.into(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Ok(Self { url, state, task })
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().map(|s| s.received.clone()).unwrap_or_default()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers the requests of one connection (clients keep connections alive).
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let Ok(Some(http::Request { path, body, .. })) = http::read_request(&mut reader).await else {
            return;
        };
        let answer = {
            let Ok(mut state) = state.lock() else { return };
            state.received.push(Received {
                at: Instant::now(),
                path,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            });
            state.script.pop_front().unwrap_or(Answer::status(200))
        };
        let mut response = format!("HTTP/1.1 {} Scripted\r\ncontent-length: 2\r\n", answer.status);
        for (name, value) in &answer.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\nok");
        if reader.get_mut().write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
