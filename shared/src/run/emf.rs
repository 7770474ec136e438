//! CloudWatch Embedded Metric Format: metrics ride on a log line, so a run makes no
//! PutMetricData call and pays no latency for its metrics.

use serde_json::{Map, Value, json};

use crate::run::metrics::{self, Unit};
use crate::run::report::Report;

pub const NAMESPACE: &str = "Sagekeeper";

/// One EMF document with the run's counts and its function-specific metrics, dimensioned by
/// `Function`.
pub fn emf_document(report: &Report, timestamp_ms: i64) -> Value {
    let summary = report.summary();
    let mut values: Vec<(String, f64)> = vec![
        (
            metrics::ACTIONS_PLANNED.into(),
            summary.actions_planned as f64,
        ),
        (metrics::ACTIONS_DONE.into(), summary.actions_done as f64),
        (
            metrics::ACTIONS_SKIPPED.into(),
            summary.actions_skipped as f64,
        ),
        (
            metrics::ACTIONS_FAILED.into(),
            summary.actions_failed as f64,
        ),
        (metrics::FINDINGS.into(), summary.findings as f64),
        (metrics::ERRORS.into(), summary.errors as f64),
    ];
    values.extend(report.metrics.iter().map(|(k, v)| (k.clone(), *v)));

    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _)| {
            // An unlisted metric fails the tests (see metrics.rs); here it counts.
            let unit = metrics::find(name).map_or(Unit::Count, |m| m.unit).emf();
            json!({"Name": name, "Unit": unit})
        })
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }]
        }),
    );
    document.insert("Function".into(), json!(report.function));
    document.insert("DryRun".into(), json!(report.dry_run));
    for (name, value) in values {
        document.insert(name, json!(value));
    }
    Value::Object(document)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::report::{Outcome, Severity};
    use chrono::{TimeZone, Utc};

    #[test]
    fn document_declares_every_metric_it_carries() {
        let mut r = Report::new(
            "endpoint-scheduler",
            false,
            Utc.with_ymd_and_hms(2026, 11, 20, 18, 5, 0).unwrap(),
        );
        r.action("e1", "park", Outcome::Done, None);
        r.finding("e2", "schedule", Severity::Medium, "bad schedule");
        r.add_metric("EstimatedHourlySavingsUSD", 12.4);
        let doc = emf_document(&r, 1_763_661_900_000);
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        for metric in declared {
            let name = metric["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} declared but missing");
        }
        assert_eq!(doc["ActionsDone"], 1.0);
        assert_eq!(doc["Findings"], 1.0);
        assert_eq!(doc["EstimatedHourlySavingsUSD"], 12.4);
        assert_eq!(doc["Function"], "endpoint-scheduler");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Function"
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_763_661_900_000i64);
    }
}
