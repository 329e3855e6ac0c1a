//! The events `notify-slack` accepts, read into incidents:
//! - SNS deliveries whose message is a CloudWatch alarm state change, a Lambda destination record,
//!   or plain text;
//! - CloudWatch Logs subscription payloads (base64 + gzip), for error lines and notices;
//! - Lambda on-failure destination records delivered directly;
//! - an incident itself, as the pipeline's notices carry it.

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use aws_lambda_events::event::sns::SnsEvent;
use chrono::{DateTime, Utc};
use lakehouse_io::alert::{Incident, IncidentKind};
use lakehouse_lambda::FunctionError;
use lakehouse_lambda::notices::NOTICE_MESSAGE;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// The incidents an event reports; an alarm returning to OK reports none.
pub fn incidents(payload: Value, region: &str) -> Result<Vec<Incident>, FunctionError> {
    if payload.get("Records").is_some() {
        let sns: SnsEvent =
            serde_json::from_value(payload).map_err(|e| FunctionError::bad_event(format!("not an SNS event: {e}")))?;
        return Ok(sns
            .records
            .into_iter()
            .filter_map(|r| from_sns(&r.sns.message, r.sns.subject.as_deref(), r.sns.timestamp, region))
            .collect());
    }
    if payload.get("awslogs").is_some() {
        // The payload's decoder borrows from its input, so it reads from text, not from a Value.
        let text = payload.to_string();
        let logs: LogsEvent = serde_json::from_str(&text)
            .map_err(|e| FunctionError::bad_event(format!("not a CloudWatch Logs payload: {e}")))?;
        let data = logs.aws_logs.data;
        let function = data.log_group.strip_prefix("/aws/lambda/").map(str::to_owned);
        let link = log_group_link(region, &data.log_group);
        return Ok(data
            .log_events
            .iter()
            .filter_map(|entry| from_log_line(&entry.message, entry.timestamp, function.as_deref()))
            .map(|incident| Incident {
                link: incident.link.clone().or(Some(link.clone())),
                ..incident
            })
            .collect());
    }
    if payload.get("requestContext").is_some() {
        return Ok(from_destination(&payload, region).into_iter().collect());
    }
    if payload.get("kind").is_some() && payload.get("title").is_some() {
        let incident: Incident =
            serde_json::from_value(payload).map_err(|e| FunctionError::bad_event(format!("not an incident: {e}")))?;
        return Ok(vec![incident]);
    }
    Err(FunctionError::bad_event(
        "not an event notify-slack knows: expected SNS records, a CloudWatch Logs payload, a Lambda destination record or an incident",
    ))
}

/// An SNS message: an alarm's state change, a destination record, or text.
fn from_sns(message: &str, subject: Option<&str>, at: DateTime<Utc>, region: &str) -> Option<Incident> {
    match serde_json::from_str::<Value>(message) {
        Ok(json) if json.get("AlarmName").is_some() => from_alarm(&json, region),
        Ok(json) if json.get("requestContext").is_some() => from_destination(&json, region),
        _ => Some(Incident {
            since: at,
            ..Incident::new(IncidentKind::Alarm, subject.unwrap_or("Notification"), message)
        }),
    }
}

/// A CloudWatch alarm state change; only a change into ALARM is an incident.
fn from_alarm(alarm: &Value, region: &str) -> Option<Incident> {
    let text = |key: &str| alarm.get(key).and_then(Value::as_str).unwrap_or_default();
    if text("NewStateValue") != "ALARM" {
        tracing::info!(
            alarm = text("AlarmName"),
            state = text("NewStateValue"),
            "alarm state change ignored"
        );
        return None;
    }
    let name = text("AlarmName");
    let dimension = |wanted: &str| {
        alarm["Trigger"]["Dimensions"]
            .as_array()?
            .iter()
            .find(|d| d["name"] == wanted || d["Name"] == wanted)
            .and_then(|d| d.get("value").or(d.get("Value")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let function = dimension("FunctionName").or_else(|| dimension("Function"));
    Some(Incident {
        function,
        table: dimension("Table"),
        since: parse_time(text("StateChangeTime")).unwrap_or_else(Utc::now),
        link: Some(format!(
            "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
            utf8_percent_encode(name, NON_ALPHANUMERIC)
        )),
        ..Incident::new(IncidentKind::Alarm, format!("Alarm {name}"), text("NewStateReason"))
    })
}

/// A Lambda destination record of an invocation that failed after its retries.
fn from_destination(record: &Value, region: &str) -> Option<Incident> {
    let context = &record["requestContext"];
    if context["condition"] == "Success" {
        return None;
    }
    let arn = context["functionArn"].as_str().unwrap_or_default();
    // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    let name = arn.split(':').nth(6).unwrap_or(arn).to_owned();
    let region = arn.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or(region);
    let response = &record["responsePayload"];
    let detail = format!(
        "{} after {} attempts ({}): {}",
        response["errorType"].as_str().unwrap_or("Error"),
        context["approximateInvokeCount"].as_u64().unwrap_or(1),
        context["condition"].as_str().unwrap_or("failed"),
        response["errorMessage"].as_str().unwrap_or("no message")
    );
    Some(Incident {
        function: Some(name.clone()),
        since: record["timestamp"]
            .as_str()
            .and_then(parse_time)
            .unwrap_or_else(Utc::now),
        link: Some(log_group_link(region, &format!("/aws/lambda/{name}"))),
        ..Incident::new(IncidentKind::FailedInvocation, format!("{name} failed"), detail)
    })
}

/// A log line: a notice carries its incident; another error-level line is an error incident.
fn from_log_line(message: &str, timestamp_ms: i64, function: Option<&str>) -> Option<Incident> {
    let line: Value = serde_json::from_str(message).ok()?;
    let level = line["level"].as_str().unwrap_or_default();
    let fields = &line["fields"];
    if fields["message"] == NOTICE_MESSAGE
        && let Some(incident) = fields["incident"].as_str().and_then(|i| serde_json::from_str(i).ok())
    {
        return Some(incident);
    }
    if !level.eq_ignore_ascii_case("error") {
        return None;
    }
    let what = fields["message"].as_str().unwrap_or("error");
    let detail = fields["error"].as_str().unwrap_or(what);
    let name = function.unwrap_or("a function");
    Some(Incident {
        function: function.map(str::to_owned),
        table: fields["table"].as_str().map(str::to_owned),
        since: DateTime::from_timestamp_millis(timestamp_ms).unwrap_or_else(Utc::now),
        ..Incident::new(IncidentKind::ErrorLog, format!("Error in {name}: {what}"), detail)
    })
}

fn log_group_link(region: &str, group: &str) -> String {
    // The console's fragment encodes the group's `/` as `$252F`.
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}",
        group.replace('/', "$252F")
    )
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
