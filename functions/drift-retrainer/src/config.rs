//! The retrainer's settings (see the README's configuration table).

use std::collections::BTreeMap;

use chrono::Duration;
use sagekeeper_core::run::function::Settings;
use sagekeeper_core::s3::objects::S3Uri;
use sagekeeper_core::{Arn, CommonConfig, ConfigError, Env};

use crate::clone::{CloneSettings, MAX_SECONDS};
use crate::plan::RetrainPolicy;
use crate::target::RetrainTarget;
use crate::trust::TrustedAlarms;

pub const NAME: &str = "drift-retrainer";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// The SageMaker execution role retraining jobs may run as; the only role this function
    /// may pass (template.yaml grants iam:PassRole for it alone).
    pub retrain_role_arn: Option<Arn>,
    /// No retrain of a target within this long after its last one started.
    pub cooldown: Duration,
    /// At most this many retrains of one target start per UTC day.
    pub daily_cap: u32,
    /// Endpoint name → what to retrain, overriding alarm and endpoint tags.
    pub targets: BTreeMap<String, RetrainTarget>,
    /// Prefix for the checkpoints of cloned jobs; by default the job's output path.
    pub checkpoint_s3_uri: Option<S3Uri>,
    /// MaxWaitTimeInSeconds of cloned spot jobs; by default twice the runtime, at least 1 h.
    pub max_wait_seconds: Option<i32>,
    /// How many violated features the notification and the pipeline parameters name.
    pub violations_top_n: usize,
    /// Alarms that may start a retrain whatever they watch; others must watch Model Monitor
    /// or Clarify metrics.
    pub trusted_alarms: TrustedAlarms,
    /// Where the per-target retrain locks live (`leases/retrain/...`). Optional so that dry
    /// runs and shells can decide without one; a start without it is refused (see plan::unlocked).
    pub state_bucket: Option<String>,
}

const ALARMS_FORM: &str = "comma-separated CloudWatch alarm names or alarm ARNs like \
     arn:aws:cloudwatch:us-east-1:123456789012:alarm:my-alarm";

const TARGETS_FORM: &str = "a JSON object of endpoint name to {\"pipeline\": \"<pipeline name>\"} \
     or {\"training_job\": \"<training job name>\"}";

impl Settings for Config {
    fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_env(env, dry_run_flag)?.without_security_hub_export(NAME)?,
            retrain_role_arn: env.optional_arn(
                "RETRAIN_ROLE_ARN",
                "an IAM role ARN like arn:aws:iam::123456789012:role/SageMakerExecutionRole",
                |arn| {
                    arn.service == "iam"
                        && arn.resource_type() == Some("role")
                        && !arn.account.is_empty()
                },
            )?,
            // Up to 30 days: the history a run reads (plan::HISTORY) covers that much.
            cooldown: Duration::hours(env.number_or("RETRAIN_COOLDOWN_HOURS", 24i64, 0..=720)?),
            daily_cap: env.number_or("RETRAIN_DAILY_CAP", 3u32, 1..=100)?,
            targets: targets(env)?,
            checkpoint_s3_uri: checkpoint_s3_uri(env)?,
            max_wait_seconds: env
                .get("MAX_WAIT_SECONDS")
                .map(|_| env.number_or("MAX_WAIT_SECONDS", 0i32, 60..=MAX_SECONDS))
                .transpose()?,
            violations_top_n: env.number_or("VIOLATIONS_TOP_N", 5usize, 1..=50)?,
            trusted_alarms: trusted_alarms(env)?,
            state_bucket: env.optional_bucket("STATE_BUCKET")?.map(str::to_owned),
        })
    }

    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

impl Config {
    /// The settings the decision uses.
    pub fn policy(&self) -> RetrainPolicy {
        RetrainPolicy {
            cooldown: self.cooldown,
            daily_cap: self.daily_cap,
            clone: CloneSettings {
                role: self.retrain_role_arn.as_ref().map(ToString::to_string),
                checkpoint_prefix: self.checkpoint_s3_uri.clone(),
                max_wait_seconds: self.max_wait_seconds,
            },
            trusted_alarms: self.trusted_alarms.clone(),
        }
    }
}

fn targets(env: &Env) -> Result<BTreeMap<String, RetrainTarget>, ConfigError> {
    let targets: BTreeMap<String, RetrainTarget> =
        env.json_or_default("RETRAIN_TARGETS", TARGETS_FORM)?;
    let bad = targets.iter().find_map(|(endpoint, target)| {
        if endpoint.trim().is_empty() {
            Some("an endpoint name is empty".to_owned())
        } else {
            target
                .validate()
                .err()
                .map(|e| format!("endpoint {endpoint:?}: {e}"))
        }
    });
    match bad {
        Some(reason) => Err(ConfigError::invalid(
            "RETRAIN_TARGETS",
            env.get("RETRAIN_TARGETS").unwrap_or_default(),
            format!("{TARGETS_FORM} ({reason})"),
        )),
        None => Ok(targets),
    }
}

/// Alarm names (1-255 characters, no commas) or CloudWatch alarm ARNs.
fn trusted_alarms(env: &Env) -> Result<TrustedAlarms, ConfigError> {
    let Some(raw) = env.get("RETRAIN_ALARMS") else {
        return Ok(TrustedAlarms::default());
    };
    let entries: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |entry: &String| {
        if entry.starts_with("arn:") {
            Arn::parse(entry).is_ok_and(|arn| {
                arn.service == "cloudwatch"
                    && arn.resource_type() == Some("alarm")
                    && arn.is_regional_resource()
            })
        } else {
            entry.chars().count() <= 255
        }
    };
    if entries.iter().all(valid) {
        Ok(TrustedAlarms::new(entries))
    } else {
        Err(ConfigError::invalid("RETRAIN_ALARMS", raw, ALARMS_FORM))
    }
}

fn checkpoint_s3_uri(env: &Env) -> Result<Option<S3Uri>, ConfigError> {
    env.get("CHECKPOINT_S3_URI")
        .map(|raw| {
            S3Uri::parse(raw).map_err(|_| {
                ConfigError::invalid(
                    "CHECKPOINT_S3_URI",
                    raw,
                    "an S3 prefix like s3://ml-checkpoints/retrain/",
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn security_hub_export_is_refused_at_start() {
        assert!(matches!(
            Config::from_env(&env(&[("SECURITY_HUB_EXPORT", "true")]), false),
            Err(ConfigError::Invalid {
                var: "SECURITY_HUB_EXPORT",
                ..
            })
        ));
        assert!(Config::from_env(&env(&[("SECURITY_HUB_EXPORT", "false")]), false).is_ok());
    }

    #[test]
    fn retrain_role_must_be_an_iam_role() {
        let ok = env(&[(
            "RETRAIN_ROLE_ARN",
            "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        )]);
        assert_eq!(
            Config::from_env(&ok, false)
                .unwrap()
                .retrain_role_arn
                .unwrap()
                .resource_name(),
            "SageMakerExecutionRole"
        );
        for bad in [
            "arn:aws:iam::123456789012:user/alice",
            "SageMakerExecutionRole",
        ] {
            let err = Config::from_env(&env(&[("RETRAIN_ROLE_ARN", bad)]), false).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        var: "RETRAIN_ROLE_ARN",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        assert_eq!(
            Config::from_env(&Env::default(), false)
                .unwrap()
                .retrain_role_arn,
            None
        );
    }

    #[test]
    fn defaults() {
        let config = Config::from_env(&env(&[]), false).unwrap();
        assert_eq!(config.cooldown, Duration::hours(24));
        assert_eq!(config.daily_cap, 3);
        assert!(config.targets.is_empty());
        assert_eq!(config.checkpoint_s3_uri, None);
        assert_eq!(config.max_wait_seconds, None);
        assert_eq!(config.violations_top_n, 5);
        assert_eq!(config.trusted_alarms, TrustedAlarms::default());
        assert_eq!(config.state_bucket, None);
    }

    #[test]
    fn reads_every_setting() {
        let config = Config::from_env(
            &env(&[
                ("RETRAIN_COOLDOWN_HOURS", "0"),
                ("RETRAIN_DAILY_CAP", "10"),
                (
                    "RETRAIN_TARGETS",
                    r#"{"fraud-detector-dev": {"pipeline": "fraud-retrain"},
                        "churn": {"training_job": "churn-xgb-2026-11-20"}}"#,
                ),
                ("CHECKPOINT_S3_URI", "s3://ml-checkpoints/retrain/"),
                ("MAX_WAIT_SECONDS", "7200"),
                ("VIOLATIONS_TOP_N", "3"),
                (
                    "RETRAIN_ALARMS",
                    "latency-alarm, arn:aws:cloudwatch:us-east-1:123456789012:alarm:other",
                ),
                ("STATE_BUCKET", "sagekeeper-state"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(config.cooldown, Duration::zero());
        assert_eq!(config.daily_cap, 10);
        assert_eq!(
            config.targets["fraud-detector-dev"],
            RetrainTarget::Pipeline("fraud-retrain".into())
        );
        assert_eq!(
            config.targets["churn"],
            RetrainTarget::TrainingJob("churn-xgb-2026-11-20".into())
        );
        assert_eq!(
            config.checkpoint_s3_uri.unwrap().to_string(),
            "s3://ml-checkpoints/retrain/"
        );
        assert_eq!(config.max_wait_seconds, Some(7200));
        assert_eq!(config.violations_top_n, 3);
        assert_eq!(
            config.trusted_alarms,
            TrustedAlarms::new([
                "latency-alarm".to_owned(),
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:other".to_owned()
            ])
        );
        assert_eq!(config.state_bucket.as_deref(), Some("sagekeeper-state"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("RETRAIN_COOLDOWN_HOURS", "-1"),
            ("RETRAIN_COOLDOWN_HOURS", "721"),
            ("RETRAIN_DAILY_CAP", "0"),
            ("RETRAIN_TARGETS", "[1]"),
            ("RETRAIN_TARGETS", r#"{"e": {"notebook": "x"}}"#),
            ("RETRAIN_TARGETS", r#"{"e": {"pipeline": "bad name"}}"#),
            (
                "RETRAIN_TARGETS",
                r#"{"e": {"pipeline": "a", "training_job": "b"}}"#,
            ),
            ("CHECKPOINT_S3_URI", "/tmp/checkpoints"),
            ("MAX_WAIT_SECONDS", "10"),
            ("VIOLATIONS_TOP_N", "0"),
            ("RETRAIN_ALARMS", "arn:aws:sns:us-east-1:123456789012:topic"),
            ("STATE_BUCKET", "Not_A_Bucket"),
        ] {
            let err = Config::from_env(&env(&[(var, value)]), false).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { var: v, .. } if *v == var),
                "{var}={value}: {err}"
            );
        }
    }
}
