//! The one report every run produces: the Lambda response, the log summary, the metrics and
//! the notification are all read from it.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::run::budget::{Budget, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        };
        f.write_str(name)
    }
}

/// Something observed about a resource, whether or not anything was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub resource: String,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(
        resource: impl Into<String>,
        rule: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            resource: resource.into(),
            rule: rule.into(),
            severity,
            message: message.into(),
        }
    }
}

/// A rule a resource was evaluated against and passes (compliant, not applicable, exempt or
/// excepted). Not in the response (a sweep evaluates thousands); it is the evidence on which
/// an earlier failure is resolved in Security Hub.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pass {
    pub resource: String,
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Would be done; the run was a dry run.
    Planned,
    Done,
    /// Deliberately not done; `detail` says why.
    Skipped,
    Failed,
}

/// A change to a resource and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub resource: String,
    pub action: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A failure of the run itself (bad input, an AWS call that failed), as opposed to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub kind: String,
    pub message: String,
    /// True when running again later may succeed (throttling, timeouts, 5xx).
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// Errors the report can carry: each says what kind it is and whether a retry may help.
pub trait ReportableError: std::error::Error {
    fn kind(&self) -> &'static str;
    fn retryable(&self) -> bool {
        false
    }
}

/// Read back (by the integration tests, or tools reading a response) from what `Serialize`
/// writes: the derived `summary` is ignored, since it is computed from the lists.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    pub function: String,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    /// What started the run, e.g. `schedule`, `api-call CreateBucket`, `alarm`.
    pub trigger: String,
    /// The account and region acted in, `account/region`; `None` in a single-account
    /// deployment.
    pub target: Option<String>,
    /// One sentence for people, e.g. "parked 7 endpoints, ~$12.40/h".
    pub headline: Option<String>,
    pub actions: Vec<ActionRecord>,
    pub findings: Vec<Finding>,
    pub errors: Vec<ErrorRecord>,
    /// Function-specific numbers (e.g. `EndpointsParked`), summarized and emitted as metrics.
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip)]
    pub passes: Vec<Pass>,
    /// Where the next part of a sweep cut short by its deadline resumes (see
    /// [`crate::run::budget`]); `None` when the run handled everything it planned.
    #[serde(default)]
    pub continuation: Option<Cursor>,
    /// This run's stop time and resume point; read by `run::apply::by_resource`.
    #[serde(skip)]
    pub budget: Budget,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub actions_planned: usize,
    pub actions_done: usize,
    pub actions_skipped: usize,
    pub actions_failed: usize,
    pub findings: usize,
    pub findings_by_severity: BTreeMap<Severity, usize>,
    pub errors: usize,
}

impl Report {
    pub fn new(function: &str, dry_run: bool, started_at: DateTime<Utc>) -> Self {
        Report {
            function: function.to_owned(),
            dry_run,
            started_at,
            trigger: String::new(),
            target: None,
            headline: None,
            actions: Vec::new(),
            findings: Vec::new(),
            errors: Vec::new(),
            metrics: BTreeMap::new(),
            passes: Vec::new(),
            continuation: None,
            budget: Budget::unlimited(),
        }
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

    pub fn action(
        &mut self,
        resource: impl Into<String>,
        action: impl Into<String>,
        outcome: Outcome,
        detail: Option<String>,
    ) {
        self.actions.push(ActionRecord {
            resource: resource.into(),
            action: action.into(),
            outcome,
            detail,
        });
    }

    pub fn skipped(
        &mut self,
        resource: impl Into<String>,
        action: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.action(resource, action, Outcome::Skipped, Some(reason.into()));
    }

    pub fn error(&mut self, resource: Option<&str>, err: &dyn ReportableError) {
        self.errors.push(ErrorRecord {
            kind: err.kind().to_owned(),
            message: err.to_string(),
            retryable: err.retryable(),
            resource: resource.map(str::to_owned),
        });
    }

    /// The value of a read that may fail: on failure the error is recorded (against
    /// `resource`) and the run goes on without the value.
    pub fn keep<T, E: ReportableError>(
        &mut self,
        resource: Option<&str>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.error(resource, &err);
                None
            }
        }
    }

    /// An empty report of the same run, for one part of it to record into (see
    /// [`Report::absorb`]).
    pub fn fragment(&self) -> Report {
        let mut fragment = Report::new(&self.function, self.dry_run, self.started_at);
        fragment.trigger = self.trigger.clone();
        fragment.target = self.target.clone();
        fragment
    }

    /// Takes in what a fragment recorded: its actions, findings and errors after this
    /// report's own, its metrics added.
    pub fn absorb(&mut self, fragment: Report) {
        self.actions.extend(fragment.actions);
        self.findings.extend(fragment.findings);
        self.errors.extend(fragment.errors);
        self.passes.extend(fragment.passes);
        for (name, value) in fragment.metrics {
            self.add_metric(&name, value);
        }
    }

    pub fn add_metric(&mut self, name: &str, value: f64) {
        *self.metrics.entry(name.to_owned()).or_default() += value;
    }

    /// Runs a write unless this is a dry run, and records the outcome either way. This is the
    /// one place DRY_RUN is enforced for writes, so no function can forget it.
    pub async fn perform<F, T, E>(&mut self, resource: &str, action: &str, write: F) -> Option<T>
    where
        F: Future<Output = Result<T, E>>,
        E: ReportableError,
    {
        self.perform_with(resource, action, None, write).await
    }

    /// `perform`, with the write's parameters in the action's `detail` (the action stays a
    /// stable id): e.g. `write-snapshot` with where the snapshot went. A failed write's detail
    /// is its error.
    pub async fn perform_with<F, T, E>(
        &mut self,
        resource: &str,
        action: &str,
        detail: Option<String>,
        write: F,
    ) -> Option<T>
    where
        F: Future<Output = Result<T, E>>,
        E: ReportableError,
    {
        let write = async { write.await.map(Ok::<T, String>) };
        self.perform_or_skip_with(resource, action, detail, write)
            .await
            .and_then(Result::ok)
    }

    /// `perform`, for a write that may find it had nothing to do (a name an earlier delivery
    /// already took): its `Ok(Err(reason))` is recorded as skipped, with the reason.
    pub async fn perform_or_skip<F, T, E>(
        &mut self,
        resource: &str,
        action: &str,
        write: F,
    ) -> Option<Result<T, String>>
    where
        F: Future<Output = Result<Result<T, String>, E>>,
        E: ReportableError,
    {
        self.perform_or_skip_with(resource, action, None, write)
            .await
    }

    /// The one DRY_RUN gate every write goes through.
    async fn perform_or_skip_with<F, T, E>(
        &mut self,
        resource: &str,
        action: &str,
        detail: Option<String>,
        write: F,
    ) -> Option<Result<T, String>>
    where
        F: Future<Output = Result<Result<T, String>, E>>,
        E: ReportableError,
    {
        if self.dry_run {
            self.action(resource, action, Outcome::Planned, detail);
            return None;
        }
        match write.await {
            Ok(Ok(value)) => {
                self.action(resource, action, Outcome::Done, detail);
                Some(Ok(value))
            }
            Ok(Err(reason)) => {
                self.skipped(resource, action, reason.clone());
                Some(Err(reason))
            }
            Err(err) => {
                self.action(resource, action, Outcome::Failed, Some(err.to_string()));
                self.error(Some(resource), &err);
                None
            }
        }
    }

    /// `perform`, for a step of a sequence: true when the next step may go on (the write
    /// succeeded, or was only planned in a dry run).
    pub async fn attempt<T, E: ReportableError>(
        &mut self,
        resource: &str,
        action: &str,
        write: impl Future<Output = Result<T, E>>,
    ) -> bool {
        self.perform(resource, action, write).await.is_some() || self.dry_run
    }

    /// `attempt`, with the write's parameters in the action's `detail`.
    pub async fn attempt_with<T, E: ReportableError>(
        &mut self,
        resource: &str,
        action: &str,
        detail: Option<String>,
        write: impl Future<Output = Result<T, E>>,
    ) -> bool {
        self.perform_with(resource, action, detail, write)
            .await
            .is_some()
            || self.dry_run
    }

    pub fn summary(&self) -> Summary {
        let count = |outcome| self.actions.iter().filter(|a| a.outcome == outcome).count();
        let mut findings_by_severity = BTreeMap::new();
        for finding in &self.findings {
            *findings_by_severity.entry(finding.severity).or_default() += 1;
        }
        Summary {
            actions_planned: count(Outcome::Planned),
            actions_done: count(Outcome::Done),
            actions_skipped: count(Outcome::Skipped),
            actions_failed: count(Outcome::Failed),
            findings: self.findings.len(),
            findings_by_severity,
            errors: self.errors.len(),
        }
    }

    /// A run failed when it could not do its job; findings and skipped actions are not failures.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty() || self.actions.iter().any(|a| a.outcome == Outcome::Failed)
    }

    /// True when the run failed for a reason that running it again may fix (throttling, a
    /// timeout, a 5xx, a lost race): the invocation is then answered with a function error so
    /// that Lambda retries the event and, after its retries, hands it to the on-failure
    /// destination. Failures a retry cannot fix (bad input, access denied) are only reported.
    pub fn retry_may_help(&self) -> bool {
        self.errors.iter().any(|e| e.retryable)
    }

    /// The highest severity among findings, or `Info` when a run found nothing.
    pub fn max_severity(&self) -> Severity {
        let finding_max = self.findings.iter().map(|f| f.severity).max();
        let failure = self.failed().then_some(Severity::High);
        finding_max.max(failure).unwrap_or(Severity::Info)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Serialized with a derived `summary`, so the counts can never disagree with the lists.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            function: &'a str,
            dry_run: bool,
            started_at: &'a DateTime<Utc>,
            trigger: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            target: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            headline: Option<&'a str>,
            actions: &'a [ActionRecord],
            findings: &'a [Finding],
            errors: &'a [ErrorRecord],
            summary: Summary,
            metrics: &'a BTreeMap<String, f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            continuation: Option<&'a Cursor>,
        }
        View {
            function: &self.function,
            dry_run: self.dry_run,
            started_at: &self.started_at,
            trigger: &self.trigger,
            target: self.target.as_deref(),
            headline: self.headline.as_deref(),
            actions: &self.actions,
            findings: &self.findings,
            errors: &self.errors,
            summary: self.summary(),
            metrics: &self.metrics,
            continuation: self.continuation.as_ref(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Debug, thiserror::Error)]
    #[error("throttled")]
    struct Throttled;
    impl ReportableError for Throttled {
        fn kind(&self) -> &'static str {
            "aws"
        }
        fn retryable(&self) -> bool {
            true
        }
    }

    fn report(dry_run: bool) -> Report {
        Report::new(
            "test-fn",
            dry_run,
            Utc.with_ymd_and_hms(2026, 11, 20, 18, 5, 0).unwrap(),
        )
    }

    #[tokio::test]
    async fn perform_in_dry_run_never_runs_the_write() {
        let mut r = report(true);
        let mut ran = false;
        let result = r
            .perform("arn:x", "delete", async {
                ran = true;
                Ok::<_, Throttled>(())
            })
            .await;
        assert!(result.is_none());
        assert!(!ran);
        assert_eq!(r.actions[0].outcome, Outcome::Planned);
    }

    #[tokio::test]
    async fn perform_records_done_and_failed() {
        let mut r = report(false);
        assert_eq!(
            r.perform("a", "tag", async { Ok::<_, Throttled>(7) }).await,
            Some(7)
        );
        assert_eq!(
            r.perform("b", "tag", async { Err::<(), _>(Throttled) })
                .await,
            None
        );
        assert_eq!(r.actions[0].outcome, Outcome::Done);
        assert_eq!(r.actions[1].outcome, Outcome::Failed);
        assert_eq!(r.errors[0].kind, "aws");
        assert!(r.errors[0].retryable);
        assert!(r.failed());
        assert_eq!(r.max_severity(), Severity::High);
    }

    #[tokio::test]
    async fn a_write_that_had_nothing_to_do_is_recorded_as_skipped() {
        let mut r = report(false);
        let taken = async { Ok::<Result<(), _>, Throttled>(Err("name taken".to_owned())) };
        assert_eq!(
            r.perform_or_skip("a", "create", taken).await,
            Some(Err("name taken".to_owned()))
        );
        assert_eq!(r.actions[0].outcome, Outcome::Skipped);
        assert_eq!(r.actions[0].detail.as_deref(), Some("name taken"));
        assert!(!r.failed());
    }

    #[test]
    fn a_report_reads_back_as_it_was_written() {
        let mut r = report(true);
        r.trigger = "api-call CreateBucket".into();
        r.target = Some("210987654321/eu-west-1".into());
        r.headline = Some("parked 1 endpoint(s), ~$0.12/h".into());
        r.finding(
            "arn:b",
            "s3-encryption",
            Severity::High,
            "no default encryption",
        );
        r.action("arn:b", "put-bucket-encryption", Outcome::Planned, None);
        r.skipped("arn:e", "park", "serverless endpoints already pay per use");
        r.error(Some("arn:b"), &Throttled);
        r.add_metric("EstimatedHourlySavingsUSD", 0.12);
        r.add_metric("EndpointsParked", 1.0);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"summary\""), "{text}");
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        // Without the optional fields too.
        let bare = report(false);
        assert_eq!(
            serde_json::from_value::<Report>(bare.to_json()).unwrap(),
            bare
        );
    }

    #[test]
    fn json_has_the_interface_fields_and_a_derived_summary() {
        let mut r = report(false);
        r.finding(
            "arn:b",
            "s3-encryption",
            Severity::High,
            "no default encryption",
        );
        r.skipped("arn:e", "park", "serverless endpoints already pay per use");
        let json = r.to_json();
        for field in [
            "function",
            "dry_run",
            "started_at",
            "actions",
            "findings",
            "errors",
            "summary",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["actions"][0]["outcome"], "skipped");
        assert_eq!(json["findings"][0]["severity"], "high");
        assert_eq!(json["summary"]["findings"], 1);
        assert_eq!(json["summary"]["actions_skipped"], 1);
        assert_eq!(json["summary"]["findings_by_severity"]["high"], 1);
        assert!(!r.failed());
        assert_eq!(r.max_severity(), Severity::High);
    }
}
