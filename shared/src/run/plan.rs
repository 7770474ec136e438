//! What every function's pure `plan` returns: the findings, the actions deliberately not
//! taken, the writes to make and the metrics and headline of the run, decided from plain data
//! before any write. The function's `apply` is one flat `match` over its own write enum `W`;
//! everything the report says besides what became of each write is decided here.

use std::collections::BTreeMap;

use crate::run::report::{Finding, Pass, Report, Severity};

#[derive(Debug, Clone, PartialEq)]
pub struct Plan<W> {
    pub findings: Vec<Finding>,
    /// Rules resources were evaluated against and pass (see [`Pass`]).
    pub passes: Vec<Pass>,
    pub skips: Vec<Skip>,
    /// Writes in the order they must happen: one resource's writes stay in order.
    pub writes: Vec<(String, W)>,
    pub metrics: BTreeMap<String, f64>,
    /// One sentence for people, e.g. "parked 7 endpoints, ~$12.40/h".
    pub headline: Option<String>,
}

/// An action deliberately not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub resource: String,
    /// A kebab-case action id, e.g. `put-bucket-policy`.
    pub action: String,
    pub reason: String,
}

impl<W> Default for Plan<W> {
    fn default() -> Self {
        Plan {
            findings: Vec::new(),
            passes: Vec::new(),
            skips: Vec::new(),
            writes: Vec::new(),
            metrics: BTreeMap::new(),
            headline: None,
        }
    }
}

impl<W> Plan<W> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn finding(
        &mut self,
        resource: impl Into<String>,
        rule: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) {
        self.findings
            .push(Finding::new(resource, rule, severity, message));
    }

    pub fn pass(&mut self, resource: impl Into<String>, rule: impl Into<String>) {
        self.passes.push(Pass {
            resource: resource.into(),
            rule: rule.into(),
        });
    }

    pub fn skip(
        &mut self,
        resource: impl Into<String>,
        action: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.skips.push(Skip {
            resource: resource.into(),
            action: action.into(),
            reason: reason.into(),
        });
    }

    pub fn write(&mut self, resource: impl Into<String>, write: W) {
        self.writes.push((resource.into(), write));
    }

    pub fn add_metric(&mut self, name: &str, value: f64) {
        *self.metrics.entry(name.to_owned()).or_default() += value;
    }

    /// Adds another plan's contents after this one's (per-resource plans into a run's plan);
    /// the other plan's headline wins when it has one.
    pub fn extend(&mut self, other: Plan<W>) {
        self.findings.extend(other.findings);
        self.passes.extend(other.passes);
        self.skips.extend(other.skips);
        self.writes.extend(other.writes);
        for (name, value) in other.metrics {
            self.add_metric(&name, value);
        }
        if other.headline.is_some() {
            self.headline = other.headline;
        }
    }

    /// Puts everything decided into the report (findings, skipped actions, metrics, headline)
    /// and hands back the writes, for the function's `apply`.
    pub fn record(self, report: &mut Report) -> Vec<(String, W)> {
        report.findings.extend(self.findings);
        report.passes.extend(self.passes);
        for skip in self.skips {
            report.skipped(skip.resource, skip.action, skip.reason);
        }
        for (name, value) in &self.metrics {
            report.add_metric(name, *value);
        }
        if self.headline.is_some() {
            report.headline = self.headline;
        }
        self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[derive(Debug, Clone, PartialEq)]
    enum Write {
        Encrypt,
    }

    #[test]
    fn recording_reports_everything_decided_and_returns_the_writes_in_order() {
        let mut plan = Plan::new();
        plan.finding("b1", "s3-encryption", Severity::High, "not encrypted");
        plan.skip("b2", "put-bucket-policy", "receives access logs");
        plan.write("b1", Write::Encrypt);
        plan.write("b3", Write::Encrypt);
        plan.add_metric("BucketsInScope", 3.0);
        plan.headline = Some("1 bucket encrypted".to_owned());
        let mut report = Report::new("encryption-enforcer", false, Utc::now());

        let writes = plan.record(&mut report);

        assert_eq!(
            writes,
            [
                ("b1".to_owned(), Write::Encrypt),
                ("b3".to_owned(), Write::Encrypt)
            ]
        );
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.actions.len(), 1);
        assert_eq!(report.actions[0].action, "put-bucket-policy");
        assert_eq!(report.metrics["BucketsInScope"], 3.0);
        assert_eq!(report.headline.as_deref(), Some("1 bucket encrypted"));
    }

    #[test]
    fn extending_adds_metrics_and_keeps_the_order_of_writes() {
        let mut run = Plan::new();
        run.write("e1", Write::Encrypt);
        run.add_metric("Parked", 1.0);
        let mut one = Plan::new();
        one.write("e2", Write::Encrypt);
        one.add_metric("Parked", 1.0);
        run.extend(one);
        assert_eq!(run.writes.len(), 2);
        assert_eq!(run.writes[1].0, "e2");
        assert_eq!(run.metrics["Parked"], 2.0);
    }
}
