//! Which findings a run sends to AWS Security Hub, in the AWS Security Finding Format (ASFF):
//! pure, so what is imported, updated and resolved is decided without AWS.
//!
//! A finding that breaks a rule is imported `FAILED` under a stable id (the OCSF uid), so a
//! later run updates it in place. An earlier failure is resolved (`PASSED`, workflow
//! `RESOLVED`) only on evidence: this run evaluated that rule on that resource and it passes
//! (compliant, not applicable, exempt, or an owner's exception). A sweep never resolves what
//! it did not look at (jobs outside its lookback, resources outside its prefix, findings only
//! events raise), and informational findings never create a Security Hub finding.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::model::resource_kind;
use crate::run::ocsf::{finding_uid, pass_uid};
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
    pub updated_at: String,
    pub failed: bool,
    /// Its workflow is NEW or NOTIFIED (not yet RESOLVED or SUPPRESSED).
    pub workflow_open: bool,
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

/// What to send: findings to import (failures, new or updated in place, and resolutions) and
/// the findings whose workflow to set to RESOLVED.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    pub imports: Vec<AsffFinding>,
    pub resolve: Vec<String>,
}

/// GetFindings takes at most this many values for one attribute.
pub const MAX_FILTER_VALUES: usize = 20;

/// Which of our findings in Security Hub a run's export must read: only the few its report can
/// import or resolve (an event run, a small account), else every one of the function's (a
/// sweep), since GetFindings allows 3 calls a second and a big account has thousands.
pub fn lookup(report: &Report) -> Option<Vec<String>> {
    let ids: BTreeSet<String> = report
        .findings
        .iter()
        .map(|f| finding_uid(report, f))
        .chain(report.passes.iter().map(|p| pass_uid(report, p)))
        .collect();
    (ids.len() <= MAX_FILTER_VALUES).then(|| ids.into_iter().collect())
}

fn parsed(time: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// This run's failures, and the resolution of earlier failures this run saw pass, each once.
/// Everything is stamped with the run's start (when it observed), so a later observation
/// already in Security Hub is neither overwritten nor resolved by this one.
pub fn plan(report: &Report, existing: &[Existing]) -> Export {
    let observed = report.started_at;
    let stamp = observed.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let known: BTreeMap<&str, &Existing> = existing.iter().map(|e| (e.id.as_str(), e)).collect();
    let older = |id: &str| {
        known
            .get(id)
            .is_none_or(|e| parsed(&e.updated_at).is_none_or(|at| at < observed))
    };
    let mut passing: BTreeSet<String> = report.passes.iter().map(|p| pass_uid(report, p)).collect();
    passing.extend(
        report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .map(|f| finding_uid(report, f)),
    );
    let mut failing = BTreeSet::new();
    let mut reopened = BTreeSet::new();
    let mut export = Export::default();
    for finding in &report.findings {
        let id = finding_uid(report, finding);
        if passing.contains(&id) || !failing.insert(id.clone()) || !older(&id) {
            continue;
        }
        reopened.insert(id.clone());
        let created_at = known.get(id.as_str()).map(|e| e.created_at.clone());
        export.imports.push(failed(
            report,
            finding,
            id,
            created_at.unwrap_or(stamp.clone()),
            &stamp,
        ));
    }
    for old in existing {
        if !passing.contains(&old.id) || failing.contains(&old.id) || !older(&old.id) {
            // A PASSED finding whose workflow never reached RESOLVED (that call failed), unless
            // this run imports it failing again, which reopens it.
            if !old.failed && old.workflow_open && !reopened.contains(&old.id) {
                export.resolve.push(old.id.clone());
            }
            continue;
        }
        if old.failed {
            export.imports.push(AsffFinding {
                id: old.id.clone(),
                generator_id: old.rule.clone(),
                title: old.title.clone(),
                description: format!("{}: passes {} (resolved)", old.resource, old.rule),
                severity_label: old.severity_label.clone(),
                compliance: Compliance::Passed,
                resource_id: old.resource.clone(),
                resource_type: resource_kind::of(&old.resource).asff,
                created_at: old.created_at.clone(),
                updated_at: stamp.clone(),
                function: report.function.clone(),
            });
        }
        if old.failed || old.workflow_open {
            export.resolve.push(old.id.clone());
        }
    }
    export
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
        description: if finding.message.is_empty() {
            finding.rule.clone()
        } else {
            truncated(&finding.message, MAX_DESCRIPTION)
        },
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

    fn started() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    fn report(trigger: &str) -> Report {
        let mut report = Report::new("encryption-enforcer", false, started());
        report.trigger = trigger.to_owned();
        report.target = Some("123456789012/eu-west-1".into());
        report
    }

    fn existing(report: &Report, resource: &str, rule: &str, failed: bool) -> Existing {
        let finding = Finding::new(resource, rule, Severity::High, "x");
        Existing {
            id: finding_uid(report, &finding),
            created_at: "2026-11-01T08:00:00.000Z".into(),
            updated_at: "2026-12-01T08:00:00.000Z".into(),
            failed,
            workflow_open: failed,
            rule: rule.into(),
            resource: resource.into(),
            title: format!("{rule}: {resource}"),
            severity_label: "HIGH".into(),
        }
    }

    #[test]
    fn a_report_with_few_ids_reads_only_those_and_a_large_one_reads_all() {
        let mut small = report("api-call CreateBucket");
        small.finding(BUCKET, "s3-tls", Severity::High, "no TLS-only policy");
        small.finding(BUCKET, "s3-tls", Severity::High, "again: one id");
        pass(&mut small, BUCKET, "s3-versioning");
        let ids = lookup(&small).expect("few ids");
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.iter().all(|id| id.ends_with(BUCKET)));

        let mut large = report("schedule");
        for n in 0..MAX_FILTER_VALUES {
            pass(&mut large, &format!("arn:aws:s3:::b{n}"), "s3-tls");
        }
        assert_eq!(lookup(&large).map(|ids| ids.len()), Some(MAX_FILTER_VALUES));
        large.finding(OTHER, "s3-tls", Severity::High, "one more");
        assert_eq!(lookup(&large), None);
    }

    fn pass(report: &mut Report, resource: &str, rule: &str) {
        report.passes.push(crate::run::report::Pass {
            resource: resource.into(),
            rule: rule.into(),
        });
    }

    fn passed(export: &Export) -> Vec<&str> {
        export
            .imports
            .iter()
            .filter(|f| f.compliance == Compliance::Passed)
            .map(|f| f.resource_id.as_str())
            .collect()
    }

    #[test]
    fn a_failure_is_imported_stamped_when_observed_and_keeps_its_first_creation_time() {
        let mut sweep = report("schedule");
        sweep.finding(BUCKET, "s3-tls", Severity::High, "no TLS-only policy");
        let first = plan(&sweep, &[]);
        assert_eq!(first.imports.len(), 1);
        let finding = &first.imports[0];
        assert_eq!(finding.compliance, Compliance::Failed);
        assert_eq!(finding.severity_label, "HIGH");
        assert_eq!(finding.resource_type, "AwsS3Bucket");
        assert_eq!(finding.generator_id, "s3-tls");
        assert_eq!(finding.created_at, "2026-12-02T09:00:00.000Z");
        assert_eq!(finding.updated_at, "2026-12-02T09:00:00.000Z");

        let again = plan(&sweep, &[existing(&sweep, BUCKET, "s3-tls", true)]);
        assert_eq!(again.imports.len(), 1);
        assert_eq!(again.imports[0].id, finding.id);
        assert_eq!(again.imports[0].created_at, "2026-11-01T08:00:00.000Z");
        assert!(again.resolve.is_empty());
    }

    #[test]
    fn only_a_rule_seen_passing_is_resolved_not_what_the_run_did_not_look_at() {
        let mut sweep = report("schedule");
        sweep.finding(BUCKET, "s3-tls", Severity::High, "still no policy");
        pass(&mut sweep, OTHER, "s3-tls");
        let old = [
            existing(&sweep, BUCKET, "s3-tls", true),
            existing(&sweep, OTHER, "s3-tls", true),
            // Not evaluated by this run (a job outside the lookback, say): stays failed.
            existing(&sweep, OTHER, "s3-kms", true),
        ];
        let export = plan(&sweep, &old);
        assert_eq!(passed(&export), [OTHER], "{export:#?}");
        assert_eq!(export.resolve, [old[1].id.clone()]);
        let resolution = export.imports.iter().find(|f| f.id == old[1].id).unwrap();
        assert_eq!(resolution.created_at, old[1].created_at);
    }

    #[test]
    fn exempt_and_excepted_resources_resolve_and_create_nothing() {
        let mut event = report("api-call PutBucketPolicy");
        event.finding(OTHER, "s3-tls", Severity::Info, "exempt: owner decision");
        event.finding(
            BUCKET,
            "s3-tls",
            Severity::Low,
            "the owner's exception is kept",
        );
        pass(&mut event, BUCKET, "s3-tls");
        let old = [existing(&event, OTHER, "s3-tls", true)];
        let export = plan(&event, &old);
        assert_eq!(passed(&export), [OTHER], "{export:#?}");
        assert_eq!(
            export.imports.len(),
            1,
            "an excepted finding is not a failure"
        );
    }

    #[test]
    fn a_newer_observation_in_security_hub_is_neither_overwritten_nor_resolved() {
        let mut sweep = report("schedule");
        sweep.finding(BUCKET, "s3-tls", Severity::High, "no policy");
        pass(&mut sweep, OTHER, "s3-tls");
        let mut newer = [
            existing(&sweep, BUCKET, "s3-tls", false),
            existing(&sweep, OTHER, "s3-tls", true),
        ];
        for finding in &mut newer {
            finding.updated_at = "2026-12-02T09:00:05.000Z".into();
        }
        let export = plan(&sweep, &newer);
        assert!(export.imports.is_empty(), "{export:#?}");
        assert!(export.resolve.is_empty());
    }

    #[test]
    fn a_passed_finding_whose_workflow_is_still_open_is_resolved_again() {
        let sweep = report("schedule");
        let mut half = existing(&sweep, OTHER, "s3-tls", false);
        half.workflow_open = true;
        let export = plan(&sweep, &[half.clone()]);
        assert!(export.imports.is_empty());
        assert_eq!(export.resolve, [half.id.clone()]);

        // Failing again: imported FAILED (which reopens it), and its workflow left alone.
        let mut again = report("schedule");
        again.finding(OTHER, "s3-tls", Severity::High, "no TLS-only policy again");
        let export = plan(&again, &[half.clone()]);
        assert_eq!(export.imports.len(), 1);
        assert_eq!(export.imports[0].compliance, Compliance::Failed);
        assert_eq!(export.imports[0].id, half.id);
        assert!(export.resolve.is_empty(), "{export:#?}");

        // Failing in a run older than Security Hub's PASSED observation: that newer
        // observation stands, and its resolution is still retried.
        let mut newer = half.clone();
        newer.updated_at = "2026-12-02T09:00:05.000Z".into();
        let export = plan(&again, &[newer.clone()]);
        assert!(export.imports.is_empty(), "{export:#?}");
        assert_eq!(export.resolve, [newer.id]);
    }

    #[test]
    fn a_finding_reported_twice_is_imported_once_with_a_bounded_description() {
        let mut sweep = report("schedule");
        let long = "é".repeat(600);
        sweep.finding(BUCKET, "s3-tls", Severity::High, &long);
        sweep.finding(BUCKET, "s3-tls", Severity::High, "again");
        sweep.finding(OTHER, "s3-tls", Severity::High, "");
        let export = plan(&sweep, &[]);
        assert_eq!(export.imports.len(), 2);
        assert!(export.imports[0].description.len() <= MAX_DESCRIPTION);
        assert!(export.imports[0].description.ends_with("..."));
        assert_eq!(export.imports[1].description, "s3-tls");
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
