//! One Slack message per incident in the event, repeats folded into a count. A failure to reach
//! Slack is the invocation's error, so the platform's retries and dead-letter path take over.

use std::time::Duration;

use lakehouse_io::alert::{Notifier, Sink, Slack};
use lakehouse_lambda::config::{optional, parsed};
use lakehouse_lambda::secrets;
use lakehouse_lambda::{FunctionError, SdkConfig};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::events;

/// The notifier: the webhook from the secret `LAKEHOUSE_SLACK_SECRET_ARN` (or, for local runs,
/// `LAKEHOUSE_SLACK_WEBHOOK_URL`), and the window within which repeats of one incident are folded
/// (`LAKEHOUSE_ALERT_WINDOW_SECS`, 300 by default).
pub async fn notifier_from_env(aws: &SdkConfig) -> Result<Notifier, FunctionError> {
    let webhook = match optional("LAKEHOUSE_SLACK_SECRET_ARN") {
        Some(arn) => secrets::webhook_url(&aws_sdk_secretsmanager::Client::new(aws), &arn).await?,
        None => optional("LAKEHOUSE_SLACK_WEBHOOK_URL")
            .ok_or_else(|| FunctionError::config("LAKEHOUSE_SLACK_SECRET_ARN is not set"))?,
    };
    let window = Duration::from_secs(parsed("LAKEHOUSE_ALERT_WINDOW_SECS", 300)?);
    let slack = Slack::new(webhook).map_err(|e| FunctionError::config(e.to_string()))?;
    Ok(Notifier::new(Sink::Slack(slack), window))
}

pub async fn function_handler(event: LambdaEvent<Value>, notifier: &Notifier) -> Result<Value, FunctionError> {
    let region = optional("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned());
    let incidents = events::incidents(event.payload, &region)?;
    let received = incidents.len();
    let notified = notifier.notify(incidents).await?;
    tracing::info!(
        received,
        sent = notified.sent,
        suppressed = notified.suppressed,
        "incidents notified"
    );
    serde_json::to_value(notified).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use anyhow::Result;
    use lakehouse_lambda::ErrorKind;
    use lakehouse_testkit::webhook::{Answer, Webhook};
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const ALARM: &str = include_str!("../../../events/notify-slack/sns-alarm.json");
    const LOGS: &str = include_str!("../../../events/notify-slack/logs-subscription.json");
    const FAILURE: &str = include_str!("../../../events/notify-slack/on-failure.json");
    /// A webhook path shaped like Slack's, whose last part is the secret.
    const SECRET_PATH: &str = "/services/T0LAKE/B0HOUSE/s3cretW3bhookT0ken";

    fn event(sample: &str) -> LambdaEvent<Value> {
        LambdaEvent::new(serde_json::from_str(sample).expect("a JSON sample"), Context::default())
    }

    fn notifier(webhook: &Webhook) -> Notifier {
        Notifier::new(
            Sink::Slack(Slack::new(webhook.url.clone()).unwrap()),
            Duration::from_secs(60),
        )
    }

    /// The text of the field labelled `label` in a message's first section.
    fn field(message: &Value, label: &str) -> String {
        message["blocks"][1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["text"].as_str())
            .find_map(|t| t.strip_prefix(&format!("*{label}*\n")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no field {label} in {message}"))
    }

    fn header(message: &Value) -> &str {
        message["blocks"][0]["text"]["text"].as_str().unwrap()
    }

    #[tokio::test]
    async fn an_alarm_through_sns_names_the_alarm_the_function_and_links_to_it() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![]).await?;
        function_handler(event(ALARM), &notifier(&webhook)).await?;
        let received = webhook.received();
        assert_eq!(received.len(), 1);
        let message = &received[0].body;
        assert_eq!(header(message), "Alarm lakehouse-dev-write-silver-errors");
        assert_eq!(field(message, "Where"), "function `lakehouse-dev-write-silver`");
        assert_eq!(field(message, "Since"), "2026-11-26 10:06:10 UTC");
        assert!(
            message["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Threshold Crossed")
        );
        let link = message["blocks"][3]["elements"][0]["text"].as_str().unwrap();
        assert!(
            link.contains("#alarmsV2:alarm/lakehouse%2Ddev%2Dwrite%2Dsilver%2Derrors"),
            "{link}"
        );
        assert!(
            message["text"]
                .as_str()
                .unwrap()
                .contains("lakehouse-dev-write-silver-errors")
        );
        Ok(())
    }

    #[tokio::test]
    async fn log_lines_give_a_quarantine_message_and_an_error_message_and_skip_info() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![]).await?;
        let outcome = function_handler(event(LOGS), &notifier(&webhook)).await?;
        assert_eq!(outcome["sent"], 2, "{outcome}");
        let received = webhook.received();
        let quarantine = &received[0].body;
        assert_eq!(header(quarantine), "Rows quarantined in orders");
        assert_eq!(field(quarantine, "Where"), "function `write-silver`, table `orders`");
        assert_eq!(field(quarantine, "Count"), "3 rows");
        assert!(
            quarantine["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("status_known")
        );
        let error = &received[1].body;
        assert_eq!(header(error), "Error in lakehouse-dev-write-silver: invocation failed");
        assert!(
            error["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("commit failed")
        );
        let link = error["blocks"][3]["elements"][0]["text"].as_str().unwrap();
        assert!(
            link.contains("log-group/$252Faws$252Flambda$252Flakehouse-dev-write-silver"),
            "{link}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_failed_invocation_names_the_function_its_error_and_attempts() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![]).await?;
        function_handler(event(FAILURE), &notifier(&webhook)).await?;
        let message = &webhook.received()[0].body;
        assert_eq!(header(message), "lakehouse-dev-extract-rds failed");
        assert_eq!(field(message, "Where"), "function `lakehouse-dev-extract-rds`");
        let detail = message["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(
            detail.starts_with("Retryable.Source after 3 attempts (RetriesExhausted)"),
            "{detail}"
        );
        assert!(
            message["blocks"][3]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("eu-west-1")
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_server_error_is_retried_and_the_message_delivered_once() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![Answer::status(500)]).await?;
        function_handler(event(ALARM), &notifier(&webhook)).await?;
        let received = webhook.received();
        assert_eq!(received.len(), 2, "one failed try, one delivery");
        assert_eq!(received[0].body, received[1].body);
        Ok(())
    }

    #[tokio::test]
    async fn too_many_requests_waits_as_long_as_retry_after_says() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![Answer::status(429).with_header("Retry-After", "1")]).await?;
        function_handler(event(ALARM), &notifier(&webhook)).await?;
        let received = webhook.received();
        assert_eq!(received.len(), 2);
        let waited = received[1].at - received[0].at;
        assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
        Ok(())
    }

    #[tokio::test]
    async fn a_burst_of_twenty_identical_alarms_is_one_message_with_the_count() -> Result<()> {
        let webhook = Webhook::start(SECRET_PATH, vec![]).await?;
        let notifier = notifier(&webhook);
        let mut burst: Value = serde_json::from_str(ALARM)?;
        let record = burst["Records"][0].clone();
        burst["Records"] = Value::Array(vec![record; 20]);
        function_handler(LambdaEvent::new(burst, Context::default()), &notifier).await?;
        let received = webhook.received();
        assert_eq!(received.len(), 1);
        assert_eq!(field(&received[0].body, "Count"), "20 times");

        // The same alarm arriving again, one invocation each, within the window: no new message.
        for _ in 0..20 {
            function_handler(event(ALARM), &notifier).await?;
        }
        assert_eq!(webhook.received().len(), 1);
        Ok(())
    }

    /// Captures every log line written while it is the default subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_webhook_from_the_secret_never_shows_even_when_slack_fails() -> Result<()> {
        // Slack answers 503 to every try.
        let webhook = Webhook::start(SECRET_PATH, vec![Answer::status(503); 10]).await?;
        let aws = lakehouse_lambda::aws().await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let name = format!("lakehouse-test-slack-{}", std::process::id());
        let arn = secrets
            .create_secret()
            .name(&name)
            .secret_string(serde_json::json!({ "url": webhook.url }).to_string())
            .send()
            .await?
            .arn
            .expect("an ARN");
        let url = secrets::webhook_url(&secrets, &arn).await?;
        assert_eq!(url, webhook.url);

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let notifier = Notifier::new(Sink::Slack(Slack::new(url)?), Duration::from_secs(60));
        let error = function_handler(event(ALARM), &notifier).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Service, "retryable, so the platform retries");
        assert!(error.message.contains("503"), "{}", error.message);

        let logs = String::from_utf8(captured.0.lock().unwrap().clone())?;
        assert!(logs.contains("slack post failed"), "the retries were logged: {logs}");
        for shown in [logs.as_str(), error.message.as_str(), &format!("{error:?}")] {
            assert!(!shown.contains("s3cretW3bhookT0ken"), "the secret leaked: {shown}");
        }
        Ok(())
    }
}
