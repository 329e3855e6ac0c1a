//! The local AWS endpoint (moto's server, started by `make test`): a fresh bucket per test, and
//! sample events pointed at it.

use anyhow::{Context, Result};
use serde_json::Value;

/// The endpoint the tests reach AWS through, from `AWS_ENDPOINT_URL`.
pub fn endpoint() -> Result<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .context("the tests need a local AWS endpoint in AWS_ENDPOINT_URL; run `make test`")
}

/// An S3 client for the local endpoint, through the real SDK.
pub async fn s3() -> Result<aws_sdk_s3::Client> {
    endpoint()?;
    let shared = lakehouse_io::aws_config().await;
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(true)
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

/// Creates a bucket no other test uses and returns its name.
pub async fn new_bucket() -> Result<String> {
    let name = format!("lh-test-{}", uuid::Uuid::new_v4().simple());
    s3().await?
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .context("creating a test bucket")?;
    Ok(name)
}

/// Points every S3 record of a sample event (direct, or inside SQS message bodies) at `bucket`,
/// one record per key in `keys` (keys are encoded as S3 encodes them in notifications).
pub fn retarget(event: &Value, bucket: &str, keys: &[String]) -> Value {
    let mut event = event.clone();
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else {
        return event;
    };
    let Some(template) = records.first().cloned() else {
        return event;
    };
    if template["eventSource"] == "aws:sqs" {
        // One SQS message per key, each with its own id and an S3 notification body.
        let body: Value = serde_json::from_str(template["body"].as_str().unwrap_or("{}")).unwrap_or_default();
        *records = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let mut message = template.clone();
                message["messageId"] = Value::from(format!("message-{i}"));
                message["body"] = Value::from(retarget(&body, bucket, std::slice::from_ref(key)).to_string());
                message
            })
            .collect();
    } else {
        *records = keys
            .iter()
            .map(|key| {
                let mut record = template.clone();
                record["s3"]["bucket"]["name"] = Value::from(bucket);
                record["s3"]["bucket"]["arn"] = Value::from(format!("arn:aws:s3:::{bucket}"));
                record["s3"]["object"]["key"] = Value::from(encode_key(key));
                record
            })
            .collect();
    }
    event
}

/// Encodes a key the way S3 notifications do: form encoding, a space as `+`.
pub fn encode_key(key: &str) -> String {
    let mut encoded = String::new();
    for byte in key.bytes() {
        match byte {
            b' ' => encoded.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}
