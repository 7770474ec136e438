//! Settings from environment variables, read once at cold start into typed structs.
//!
//! A value that does not parse is an error naming the variable and the accepted form; nothing
//! falls back silently to a default.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::model::arn::Arn;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is required but not set (expected {expected})")]
    Missing {
        var: &'static str,
        expected: &'static str,
    },
    #[error("{var}={value:?} is invalid: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: String,
    },
}

impl ConfigError {
    pub fn invalid(var: &'static str, value: &str, expected: impl Into<String>) -> Self {
        ConfigError::Invalid {
            var,
            value: value.to_owned(),
            expected: expected.into(),
        }
    }
}

/// A snapshot of the environment, so parsing is testable without touching the process env.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The trimmed value, with an empty value treated as unset (CloudFormation parameters
    /// default to "" rather than being absent).
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars
            .get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Set, but to nothing but spaces: what `get` treats as unset.
    pub fn is_blank(&self, var: &str) -> bool {
        self.vars.get(var).is_some_and(|v| v.trim().is_empty())
    }

    pub fn required(&self, var: &'static str, expected: &'static str) -> Result<&str, ConfigError> {
        self.get(var).ok_or(ConfigError::Missing { var, expected })
    }

    pub fn bool_or(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::invalid(var, v, "true or false")),
        }
    }

    pub fn number_or<T>(
        &self,
        var: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        let expected = || format!("a whole number from {} to {}", range.start(), range.end());
        let value: T = raw
            .parse()
            .map_err(|_| ConfigError::invalid(var, raw, expected()))?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::invalid(var, raw, expected()))
        }
    }

    /// An optional ARN that `accept` approves of (service, resource type, region...).
    pub fn optional_arn(
        &self,
        var: &'static str,
        expected: &'static str,
        accept: impl Fn(&Arn) -> bool,
    ) -> Result<Option<Arn>, ConfigError> {
        self.get(var)
            .map(|raw| match Arn::parse(raw) {
                Ok(arn) if accept(&arn) => Ok(arn),
                _ => Err(ConfigError::invalid(var, raw, expected)),
            })
            .transpose()
    }

    /// An optional S3 bucket name, checked against S3's naming rules.
    pub fn optional_bucket(&self, var: &'static str) -> Result<Option<&str>, ConfigError> {
        match self.get(var) {
            Some(name) if !is_bucket_name(name) => Err(ConfigError::invalid(
                var,
                name,
                "an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)",
            )),
            other => Ok(other),
        }
    }

    pub fn timezone_or(&self, var: &'static str, default: Tz) -> Result<Tz, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse::<Tz>().map_err(|_| {
                ConfigError::invalid(var, raw, "an IANA time zone such as Europe/Madrid or UTC")
            }),
        }
    }

    /// A comma-separated list of `YYYY-MM-DD` dates; unset means none.
    pub fn dates(&self, var: &'static str) -> Result<Vec<NaiveDate>, ConfigError> {
        let Some(raw) = self.get(var) else {
            return Ok(Vec::new());
        };
        raw.split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    ConfigError::invalid(
                        var,
                        raw,
                        "comma-separated dates like 2026-12-25,2027-01-01",
                    )
                })
            })
            .collect()
    }

    /// A JSON value (object, list, ...) deserialized into `T`; unset gives `T::default()`.
    pub fn json_or_default<T>(
        &self,
        var: &'static str,
        expected: &'static str,
    ) -> Result<T, ConfigError>
    where
        T: serde::de::DeserializeOwned + Default,
    {
        match self.get(var) {
            None => Ok(T::default()),
            Some(raw) => serde_json::from_str(raw)
                .map_err(|e| ConfigError::invalid(var, raw, format!("{expected} ({e})"))),
        }
    }
}

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Log verbosity accepted by `LOG_LEVEL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl FromStr for LogLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            _ => Err(()),
        }
    }
}

impl Env {
    pub fn log_level(&self) -> Result<LogLevel, ConfigError> {
        match self.get("LOG_LEVEL") {
            None => Ok(LogLevel::Info),
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::invalid("LOG_LEVEL", raw, "error, warn, info, debug or trace")
            }),
        }
    }
}

/// Settings every function shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// Report what would be done without making any call that writes.
    pub dry_run: bool,
    /// Where the one summary message per run goes; none means no notification.
    pub notify_topic_arn: Option<Arn>,
    /// The customer-managed key the account's ML data should be encrypted with.
    pub kms_key_arn: Option<Arn>,
    /// Read before anything else to start logging; kept here so a bad value stops the start.
    pub log_level: LogLevel,
    /// Resources written to at the same time (`APPLY_CONCURRENCY`); one resource's writes
    /// always stay in order.
    pub apply_concurrency: usize,
    /// Each finding also as an OCSF Compliance Finding line in the log (`LOG_FINDINGS`), for
    /// a subscription filter to forward to Security Lake or a SIEM.
    pub log_findings: bool,
    /// Findings also to AWS Security Hub in the account and region acted in
    /// (`SECURITY_HUB_EXPORT`).
    pub security_hub_export: bool,
    /// Stop starting resources this long into a run (`RUN_TIME_LIMIT_MS`, 0 = none), besides
    /// the Lambda deadline; the rest goes on in a continuation (see `run::budget`).
    pub run_time_limit: Option<std::time::Duration>,
}

/// Eight resources at a time: at ~50 ms a call that is ~160 calls a second, under the
/// per-account rates of the write APIs used (S3 bucket configuration, SageMaker, tagging),
/// with the SDK's adaptive retry absorbing throttling beyond that.
pub const DEFAULT_APPLY_CONCURRENCY: usize = 8;

impl CommonConfig {
    /// `dry_run_flag` is the command line's `--dry-run`, which can only turn dry run on.
    pub fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        Ok(CommonConfig {
            dry_run: env.bool_or("DRY_RUN", false)? || dry_run_flag,
            notify_topic_arn: env.optional_arn(
                "NOTIFY_TOPIC_ARN",
                "an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:sagekeeper",
                |arn| arn.service == "sns" && arn.is_regional_resource(),
            )?,
            kms_key_arn: env.optional_arn(
                "KMS_KEY_ARN",
                "a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<key id>",
                |arn| {
                    arn.service == "kms"
                        && arn.resource_type() == Some("key")
                        && arn.is_regional_resource()
                },
            )?,
            log_level: env.log_level()?,
            apply_concurrency: env.number_or(
                "APPLY_CONCURRENCY",
                DEFAULT_APPLY_CONCURRENCY,
                1..=64,
            )?,
            log_findings: env.bool_or("LOG_FINDINGS", true)?,
            security_hub_export: env.bool_or("SECURITY_HUB_EXPORT", false)?,
            run_time_limit: Some(env.number_or("RUN_TIME_LIMIT_MS", 0u64, 0..=900_000)?)
                .filter(|ms| *ms > 0)
                .map(std::time::Duration::from_millis),
        })
    }

    /// For a function whose findings are about its own runs, not about resources' compliance
    /// (the scheduler, the retrainer): `SECURITY_HUB_EXPORT=true` there is a mistake, refused
    /// at start rather than answered with an export-failed finding on every run.
    pub fn without_security_hub_export(self, function: &str) -> Result<Self, ConfigError> {
        if !self.security_hub_export {
            return Ok(self);
        }
        Err(ConfigError::invalid(
            "SECURITY_HUB_EXPORT",
            "true",
            format!(
                "false or unset: the {function}'s findings are about its runs, not resources' compliance; only the encryption-enforcer and lifecycle-tagger export to Security Hub"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let config = CommonConfig::from_env(&env(&[]), false).unwrap();
        assert!(!config.dry_run);
        assert_eq!(config.notify_topic_arn, None);
        assert_eq!(config.kms_key_arn, None);
        assert_eq!(config.apply_concurrency, DEFAULT_APPLY_CONCURRENCY);
    }

    #[test]
    fn security_hub_export_is_refused_where_findings_are_not_about_compliance() {
        let on = CommonConfig::from_env(&env(&[("SECURITY_HUB_EXPORT", "true")]), false).unwrap();
        assert!(on.security_hub_export, "the enforcer and tagger take it");
        let refused = on.without_security_hub_export("endpoint-scheduler");
        assert!(
            matches!(
                &refused,
                Err(ConfigError::Invalid { var: "SECURITY_HUB_EXPORT", expected, .. })
                    if expected.contains("endpoint-scheduler")
            ),
            "{refused:?}"
        );
        let off = CommonConfig::from_env(&env(&[("SECURITY_HUB_EXPORT", "false")]), false);
        let off = off.unwrap().without_security_hub_export("drift-retrainer");
        assert!(off.is_ok_and(|c| !c.security_hub_export));
    }

    #[test]
    fn apply_concurrency_is_a_bounded_number() {
        let set = |v| CommonConfig::from_env(&env(&[("APPLY_CONCURRENCY", v)]), false);
        assert_eq!(set("1").unwrap().apply_concurrency, 1);
        for bad in ["0", "65", "many"] {
            assert!(
                matches!(
                    set(bad),
                    Err(ConfigError::Invalid {
                        var: "APPLY_CONCURRENCY",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn dry_run_accepts_only_true_or_false() {
        assert!(
            CommonConfig::from_env(&env(&[("DRY_RUN", "TRUE")]), false)
                .unwrap()
                .dry_run
        );
        let err = CommonConfig::from_env(&env(&[("DRY_RUN", "maybe")]), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DRY_RUN=\"maybe\" is invalid: expected true or false"
        );
    }

    #[test]
    fn dry_run_flag_overrides_env_false_but_never_turns_it_off() {
        assert!(
            CommonConfig::from_env(&env(&[("DRY_RUN", "false")]), true)
                .unwrap()
                .dry_run
        );
        assert!(
            CommonConfig::from_env(&env(&[("DRY_RUN", "true")]), false)
                .unwrap()
                .dry_run
        );
    }

    #[test]
    fn malformed_topic_arn_names_the_variable() {
        for bad in [
            "sagekeeper",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "arn:aws:sns:us-east-1:12:t",
        ] {
            let err =
                CommonConfig::from_env(&env(&[("NOTIFY_TOPIC_ARN", bad)]), false).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        var: "NOTIFY_TOPIC_ARN",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config =
            CommonConfig::from_env(&env(&[("NOTIFY_TOPIC_ARN", " "), ("DRY_RUN", "")]), false)
                .unwrap();
        assert_eq!(config.notify_topic_arn, None);
        assert!(!config.dry_run);
    }

    #[test]
    fn kms_key_arn_is_parsed() {
        let arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let config = CommonConfig::from_env(&env(&[("KMS_KEY_ARN", arn)]), false).unwrap();
        assert_eq!(config.kms_key_arn.unwrap().to_string(), arn);
    }

    #[test]
    fn timezones_dates_numbers_and_json() {
        let e = env(&[
            ("TIMEZONE", "Europe/Madrid"),
            ("BAD_TZ", "Mars/Olympus"),
            ("HOLIDAYS", "2026-12-25, 2027-01-01"),
            ("BAD_DATES", "2026-13-01"),
            ("DAYS", "400"),
            ("MAP", "{\"a\": 1}"),
        ]);
        assert_eq!(
            e.timezone_or("TIMEZONE", Tz::UTC).unwrap(),
            Tz::Europe__Madrid
        );
        assert_eq!(e.timezone_or("UNSET", Tz::UTC).unwrap(), Tz::UTC);
        assert!(matches!(
            e.timezone_or("BAD_TZ", Tz::UTC),
            Err(ConfigError::Invalid { var: "BAD_TZ", .. })
        ));
        assert_eq!(e.dates("HOLIDAYS").unwrap().len(), 2);
        assert!(e.dates("BAD_DATES").is_err());
        assert_eq!(e.number_or("DAYS", 90u32, 1..=3653).unwrap(), 400);
        assert!(e.number_or("DAYS", 90u32, 1..=365).is_err());
        let map: HashMap<String, u32> = e.json_or_default("MAP", "a JSON object").unwrap();
        assert_eq!(map["a"], 1);
        assert!(
            e.json_or_default::<HashMap<String, u32>>("TIMEZONE", "a JSON object")
                .is_err()
        );
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        let e = env(&[
            ("OK", "sagekeeper-state.eu"),
            ("BAD", "Bad_Bucket"),
            ("SHORT", "ab"),
        ]);
        assert_eq!(
            e.optional_bucket("OK").unwrap(),
            Some("sagekeeper-state.eu")
        );
        assert_eq!(e.optional_bucket("UNSET").unwrap(), None);
        for var in ["BAD", "SHORT"] {
            assert!(
                matches!(e.optional_bucket(var), Err(ConfigError::Invalid { .. })),
                "{var}"
            );
        }
    }

    #[test]
    fn required_and_log_level() {
        let e = env(&[("LOG_LEVEL", "chatty")]);
        assert_eq!(
            e.required("STATE_BUCKET", "a bucket name")
                .unwrap_err()
                .to_string(),
            "STATE_BUCKET is required but not set (expected a bucket name)"
        );
        assert!(e.log_level().unwrap_err().to_string().contains("LOG_LEVEL"));
        assert_eq!(env(&[]).log_level().unwrap(), LogLevel::Info);
    }
}
