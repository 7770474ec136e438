//! The scheduler's settings (see the README's configuration table).
//!
//! Schedules are parsed here, at start-up, so a mistyped schedule stops the function with the
//! variable's name instead of failing on every resource.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sagekeeper_core::model::pricing::{CANVAS_SESSION, PriceTable};
use sagekeeper_core::run::function::Settings;
use sagekeeper_core::{CommonConfig, ConfigError, Env};

use crate::schedule::Schedule;

/// The function's name in reports, logs, metrics, leases and snapshots.
pub const NAME: &str = "endpoint-scheduler";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// Where park snapshots are kept (versioned, SSE-KMS).
    pub state_bucket: String,
    /// Business hours for opted-in resources without a schedule tag, e.g. `Mon-Fri 08:00-19:00`.
    pub default_schedule: Schedule,
    /// The zone of schedules that do not name their own.
    pub timezone: Tz,
    /// Days when opted-in resources stay parked all day.
    pub holidays: Vec<NaiveDate>,
    /// Named schedules a resource can select with the `sagekeeper:schedule` tag.
    pub schedules: BTreeMap<String, Schedule>,
    /// USD per hour by instance type, replacing the built-in prices in savings estimates.
    pub price_overrides: BTreeMap<String, f64>,
    /// The built-in prices with `price_overrides` applied.
    pub prices: PriceTable,
    /// `STUDIO_IDLE_MINUTES`: within hours, a Studio app with no user activity for this long
    /// is parked too (and not pre-warmed). `None` (the default): off.
    pub studio_idle_minutes: Option<u32>,
}

pub const DEFAULT_SCHEDULE: &str = "Mon-Fri 08:00-19:00";

const SCHEDULE_FORM: &str = "a schedule like Mon-Fri 08:00-19:00 or \
     Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Madrid";
const SCHEDULES_FORM: &str = "a JSON object of schedule name to schedule, like \
     {\"eu-office\": \"Mon-Fri 08:00-19:00 Europe/Madrid\"}";
const PRICES_FORM: &str = "a JSON object of SageMaker instance type (or canvas-session) to \
     USD per hour, like {\"ml.m5.large\": 0.115}";

impl Settings for Config {
    fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        let state_bucket = env
            .optional_bucket("STATE_BUCKET")?
            .ok_or(ConfigError::Missing {
                var: "STATE_BUCKET",
                expected: "the name of the snapshot bucket",
            })?;
        let common =
            CommonConfig::from_env(env, dry_run_flag)?.without_security_hub_export(NAME)?;
        let timezone = env.timezone_or("TIMEZONE", Tz::UTC)?;
        let price_overrides = price_overrides(env)?;
        Ok(Config {
            common,
            state_bucket: state_bucket.to_owned(),
            default_schedule: default_schedule(env, timezone)?,
            timezone,
            holidays: env.dates("HOLIDAYS")?,
            schedules: named_schedules(env, timezone)?,
            prices: PriceTable::new(price_overrides.clone()),
            price_overrides,
            studio_idle_minutes: studio_idle_minutes(env)?,
        })
    }

    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

fn default_schedule(env: &Env, timezone: Tz) -> Result<Schedule, ConfigError> {
    let raw = env.get("DEFAULT_SCHEDULE").unwrap_or(DEFAULT_SCHEDULE);
    Schedule::parse(raw, timezone).map_err(|e| {
        ConfigError::invalid("DEFAULT_SCHEDULE", raw, format!("{SCHEDULE_FORM} ({e})"))
    })
}

fn named_schedules(env: &Env, timezone: Tz) -> Result<BTreeMap<String, Schedule>, ConfigError> {
    let texts: BTreeMap<String, String> = env.json_or_default("SCHEDULES", SCHEDULES_FORM)?;
    let invalid = |reason: String| {
        ConfigError::invalid(
            "SCHEDULES",
            env.get("SCHEDULES").unwrap_or_default(),
            format!("{SCHEDULES_FORM} ({reason})"),
        )
    };
    texts
        .into_iter()
        .map(|(name, text)| {
            if name.trim().is_empty() {
                return Err(invalid("a schedule name is empty".to_owned()));
            }
            let schedule = Schedule::parse(&text, timezone)
                .map_err(|e| invalid(format!("schedule {name:?}: {e}")))?;
            Ok((name, schedule))
        })
        .collect()
}

fn studio_idle_minutes(env: &Env) -> Result<Option<u32>, ConfigError> {
    if env.get("STUDIO_IDLE_MINUTES").is_none() {
        return Ok(None);
    }
    env.number_or("STUDIO_IDLE_MINUTES", 60u32, 5..=10_080)
        .map(Some)
}

fn price_overrides(env: &Env) -> Result<BTreeMap<String, f64>, ConfigError> {
    let prices: BTreeMap<String, f64> = env.json_or_default("PRICE_OVERRIDES", PRICES_FORM)?;
    let bad = prices.iter().find_map(|(instance_type, price)| {
        if !is_instance_type(instance_type) && instance_type != CANVAS_SESSION {
            Some(format!(
                "{instance_type:?} is not an instance type like ml.m5.large"
            ))
        } else if !(price.is_finite() && *price > 0.0) {
            Some(format!(
                "the price of {instance_type} must be a positive number"
            ))
        } else {
            None
        }
    });
    match bad {
        Some(reason) => Err(ConfigError::invalid(
            "PRICE_OVERRIDES",
            env.get("PRICE_OVERRIDES").unwrap_or_default(),
            format!("{PRICES_FORM} ({reason})"),
        )),
        None => Ok(prices),
    }
}

/// `ml.<family>.<size>`, the form of every SageMaker instance type.
fn is_instance_type(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    matches!(parts.as_slice(), ["ml", family, size]
        if [family, size].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn security_hub_export_is_refused_at_start() {
        let exporting = [("STATE_BUCKET", "state"), ("SECURITY_HUB_EXPORT", "true")];
        assert!(matches!(
            Config::from_env(&env(&exporting), false),
            Err(ConfigError::Invalid {
                var: "SECURITY_HUB_EXPORT",
                ..
            })
        ));
        let off = [("STATE_BUCKET", "state"), ("SECURITY_HUB_EXPORT", "false")];
        assert!(Config::from_env(&env(&off), false).is_ok());
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
        assert_eq!(
            config.default_schedule.to_string(),
            format!("{DEFAULT_SCHEDULE} Europe/Madrid")
        );
        assert_eq!(config.holidays.len(), 1);
        assert_eq!(
            config.schedules["night-batch"].to_string(),
            "Mon-Sun 22:00-06:00 Europe/Madrid"
        );
        assert!(config.price_overrides.is_empty());
    }

    #[test]
    fn schedules_are_parsed_with_their_own_zone_or_the_configured_one() {
        let config = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                ("TIMEZONE", "America/New_York"),
                ("DEFAULT_SCHEDULE", "Mon-Fri 07:00-20:00"),
                (
                    "SCHEDULES",
                    r#"{"eu-office": "Mon-Fri 08:00-19:00 Europe/Madrid", "us-office": "Mon-Fri 09:00-17:00"}"#,
                ),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(config.default_schedule.zone(), Tz::America__New_York);
        assert_eq!(config.schedules["eu-office"].zone(), Tz::Europe__Madrid);
        assert_eq!(config.schedules["us-office"].zone(), Tz::America__New_York);
        let default = Config::from_env(&env(&[("STATE_BUCKET", "sagekeeper-state")]), false)
            .unwrap()
            .default_schedule;
        assert_eq!(default.to_string(), "Mon-Fri 08:00-19:00 UTC");
    }

    #[test]
    fn an_invalid_default_schedule_names_the_variable_and_the_bad_part() {
        let err = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                ("DEFAULT_SCHEDULE", "Mon-Fri 8-19"),
            ]),
            false,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "DEFAULT_SCHEDULE",
                ..
            }
        ));
        let message = err.to_string();
        assert!(
            message.starts_with(
                "DEFAULT_SCHEDULE=\"Mon-Fri 8-19\" is invalid: expected a schedule like"
            ),
            "{message}"
        );
        assert!(
            message.contains("(\"8-19\" is not a time window"),
            "{message}"
        );
    }

    #[test]
    fn an_invalid_named_schedule_says_which_one() {
        let err = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                (
                    "SCHEDULES",
                    r#"{"eu-office": "Mon-Fri 08:00-19:00", "late": "Mon-Fri 18:00-27:00"}"#,
                ),
            ]),
            false,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "SCHEDULES",
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("(schedule \"late\": \"18:00-27:00\" is not a time window"),
            "{err}"
        );
        let empty_name = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                ("SCHEDULES", r#"{" ": "Mon-Fri 08:00-19:00"}"#),
            ]),
            false,
        )
        .unwrap_err();
        assert!(
            empty_name.to_string().contains("a schedule name is empty"),
            "{empty_name}"
        );
    }

    #[test]
    fn studio_idle_minutes_is_off_unless_set_to_a_sane_number() {
        let with = |value: &str| {
            Config::from_env(
                &env(&[
                    ("STATE_BUCKET", "sagekeeper-state"),
                    ("STUDIO_IDLE_MINUTES", value),
                ]),
                false,
            )
        };
        let off = Config::from_env(&env(&[("STATE_BUCKET", "sagekeeper-state")]), false).unwrap();
        assert_eq!(off.studio_idle_minutes, None);
        assert_eq!(with("").unwrap().studio_idle_minutes, None);
        assert_eq!(with("90").unwrap().studio_idle_minutes, Some(90));
        assert!(with("0").is_err());
        assert!(with("an hour").is_err());
        let canvas = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                ("PRICE_OVERRIDES", r#"{"canvas-session": 2.1}"#),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(canvas.prices.canvas_session(), 2.1);
    }

    #[test]
    fn price_overrides_are_positive_prices_by_instance_type() {
        let config = Config::from_env(
            &env(&[
                ("STATE_BUCKET", "sagekeeper-state"),
                (
                    "PRICE_OVERRIDES",
                    r#"{"ml.m5.large": 0.115, "ml.g4dn.xlarge": 1}"#,
                ),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(config.price_overrides["ml.m5.large"], 0.115);
        assert_eq!(config.price_overrides["ml.g4dn.xlarge"], 1.0);
        for (bad, reason) in [
            (
                r#"{"ml.m5.large": 0}"#,
                "the price of ml.m5.large must be a positive number",
            ),
            (
                r#"{"ml.m5.large": -0.1}"#,
                "the price of ml.m5.large must be a positive number",
            ),
            (
                r#"{"m5.large": 0.1}"#,
                "\"m5.large\" is not an instance type like ml.m5.large",
            ),
            (
                r#"{"ml.m5.large": "0.1"}"#,
                "a JSON object of SageMaker instance type",
            ),
            (
                r#"{"ml.m5.large": 1e999}"#,
                "a JSON object of SageMaker instance type",
            ),
            ("[0.1]", "a JSON object of SageMaker instance type"),
        ] {
            let err = Config::from_env(
                &env(&[
                    ("STATE_BUCKET", "sagekeeper-state"),
                    ("PRICE_OVERRIDES", bad),
                ]),
                false,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        var: "PRICE_OVERRIDES",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("TIMEZONE", "Madrid"),
            ("HOLIDAYS", "25/12/2026"),
            ("SCHEDULES", "[1]"),
            ("SCHEDULES", r#"{"x": "someday"}"#),
            ("DEFAULT_SCHEDULE", "Mon-Fri"),
            ("PRICE_OVERRIDES", r#"{"ml.m5.large": -1}"#),
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
