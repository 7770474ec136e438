//! CloudWatch alarm state changes in their three delivery shapes, normalised into one type.

use std::collections::BTreeMap;
use std::fmt;

use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue,
};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{EventError, TriggerKind, typed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

impl AlarmState {
    fn parse(raw: &str) -> Result<Self, EventError> {
        match raw {
            "OK" => Ok(AlarmState::Ok),
            "ALARM" => Ok(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Ok(AlarmState::InsufficientData),
            other => Err(invalid(format!("unknown alarm state {other:?}"))),
        }
    }
}

impl From<&CloudWatchAlarmStateValue> for AlarmState {
    fn from(value: &CloudWatchAlarmStateValue) -> Self {
        match value {
            CloudWatchAlarmStateValue::Alarm => AlarmState::Alarm,
            CloudWatchAlarmStateValue::InsufficientData => AlarmState::InsufficientData,
            _ => AlarmState::Ok,
        }
    }
}

/// How the alarm reached us; kept for the report, never for decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmDelivery {
    EventBridge,
    LambdaAction,
    Sns,
}

/// A metric the alarm watches, e.g. a Model Monitor drift metric with its `Endpoint` and
/// `MonitoringSchedule` dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmMetric {
    pub namespace: Option<String>,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    /// When the alarm changed state: with the alarm name, this identifies the transition.
    pub changed_at: DateTime<Utc>,
    pub reason: String,
    pub metrics: Vec<AlarmMetric>,
    pub delivery: AlarmDelivery,
}

impl AlarmChange {
    /// The first value of a dimension across the alarm's metrics (e.g. `Endpoint`).
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.metrics
            .iter()
            .find_map(|m| m.dimensions.get(name))
            .map(String::as_str)
    }
}

fn invalid(reason: String) -> EventError {
    EventError::Invalid {
        kind: TriggerKind::Alarm,
        reason,
    }
}

pub(super) fn from_eventbridge(event: &Value) -> Result<AlarmChange, EventError> {
    let parsed: EventBridgeEvent<CloudWatchAlarmData<Value, Value>> =
        typed(event, TriggerKind::Alarm)?;
    let alarm_arn = parsed.resources.and_then(|r| r.into_iter().next());
    from_alarm_data(parsed.detail, alarm_arn, AlarmDelivery::EventBridge)
}

pub(super) fn from_lambda_action(event: &Value) -> Result<AlarmChange, EventError> {
    let parsed: CloudWatchAlarm<Value, Value> = typed(event, TriggerKind::Alarm)?;
    from_alarm_data(
        parsed.alarm_data,
        parsed.alarm_arn,
        AlarmDelivery::LambdaAction,
    )
}

fn from_alarm_data(
    data: CloudWatchAlarmData<Value, Value>,
    alarm_arn: Option<String>,
    delivery: AlarmDelivery,
) -> Result<AlarmChange, EventError> {
    let state = data
        .state
        .ok_or_else(|| invalid("missing field `state`".to_owned()))?;
    Ok(AlarmChange {
        alarm_name: data.alarm_name,
        alarm_arn,
        state: AlarmState::from(&state.value),
        previous_state: data.previous_state.map(|s| AlarmState::from(&s.value)),
        changed_at: state.timestamp,
        reason: state.reason,
        metrics: metrics_from_configuration(&data.configuration),
        delivery,
    })
}

/// Reads `configuration.metrics[].metricStat.metric`; math expressions carry no dimensions.
fn metrics_from_configuration(configuration: &Value) -> Vec<AlarmMetric> {
    let metrics = configuration["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    metrics
        .iter()
        .filter_map(|m| {
            let metric = m.pointer("/metricStat/metric")?;
            Some(AlarmMetric {
                namespace: metric["namespace"].as_str().map(str::to_owned),
                name: metric["name"].as_str()?.to_owned(),
                dimensions: metric["dimensions"]
                    .as_object()
                    .map(|d| {
                        d.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The classic alarm notification CloudWatch publishes to SNS, read leniently: only what we
/// use, every optional field nullable or missing. CloudWatch sends `"AlarmDescription": null`
/// for an alarm without a description, `"Unit": null`, no `Trigger` for a composite alarm, and
/// `Trigger.Metrics` (math expressions and metric stats) instead of `MetricName`/`Namespace`/
/// `Dimensions` for a metric-math alarm.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsAlarm {
    alarm_name: String,
    #[serde(default)]
    alarm_arn: Option<String>,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: Option<String>,
    #[serde(default)]
    old_state_value: Option<String>,
    state_change_time: String,
    #[serde(default)]
    trigger: Option<SnsTrigger>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsTrigger {
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<SnsDimension>>,
    #[serde(default)]
    metrics: Option<Vec<SnsMetricQuery>>,
}

/// Lower-case keys in the notification (`{"value": ..., "name": ...}`).
#[derive(Debug, Deserialize)]
struct SnsDimension {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value")]
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetricQuery {
    /// Absent for a math expression.
    #[serde(default)]
    metric_stat: Option<SnsMetricStat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetricStat {
    metric: SnsMetric,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMetric {
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<SnsDimension>>,
}

fn dimension_map(dimensions: Option<Vec<SnsDimension>>) -> BTreeMap<String, String> {
    dimensions
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.name, d.value))
        .collect()
}

pub(super) fn from_sns(event: &Value) -> Result<AlarmChange, EventError> {
    let parsed: SnsEvent = typed(event, TriggerKind::Alarm)?;
    let [record] = parsed.records.as_slice() else {
        return Err(invalid(format!(
            "expected exactly one SNS record, got {}",
            parsed.records.len()
        )));
    };
    let payload: SnsAlarm = serde_json::from_str(&record.sns.message).map_err(|e| {
        invalid(format!(
            "the SNS message is not a CloudWatch alarm notification: {e}"
        ))
    })?;
    let changed_at = DateTime::parse_from_str(&payload.state_change_time, "%Y-%m-%dT%H:%M:%S%.f%z")
        .map_err(|e| {
            invalid(format!(
                "StateChangeTime {:?}: {e}",
                payload.state_change_time
            ))
        })?
        .with_timezone(&Utc);
    let trigger = payload.trigger.unwrap_or_default();
    let mut metrics = Vec::new();
    if let Some(name) = trigger.metric_name {
        metrics.push(AlarmMetric {
            namespace: trigger.namespace,
            name,
            dimensions: dimension_map(trigger.dimensions),
        });
    }
    metrics.extend(
        trigger
            .metrics
            .unwrap_or_default()
            .into_iter()
            .filter_map(|query| {
                let metric = query.metric_stat?.metric;
                Some(AlarmMetric {
                    namespace: metric.namespace,
                    name: metric.metric_name?,
                    dimensions: dimension_map(metric.dimensions),
                })
            }),
    );
    Ok(AlarmChange {
        state: AlarmState::parse(&payload.new_state_value)?,
        previous_state: payload
            .old_state_value
            .as_deref()
            .and_then(|s| AlarmState::parse(s).ok()),
        alarm_arn: payload.alarm_arn,
        alarm_name: payload.alarm_name,
        changed_at,
        reason: payload.new_state_reason.unwrap_or_default(),
        metrics,
        delivery: AlarmDelivery::Sns,
    })
}

/// Notifications as CloudWatch really sends them (tests/fixtures/alarm-*.json): the samples in
/// events/ are checked in tests/events.rs.
#[cfg(test)]
mod tests {
    use super::super::Trigger;
    use super::*;

    fn parse(text: &str) -> AlarmChange {
        let event: Value = serde_json::from_str(text).unwrap();
        match Trigger::parse(&event) {
            Ok(Trigger::Alarm(alarm)) => *alarm,
            other => panic!("{other:?}"),
        }
    }

    fn sns_message(message: Value) -> Value {
        let mut event: Value =
            serde_json::from_str(include_str!("../../../events/alarm-sns.json")).unwrap();
        event["Records"][0]["Sns"]["Message"] = Value::String(message.to_string());
        event
    }

    #[test]
    fn an_sns_alarm_without_a_description_and_with_a_null_unit_is_read() {
        let alarm = parse(include_str!(
            "../../../tests/fixtures/alarm-sns-no-description.json"
        ));
        assert_eq!(alarm.alarm_name, "sagekeeper-drift-fraud-detector-dev");
        assert_eq!(alarm.state, AlarmState::Alarm);
        assert_eq!(alarm.previous_state, Some(AlarmState::Ok));
        assert_eq!(alarm.delivery, AlarmDelivery::Sns);
        assert_eq!(alarm.dimension("Endpoint"), Some("fraud-detector-dev"));
        assert_eq!(
            alarm.metrics[0].namespace.as_deref(),
            Some("aws/sagemaker/Endpoints/data-metrics")
        );
        // The same transition as the sample with a description.
        let described = parse(include_str!("../../../events/alarm-sns.json"));
        assert_eq!(alarm.changed_at, described.changed_at);
        assert_eq!(alarm.metrics, described.metrics);
    }

    #[test]
    fn metric_math_alarms_yield_the_metrics_they_read_in_both_shapes() {
        for text in [
            include_str!("../../../tests/fixtures/alarm-sns-metric-math.json"),
            include_str!("../../../tests/fixtures/alarm-eventbridge-metric-math.json"),
        ] {
            let alarm = parse(text);
            assert_eq!(
                alarm.alarm_name,
                "sagekeeper-drift-fraud-detector-dev-model-quality"
            );
            let names: Vec<&str> = alarm.metrics.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(names, ["accuracy_threshold", "accuracy"], "{alarm:?}");
            assert!(
                alarm.metrics.iter().all(
                    |m| m.namespace.as_deref() == Some("aws/sagemaker/Endpoints/model-metrics")
                )
            );
            assert_eq!(alarm.dimension("Endpoint"), Some("fraud-detector-dev"));
            assert_eq!(
                alarm.dimension("MonitoringSchedule"),
                Some("fraud-detector-dev-model-quality")
            );
        }
    }

    #[test]
    fn optional_notification_fields_may_be_null_or_missing() {
        // A composite alarm's notification has no Trigger; nulls wherever CloudWatch omits a value.
        let alarm = parse(
            &sns_message(serde_json::json!({
                "AlarmName": "sagekeeper-drift-composite",
                "AlarmDescription": null,
                "NewStateValue": "ALARM",
                "NewStateReason": null,
                "OldStateValue": null,
                "StateChangeTime": "2026-11-20T18:04:12.345+0000",
                "AlarmArn": null,
                "Trigger": null
            }))
            .to_string(),
        );
        assert_eq!(alarm.state, AlarmState::Alarm);
        assert_eq!(alarm.previous_state, None);
        assert_eq!(alarm.alarm_arn, None);
        assert!(alarm.metrics.is_empty());
        let alarm = parse(
            &sns_message(serde_json::json!({
                "AlarmName": "x",
                "NewStateValue": "OK",
                "StateChangeTime": "2026-11-20T18:04:12.345+0000",
                "Trigger": {"MetricName": "m", "Namespace": null, "Dimensions": null,
                            "Metrics": null, "Unit": null}
            }))
            .to_string(),
        );
        assert_eq!(alarm.metrics.len(), 1);
        assert!(alarm.metrics[0].dimensions.is_empty());
    }

    #[test]
    fn required_notification_fields_are_still_required() {
        for (message, expected) in [
            (
                serde_json::json!({"NewStateValue": "ALARM", "StateChangeTime": "2026-11-20T18:04:12.345+0000"}),
                "AlarmName",
            ),
            (
                serde_json::json!({"AlarmName": "x", "NewStateValue": "ALARM"}),
                "StateChangeTime",
            ),
        ] {
            let err = Trigger::parse(&sns_message(message)).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
    }
}
