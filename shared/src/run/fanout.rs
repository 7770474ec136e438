//! Fan-out on SQS: a sweep over many targets becomes one message per (function, account,
//! region); each SQS-triggered invocation handles its messages and reports the ones that
//! failed (`ReportBatchItemFailures`), so only those are retried and, after the queue's
//! `maxReceiveCount`, land in its dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::targets::Target;
use crate::aws::{AwsError, AwsResultExt};
use crate::run::budget::Cursor;

/// SQS takes at most ten messages per SendMessageBatch.
const BATCH: usize = 10;

/// One target's share of a sweep: the original trigger, to be handled in `target`; for a
/// continuation of a run cut short by its deadline, where it resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetMessage {
    pub function: String,
    pub target: Target,
    pub event: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Cursor>,
}

/// Sends one message per target; the result says, per target, whether it was enqueued.
pub async fn enqueue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    function: &str,
    targets: &[Target],
    event: &Value,
) -> Vec<(Target, Result<(), AwsError>)> {
    let mut results = Vec::with_capacity(targets.len());
    for chunk in targets.chunks(BATCH) {
        let entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, target)| {
                let body = serde_json::to_string(&TargetMessage {
                    function: function.to_owned(),
                    target: target.clone(),
                    event: event.clone(),
                    resume: None,
                })
                .ok()?;
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .ok()
            })
            .collect();
        let answer = sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .aws("SendMessageBatch");
        match answer {
            Err(err) => results.extend(chunk.iter().map(|t| (t.clone(), Err(err.clone())))),
            Ok(answer) => {
                for (i, target) in chunk.iter().enumerate() {
                    let failure = answer.failed.iter().find(|f| f.id == i.to_string());
                    let result = match failure {
                        None => Ok(()),
                        Some(f) => Err(AwsError {
                            operation: "SendMessageBatch",
                            code: f.code.clone(),
                            message: f.message.clone().unwrap_or_default(),
                            retryable: !f.sender_fault,
                        }),
                    };
                    results.push((target.clone(), result));
                }
            }
        }
    }
    results
}

/// Sends one message (a continuation).
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    message: &TargetMessage,
) -> Result<(), AwsError> {
    let body = serde_json::to_string(message).map_err(|e| AwsError {
        operation: "SendMessage",
        code: "SerializationError".to_owned(),
        message: e.to_string(),
        retryable: false,
    })?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .aws("SendMessage")
        .map(|_| ())
}

/// One SQS record: its id (what a batch failure names) and the message it carries, or why
/// the body is not one.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub message_id: String,
    pub message: Result<TargetMessage, String>,
}

/// The records of an SQS event, or `None` when the event is not one.
pub fn deliveries(event: &Value) -> Option<Vec<Delivery>> {
    let records = event.get("Records")?.as_array()?;
    let from_sqs = !records.is_empty()
        && records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"));
    if !from_sqs {
        return None;
    }
    let parsed: SqsEvent = match serde_json::from_value(event.clone()) {
        Ok(parsed) => parsed,
        Err(err) => {
            // Still answer per record, so the batch response can name every message.
            return Some(
                records
                    .iter()
                    .map(|r| Delivery {
                        message_id: r
                            .get("messageId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        message: Err(format!("malformed SQS record: {err}")),
                    })
                    .collect(),
            );
        }
    };
    Some(
        parsed
            .records
            .into_iter()
            .map(|record| Delivery {
                message_id: record.message_id.unwrap_or_default(),
                message: record
                    .body
                    .ok_or_else(|| "the SQS message has no body".to_owned())
                    .and_then(|body| {
                        serde_json::from_str::<TargetMessage>(&body).map_err(|e| {
                            format!("the SQS message is not a sagekeeper target message: {e}")
                        })
                    }),
            })
            .collect(),
    )
}

/// The Lambda response the SQS event source mapping reads with `ReportBatchItemFailures`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(id: &str, body: &str) -> Value {
        json!({
            "messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:sagekeeper-fanout",
            "awsRegion": "us-east-1"
        })
    }

    #[test]
    fn reads_target_messages_and_names_the_bad_ones() {
        let good = serde_json::to_string(&TargetMessage {
            function: "endpoint-scheduler".into(),
            target: Target::new("222222222222", "eu-west-1"),
            event: json!({"detail-type": "Scheduled Event"}),
            resume: None,
        })
        .unwrap();
        assert!(
            !good.contains("resume"),
            "a first message carries no cursor"
        );
        let continuation = serde_json::to_string(&TargetMessage {
            function: "lifecycle-tagger".into(),
            target: Target::new("222222222222", "eu-west-1"),
            event: json!({"detail-type": "Scheduled Event"}),
            resume: Some(Cursor {
                pass: 1,
                after: Some("arn:b".into()),
            }),
        })
        .unwrap();
        let resumed = deliveries(&json!({"Records": [record("m-3", &continuation)]})).unwrap();
        let resume = resumed[0].message.as_ref().unwrap().resume.as_ref();
        assert_eq!(
            resume.map(|c| (c.pass, c.after.as_deref())),
            Some((1, Some("arn:b")))
        );
        let event = json!({"Records": [record("m-1", &good), record("m-2", "{\"not\": 1}")]});
        let deliveries = deliveries(&event).unwrap();
        assert_eq!(deliveries.len(), 2);
        let first = deliveries[0].message.as_ref().unwrap();
        assert_eq!(first.target, Target::new("222222222222", "eu-west-1"));
        assert_eq!(deliveries[1].message_id, "m-2");
        assert!(
            deliveries[1]
                .message
                .as_ref()
                .unwrap_err()
                .contains("not a sagekeeper target message")
        );
    }

    #[test]
    fn other_events_are_not_sqs() {
        assert_eq!(deliveries(&json!({"detail-type": "Scheduled Event"})), None);
        assert_eq!(
            deliveries(&json!({"Records": [{"EventSource": "aws:sns"}]})),
            None
        );
        assert_eq!(deliveries(&json!({"Records": []})), None);
    }

    #[test]
    fn batch_failures_use_the_lambda_field_names() {
        let failure = BatchItemFailure {
            item_identifier: "m-2".into(),
        };
        assert_eq!(
            serde_json::to_value(failure).unwrap(),
            json!({"itemIdentifier": "m-2"})
        );
    }
}
