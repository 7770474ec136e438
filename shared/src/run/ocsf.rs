//! Findings as OCSF Compliance Finding events (class 2003), the shape Security Lake and most
//! SIEMs ingest: one JSON object per finding, printed by `--format ocsf` and logged in Lambda.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::arn::Arn;
use crate::model::resource_kind;
use crate::run::report::{Finding, Pass, Report, Severity};

/// The OCSF schema version the events follow: the one Security Lake ingests. (From 1.3.0 a
/// Compliance Finding may list several `resources`; 1.1.0 has the one `resource` we need.)
pub const SCHEMA_VERSION: &str = "1.1.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
/// Every run reports what it sees now; a finding seen again is the same `finding_info.uid`.
const ACTIVITY_CREATE: u32 = 1;

/// Security Hub's limit on a finding's `Id`.
const MAX_UID: usize = 512;

/// A finding's id, the same on every run that sees it again: function, account/region, rule
/// and resource. Security Hub's finding `Id` is the same string. An id over 512 bytes keeps
/// its start and ends with a digest of the whole, so it stays unique and stable.
pub fn finding_uid(report: &Report, finding: &Finding) -> String {
    uid(report, &finding.rule, &finding.resource)
}

/// The id of the finding a failure of `pass`'s rule on its resource would have.
pub fn pass_uid(report: &Report, pass: &Pass) -> String {
    uid(report, &pass.rule, &pass.resource)
}

fn uid(report: &Report, rule: &str, resource: &str) -> String {
    let target = report.target.as_deref().unwrap_or("home");
    let full = format!("sagekeeper/{}/{target}/{rule}/{resource}", report.function);
    if full.len() <= MAX_UID {
        return full;
    }
    let digest: String = Sha256::digest(full.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut end = MAX_UID - digest.len() - 1;
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}#{digest}", &full[..end])
}

fn severity_id(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// A rule the run saw pass on the resource (compliant, exempt, an owner's exception) is Pass;
/// another informational finding (an observation) is Other; every other finding fails.
fn compliance_status(severity: Severity, passes: bool) -> (u32, &'static str) {
    match (passes, severity) {
        (true, _) => (1, "Pass"),
        (false, Severity::Info) => (99, "Informational"),
        (false, _) => (3, "Fail"),
    }
}

/// Where the finding is: the resource's own account and region when its ARN names them, else
/// the run's target (`account/region`); neither for a setting read at home (a bucket ARN
/// names no region either).
fn cloud(report: &Report, finding: &Finding) -> Value {
    let arn = Arn::parse(&finding.resource).ok();
    let from_target = report.target.as_deref().and_then(|t| t.split_once('/'));
    let account = arn
        .as_ref()
        .map(|a| a.account.as_str())
        .filter(|a| !a.is_empty())
        .or(from_target.map(|(account, _)| account));
    let region = arn
        .as_ref()
        .map(|a| a.region.as_str())
        .filter(|r| !r.is_empty())
        .or(from_target.map(|(_, region)| region));
    let mut cloud = json!({"provider": "AWS"});
    if let Some(region) = region {
        cloud["region"] = json!(region);
    }
    if let Some(account) = account {
        cloud["account"] = json!({"uid": account, "type": "AWS Account", "type_id": 10});
    }
    cloud
}

/// One finding as an OCSF Compliance Finding event.
fn compliance_finding(report: &Report, finding: &Finding, passes: bool) -> Value {
    let (severity_id, severity) = severity_id(finding.severity);
    let (status_id, status) = compliance_status(finding.severity, passes);
    let kind = resource_kind::of(&finding.resource);
    let cloud = cloud(report, finding);
    let mut resource = json!({"uid": finding.resource, "type": kind.type_name});
    if let Some(region) = cloud.get("region") {
        resource["region"] = region.clone();
    }
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Compliance Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": report.started_at.timestamp_millis(),
        "message": finding.message,
        "metadata": {
            "version": SCHEMA_VERSION,
            "profiles": ["cloud"],
            "product": {
                "name": "sagekeeper",
                "vendor_name": "sagekeeper",
                "version": env!("CARGO_PKG_VERSION"),
                "feature": {"name": report.function},
            },
        },
        "finding_info": {
            "uid": finding_uid(report, finding),
            "title": finding.rule,
            "desc": finding.message,
            "types": [report.function],
        },
        "compliance": {
            "control": finding.rule,
            "standards": ["sagekeeper"],
            "status_id": status_id,
            "status": status,
        },
        "resource": resource,
        "cloud": cloud,
        "unmapped": {
            "dry_run": report.dry_run,
            "trigger": report.trigger,
        },
    })
}

/// Every finding of the report, in report order, built one at a time as the caller takes
/// them: a sweep of a large account has tens of thousands of findings, and all their events
/// held at once took several times the memory of the rest of the run.
pub fn events(report: &Report) -> impl Iterator<Item = Value> + '_ {
    let passing: BTreeSet<(&str, &str)> = report
        .passes
        .iter()
        .map(|p| (p.resource.as_str(), p.rule.as_str()))
        .collect();
    report.findings.iter().map(move |finding| {
        let passes = passing.contains(&(finding.resource.as_str(), finding.rule.as_str()));
        compliance_finding(report, finding, passes)
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn first_event(report: &Report) -> Value {
        events(report).next().expect("the report has a finding")
    }

    fn report() -> Report {
        let started = Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap();
        let mut report = Report::new("encryption-enforcer", false, started);
        report.trigger = "schedule".into();
        report
    }

    #[test]
    fn a_bucket_finding_is_a_failed_compliance_check_on_an_s3_bucket() {
        let mut report = report();
        report.target = Some("123456789012/eu-west-1".into());
        report.finding(
            "arn:aws:s3:::ml-data",
            "s3-encryption",
            Severity::High,
            "not encrypted with KMS",
        );
        let event = &first_event(&report);
        assert_eq!(event["class_uid"], 2003);
        assert_eq!(event["type_uid"], 200301);
        assert_eq!(event["severity_id"], 4);
        assert_eq!(event["compliance"]["status_id"], 3);
        assert_eq!(event["compliance"]["control"], "s3-encryption");
        assert_eq!(event["resource"]["type"], "AWS::S3::Bucket");
        // A bucket ARN names no account or region: the run's target does.
        assert_eq!(event["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(event["cloud"]["region"], "eu-west-1");
        assert_eq!(event["time"], 1_796_198_400_000_i64);
        assert_eq!(
            event["finding_info"]["uid"],
            "sagekeeper/encryption-enforcer/123456789012/eu-west-1/s3-encryption/arn:aws:s3:::ml-data"
        );
    }

    #[test]
    fn a_resource_arn_places_the_finding_and_informational_findings_fail_nothing() {
        let mut report = report();
        report.finding(
            "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/nb",
            "sagemaker-notebook-root-access",
            Severity::Info,
            "exempt: owner decision",
        );
        let event = &first_event(&report);
        assert_eq!(event["cloud"]["region"], "eu-west-1");
        assert_eq!(event["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(event["severity_id"], 1);
        assert_eq!(event["compliance"]["status_id"], 99);
    }

    #[test]
    fn an_owners_exception_passes_and_an_overlong_uid_is_bounded_stable_and_unique() {
        let mut report = report();
        report.finding("arn:aws:s3:::b", "s3-tls", Severity::Low, "exception kept");
        report.passes.push(Pass {
            resource: "arn:aws:s3:::b".into(),
            rule: "s3-tls".into(),
        });
        assert_eq!(first_event(&report)["compliance"]["status_id"], 1);

        let long = |end: &str| format!("arn:aws:s3:::{}{end}", "x".repeat(600));
        let uid = |resource: &str| {
            finding_uid(&report, &Finding::new(resource, "r", Severity::High, "m"))
        };
        assert!(uid(&long("a")).len() <= MAX_UID);
        assert_eq!(uid(&long("a")), uid(&long("a")));
        assert_ne!(uid(&long("a")), uid(&long("b")));
    }

    #[test]
    fn the_same_finding_on_a_later_run_has_the_same_uid() {
        let mut first = report();
        first.finding(
            "arn:aws:s3:::b",
            "s3-tls-only",
            Severity::Medium,
            "no policy",
        );
        let mut later = Report::new("encryption-enforcer", true, Utc::now());
        later.finding(
            "arn:aws:s3:::b",
            "s3-tls-only",
            Severity::Medium,
            "still none",
        );
        assert_eq!(
            first_event(&first)["finding_info"]["uid"],
            first_event(&later)["finding_info"]["uid"]
        );
    }

    #[test]
    fn a_setting_that_is_not_an_arn_is_placed_nowhere_in_particular() {
        let mut report = report();
        report.finding(
            "KMS_KEY_ARN",
            "kms-key-not-in-target",
            Severity::Info,
            "why",
        );
        let event = &first_event(&report);
        assert!(event["cloud"].get("region").is_none());
        assert!(event["resource"].get("region").is_none());
        assert!(event["cloud"].get("account").is_none());
        assert_eq!(event["resource"]["type"], "Other");
    }
}
