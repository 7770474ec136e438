//! The controls the enforcer checks. Each rule has a stable id (used in configuration, tags,
//! findings and metrics), a title, a severity, the control it implements, and a pure check of
//! one described resource.

pub mod kms;
pub mod s3;
pub mod sagemaker;
pub mod studio;

use std::collections::BTreeSet;

use sagekeeper_core::Severity;

use crate::exemptions;
use crate::model::{Evaluable, KeyIndex, TagMatch};

/// What happens when a rule finds a resource non-compliant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A finding only.
    Report,
    /// A finding and the rule's remediation.
    Remediate,
}

impl Mode {
    pub fn parse(raw: &str) -> Option<Mode> {
        match raw {
            "report" => Some(Mode::Report),
            "remediate" => Some(Mode::Remediate),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The security control the rule implements, for people reading a finding.
    pub control: &'static str,
    pub default_mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    Compliant,
    NonCompliant(String),
    NotApplicable(String),
    /// Non-compliant, but the resource is exempt from the rule: why, and what is wrong.
    Exempt(String),
    /// Compliant with an exception its owner wrote into the control (e.g. a principal left out
    /// of the TLS-only deny): kept as it is, and reported at low severity so it stays visible.
    Excepted(String),
}

/// A rule over one kind of resource.
pub struct Rule<T> {
    pub info: RuleInfo,
    pub check: fn(&T, &Context) -> Evaluation,
}

/// What rules may consult besides the resource itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The key S3 default encryption must use, when one is required (`KMS_KEY_ARN`).
    pub required_kms_key: Option<&'a str>,
    pub keys: &'a KeyIndex,
    /// Which jobs handle sensitive data (`SENSITIVE_TAG`).
    pub sensitive_tag: &'a TagMatch,
}

/// Every rule, in the order findings are reported.
pub fn all() -> impl Iterator<Item = &'static RuleInfo> {
    s3::RULES
        .iter()
        .map(|r| &r.info)
        .chain(sagemaker::JOB_RULES.iter().map(|r| &r.info))
        .chain(sagemaker::ENDPOINT_CONFIG_RULES.iter().map(|r| &r.info))
        .chain(sagemaker::NOTEBOOK_RULES.iter().map(|r| &r.info))
        .chain(studio::DOMAIN_RULES.iter().map(|r| &r.info))
        .chain(kms::RULES.iter().map(|r| &r.info))
}

pub fn find(id: &str) -> Option<&'static RuleInfo> {
    all().find(|rule| rule.id == id)
}

/// Rules with no remediation: `remediate` is refused for them when the configuration is read.
/// Studio domains are only reported: their key cannot be changed after creation, and their
/// network, POSIX user and Docker settings change what every user's apps can reach.
pub fn report_only(rule: &RuleInfo) -> bool {
    studio::DOMAIN_RULES.iter().any(|r| r.info.id == rule.id)
}

/// Every rule in `rules` applied to `subject`; a non-compliant result becomes `Exempt` when the
/// resource is exempt from that rule (by tag or by `exempt_resources`).
pub fn evaluate<T: Evaluable>(
    subject: &T,
    rules: &'static [Rule<T>],
    context: &Context,
    exempt_resources: &BTreeSet<String>,
) -> Vec<(&'static RuleInfo, Evaluation)> {
    rules
        .iter()
        .map(|rule| {
            let evaluation = match (rule.check)(subject, context) {
                Evaluation::NonCompliant(problem) => {
                    match exemptions::exemption(rule.info.id, subject, exempt_resources) {
                        Some(why) => Evaluation::Exempt(format!("{why}; otherwise: {problem}")),
                        None => Evaluation::NonCompliant(problem),
                    }
                }
                other => other,
            };
            (&rule.info, evaluation)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_found_by_id() {
        let ids: Vec<&str> = all().map(|r| r.id).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{ids:?}");
        for id in ids {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id}"
            );
            assert_eq!(find(id).map(|r| r.id), Some(id));
        }
        assert_eq!(find("no-such-rule"), None);
    }

    #[test]
    fn s3_and_kms_remediate_by_default_sagemaker_reports() {
        for rule in all() {
            let expected = if rule.id.starts_with("s3-") || rule.id.starts_with("kms-") {
                Mode::Remediate
            } else {
                Mode::Report
            };
            assert_eq!(rule.default_mode, expected, "{}", rule.id);
        }
    }
}
