//! Posting to a Slack incoming webhook, with retries on 429 (honouring `Retry-After`) and 5xx.
//! The webhook URL is a secret: it never appears in a log line, an error or a `Debug` output.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::error::{Error, Result};

/// How often a message is tried, and the first pause between tries (doubling after each).
const ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest `Retry-After` honoured; a longer one fails the call so the platform retries later.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A Slack incoming webhook.
pub struct Slack {
    client: reqwest::Client,
    webhook: String,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slack { webhook: *** }")
    }
}

impl Slack {
    pub fn new(webhook: String) -> Result<Self> {
        if reqwest::Url::parse(&webhook).is_err() {
            // The value itself is a secret: say what is wrong with it without showing it.
            return Err(alert("the Slack webhook is not a URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| alert(&format!("cannot build an HTTP client: {}", e.without_url())))?;
        Ok(Self { client, webhook })
    }

    /// Posts one message, retrying while Slack asks to or fails on its side.
    pub async fn post(&self, message: &Value) -> Result<()> {
        let mut pause = FIRST_PAUSE;
        let mut last_failure = String::new();
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .client
                .post(&self.webhook)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(message.to_string())
                .send()
                .await;
            let wait = match sent {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) if answer.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after(&answer).unwrap_or(pause);
                    if wait > LONGEST_RETRY_AFTER {
                        return Err(alert(&format!(
                            "Slack asks to wait {} s before posting again",
                            wait.as_secs()
                        )));
                    }
                    last_failure = "429 Too Many Requests".to_owned();
                    wait
                }
                Ok(answer) if answer.status().is_server_error() => {
                    last_failure = answer.status().to_string();
                    pause
                }
                Ok(answer) => {
                    let status = answer.status();
                    let body = answer.text().await.unwrap_or_default();
                    return Err(alert(&format!("Slack refused the message: {status} {}", body.trim())));
                }
                Err(e) => {
                    last_failure = e.without_url().to_string();
                    pause
                }
            };
            tracing::warn!(attempt, failure = %last_failure, wait_ms = wait.as_millis() as u64, "slack post failed; retrying");
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                pause *= 2;
            }
        }
        Err(alert(&format!(
            "Slack did not take the message after {ATTEMPTS} tries: {last_failure}"
        )))
    }
}

fn retry_after(answer: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

fn alert(reason: &str) -> Error {
    Error::Alert(reason.to_owned())
}
