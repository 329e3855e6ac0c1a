//! The database password from AWS Secrets Manager, read once at cold start and never logged.

use aws_sdk_secretsmanager::Client;

use crate::error::FunctionError;

/// The password held by the secret `arn`: the `password` field of a JSON secret (the shape RDS
/// uses for the secrets it manages), or the whole value of a plain-text secret.
pub async fn database_password(client: &Client, arn: &str) -> Result<String, FunctionError> {
    let output = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
        FunctionError::config(format!(
            "cannot read the database secret {arn}: {}",
            e.into_service_error()
        ))
    })?;
    let value = output
        .secret_string()
        .ok_or_else(|| FunctionError::config(format!("the database secret {arn} has no text value")))?;
    Ok(password_in(value))
}

/// The password in a secret's text.
fn password_in(secret: &str) -> String {
    serde_json::from_str::<serde_json::Value>(secret)
        .ok()
        .and_then(|json| json.get("password")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::password_in;

    #[test]
    fn json_and_plain_secrets_both_work() {
        assert_eq!(
            password_in(r#"{"username":"shop","password":"p@ss:w/rd"}"#),
            "p@ss:w/rd"
        );
        assert_eq!(password_in("plain-secret"), "plain-secret");
    }
}
