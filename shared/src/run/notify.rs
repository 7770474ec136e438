//! One SNS message per run: a readable text with the report attached as JSON. Composing the
//! message is pure; publishing is one call.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::{AwsError, AwsResultExt};
use crate::run::report::{Outcome, Report, Severity};

/// SNS accepts 256 KiB including attributes; stay clear of it.
pub const MAX_MESSAGE_BYTES: usize = 240 * 1024;
const MAX_SUBJECT_CHARS: usize = 100;
const JSON_MARKER: &str = "\n--- report (JSON) ---\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub message: String,
    pub attributes: BTreeMap<&'static str, String>,
}

/// Worth telling people: anything done or planned, anything failed, any finding above info.
pub fn worth_sending(report: &Report) -> bool {
    report.failed()
        || report.findings.iter().any(|f| f.severity > Severity::Info)
        || report
            .actions
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Done | Outcome::Planned))
}

/// The message for a run, or `None` when there is nothing to say.
pub fn compose(report: &Report, max_bytes: usize) -> Option<Notification> {
    if !worth_sending(report) {
        return None;
    }
    let summary = report.summary();
    let dry = if report.dry_run { "[DRY RUN] " } else { "" };
    let place = report
        .target
        .as_ref()
        .map(|t| format!(" in {t}"))
        .unwrap_or_default();
    let mut subject = format!(
        "{dry}sagekeeper {}{place}: {} findings, {} actions {}{}",
        report.function,
        summary.findings,
        summary.actions_done + summary.actions_planned,
        if report.dry_run { "planned" } else { "done" },
        if report.failed() { ", FAILED" } else { "" },
    );
    truncate_chars(&mut subject, MAX_SUBJECT_CHARS);

    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    // The text gets what the full JSON leaves; if even the JSON does not fit, attach the summary.
    let (attachment, text_budget) = if json.len() + JSON_MARKER.len() + 4096 <= max_bytes {
        (json.clone(), max_bytes - json.len() - JSON_MARKER.len())
    } else {
        let summary_json = serde_json::json!({
            "function": report.function, "dry_run": report.dry_run,
            "started_at": report.started_at, "trigger": report.trigger, "target": report.target, "headline": report.headline,
            "summary": summary, "metrics": report.metrics,
            "truncated": "the full report is in the function's logs and response",
        });
        let small = serde_json::to_string_pretty(&summary_json).unwrap_or_default();
        let budget = max_bytes.saturating_sub(small.len() + JSON_MARKER.len());
        (small, budget)
    };
    let mut message = text(report, text_budget);
    message.push_str(JSON_MARKER);
    message.push_str(&attachment);

    let attributes = BTreeMap::from([
        ("function", report.function.clone()),
        ("severity", report.max_severity().to_string()),
        ("dry_run", report.dry_run.to_string()),
    ]);
    let mut attributes = attributes;
    if let Some(target) = &report.target {
        attributes.insert("target", target.clone());
    }
    Some(Notification {
        subject,
        message,
        attributes,
    })
}

/// The readable part, cut at whole lines with a count of what was left out.
fn text(report: &Report, budget: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "sagekeeper {} run started {}{}",
        report.function,
        report.started_at.to_rfc3339(),
        if report.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    let _ = writeln!(head, "Trigger: {}", report.trigger);
    if let Some(target) = &report.target {
        let _ = writeln!(head, "Account/region: {target}");
    }
    if let Some(headline) = &report.headline {
        let _ = writeln!(head, "\n{headline}");
    }

    let mut lines = Vec::new();
    if !report.errors.is_empty() {
        lines.push(format!("\nErrors ({}):", report.errors.len()));
        lines.extend(report.errors.iter().map(|e| {
            let on = e
                .resource
                .as_deref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default();
            format!("  {}{on}: {}", e.kind, e.message)
        }));
    }
    if !report.actions.is_empty() {
        lines.push(format!("\nActions ({}):", report.actions.len()));
        lines.extend(report.actions.iter().map(|a| {
            let outcome = format!("{:?}", a.outcome).to_uppercase();
            let detail = a
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!("  {outcome:<8} {} {}{detail}", a.action, a.resource)
        }));
    }
    if !report.findings.is_empty() {
        let mut findings: Vec<_> = report.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        lines.push(format!("\nFindings ({}):", findings.len()));
        lines.extend(findings.iter().map(|f| {
            let severity = f.severity.to_string().to_uppercase();
            format!("  {severity:<8} {} {}: {}", f.resource, f.rule, f.message)
        }));
    }

    let mut out = head;
    let total = lines.len();
    for (shown, line) in lines.into_iter().enumerate() {
        let notice = format!(
            "\n... {} more lines not shown (see the JSON report)\n",
            total - shown
        );
        if out.len() + line.len() + 1 + notice.len() > budget {
            out.push_str(&notice);
            return out;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((cut, _)) = s.char_indices().nth(max) {
        s.truncate(cut);
    }
}

/// Publishes to the configured topic.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Notifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Notifier { client, topic_arn }
    }

    /// Returns the message id.
    pub async fn publish(&self, notification: &Notification) -> Result<String, AwsError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message(&notification.message);
        for (name, value) in &notification.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AwsError {
                    operation: "Publish",
                    code: "InvalidAttribute".to_owned(),
                    message: e.to_string(),
                    retryable: false,
                })?;
            request = request.message_attributes(*name, attribute);
        }
        let output = request.send().await.aws("Publish")?;
        Ok(output.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn report() -> Report {
        Report::new(
            "encryption-enforcer",
            false,
            Utc.with_ymd_and_hms(2026, 11, 20, 18, 5, 0).unwrap(),
        )
    }

    #[test]
    fn nothing_to_say_sends_nothing() {
        let mut r = report();
        assert_eq!(compose(&r, MAX_MESSAGE_BYTES), None);
        r.finding("arn:x", "inventory", Severity::Info, "seen");
        r.skipped("arn:y", "park", "not opted in");
        assert_eq!(compose(&r, MAX_MESSAGE_BYTES), None);
    }

    #[test]
    fn message_has_text_json_and_attributes() {
        let mut r = report();
        r.trigger = "schedule".into();
        r.finding(
            "arn:aws:s3:::b1",
            "s3-default-encryption-kms",
            Severity::High,
            "no SSE-KMS",
        );
        r.action(
            "arn:aws:s3:::b1",
            "put-bucket-encryption",
            Outcome::Done,
            None,
        );
        let n = compose(&r, MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(
            n.subject,
            "sagekeeper encryption-enforcer: 1 findings, 1 actions done"
        );
        assert!(
            n.message
                .contains("HIGH     arn:aws:s3:::b1 s3-default-encryption-kms: no SSE-KMS")
        );
        assert!(
            n.message
                .contains("DONE     put-bucket-encryption arn:aws:s3:::b1")
        );
        let json = n.message.split(JSON_MARKER).nth(1).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(parsed["summary"]["findings"], 1);
        assert_eq!(n.attributes["severity"], "high");
        assert_eq!(n.attributes["function"], "encryption-enforcer");
    }

    #[test]
    fn large_reports_are_cut_with_a_count_and_stay_under_the_limit() {
        let mut r = report();
        r.dry_run = true;
        for i in 0..5000 {
            r.finding(
                format!("arn:aws:s3:::bucket-{i}"),
                "s3-tls-only",
                Severity::Medium,
                "x".repeat(80),
            );
        }
        let limit = 64 * 1024;
        let n = compose(&r, limit).unwrap();
        assert!(n.message.len() <= limit, "{}", n.message.len());
        assert!(n.message.contains("more lines not shown"));
        assert!(n.subject.starts_with("[DRY RUN] "));
        let json = n.message.split(JSON_MARKER).nth(1).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(parsed["summary"]["findings"], 5000);
        assert!(parsed["truncated"].is_string());
    }

    #[test]
    fn subject_is_at_most_100_chars() {
        let mut r = report();
        r.function = "f".repeat(200);
        r.action("a", "b", Outcome::Done, None);
        assert_eq!(
            compose(&r, MAX_MESSAGE_BYTES)
                .unwrap()
                .subject
                .chars()
                .count(),
            100
        );
    }
}
