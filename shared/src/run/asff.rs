//! Which findings a run sends to AWS Security Hub, in the AWS Security Finding Format (ASFF):
//! pure, so what is imported, updated and resolved is decided without AWS.
//!
//! A finding that breaks a rule is imported `FAILED` under a stable id (the OCSF uid), so a
//! later run updates it in place. An informational finding (compliant, exempt, an observation)
//! never creates one; it resolves (`PASSED`) an earlier failure with the same id. A sweep that
//! ran without errors also resolves every earlier failure of the same function in the same
//! account and region that it did not report again: the resource was fixed, exempted or
//! deleted. A sweep with errors resolves nothing: what it could not read is not compliant.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::model::resource_kind;
use crate::run::ocsf::finding_uid;
use crate::run::report::{Finding, Report, Severity};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `ProductFields` key naming the function, which GetFindings filters on.
pub const FUNCTION_FIELD: &str = "sagekeeper/function";
/// Security Hub's limit on `Description`.
const MAX_DESCRIPTION: usize = 1024;
const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// Where the findings go: the account and region the run acted in, whose Security Hub holds
/// them (a custom integration's product in that account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub partition: String,
    pub account: String,
    pub region: String,
}

impl Destination {
    /// The custom-integration product every account has in Security Hub.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compliance {
    Failed,
    Passed,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Failed => "FAILED",
            Compliance::Passed => "PASSED",
        }
    }
}

/// A finding of ours already in Security Hub, as GetFindings returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub created_at: String,
    pub failed: bool,
    /// What an update must send again (a resolution repeats the finding's own fields).
    pub rule: String,
    pub resource: String,
    pub title: String,
    pub severity_label: String,
}

/// One finding to import, in ASFF terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffFinding {
    pub id: String,
    pub generator_id: String,
    pub title: String,
    pub description: String,
    pub severity_label: String,
    pub compliance: Compliance,
    pub resource_id: String,
    pub resource_type: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub function: String,
}

fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// True when the run looked at everything its function covers in this account and region.
fn complete_sweep(report: &Report) -> bool {
    report.trigger == "schedule" && !report.failed()
}

/// What to import: this run's failures (new or updated in place) and the resolutions of
/// earlier failures, each once, in report order then id order.
pub fn plan(report: &Report, existing: &[Existing], now: DateTime<Utc>) -> Vec<AsffFinding> {
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let known: BTreeMap<&str, &Existing> = existing.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut failing = BTreeSet::new();
    let mut passing = BTreeSet::new();
    let mut out = Vec::new();
    for finding in &report.findings {
        let id = finding_uid(report, finding);
        if finding.severity == Severity::Info {
            passing.insert(id);
            continue;
        }
        if !failing.insert(id.clone()) {
            continue;
        }
        let created_at = known.get(id.as_str()).map(|e| e.created_at.clone());
        out.push(failed(
            report,
            finding,
            id,
            created_at.unwrap_or(now.clone()),
            &now,
        ));
    }
    let sweep = complete_sweep(report);
    for old in existing {
        let resolved = passing.contains(&old.id) || sweep;
        if old.failed && resolved && !failing.contains(&old.id) {
            out.push(AsffFinding {
                id: old.id.clone(),
                generator_id: old.rule.clone(),
                title: old.title.clone(),
                description: format!("{}: no longer breaks {} (resolved)", old.resource, old.rule),
                severity_label: old.severity_label.clone(),
                compliance: Compliance::Passed,
                resource_id: old.resource.clone(),
                resource_type: resource_kind::of(&old.resource).asff,
                created_at: old.created_at.clone(),
                updated_at: now.clone(),
                function: report.function.clone(),
            });
        }
    }
    out
}

fn failed(
    report: &Report,
    finding: &Finding,
    id: String,
    created_at: String,
    now: &str,
) -> AsffFinding {
    AsffFinding {
        id,
        generator_id: finding.rule.clone(),
        title: truncated(&format!("{}: {}", finding.rule, finding.resource), 256),
        description: truncated(&finding.message, MAX_DESCRIPTION),
        severity_label: severity_label(finding.severity).to_owned(),
        compliance: Compliance::Failed,
        resource_id: finding.resource.clone(),
        resource_type: resource_kind::of(&finding.resource).asff,
        created_at,
        updated_at: now.to_owned(),
        function: report.function.clone(),
    }
}

/// The ASFF `Types` every finding carries.
pub fn types() -> Vec<String> {
    vec![FINDING_TYPE.to_owned()]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const BUCKET: &str = "arn:aws:s3:::ml-data";
    const OTHER: &str = "arn:aws:s3:::ml-logs";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    fn report(trigger: &str) -> Report {
        let mut report = Report::new("encryption-enforcer", false, now());
        report.trigger = trigger.to_owned();
        report.target = Some("123456789012/eu-west-1".into());
        report
    }

    fn existing(report: &Report, resource: &str, rule: &str, failed: bool) -> Existing {
        let finding = Finding::new(resource, rule, Severity::High, "x");
        Existing {
            id: finding_uid(report, &finding),
            created_at: "2026-11-01T08:00:00.000Z".into(),
            failed,
            rule: rule.into(),
            resource: resource.into(),
            title: format!("{rule}: {resource}"),
            severity_label: "HIGH".into(),
        }
    }

    #[test]
    fn a_failure_is_imported_and_keeps_its_first_creation_time() {
        let mut sweep = report("schedule");
        sweep.finding(BUCKET, "s3-tls", Severity::High, "no TLS-only policy");
        let first = plan(&sweep, &[], now());
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].compliance, Compliance::Failed);
        assert_eq!(first[0].severity_label, "HIGH");
        assert_eq!(first[0].resource_type, "AwsS3Bucket");
        assert_eq!(first[0].generator_id, "s3-tls");
        assert_eq!(first[0].created_at, "2026-12-02T09:00:00.000Z");

        let again = plan(&sweep, &[existing(&sweep, BUCKET, "s3-tls", true)], now());
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, first[0].id);
        assert_eq!(again[0].created_at, "2026-11-01T08:00:00.000Z");
    }

    #[test]
    fn a_clean_sweep_resolves_failures_it_no_longer_sees_and_only_those() {
        let mut sweep = report("schedule");
        sweep.finding(BUCKET, "s3-tls", Severity::High, "still no policy");
        let old = [
            existing(&sweep, BUCKET, "s3-tls", true),
            existing(&sweep, OTHER, "s3-tls", true),
            existing(&sweep, OTHER, "s3-kms", false),
        ];
        let planned = plan(&sweep, &old, now());
        let resolved: Vec<_> = planned
            .iter()
            .filter(|f| f.compliance == Compliance::Passed)
            .collect();
        assert_eq!(resolved.len(), 1, "{planned:#?}");
        assert_eq!(resolved[0].id, old[1].id);
        assert_eq!(resolved[0].created_at, old[1].created_at);
    }

    #[test]
    fn a_sweep_with_errors_or_an_event_resolves_nothing_it_did_not_see_pass() {
        let mut failed_sweep = report("schedule");
        failed_sweep.error(
            None,
            &crate::aws::AwsError {
                operation: "ListBuckets",
                code: "AccessDenied".into(),
                message: "no".into(),
                retryable: false,
            },
        );
        let old = [existing(&failed_sweep, OTHER, "s3-tls", true)];
        assert!(plan(&failed_sweep, &old, now()).is_empty());
        assert!(plan(&report("api-call PutBucketPolicy"), &old, now()).is_empty());
    }

    #[test]
    fn an_informational_finding_resolves_its_own_failure_and_creates_nothing() {
        let mut event = report("api-call PutBucketPolicy");
        event.finding(OTHER, "s3-tls", Severity::Info, "exempt: owner decision");
        event.finding(BUCKET, "s3-tls", Severity::Info, "compliant");
        let old = [existing(&event, OTHER, "s3-tls", true)];
        let planned = plan(&event, &old, now());
        assert_eq!(planned.len(), 1, "{planned:#?}");
        assert_eq!(planned[0].compliance, Compliance::Passed);
        assert_eq!(planned[0].resource_id, OTHER);
    }

    #[test]
    fn a_finding_reported_twice_is_imported_once_with_a_bounded_description() {
        let mut sweep = report("schedule");
        let long = "é".repeat(600);
        sweep.finding(BUCKET, "s3-tls", Severity::High, &long);
        sweep.finding(BUCKET, "s3-tls", Severity::High, "again");
        let planned = plan(&sweep, &[], now());
        assert_eq!(planned.len(), 1);
        assert!(planned[0].description.len() <= MAX_DESCRIPTION);
        assert!(planned[0].description.ends_with("..."));
    }

    #[test]
    fn the_product_is_the_accounts_own_custom_integration() {
        let destination = Destination {
            partition: "aws".into(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(
            destination.product_arn(),
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
    }
}
