//! S3 `ObjectCreated` notifications for the landing zone, as Lambda receives them: directly from
//! S3, or as SQS messages whose bodies carry the S3 notification JSON. S3's `s3:TestEvent` is
//! recognised and ignored; object keys are decoded as S3 encodes them (`+` for a space,
//! percent-escapes for the rest).

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

use crate::error::FunctionError;

/// One delivery unit: an SQS message (identified, so it can be reported as failed on its own) or
/// the whole direct S3 event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The SQS message id; `None` for a direct S3 event.
    pub message_id: Option<String>,
    pub content: Content,
}

/// What a delivery carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Objects created, as (bucket, decoded key).
    Objects(Vec<(String, String)>),
    /// S3's test message, sent when a notification is configured.
    TestEvent,
    /// A body that is not an S3 notification; the reason says what was wrong.
    Unreadable(String),
}

/// Whether the event came through SQS (and so expects a batch-item-failures response).
pub fn is_sqs(event: &Value) -> bool {
    first_record_source(event) == Some("aws:sqs")
}

/// Splits an event into deliveries. Fails only when the event as a whole is not an S3 or SQS
/// event; a single unreadable SQS message becomes an [`Content::Unreadable`] delivery.
pub fn deliveries(event: Value) -> Result<Vec<Delivery>, FunctionError> {
    match first_record_source(&event) {
        Some("aws:sqs") => {
            let sqs: SqsEvent = serde_json::from_value(event)
                .map_err(|e| FunctionError::bad_event(format!("not an SQS event: {e}")))?;
            Ok(sqs
                .records
                .into_iter()
                .map(|message| Delivery {
                    content: match message.body.as_deref() {
                        Some(body) => from_body(body),
                        None => Content::Unreadable("the SQS message has no body".into()),
                    },
                    message_id: message.message_id,
                })
                .collect())
        }
        Some("aws:s3") => Ok(vec![Delivery {
            message_id: None,
            content: from_s3(event),
        }]),
        _ if is_test_event(&event) => Ok(vec![Delivery {
            message_id: None,
            content: Content::TestEvent,
        }]),
        other => Err(FunctionError::bad_event(format!(
            "expected an S3 notification or an SQS event, got records from {}",
            other.unwrap_or("nowhere")
        ))),
    }
}

fn first_record_source(event: &Value) -> Option<&str> {
    event.get("Records")?.get(0)?.get("eventSource")?.as_str()
}

fn is_test_event(value: &Value) -> bool {
    value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

/// An SQS message body: an S3 notification, S3's test message, or something unreadable.
fn from_body(body: &str) -> Content {
    match serde_json::from_str::<Value>(body) {
        Ok(value) if is_test_event(&value) => Content::TestEvent,
        Ok(value) => from_s3(value),
        Err(e) => Content::Unreadable(format!("the message body is not JSON: {e}")),
    }
}

fn from_s3(value: Value) -> Content {
    let event: S3Event = match serde_json::from_value(value) {
        Ok(event) => event,
        Err(e) => return Content::Unreadable(format!("not an S3 notification: {e}")),
    };
    let mut objects = Vec::new();
    for record in event.records {
        let (Some(bucket), Some(key)) = (record.s3.bucket.name, record.s3.object.key) else {
            return Content::Unreadable("an S3 record without a bucket or key".into());
        };
        let created = record
            .event_name
            .as_deref()
            .is_none_or(|name| name.starts_with("ObjectCreated"));
        if created {
            objects.push((bucket, decode_key(&key)));
        }
    }
    Content::Objects(objects)
}

/// Decodes an object key as S3 writes it into notifications: form encoding, `+` for a space.
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_event(key: &str) -> Value {
        serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-11-26T10:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "10.0.0.1"},
            "responseElements": {},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "landing",
                   "bucket": {"name": "lake", "arn": "arn:aws:s3:::lake", "ownerIdentity": {"principalId": "X"}},
                   "object": {"key": key, "size": 10, "eTag": "e", "sequencer": "0A"}}
        }]})
    }

    #[test]
    fn keys_decode_as_s3_encodes_them() {
        assert_eq!(
            decode_key("landing/orders/a+b%2Bc%C3%A9.parquet"),
            "landing/orders/a b+cé.parquet"
        );
        assert_eq!(decode_key("plain/key.parquet"), "plain/key.parquet");
    }

    #[test]
    fn direct_and_sqs_wrapped_notifications_give_the_same_objects() {
        let direct = deliveries(s3_event("landing/orders/x+1.parquet")).unwrap();
        assert_eq!(
            direct[0].content,
            Content::Objects(vec![("lake".into(), "landing/orders/x 1.parquet".into())])
        );
        assert!(!is_sqs(&s3_event("k")));

        let sqs = serde_json::json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": s3_event("landing/orders/x+1.parquet").to_string()},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}"},
            {"messageId": "m3", "eventSource": "aws:sqs", "body": "not json"}
        ]});
        assert!(is_sqs(&sqs));
        let got = deliveries(sqs).unwrap();
        assert_eq!(got[0].message_id.as_deref(), Some("m1"));
        assert_eq!(got[0].content, direct[0].content);
        assert_eq!(got[1].content, Content::TestEvent);
        assert!(matches!(&got[2].content, Content::Unreadable(reason) if reason.contains("not JSON")));
    }

    #[test]
    fn an_event_from_elsewhere_is_a_bad_event() {
        let err = deliveries(serde_json::json!({"detail-type": "Scheduled Event"})).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::BadEvent);
        assert!(err.message.contains("expected an S3 notification"), "{}", err.message);
    }
}
