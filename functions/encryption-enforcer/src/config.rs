//! The enforcer's settings (see the README's configuration table).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use sagekeeper_core::run::function::Settings;
use sagekeeper_core::{Arn, CommonConfig, ConfigError, Env};

use crate::model::TagMatch;
use crate::rules::{self, Mode};

pub const DEFAULT_SENSITIVE_TAG: &str = "DataClassification=Confidential|Restricted";
/// A day between sweeps, and two hours for a late or retried one.
pub const DEFAULT_SWEEP_LOOKBACK_HOURS: i64 = 26;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// Every rule's mode: its default unless `RULE_MODES` says otherwise.
    pub modes: BTreeMap<&'static str, Mode>,
    /// Stop a running training, processing or transform job that breaks a rule in remediate
    /// mode. Off by default: stopping loses the job's progress.
    pub stop_noncompliant_jobs: bool,
    /// Stop an in-service notebook instance that breaks a rule in remediate mode. Its volume,
    /// and the data on it, is kept.
    pub stop_noncompliant_notebooks: bool,
    /// Only buckets whose name starts with this are enforced.
    pub bucket_prefix: Option<String>,
    /// Only buckets with this tag are enforced.
    pub bucket_tag: Option<TagMatch>,
    /// Jobs with this tag handle sensitive data.
    pub sensitive_tag: TagMatch,
    /// ARNs exempt from every rule, lower-cased (ARNs are compared without regard to case).
    pub exempt_resources: BTreeSet<String>,
    /// How far back the sweep looks for jobs and endpoint configs that are no longer running:
    /// what was created (and perhaps finished) since the previous sweep.
    pub sweep_lookback: Duration,
}

impl Settings for Config {
    fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_env(env, dry_run_flag)?,
            modes: modes(env)?,
            stop_noncompliant_jobs: env.bool_or("STOP_NONCOMPLIANT_JOBS", false)?,
            stop_noncompliant_notebooks: env.bool_or("STOP_NONCOMPLIANT_NOTEBOOKS", false)?,
            bucket_prefix: env.get("BUCKET_PREFIX").map(str::to_owned),
            bucket_tag: env
                .get("BUCKET_TAG")
                .map(|raw| tag_match("BUCKET_TAG", raw))
                .transpose()?,
            sensitive_tag: tag_match(
                "SENSITIVE_TAG",
                env.get("SENSITIVE_TAG").unwrap_or(DEFAULT_SENSITIVE_TAG),
            )?,
            exempt_resources: exempt_resources(env)?,
            sweep_lookback: Duration::hours(env.number_or(
                "SWEEP_LOOKBACK_HOURS",
                DEFAULT_SWEEP_LOOKBACK_HOURS,
                1..=720,
            )?),
        })
    }

    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

impl Config {
    pub fn mode(&self, rule_id: &str) -> Mode {
        self.modes.get(rule_id).copied().unwrap_or(Mode::Report)
    }
}

fn modes(env: &Env) -> Result<BTreeMap<&'static str, Mode>, ConfigError> {
    let mut modes: BTreeMap<&'static str, Mode> =
        rules::all().map(|r| (r.id, r.default_mode)).collect();
    let overrides: BTreeMap<String, String> = env.json_or_default(
        "RULE_MODES",
        "a JSON object of rule id to \"report\" or \"remediate\", like {\"s3-public-access-block\": \"report\"}",
    )?;
    let raw = env.get("RULE_MODES").unwrap_or_default();
    for (id, mode) in overrides {
        let rule = rules::find(&id).ok_or_else(|| {
            let known: Vec<&str> = rules::all().map(|r| r.id).collect();
            ConfigError::invalid(
                "RULE_MODES",
                raw,
                format!("rule ids among {} (unknown: {id})", known.join(", ")),
            )
        })?;
        let mode = Mode::parse(&mode).ok_or_else(|| {
            ConfigError::invalid(
                "RULE_MODES",
                raw,
                format!("\"report\" or \"remediate\" for {id} (got {mode:?})"),
            )
        })?;
        if mode == Mode::Remediate && rules::report_only(rule) {
            return Err(ConfigError::invalid(
                "RULE_MODES",
                raw,
                format!(
                    "\"report\" for {id}: Studio domain rules are report only (sagekeeper does not change domains)"
                ),
            ));
        }
        modes.insert(rule.id, mode);
    }
    Ok(modes)
}

fn tag_match(var: &'static str, raw: &str) -> Result<TagMatch, ConfigError> {
    TagMatch::parse(raw).ok_or_else(|| {
        ConfigError::invalid(
            var,
            raw,
            "a tag key, or Key=Value1|Value2 (like DataClassification=Confidential|Restricted)",
        )
    })
}

fn exempt_resources(env: &Env) -> Result<BTreeSet<String>, ConfigError> {
    let Some(raw) = env.get("EXEMPT_RESOURCES") else {
        return Ok(BTreeSet::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
        .map(|arn| match Arn::parse(arn) {
            Ok(_) => Ok(arn.to_ascii_lowercase()),
            Err(_) => Err(ConfigError::invalid(
                "EXEMPT_RESOURCES",
                raw,
                format!(
                    "comma-separated ARNs like arn:aws:s3:::public-datasets ({arn:?} is not an ARN)"
                ),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{kms, s3, sagemaker, studio};

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn var_of(err: ConfigError) -> &'static str {
        match err {
            ConfigError::Invalid { var, .. } | ConfigError::Missing { var, .. } => var,
        }
    }

    #[test]
    fn defaults() {
        let config = Config::from_env(&env(&[]), false).unwrap();
        assert_eq!(config.mode(s3::DEFAULT_ENCRYPTION), Mode::Remediate);
        assert_eq!(config.mode(kms::ROTATION), Mode::Remediate);
        assert_eq!(config.mode(sagemaker::JOB_VOLUME_KMS), Mode::Report);
        assert!(!config.stop_noncompliant_jobs);
        assert!(!config.stop_noncompliant_notebooks);
        assert_eq!(config.bucket_prefix, None);
        assert_eq!(config.bucket_tag, None);
        assert_eq!(config.sensitive_tag.to_string(), DEFAULT_SENSITIVE_TAG);
        assert!(config.exempt_resources.is_empty());
        assert_eq!(config.sweep_lookback, Duration::hours(26));
    }

    #[test]
    fn rule_modes_override_the_defaults() {
        let config = Config::from_env(
            &env(&[(
                "RULE_MODES",
                r#"{"s3-public-access-block": "report", "sagemaker-notebook-no-root-access": "remediate"}"#,
            )]),
            false,
        )
        .unwrap();
        assert_eq!(config.mode(s3::PUBLIC_ACCESS_BLOCK), Mode::Report);
        assert_eq!(
            config.mode(sagemaker::NOTEBOOK_ROOT_ACCESS),
            Mode::Remediate
        );
        assert_eq!(config.mode(s3::DEFAULT_ENCRYPTION), Mode::Remediate);
    }

    #[test]
    fn unknown_rules_and_modes_are_errors_naming_the_variable() {
        let err = Config::from_env(
            &env(&[("RULE_MODES", r#"{"s3-encryption": "report"}"#)]),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown: s3-encryption"), "{err}");
        assert_eq!(var_of(err), "RULE_MODES");
        let err = Config::from_env(
            &env(&[("RULE_MODES", r#"{"s3-public-access-block": "fix"}"#)]),
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"fix\""), "{err}");
        assert_eq!(
            var_of(Config::from_env(&env(&[("RULE_MODES", "report")]), false).unwrap_err()),
            "RULE_MODES"
        );
    }

    #[test]
    fn studio_domain_rules_are_report_only_and_remediate_is_refused() {
        let config = Config::from_env(
            &env(&[("RULE_MODES", r#"{"sagemaker-domain-kms": "report"}"#)]),
            false,
        )
        .unwrap();
        assert_eq!(config.mode(studio::DOMAIN_KMS), Mode::Report);
        for rule in studio::DOMAIN_RULES {
            let modes = format!(r#"{{"{}": "remediate"}}"#, rule.info.id);
            let err = Config::from_env(&env(&[("RULE_MODES", &modes)]), false).unwrap_err();
            assert!(err.to_string().contains("report only"), "{err}");
            assert_eq!(var_of(err), "RULE_MODES");
        }
    }

    #[test]
    fn every_setting_checks_its_value() {
        for (var, bad) in [
            ("STOP_NONCOMPLIANT_JOBS", "yes"),
            ("STOP_NONCOMPLIANT_NOTEBOOKS", "1"),
            ("SENSITIVE_TAG", "=Confidential"),
            ("BUCKET_TAG", "=x"),
            ("EXEMPT_RESOURCES", "arn:aws:s3:::ok, not-an-arn"),
            ("SWEEP_LOOKBACK_HOURS", "0"),
            ("KMS_KEY_ARN", "alias/ml"),
        ] {
            let err = Config::from_env(&env(&[(var, bad)]), false).unwrap_err();
            assert_eq!(var_of(err), var, "{var}={bad}");
        }
    }

    #[test]
    fn scope_sensitivity_and_exemptions() {
        let config = Config::from_env(
            &env(&[
                ("BUCKET_PREFIX", "acme-ml-"),
                ("BUCKET_TAG", "Team"),
                ("SENSITIVE_TAG", "Sensitivity=High"),
                (
                    "EXEMPT_RESOURCES",
                    "arn:aws:s3:::Public-Datasets , arn:aws:kms:us-east-1:123456789012:key/k",
                ),
                ("STOP_NONCOMPLIANT_JOBS", "true"),
                ("SWEEP_LOOKBACK_HOURS", "48"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(config.bucket_prefix.as_deref(), Some("acme-ml-"));
        assert_eq!(config.bucket_tag, TagMatch::parse("Team"));
        assert_eq!(
            config.sensitive_tag,
            TagMatch::parse("Sensitivity=High").unwrap()
        );
        assert!(
            config
                .exempt_resources
                .contains("arn:aws:s3:::public-datasets")
        );
        assert_eq!(config.exempt_resources.len(), 2);
        assert!(config.stop_noncompliant_jobs);
        assert_eq!(config.sweep_lookback, Duration::hours(48));
    }
}
