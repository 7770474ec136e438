//! Every trigger a sagekeeper function can receive, recognised from the payload's shape and
//! parsed into one typed [`Trigger`]. Malformed or unexpected payloads are typed errors, so a
//! handler can report them without making any AWS call.

mod accepted;
mod alarm;
mod cloudtrail;

use std::fmt;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::run::report::ReportableError;

pub use accepted::{Accepted, SweepOrCall, accept};
pub use alarm::{AlarmChange, AlarmDelivery, AlarmMetric, AlarmState};
pub use cloudtrail::{ApiCall, ResourceRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    Schedule,
    ApiCall,
    Alarm,
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TriggerKind::Schedule => "scheduled event",
            TriggerKind::ApiCall => "CloudTrail API call",
            TriggerKind::Alarm => "CloudWatch alarm state change",
        })
    }
}

/// A scheduled EventBridge event; its `time` is the clock a run decides by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub time: DateTime<Utc>,
    pub rule: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Schedule(Schedule),
    ApiCall(Box<ApiCall>),
    Alarm(Box<AlarmChange>),
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("unrecognised event: {0}")]
    Unrecognised(String),
    #[error("malformed {kind}: {source}")]
    Malformed {
        kind: TriggerKind,
        #[source]
        source: serde_json::Error,
    },
    #[error("malformed {kind}: {reason}")]
    Invalid { kind: TriggerKind, reason: String },
    #[error("{function} does not handle a {kind}; it handles: {accepted}")]
    NotAccepted {
        function: String,
        kind: TriggerKind,
        accepted: String,
    },
}

impl ReportableError for EventError {
    fn kind(&self) -> &'static str {
        "invalid-event"
    }
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::Schedule(_) => TriggerKind::Schedule,
            Trigger::ApiCall(_) => TriggerKind::ApiCall,
            Trigger::Alarm(_) => TriggerKind::Alarm,
        }
    }

    /// A short label for reports and logs, e.g. `schedule` or `api-call CreateBucket`.
    pub fn label(&self) -> String {
        match self {
            Trigger::Schedule(_) => "schedule".to_owned(),
            Trigger::ApiCall(call) => format!("api-call {}", call.event_name),
            Trigger::Alarm(alarm) => format!("alarm {} {}", alarm.alarm_name, alarm.state),
        }
    }

    /// Recognises the payload's shape and parses it.
    pub fn parse(event: &Value) -> Result<Trigger, EventError> {
        let object = event.as_object().ok_or(EventError::NotAnObject)?;
        if object.contains_key("Records") {
            return alarm::from_sns(event).map(|a| Trigger::Alarm(Box::new(a)));
        }
        if object.contains_key("alarmData") {
            return alarm::from_lambda_action(event).map(|a| Trigger::Alarm(Box::new(a)));
        }
        match object.get("detail-type").and_then(Value::as_str) {
            Some("Scheduled Event") => {
                let parsed: EventBridgeEvent<Value> = typed(event, TriggerKind::Schedule)?;
                let time = parsed.time.ok_or_else(|| EventError::Invalid {
                    kind: TriggerKind::Schedule,
                    reason: "missing field `time`".to_owned(),
                })?;
                let rule = parsed.resources.and_then(|r| r.into_iter().next());
                Ok(Trigger::Schedule(Schedule { time, rule }))
            }
            Some("AWS API Call via CloudTrail") => {
                cloudtrail::from_eventbridge(event).map(|c| Trigger::ApiCall(Box::new(c)))
            }
            Some("CloudWatch Alarm State Change") => {
                alarm::from_eventbridge(event).map(|a| Trigger::Alarm(Box::new(a)))
            }
            Some(other) => Err(EventError::Unrecognised(format!(
                "EventBridge detail-type {other:?} is not one sagekeeper handles"
            ))),
            None => Err(EventError::Unrecognised(
                "expected an EventBridge event, a CloudWatch alarm action or an SNS notification"
                    .to_owned(),
            )),
        }
    }

    /// Parses and checks the trigger is one `function` handles.
    pub fn parse_for(
        function: &str,
        event: &Value,
        accepted: &[TriggerKind],
    ) -> Result<Trigger, EventError> {
        let trigger = Trigger::parse(event)?;
        if accepted.contains(&trigger.kind()) {
            Ok(trigger)
        } else {
            Err(EventError::not_accepted(function, trigger.kind(), accepted))
        }
    }
}

impl EventError {
    pub fn not_accepted(function: &str, kind: TriggerKind, accepted: &[TriggerKind]) -> Self {
        EventError::NotAccepted {
            function: function.to_owned(),
            kind,
            accepted: accepted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn typed<T: DeserializeOwned>(event: &Value, kind: TriggerKind) -> Result<T, EventError> {
    T::deserialize(event).map_err(|source| EventError::Malformed { kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schedule_uses_the_event_time() {
        let event = json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-20T18:05:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/every-15-min"], "detail": {}
        });
        let Trigger::Schedule(s) = Trigger::parse(&event).unwrap() else {
            panic!()
        };
        assert_eq!(s.time.to_rfc3339(), "2026-11-20T18:05:00+00:00");
        assert_eq!(
            s.rule.as_deref(),
            Some("arn:aws:events:us-east-1:123456789012:rule/every-15-min")
        );
    }

    #[test]
    fn schedule_without_time_is_rejected() {
        let event = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        let err = Trigger::parse(&event).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed scheduled event: missing field `time`"
        );
    }

    #[test]
    fn unknown_shapes_are_named() {
        assert!(matches!(
            Trigger::parse(&json!([1])),
            Err(EventError::NotAnObject)
        ));
        let err = Trigger::parse(&json!({"detail-type": "EC2 Instance State-change Notification"}))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("EC2 Instance State-change Notification")
        );
        assert!(matches!(
            Trigger::parse(&json!({"hello": 1})),
            Err(EventError::Unrecognised(_))
        ));
    }

    #[test]
    fn functions_refuse_triggers_they_do_not_handle() {
        let event = json!({"detail-type": "Scheduled Event", "source": "aws.events",
            "time": "2026-11-20T18:05:00Z", "detail": {}});
        let err = Trigger::parse_for("drift-retrainer", &event, &[TriggerKind::Alarm]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "drift-retrainer does not handle a scheduled event; it handles: CloudWatch alarm state change"
        );
    }
}
