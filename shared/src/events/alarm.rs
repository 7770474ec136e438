//! CloudWatch alarm state changes in their three delivery shapes, normalised into one type.

use std::collections::BTreeMap;
use std::fmt;

use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue,
};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{CloudWatchAlarmPayload, SnsEvent};
use chrono::{DateTime, Utc};
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

pub(super) fn from_sns(event: &Value) -> Result<AlarmChange, EventError> {
    let parsed: SnsEvent = typed(event, TriggerKind::Alarm)?;
    let [record] = parsed.records.as_slice() else {
        return Err(invalid(format!(
            "expected exactly one SNS record, got {}",
            parsed.records.len()
        )));
    };
    let payload: CloudWatchAlarmPayload =
        serde_json::from_str(&record.sns.message).map_err(|e| {
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
    let trigger = &payload.trigger;
    let mut metrics = Vec::new();
    if let Some(name) = &trigger.metric_name {
        metrics.push(AlarmMetric {
            namespace: trigger.namespace.clone(),
            name: name.clone(),
            dimensions: trigger
                .dimensions
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect(),
        });
    }
    metrics.extend(trigger.metrics.iter().filter_map(|query| {
        let stat = query.metric_stat.as_ref()?;
        Some(AlarmMetric {
            namespace: stat.metric.namespace.clone(),
            name: stat.metric.metric_name.clone()?,
            dimensions: stat
                .metric
                .dimensions
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect(),
        })
    }));
    Ok(AlarmChange {
        state: AlarmState::parse(&payload.new_state_value)?,
        previous_state: AlarmState::parse(&payload.old_state_value).ok(),
        alarm_arn: Some(payload.alarm_arn),
        alarm_name: payload.alarm_name,
        changed_at,
        reason: payload.new_state_reason,
        metrics,
        delivery: AlarmDelivery::Sns,
    })
}
