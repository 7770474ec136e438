//! Which alarms may start a retrain: those over Model Monitor or Clarify metrics, and those
//! the operator lists in `RETRAIN_ALARMS`. Anyone who can create an alarm (or point one at the
//! function's topic) could otherwise make an endpoint's dimension start its pipeline: a CPU or
//! latency alarm is not evidence that the model drifted.

use std::collections::BTreeSet;

use sagekeeper_core::events::AlarmChange;

/// The namespaces SageMaker Model Monitor and Clarify publish to: `Endpoints` for real-time
/// endpoints, `ModelMonitoring` for batch transform jobs; data quality, model quality, bias
/// drift and feature attribution drift. Compared without regard to case or a leading `/`
/// (AWS documents them both with and without one, and once with `Endpoint`).
const MONITORING_NAMESPACES: [&str; 3] = [
    "aws/sagemaker/endpoints/",
    "aws/sagemaker/endpoint/",
    "aws/sagemaker/modelmonitoring/",
];
const MONITORING_METRIC_SETS: [&str; 6] = [
    "data-metrics",
    "data-metric",
    "model-metrics",
    "model-quality-metrics",
    "bias-metrics",
    "explainability-metrics",
];

/// Whether `namespace` is one Model Monitor or Clarify publishes drift metrics to.
pub fn is_monitoring_namespace(namespace: &str) -> bool {
    let namespace = namespace.trim_start_matches('/').to_ascii_lowercase();
    MONITORING_NAMESPACES.iter().any(|prefix| {
        namespace
            .strip_prefix(prefix)
            .is_some_and(|set| MONITORING_METRIC_SETS.contains(&set))
    })
}

/// Alarms the operator trusts whatever they watch: names, or ARNs (which also pin the account
/// and region).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedAlarms(BTreeSet<String>);

impl TrustedAlarms {
    pub fn new(entries: impl IntoIterator<Item = String>) -> Self {
        TrustedAlarms(entries.into_iter().collect())
    }

    fn lists(&self, alarm: &AlarmChange) -> bool {
        self.0.contains(&alarm.alarm_name)
            || alarm
                .alarm_arn
                .as_ref()
                .is_some_and(|arn| self.0.contains(arn))
    }
}

/// `Ok` when the alarm may start a retrain; else why not. An alarm is a monitoring alarm when it
/// reads at least one metric and every metric it reads is a monitoring metric: a metric-math
/// alarm mixing in another metric (say, invocations) could fire without any drift.
pub fn check(alarm: &AlarmChange, listed: &TrustedAlarms) -> Result<(), String> {
    if listed.lists(alarm) {
        return Ok(());
    }
    let others: Vec<String> = alarm
        .metrics
        .iter()
        .filter(|m| !m.namespace.as_deref().is_some_and(is_monitoring_namespace))
        .map(|m| match &m.namespace {
            Some(namespace) => format!("{namespace}/{}", m.name),
            None => m.name.clone(),
        })
        .collect();
    if alarm.metrics.is_empty() {
        Err("it reads no metric (a composite alarm, or metric math alone)".to_owned())
    } else if others.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "it reads metrics that are not Model Monitor or Clarify metrics: {}",
            others.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::Trigger;
    use sagekeeper_core::events::AlarmMetric;

    fn alarm() -> AlarmChange {
        let event =
            serde_json::from_str(include_str!("../../../events/alarm-eventbridge.json")).unwrap();
        match Trigger::parse(&event).unwrap() {
            Trigger::Alarm(alarm) => *alarm,
            other => panic!("{other:?}"),
        }
    }

    fn metric(namespace: Option<&str>, name: &str) -> AlarmMetric {
        AlarmMetric {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            dimensions: [("Endpoint".to_owned(), "fraud-detector-dev".to_owned())].into(),
        }
    }

    #[test]
    fn model_monitor_and_clarify_namespaces_are_recognised() {
        for namespace in [
            "aws/sagemaker/Endpoints/data-metrics",
            "/aws/sagemaker/Endpoints/data-metrics",
            "aws/sagemaker/Endpoints/model-metrics",
            "aws/sagemaker/Endpoints/bias-metrics",
            "aws/sagemaker/Endpoints/explainability-metrics",
            "aws/sagemaker/ModelMonitoring/data-metrics",
            "aws/sagemaker/ModelMonitoring/model-metrics",
            "/aws/sagemaker/Endpoint/data-metrics",
        ] {
            assert!(is_monitoring_namespace(namespace), "{namespace}");
        }
        for namespace in [
            "AWS/SageMaker",
            "/aws/sagemaker/Endpoints",
            "aws/sagemaker/Endpoints/data-metrics-fake",
            "Custom/aws/sagemaker/Endpoints/data-metrics",
            "AWS/EC2",
            "",
        ] {
            assert!(!is_monitoring_namespace(namespace), "{namespace}");
        }
    }

    #[test]
    fn only_alarms_over_monitoring_metrics_or_listed_ones_are_trusted() {
        let none = TrustedAlarms::default();
        // The sample: a Model Monitor data-quality metric.
        assert_eq!(check(&alarm(), &none), Ok(()));

        let mut latency = alarm();
        latency.metrics = vec![metric(Some("AWS/SageMaker"), "ModelLatency")];
        let err = check(&latency, &none).unwrap_err();
        assert!(err.contains("AWS/SageMaker/ModelLatency"), "{err}");

        // Metric math mixing a drift metric with another one.
        let mut mixed = alarm();
        mixed
            .metrics
            .push(metric(Some("AWS/SageMaker"), "Invocations"));
        assert!(check(&mixed, &none).is_err());

        let mut nothing = alarm();
        nothing.metrics.clear();
        assert!(check(&nothing, &none).unwrap_err().contains("no metric"));

        // Listed by name or by ARN: trusted whatever it watches.
        let by_name = TrustedAlarms::new([latency.alarm_name.clone()]);
        assert_eq!(check(&latency, &by_name), Ok(()));
        let by_arn = TrustedAlarms::new([latency.alarm_arn.clone().unwrap()]);
        assert_eq!(check(&latency, &by_arn), Ok(()));
        let other = TrustedAlarms::new(["sagekeeper-drift-other".to_owned()]);
        assert!(check(&latency, &other).is_err());
    }
}
