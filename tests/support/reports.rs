//! The functions' answers read as types: one run's `Report` (sagekeeper_core's own type), or
//! the response of an invocation over several targets (a sweep over targets in place, an SQS
//! batch of fanned-out targets). Every test reads reports through here.

use sagekeeper_core::Outcome;
use sagekeeper_core::Report;
pub use sagekeeper_core::run::report::{ActionRecord, Finding};
use serde::Deserialize;
use serde_json::Value;

/// What an invocation over several targets answers: each target's report, and for an
/// SQS-triggered invocation the messages to be delivered again.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TargetRuns {
    pub function: String,
    pub dry_run: bool,
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
    pub runs: Vec<Report>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// `json` as one run's report, if it is one.
pub fn report_of(json: &Value) -> Option<Report> {
    Report::deserialize(json).ok()
}

/// `json` as the response of an invocation over several targets, if it is one.
pub fn target_runs_of(json: &Value) -> Option<TargetRuns> {
    TargetRuns::deserialize(json).ok()
}

/// Questions the tests ask of a report.
pub trait ReportExt {
    /// The findings about `resource`.
    fn findings_for(&self, resource: &str) -> Vec<&Finding>;
    /// The actions on `resource`.
    fn actions_for(&self, resource: &str) -> Vec<&ActionRecord>;
    /// The finding of `rule` about `resource`.
    fn finding(&self, resource: &str, rule: &str) -> Option<&Finding>;
    /// (action, outcome) of each action on `resource`, in order.
    fn outcomes_for(&self, resource: &str) -> Vec<(&str, Outcome)>;
    /// The named metric.
    fn metric(&self, name: &str) -> Option<f64>;
}

impl ReportExt for Report {
    fn findings_for(&self, resource: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.resource == resource)
            .collect()
    }

    fn actions_for(&self, resource: &str) -> Vec<&ActionRecord> {
        self.actions
            .iter()
            .filter(|a| a.resource == resource)
            .collect()
    }

    fn finding(&self, resource: &str, rule: &str) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.resource == resource && f.rule == rule)
    }

    fn outcomes_for(&self, resource: &str) -> Vec<(&str, Outcome)> {
        self.actions_for(resource)
            .into_iter()
            .map(|a| (a.action.as_str(), a.outcome))
            .collect()
    }

    fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }
}
