//! The scheduler's settings (see the README's configuration table).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sagekeeper_core::{CommonConfig, ConfigError, Env};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// Where park snapshots are kept (versioned, SSE-KMS).
    pub state_bucket: String,
    /// Business hours for opted-in resources without a schedule tag, e.g. `Mon-Fri 08:00-19:00`.
    pub default_schedule: String,
    pub timezone: Tz,
    /// Days when opted-in resources stay parked all day.
    pub holidays: Vec<NaiveDate>,
    /// Named schedules a resource can select with the `sagekeeper:schedule` tag.
    pub schedules: BTreeMap<String, String>,
}

pub const DEFAULT_SCHEDULE: &str = "Mon-Fri 08:00-19:00";

impl Config {
    pub fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        let state_bucket = env.required("STATE_BUCKET", "the name of the snapshot bucket")?;
        if !is_bucket_name(state_bucket) {
            return Err(ConfigError::invalid(
                "STATE_BUCKET",
                state_bucket,
                "an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)",
            ));
        }
        Ok(Config {
            common: CommonConfig::from_env(env, dry_run_flag)?,
            state_bucket: state_bucket.to_owned(),
            default_schedule: env.get("DEFAULT_SCHEDULE").unwrap_or(DEFAULT_SCHEDULE).to_owned(),
            timezone: env.timezone_or("TIMEZONE", Tz::UTC)?,
            holidays: env.dates("HOLIDAYS")?,
            schedules: env.json_or_default(
                "SCHEDULES",
                "a JSON object of schedule name to schedule, like {\"eu-office\": \"Mon-Fri 08:00-19:00 Europe/Madrid\"}",
            )?,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn state_bucket_is_required_and_checked() {
        assert!(matches!(
            Config::from_env(&env(&[]), false),
            Err(ConfigError::Missing {
                var: "STATE_BUCKET",
                ..
            })
        ));
        assert!(matches!(
            Config::from_env(&env(&[("STATE_BUCKET", "Bad_Bucket")]), false),
            Err(ConfigError::Invalid {
                var: "STATE_BUCKET",
                ..
            })
        ));
    }

    #[test]
    fn reads_every_setting() {
        let config = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                ("TIMEZONE", "Europe/Madrid"),
                ("HOLIDAYS", "2026-12-25"),
                ("SCHEDULES", r#"{"night-batch": "Mon-Sun 22:00-06:00"}"#),
            ]),
            true,
        )
        .unwrap();
        assert!(config.common.dry_run);
        assert_eq!(config.timezone, Tz::Europe__Madrid);
        assert_eq!(config.default_schedule, DEFAULT_SCHEDULE);
        assert_eq!(config.holidays.len(), 1);
        assert_eq!(config.schedules["night-batch"], "Mon-Sun 22:00-06:00");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("TIMEZONE", "Madrid"),
            ("HOLIDAYS", "25/12/2026"),
            ("SCHEDULES", "[1]"),
            ("DRY_RUN", "maybe"),
        ] {
            let err = Config::from_env(
                &env(&[("STATE_BUCKET", "sagekeeper-state"), (var, value)]),
                false,
            )
            .unwrap_err();
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }
}
