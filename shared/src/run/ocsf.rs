//! Findings as OCSF Compliance Finding events (class 2003), the shape Security Lake and most
//! SIEMs ingest: one JSON object per finding, printed by `--format ocsf` and logged in Lambda.

use serde_json::{Value, json};

use crate::model::arn::Arn;
use crate::model::resource_kind;
use crate::run::report::{Finding, Report, Severity};

/// The OCSF schema version the events follow: the one Security Lake ingests. (From 1.3.0 a
/// Compliance Finding may list several `resources`; 1.1.0 has the one `resource` we need.)
pub const SCHEMA_VERSION: &str = "1.1.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
/// Every run reports what it sees now; a finding seen again is the same `finding_info.uid`.
const ACTIVITY_CREATE: u32 = 1;

/// A finding's id, the same on every run that sees it again: function, account/region, rule
/// and resource. Security Hub's finding `Id` is the same string.
pub fn finding_uid(report: &Report, finding: &Finding) -> String {
    let target = report.target.as_deref().unwrap_or("home");
    format!(
        "sagekeeper/{}/{target}/{}/{}",
        report.function, finding.rule, finding.resource
    )
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

/// An informational finding (a compliant or exempt resource, an observation) breaks no rule;
/// every other finding is a rule that fails.
fn compliance_status(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Info => (99, "Informational"),
        _ => (3, "Fail"),
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
pub fn compliance_finding(report: &Report, finding: &Finding) -> Value {
    let (severity_id, severity) = severity_id(finding.severity);
    let (status_id, status) = compliance_status(finding.severity);
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

/// Every finding of the report, in report order.
pub fn events(report: &Report) -> Vec<Value> {
    report
        .findings
        .iter()
        .map(|finding| compliance_finding(report, finding))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

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
        let event = &events(&report)[0];
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
        let event = &events(&report)[0];
        assert_eq!(event["cloud"]["region"], "eu-west-1");
        assert_eq!(event["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(event["severity_id"], 1);
        assert_eq!(event["compliance"]["status_id"], 99);
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
            events(&first)[0]["finding_info"]["uid"],
            events(&later)[0]["finding_info"]["uid"]
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
        let event = &events(&report)[0];
        assert!(event["cloud"].get("region").is_none());
        assert!(event["resource"].get("region").is_none());
        assert!(event["cloud"].get("account").is_none());
        assert_eq!(event["resource"]["type"], "Other");
    }
}
