//! The tagger's settings (see the README's configuration table), parsed once at start-up so a
//! mistyped value stops the function with the variable's name instead of failing every run.

use std::collections::BTreeMap;

use sagekeeper_core::cloudwatch::log_groups::RETENTION_DAYS;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::function::Settings;
use sagekeeper_core::{CommonConfig, ConfigError, Env};

use crate::data_class::{DataClass, LifecycleDays};
use crate::idle::IdlePolicy;
use crate::training_cost::TrainingPolicy;

/// The function's name in reports, logs, metrics and snapshots.
pub const NAME: &str = "lifecycle-tagger";

pub const DEFAULT_REQUIRED_TAGS: &[&str] = &[
    "Environment",
    "Team",
    "Project",
    "CostCenter",
    "AutoShutdown",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// Tags every ML resource must carry, in the order they are reported.
    pub required_tags: Vec<String>,
    /// Values for required tags nothing else supplies (this account's defaults).
    pub default_tags: Tags,
    /// Bucket-name prefix → data class, for buckets without a `sagekeeper:data-class` tag;
    /// the longest matching prefix wins.
    pub data_class_prefixes: Vec<(String, DataClass)>,
    pub lifecycle_days: LifecycleDays,
    /// Given to `/aws/sagemaker/*` log groups that keep their events forever.
    pub log_retention_days: i32,
    /// An endpoint without invocations for this many days is idle.
    pub idle_days: u32,
    /// Delete idle endpoints (after a snapshot) once the grace period has passed.
    pub delete_idle_endpoints: bool,
    /// Days from the `sagekeeper:idle-since` date until an idle endpoint may be deleted.
    pub idle_grace_days: u32,
    /// Where snapshots of deleted idle endpoints go; required when deletion is on.
    pub state_bucket: Option<String>,
    /// Instance prices, for what an idle endpoint costs and what spot would save.
    pub prices: PriceTable,
    /// Training jobs created this many days before the sweep are judged for cost.
    pub training_lookback_days: u32,
    /// The share of the on-demand price managed spot training saves, for the estimate.
    pub spot_discount: f64,
    /// A training job's `MaxRuntimeInSeconds` above this is a finding; `None`: only a
    /// missing limit is.
    pub training_max_runtime_hours: Option<u32>,
}

const TAGS_FORM: &str = "comma-separated tag keys like Environment,Team,CostCenter";
const DEFAULTS_FORM: &str =
    "a JSON object of required tag key to value, like {\"Environment\": \"dev\"}";
const PREFIXES_FORM: &str = "a JSON object of bucket-name prefix to data class \
     (training-data, model-artifacts, experiment-logs or temp), like {\"acme-ml-training-\": \"training-data\"}";
const DAYS_FORM: &str = "a JSON object overriding lifecycle day counts, like \
     {\"training_data_glacier\": 120}";

impl Settings for Config {
    fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env, dry_run_flag)?;
        let required_tags = required_tags(env)?;
        let default_tags = default_tags(env, &required_tags)?;
        let delete_idle_endpoints = env.bool_or("DELETE_IDLE_ENDPOINTS", false)?;
        let state_bucket = match env.optional_bucket("STATE_BUCKET")? {
            Some(bucket) => Some(bucket.to_owned()),
            None if delete_idle_endpoints => {
                return Err(ConfigError::Missing {
                    var: "STATE_BUCKET",
                    expected: "the snapshot bucket: idle endpoints are deleted only after a snapshot (DELETE_IDLE_ENDPOINTS=true)",
                });
            }
            None => None,
        };
        Ok(Config {
            common,
            required_tags,
            default_tags,
            data_class_prefixes: data_class_prefixes(env)?,
            lifecycle_days: lifecycle_days(env)?,
            log_retention_days: log_retention_days(env)?,
            idle_days: env.number_or("IDLE_DAYS", 7u32, 1..=90)?,
            delete_idle_endpoints,
            idle_grace_days: env.number_or("IDLE_GRACE_DAYS", 7u32, 0..=365)?,
            state_bucket,
            prices: PriceTable::default(),
            training_lookback_days: env.number_or("TRAINING_LOOKBACK_DAYS", 7u32, 1..=90)?,
            spot_discount: spot_discount(env)?,
            training_max_runtime_hours: match env.get("TRAINING_MAX_RUNTIME_HOURS") {
                None => None,
                // SageMaker's own maximum is 28 days.
                Some(_) => Some(env.number_or("TRAINING_MAX_RUNTIME_HOURS", 24u32, 1..=672)?),
            },
        })
    }

    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

impl Config {
    pub fn idle_policy(&self) -> IdlePolicy {
        IdlePolicy {
            idle_days: self.idle_days,
            delete: self.delete_idle_endpoints,
            grace_days: self.idle_grace_days,
        }
    }

    pub fn training_policy(&self) -> TrainingPolicy {
        TrainingPolicy {
            lookback_days: self.training_lookback_days,
            spot_discount: self.spot_discount,
            max_runtime_hours: self.training_max_runtime_hours,
        }
    }
}

/// The share of the on-demand price managed spot saves: a fraction strictly between 0 and 1.
fn spot_discount(env: &Env) -> Result<f64, ConfigError> {
    let Some(raw) = env.get("SPOT_DISCOUNT") else {
        return Ok(0.7);
    };
    match raw.parse::<f64>() {
        Ok(share) if (0.01..=0.99).contains(&share) => Ok(share),
        _ => Err(ConfigError::invalid(
            "SPOT_DISCOUNT",
            raw,
            "a fraction from 0.01 to 0.99: the share of the on-demand price managed spot training saves, like 0.7",
        )),
    }
}

/// AWS tag keys: 1-128 characters, not under the reserved `aws:` prefix.
fn is_tag_key(key: &str) -> bool {
    (1..=128).contains(&key.chars().count())
        && !key.to_ascii_lowercase().starts_with("aws:")
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn required_tags(env: &Env) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = env.get("REQUIRED_TAGS") else {
        return Ok(DEFAULT_REQUIRED_TAGS
            .iter()
            .map(|t| t.to_string())
            .collect());
    };
    let mut keys: Vec<String> = Vec::new();
    for key in raw.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !is_tag_key(key) {
            return Err(ConfigError::invalid(
                "REQUIRED_TAGS",
                raw,
                format!("{TAGS_FORM} ({key:?} is not a tag key one may set)"),
            ));
        }
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    Ok(keys)
}

fn default_tags(env: &Env, required: &[String]) -> Result<Tags, ConfigError> {
    let tags: Tags = env.json_or_default("DEFAULT_TAGS", DEFAULTS_FORM)?;
    let invalid = |reason: String| {
        ConfigError::invalid(
            "DEFAULT_TAGS",
            env.get("DEFAULT_TAGS").unwrap_or_default(),
            format!("{DEFAULTS_FORM} ({reason})"),
        )
    };
    for (key, value) in &tags {
        if !required.contains(key) {
            return Err(invalid(format!(
                "{key:?} is not one of the REQUIRED_TAGS ({})",
                required.join(", ")
            )));
        }
        if value.trim().is_empty() || value.chars().count() > 256 {
            return Err(invalid(format!(
                "the value of {key} must be 1 to 256 characters"
            )));
        }
    }
    Ok(tags)
}

fn data_class_prefixes(env: &Env) -> Result<Vec<(String, DataClass)>, ConfigError> {
    let raw: BTreeMap<String, String> =
        env.json_or_default("DATA_CLASS_PREFIXES", PREFIXES_FORM)?;
    let invalid = |reason: String| {
        ConfigError::invalid(
            "DATA_CLASS_PREFIXES",
            env.get("DATA_CLASS_PREFIXES").unwrap_or_default(),
            format!("{PREFIXES_FORM} ({reason})"),
        )
    };
    let mut prefixes = raw
        .into_iter()
        .map(|(prefix, class)| {
            if prefix.is_empty() {
                return Err(invalid("a prefix is empty".to_owned()));
            }
            let class = class
                .parse::<DataClass>()
                .map_err(|_| invalid(format!("{class:?} is not a data class")))?;
            Ok((prefix, class))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Longest first, so the most specific prefix is found first.
    prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    Ok(prefixes)
}

fn lifecycle_days(env: &Env) -> Result<LifecycleDays, ConfigError> {
    let days: LifecycleDays = env.json_or_default("LIFECYCLE_DAYS", DAYS_FORM)?;
    days.check().map_err(|reason| {
        ConfigError::invalid(
            "LIFECYCLE_DAYS",
            env.get("LIFECYCLE_DAYS").unwrap_or_default(),
            format!("{DAYS_FORM} ({reason})"),
        )
    })?;
    Ok(days)
}

fn log_retention_days(env: &Env) -> Result<i32, ConfigError> {
    let Some(raw) = env.get("LOG_RETENTION_DAYS") else {
        return Ok(90);
    };
    match raw.parse::<i32>() {
        Ok(days) if RETENTION_DAYS.contains(&days) => Ok(days),
        _ => Err(ConfigError::invalid(
            "LOG_RETENTION_DAYS",
            raw,
            format!(
                "a retention CloudWatch Logs accepts: one of {}",
                RETENTION_DAYS
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn invalid_var(err: &ConfigError) -> &'static str {
        match err {
            ConfigError::Invalid { var, .. } | ConfigError::Missing { var, .. } => var,
        }
    }

    #[test]
    fn defaults_need_no_settings() {
        let config = Config::from_env(&env(&[]), false).unwrap();
        assert_eq!(config.required_tags, DEFAULT_REQUIRED_TAGS);
        assert!(config.default_tags.is_empty());
        assert!(config.data_class_prefixes.is_empty());
        assert_eq!(config.lifecycle_days, LifecycleDays::default());
        assert_eq!(config.log_retention_days, 90);
        assert_eq!((config.idle_days, config.idle_grace_days), (7, 7));
        assert!(!config.delete_idle_endpoints);
        assert_eq!(config.state_bucket, None);
        assert_eq!(config.training_lookback_days, 7);
        assert_eq!(config.spot_discount, 0.7);
        assert_eq!(config.training_max_runtime_hours, None);
    }

    #[test]
    fn reads_every_setting() {
        let config = Config::from_env(
            &env(&[
                ("REQUIRED_TAGS", "Team, CostCenter,Team"),
                ("DEFAULT_TAGS", r#"{"CostCenter": "cc-0000"}"#),
                (
                    "DATA_CLASS_PREFIXES",
                    r#"{"acme-ml-": "temp", "acme-ml-training-": "training-data"}"#,
                ),
                (
                    "LIFECYCLE_DAYS",
                    r#"{"training_data_glacier": 120, "temp_expire": 3}"#,
                ),
                ("LOG_RETENTION_DAYS", "365"),
                ("IDLE_DAYS", "14"),
                ("DELETE_IDLE_ENDPOINTS", "true"),
                ("IDLE_GRACE_DAYS", "0"),
                ("STATE_BUCKET", "sagekeeper-state"),
                ("TRAINING_LOOKBACK_DAYS", "3"),
                ("SPOT_DISCOUNT", "0.6"),
                ("TRAINING_MAX_RUNTIME_HOURS", "48"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(config.required_tags, ["Team", "CostCenter"]);
        assert_eq!(config.default_tags["CostCenter"], "cc-0000");
        assert_eq!(
            config.data_class_prefixes,
            [
                ("acme-ml-training-".to_owned(), DataClass::TrainingData),
                ("acme-ml-".to_owned(), DataClass::Temp)
            ]
        );
        assert_eq!(config.lifecycle_days.training_data_glacier, 120);
        assert_eq!(config.lifecycle_days.temp_expire, 3);
        assert_eq!(config.lifecycle_days.training_data_ia, 30);
        assert_eq!(config.log_retention_days, 365);
        assert_eq!(config.idle_days, 14);
        assert!(config.delete_idle_endpoints);
        assert_eq!(config.idle_grace_days, 0);
        assert_eq!(config.state_bucket.as_deref(), Some("sagekeeper-state"));
        assert_eq!(
            config.training_policy(),
            TrainingPolicy {
                lookback_days: 3,
                spot_discount: 0.6,
                max_runtime_hours: Some(48),
            }
        );
    }

    #[test]
    fn deleting_idle_endpoints_needs_the_snapshot_bucket() {
        let err = Config::from_env(&env(&[("DELETE_IDLE_ENDPOINTS", "true")]), false).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "STATE_BUCKET",
                ..
            }
        ));
    }

    #[test]
    fn log_retention_must_be_a_value_cloudwatch_accepts() {
        for bad in ["17", "0", "forever", "-1"] {
            let err = Config::from_env(&env(&[("LOG_RETENTION_DAYS", bad)]), false).unwrap_err();
            assert_eq!(invalid_var(&err), "LOG_RETENTION_DAYS");
            assert!(err.to_string().contains("1, 3, 5, 7, 14, 30"), "{err}");
        }
    }

    #[test]
    fn lifecycle_days_keep_to_s3s_rules() {
        for (bad, reason) in [
            (
                r#"{"training_data_ia": 20}"#,
                "training_data_ia must be at least 30",
            ),
            (
                r#"{"training_data_glacier": 45}"#,
                "at least 30 days after training_data_ia",
            ),
            (
                r#"{"experiment_logs_expire": 30}"#,
                "experiment_logs_expire must be after",
            ),
            (r#"{"model_artifacts_keep_versions": 101}"#, "from 1 to 100"),
            (
                r#"{"temp_expire": 0}"#,
                "temp_expire must be from 1 to 36500",
            ),
            (r#"{"temp_days": 3}"#, "unknown field `temp_days`"),
            (r#"{"temp_expire": "7"}"#, "invalid type"),
        ] {
            let err = Config::from_env(&env(&[("LIFECYCLE_DAYS", bad)]), false).unwrap_err();
            assert_eq!(invalid_var(&err), "LIFECYCLE_DAYS", "{bad}");
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("REQUIRED_TAGS", "Team,aws:cost"),
            ("DEFAULT_TAGS", r#"{"Owner": "alice"}"#),
            ("DEFAULT_TAGS", r#"{"Team": ""}"#),
            ("DEFAULT_TAGS", "[1]"),
            ("DATA_CLASS_PREFIXES", r#"{"acme-": "cold-storage"}"#),
            ("DATA_CLASS_PREFIXES", r#"{"": "temp"}"#),
            ("IDLE_DAYS", "0"),
            ("IDLE_GRACE_DAYS", "soon"),
            ("DELETE_IDLE_ENDPOINTS", "yes"),
            ("STATE_BUCKET", "Bad_Bucket"),
            ("DRY_RUN", "maybe"),
            ("TRAINING_LOOKBACK_DAYS", "0"),
            ("TRAINING_LOOKBACK_DAYS", "a week"),
            ("SPOT_DISCOUNT", "70%"),
            ("SPOT_DISCOUNT", "1"),
            ("SPOT_DISCOUNT", "0"),
            ("SPOT_DISCOUNT", "NaN"),
            ("TRAINING_MAX_RUNTIME_HOURS", "0"),
            ("TRAINING_MAX_RUNTIME_HOURS", "673"),
        ] {
            let err = Config::from_env(&env(&[(var, value)]), false).unwrap_err();
            assert_eq!(invalid_var(&err), var, "{var}={value}: {err}");
        }
    }
}
