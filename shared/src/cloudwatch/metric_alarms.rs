//! CloudWatch metric alarms that drive step-scaling policies. Deleting a step-scaling policy
//! (which deregistering its scalable target does) detaches it from its alarms, so a policy put
//! back later has a new ARN that no alarm invokes: scale-out would never fire again. The
//! alarms are captured with the policy and pointed at the new ARN when it is put back.

pub use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StandardUnit, Statistic};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsResultExt};

/// Everything `PutMetricAlarm` needs to write the alarm again as it was (its tags are not
/// touched by an update, so they stay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricAlarm {
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: Option<bool>,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub period: Option<i32>,
    pub unit: Option<String>,
    pub evaluation_periods: Option<i32>,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
}

/// An alarm this module cannot write back whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub alarm: String,
    pub what: &'static str,
}

/// The named alarms, in the order CloudWatch returns them (names it does not know are left
/// out: such an alarm was deleted, nothing invokes the policy through it).
pub async fn describe(
    client: &Client,
    names: &[String],
) -> Result<Result<Vec<MetricAlarm>, Unsupported>, AwsError> {
    let mut alarms = Vec::new();
    // DescribeAlarms takes at most 100 names.
    for chunk in names.chunks(100) {
        let mut pages = client
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for alarm in page
                .aws("DescribeAlarms")?
                .metric_alarms
                .unwrap_or_default()
            {
                match from_sdk(alarm) {
                    Ok(alarm) => alarms.push(alarm),
                    Err(unsupported) => return Ok(Err(unsupported)),
                }
            }
        }
    }
    Ok(Ok(alarms))
}

fn from_sdk(alarm: aws_sdk_cloudwatch::types::MetricAlarm) -> Result<MetricAlarm, Unsupported> {
    let name = alarm.alarm_name.unwrap_or_default();
    if alarm.metrics.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(Unsupported {
            alarm: name,
            what: "metric math",
        });
    }
    Ok(MetricAlarm {
        name,
        description: alarm.alarm_description,
        actions_enabled: alarm.actions_enabled,
        ok_actions: alarm.ok_actions.unwrap_or_default(),
        alarm_actions: alarm.alarm_actions.unwrap_or_default(),
        insufficient_data_actions: alarm.insufficient_data_actions.unwrap_or_default(),
        metric_name: alarm.metric_name,
        namespace: alarm.namespace,
        statistic: alarm.statistic.map(|s| s.as_str().to_owned()),
        extended_statistic: alarm.extended_statistic,
        dimensions: alarm
            .dimensions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| Some((d.name?, d.value?)))
            .collect(),
        period: alarm.period,
        unit: alarm.unit.map(|u| u.as_str().to_owned()),
        evaluation_periods: alarm.evaluation_periods,
        datapoints_to_alarm: alarm.datapoints_to_alarm,
        threshold: alarm.threshold,
        comparison_operator: alarm.comparison_operator.map(|c| c.as_str().to_owned()),
        treat_missing_data: alarm.treat_missing_data,
        evaluate_low_sample_count_percentile: alarm.evaluate_low_sample_count_percentile,
    })
}

impl MetricAlarm {
    /// Whether any of the alarm's actions invokes `policy_arn`.
    pub fn invokes(&self, policy_arn: &str) -> bool {
        self.all_actions().any(|a| a == policy_arn)
    }

    fn all_actions(&self) -> impl Iterator<Item = &String> {
        self.ok_actions
            .iter()
            .chain(&self.alarm_actions)
            .chain(&self.insufficient_data_actions)
    }

    /// The same alarm with every action that invoked `old` invoking `new` instead; every
    /// other action and setting is kept.
    pub fn repointed(&self, old: &str, new: &str) -> MetricAlarm {
        let swap = |actions: &Vec<String>| {
            actions
                .iter()
                .map(|a| if a == old { new.to_owned() } else { a.clone() })
                .collect()
        };
        MetricAlarm {
            ok_actions: swap(&self.ok_actions),
            alarm_actions: swap(&self.alarm_actions),
            insufficient_data_actions: swap(&self.insufficient_data_actions),
            ..self.clone()
        }
    }
}

/// Writes the alarm (an upsert): every captured setting and action.
pub async fn put(client: &Client, alarm: &MetricAlarm) -> Result<(), AwsError> {
    let list = |actions: &Vec<String>| Some(actions.clone());
    client
        .put_metric_alarm()
        .alarm_name(&alarm.name)
        .set_alarm_description(alarm.description.clone())
        .set_actions_enabled(alarm.actions_enabled)
        .set_ok_actions(list(&alarm.ok_actions))
        .set_alarm_actions(list(&alarm.alarm_actions))
        .set_insufficient_data_actions(list(&alarm.insufficient_data_actions))
        .set_metric_name(alarm.metric_name.clone())
        .set_namespace(alarm.namespace.clone())
        .set_statistic(alarm.statistic.as_deref().map(Statistic::from))
        .set_extended_statistic(alarm.extended_statistic.clone())
        .set_dimensions(Some(
            alarm
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .set_period(alarm.period)
        .set_unit(alarm.unit.as_deref().map(StandardUnit::from))
        .set_evaluation_periods(alarm.evaluation_periods)
        .set_datapoints_to_alarm(alarm.datapoints_to_alarm)
        .set_threshold(alarm.threshold)
        .set_comparison_operator(
            alarm
                .comparison_operator
                .as_deref()
                .map(ComparisonOperator::from),
        )
        .set_treat_missing_data(alarm.treat_missing_data.clone())
        .set_evaluate_low_sample_count_percentile(
            alarm.evaluate_low_sample_count_percentile.clone(),
        )
        .send()
        .await
        .aws("PutMetricAlarm")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm() -> MetricAlarm {
        MetricAlarm {
            name: "fraud-high-latency".into(),
            description: Some("scale out".into()),
            actions_enabled: Some(true),
            ok_actions: vec![],
            alarm_actions: vec![
                "arn:aws:autoscaling:us-east-1:1:scalingPolicy:old".into(),
                "arn:aws:sns:us-east-1:1:pager".into(),
            ],
            insufficient_data_actions: vec![],
            metric_name: Some("ModelLatency".into()),
            namespace: Some("AWS/SageMaker".into()),
            statistic: Some("Average".into()),
            extended_statistic: None,
            dimensions: vec![("EndpointName".into(), "fraud".into())],
            period: Some(60),
            unit: None,
            evaluation_periods: Some(3),
            datapoints_to_alarm: Some(2),
            threshold: Some(250.0),
            comparison_operator: Some("GreaterThanThreshold".into()),
            treat_missing_data: Some("notBreaching".into()),
            evaluate_low_sample_count_percentile: None,
        }
    }

    #[test]
    fn repointing_swaps_only_the_policy_action() {
        let old = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:old";
        let new = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:new";
        let before = alarm();
        assert!(before.invokes(old));
        let after = before.repointed(old, new);
        assert!(after.invokes(new) && !after.invokes(old));
        assert_eq!(
            after.alarm_actions,
            [new, "arn:aws:sns:us-east-1:1:pager"],
            "other actions kept, in order"
        );
        assert_eq!(
            MetricAlarm {
                alarm_actions: before.alarm_actions.clone(),
                ..after
            },
            before,
            "every other setting kept"
        );
    }
}
