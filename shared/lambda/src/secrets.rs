//! Secrets from AWS Secrets Manager (the database password, the Slack webhook), read once at cold
//! start and never logged.

use aws_sdk_secretsmanager::Client;

use crate::error::FunctionError;

/// The password held by the secret `arn`: the `password` field of a JSON secret (the shape RDS
/// uses for the secrets it manages), or the whole value of a plain-text secret.
pub async fn database_password(client: &Client, arn: &str) -> Result<String, FunctionError> {
    Ok(field_in(&secret_text(client, arn, "database").await?, "password"))
}

/// The Slack webhook URL held by the secret `arn`: its `url` field, or its whole text.
pub async fn webhook_url(client: &Client, arn: &str) -> Result<String, FunctionError> {
    Ok(field_in(&secret_text(client, arn, "Slack webhook").await?, "url"))
}

async fn secret_text(client: &Client, arn: &str, what: &str) -> Result<String, FunctionError> {
    let output = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
        FunctionError::config(format!(
            "cannot read the {what} secret {arn}: {}",
            e.into_service_error()
        ))
    })?;
    output
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| FunctionError::config(format!("the {what} secret {arn} has no text value")))
}

/// The `field` of a JSON secret, or the whole text of a plain one.
fn field_in(secret: &str, field: &str) -> String {
    serde_json::from_str::<serde_json::Value>(secret)
        .ok()
        .and_then(|json| json.get(field)?.as_str().map(str::to_owned))
        .unwrap_or_else(|| secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::field_in;

    #[test]
    fn json_and_plain_secrets_both_work() {
        assert_eq!(
            field_in(r#"{"username":"shop","password":"p@ss:w/rd"}"#, "password"),
            "p@ss:w/rd"
        );
        assert_eq!(field_in("plain-secret", "password"), "plain-secret");
        assert_eq!(
            field_in(r#"{"url":"https://hooks.example/x"}"#, "url"),
            "https://hooks.example/x"
        );
    }
}
