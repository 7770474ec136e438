//! Which schedule applies to a resource, and what it should be now.
//!
//! The schedule comes from the first of:
//! 1. the `sagekeeper:schedule` tag, naming a schedule from `SCHEDULES`;
//! 2. the `maid_offhours` tag, in Cloud Custodian's syntax (its key in any case, as Custodian
//!    reads it);
//! 3. the configured default schedule.
//!
//! A `sagekeeper:snooze-until` tag (an RFC 3339 time) keeps the resource as it is until then;
//! once that time has passed the schedule applies again and the tag should be removed.
//! An empty `sagekeeper:` tag counts as unset (an empty `maid_offhours` is Custodian's default
//! schedule). A tag that cannot be read is an error and the resource is left untouched.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::custodian::{self, CustodianError, OffHours};
use crate::schedule::{Schedule, State};

pub const SCHEDULE_TAG: &str = "sagekeeper:schedule";
pub const CUSTODIAN_TAG: &str = "maid_offhours";
pub const SNOOZE_TAG: &str = "sagekeeper:snooze-until";

/// What the scheduler should make of a resource now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired {
    Up,
    Parked,
    /// Neither park nor restore: snoozed, or opted out with `maid_offhours=off`.
    Keep,
}

impl From<State> for Desired {
    fn from(state: State) -> Self {
        match state {
            State::Up => Desired::Up,
            State::Parked => Desired::Parked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub desired: Desired,
    /// Where the decision comes from, for reports: `default schedule Mon-Fri 08:00-19:00 UTC`,
    /// `schedule tag eu-office: ...`, `maid_offhours tag: ...`, `sagekeeper:snooze-until tag`.
    pub source: String,
    /// When `desired` changes next (within eight days), or when the snooze ends.
    pub until: Option<DateTime<Utc>>,
    /// The snooze tag has expired: remove it.
    pub remove_expired_snooze: bool,
    /// The zone of the schedule, to show `until` in local time.
    pub zone: Tz,
}

impl Decision {
    /// `until` as people read it, in the schedule's zone: `Mon 2026-11-23 08:00 CET`.
    pub fn until_local(&self) -> Option<String> {
        self.until.map(|until| {
            until
                .with_timezone(&self.zone)
                .format("%a %Y-%m-%d %H:%M %Z")
                .to_string()
        })
    }
}

/// Why no decision could be made for a resource; the message does not name the resource, so
/// it can be a finding's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("tag {SCHEDULE_TAG}={name:?} names no schedule: expected one of {known}")]
    UnknownSchedule { name: String, known: String },
    #[error("tag {CUSTODIAN_TAG}={value:?} is not a Cloud Custodian off-hours schedule: {reason}")]
    Custodian {
        value: String,
        reason: CustodianError,
    },
    #[error(
        "tag {SNOOZE_TAG}={value:?} is not a time: expected an RFC 3339 time like \
         2026-11-23T08:00:00+01:00"
    )]
    Snooze { value: String },
}

impl PolicyError {
    /// A short rule name for the finding.
    pub fn rule(&self) -> &'static str {
        match self {
            PolicyError::UnknownSchedule { .. } => "unknown-schedule",
            PolicyError::Custodian { .. } => "invalid-offhours-tag",
            PolicyError::Snooze { .. } => "invalid-snooze-tag",
        }
    }
}

/// The settings decisions depend on.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub default_schedule: &'a Schedule,
    pub schedules: &'a BTreeMap<String, Schedule>,
    /// The zone for decisions without a schedule (`maid_offhours=off`).
    pub timezone: Tz,
    /// Local dates of each schedule's zone when everything stays parked.
    pub holidays: &'a [NaiveDate],
}

impl<'a> From<&'a Config> for Policy<'a> {
    fn from(config: &'a Config) -> Self {
        Policy {
            default_schedule: &config.default_schedule,
            schedules: &config.schedules,
            timezone: config.timezone,
            holidays: &config.holidays,
        }
    }
}

/// What a resource with these tags should be at `now`.
pub fn decide(
    tags: &BTreeMap<String, String>,
    policy: &Policy<'_>,
    now: DateTime<Utc>,
) -> Result<Decision, PolicyError> {
    let applicable = applicable_schedule(tags, policy)?;
    let snooze = snoozed_until(tags)?;
    let zone = match &applicable {
        Applicable::Schedule { schedule, .. } => schedule.zone(),
        Applicable::OptedOut => policy.timezone,
    };
    if let Some(until) = snooze.filter(|until| now < *until) {
        return Ok(Decision {
            desired: Desired::Keep,
            source: format!("{SNOOZE_TAG} tag"),
            until: Some(until),
            remove_expired_snooze: false,
            zone,
        });
    }
    let remove_expired_snooze = snooze.is_some();
    Ok(match applicable {
        Applicable::Schedule { schedule, source } => Decision {
            desired: schedule.state_at(now, policy.holidays).into(),
            source,
            until: schedule.next_change_after(now, policy.holidays),
            remove_expired_snooze,
            zone,
        },
        Applicable::OptedOut => Decision {
            desired: Desired::Keep,
            source: format!("{CUSTODIAN_TAG} tag: off (opted out)"),
            until: None,
            remove_expired_snooze,
            zone,
        },
    })
}

enum Applicable<'a> {
    Schedule {
        /// Borrowed from the configuration, or parsed from the resource's tag.
        schedule: std::borrow::Cow<'a, Schedule>,
        source: String,
    },
    OptedOut,
}

fn applicable_schedule<'a>(
    tags: &BTreeMap<String, String>,
    policy: &Policy<'a>,
) -> Result<Applicable<'a>, PolicyError> {
    if let Some(name) = non_empty_tag(tags, SCHEDULE_TAG) {
        let schedule = policy
            .schedules
            .get(name)
            .ok_or_else(|| PolicyError::UnknownSchedule {
                name: name.to_owned(),
                known: known_names(policy.schedules),
            })?;
        return Ok(Applicable::Schedule {
            source: format!("schedule tag {name}: {schedule}"),
            schedule: std::borrow::Cow::Borrowed(schedule),
        });
    }
    if let Some(value) = custodian_tag(tags) {
        return match custodian::parse(value) {
            Ok(OffHours::Scheduled(schedule)) => Ok(Applicable::Schedule {
                source: format!("{CUSTODIAN_TAG} tag: {schedule}"),
                schedule: std::borrow::Cow::Owned(schedule),
            }),
            Ok(OffHours::OptedOut) => Ok(Applicable::OptedOut),
            Err(reason) => Err(PolicyError::Custodian {
                value: value.to_owned(),
                reason,
            }),
        };
    }
    Ok(Applicable::Schedule {
        source: format!("default schedule {}", policy.default_schedule),
        schedule: std::borrow::Cow::Borrowed(policy.default_schedule),
    })
}

fn snoozed_until(tags: &BTreeMap<String, String>) -> Result<Option<DateTime<Utc>>, PolicyError> {
    non_empty_tag(tags, SNOOZE_TAG)
        .map(|value| {
            DateTime::parse_from_rfc3339(value)
                .map(|until| until.to_utc())
                .map_err(|_| PolicyError::Snooze {
                    value: value.to_owned(),
                })
        })
        .transpose()
}

fn non_empty_tag<'t>(tags: &'t BTreeMap<String, String>, key: &str) -> Option<&'t str> {
    tags.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Custodian matches its tag key in any case (`Maid_Offhours`); an empty value is meaningful.
fn custodian_tag(tags: &BTreeMap<String, String>) -> Option<&str> {
    tags.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(CUSTODIAN_TAG))
        .map(|(_, value)| value.as_str())
}

fn known_names(schedules: &BTreeMap<String, Schedule>) -> String {
    if schedules.is_empty() {
        "the names in SCHEDULES, which defines none".to_owned()
    } else {
        let names: Vec<&str> = schedules.keys().map(String::as_str).collect();
        format!("{} (from SCHEDULES)", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::tests::{date, local, utc};

    struct Fixture {
        default_schedule: Schedule,
        schedules: BTreeMap<String, Schedule>,
        holidays: Vec<NaiveDate>,
    }

    impl Fixture {
        fn new() -> Self {
            let madrid = Tz::Europe__Madrid;
            let schedules = [
                ("eu-office", "Mon-Fri 08:00-19:00"),
                ("night-batch", "Mon-Sun 22:00-06:00 UTC"),
            ]
            .into_iter()
            .map(|(name, text)| (name.to_owned(), Schedule::parse(text, madrid).unwrap()))
            .collect();
            Fixture {
                default_schedule: Schedule::parse("Mon-Fri 08:00-19:00", madrid).unwrap(),
                schedules,
                holidays: vec![date("2026-12-08")],
            }
        }

        fn policy(&self) -> Policy<'_> {
            Policy {
                default_schedule: &self.default_schedule,
                schedules: &self.schedules,
                timezone: Tz::Europe__Madrid,
                holidays: &self.holidays,
            }
        }

        fn decide(
            &self,
            tags: &[(&str, &str)],
            now: DateTime<Utc>,
        ) -> Result<Decision, PolicyError> {
            let tags = tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            decide(&tags, &self.policy(), now)
        }
    }

    // 2026-11-23 is a Monday; Madrid is on CET (UTC+1) then.
    fn madrid(text: &str) -> DateTime<Utc> {
        local(Tz::Europe__Madrid, text)
    }

    #[test]
    fn default_schedule_applies_without_tags() {
        let fixture = Fixture::new();
        let decision = fixture.decide(&[], madrid("2026-11-21 12:00")).unwrap();
        assert_eq!(
            decision,
            Decision {
                desired: Desired::Parked,
                source: "default schedule Mon-Fri 08:00-19:00 Europe/Madrid".to_owned(),
                until: Some(madrid("2026-11-23 08:00")),
                remove_expired_snooze: false,
                zone: Tz::Europe__Madrid,
            }
        );
        assert_eq!(
            decision.until_local().as_deref(),
            Some("Mon 2026-11-23 08:00 CET")
        );
        let weekday = fixture.decide(&[], madrid("2026-11-23 10:00")).unwrap();
        assert_eq!(weekday.desired, Desired::Up);
        assert_eq!(weekday.until, Some(madrid("2026-11-23 19:00")));
    }

    #[test]
    fn schedule_tag_beats_custodian_tag_beats_default() {
        let fixture = Fixture::new();
        // Monday 23:00 in Madrid (22:00 UTC): default parked, night-batch up, Custodian's
        // default (Eastern, 17:00 there) up.
        let now = madrid("2026-11-23 23:00");
        let night = [
            (SCHEDULE_TAG, "night-batch"),
            (CUSTODIAN_TAG, "off=(M-F,7);on=(M-F,19)"),
        ];
        let by_tag = fixture.decide(&night, now).unwrap();
        assert_eq!(by_tag.desired, Desired::Up);
        assert_eq!(
            by_tag.source,
            "schedule tag night-batch: Mon-Sun 22:00-06:00 UTC"
        );
        assert_eq!(by_tag.zone, Tz::UTC);

        let custodian = fixture
            .decide(&[(CUSTODIAN_TAG, "off=(M-F,19);on=(M-F,7)")], now)
            .unwrap();
        assert_eq!(custodian.desired, Desired::Up);
        assert_eq!(
            custodian.source,
            "maid_offhours tag: off=(M-F,19);on=(M-F,7) America/New_York"
        );
        assert_eq!(custodian.until, Some(utc("2026-11-24T00:00:00Z"))); // 19:00 EST

        let default = fixture.decide(&[("Team", "ml")], now).unwrap();
        assert_eq!(default.desired, Desired::Parked);
        assert!(default.source.starts_with("default schedule"));
    }

    #[test]
    fn an_empty_schedule_tag_counts_as_unset() {
        let fixture = Fixture::new();
        let decision = fixture
            .decide(
                &[(SCHEDULE_TAG, " "), (CUSTODIAN_TAG, "on")],
                madrid("2026-11-23 10:00"),
            )
            .unwrap();
        assert!(decision.source.starts_with("maid_offhours tag"));
    }

    #[test]
    fn custodian_tag_key_is_read_in_any_case() {
        let fixture = Fixture::new();
        let decision = fixture
            .decide(&[("Maid_Offhours", "tz=pt")], madrid("2026-11-23 10:00"))
            .unwrap();
        assert_eq!(decision.zone, Tz::America__Los_Angeles);
    }

    #[test]
    fn unknown_schedule_name_is_an_error_listing_the_known_ones() {
        let fixture = Fixture::new();
        let err = fixture
            .decide(&[(SCHEDULE_TAG, "us-office")], madrid("2026-11-23 10:00"))
            .unwrap_err();
        assert_eq!(err.rule(), "unknown-schedule");
        assert_eq!(
            err.to_string(),
            "tag sagekeeper:schedule=\"us-office\" names no schedule: expected one of \
             eu-office, night-batch (from SCHEDULES)"
        );
        let none = BTreeMap::new();
        let policy = Policy {
            schedules: &none,
            ..fixture.policy()
        };
        let tags = BTreeMap::from([(SCHEDULE_TAG.to_owned(), "eu-office".to_owned())]);
        assert_eq!(
            decide(&tags, &policy, madrid("2026-11-23 10:00"))
                .unwrap_err()
                .to_string(),
            "tag sagekeeper:schedule=\"eu-office\" names no schedule: expected one of the \
             names in SCHEDULES, which defines none"
        );
    }

    #[test]
    fn invalid_custodian_tag_is_an_error() {
        let fixture = Fixture::new();
        let err = fixture
            .decide(
                &[(CUSTODIAN_TAG, "off=(M-F,25)")],
                madrid("2026-11-23 10:00"),
            )
            .unwrap_err();
        assert_eq!(err.rule(), "invalid-offhours-tag");
        assert_eq!(
            err.to_string(),
            "tag maid_offhours=\"off=(M-F,25)\" is not a Cloud Custodian off-hours schedule: \
             \"25\" is not an hour: expected a whole hour from 0 to 23"
        );
    }

    #[test]
    fn custodian_off_keeps_the_resource_as_it_is() {
        let fixture = Fixture::new();
        let decision = fixture
            .decide(&[(CUSTODIAN_TAG, "off")], madrid("2026-11-21 12:00"))
            .unwrap();
        assert_eq!(decision.desired, Desired::Keep);
        assert_eq!(decision.source, "maid_offhours tag: off (opted out)");
        assert_eq!(decision.until, None);
    }

    #[test]
    fn an_active_snooze_keeps_the_resource_until_it_ends() {
        let fixture = Fixture::new();
        let decision = fixture
            .decide(
                &[(SNOOZE_TAG, "2026-11-21T20:00:00+01:00")],
                madrid("2026-11-21 12:00"),
            )
            .unwrap();
        assert_eq!(
            decision,
            Decision {
                desired: Desired::Keep,
                source: "sagekeeper:snooze-until tag".to_owned(),
                until: Some(utc("2026-11-21T19:00:00Z")),
                remove_expired_snooze: false,
                zone: Tz::Europe__Madrid,
            }
        );
        assert_eq!(
            decision.until_local().as_deref(),
            Some("Sat 2026-11-21 20:00 CET")
        );
    }

    #[test]
    fn an_expired_snooze_is_removed_and_the_schedule_applies() {
        let fixture = Fixture::new();
        for now in [madrid("2026-11-21 20:00"), madrid("2026-11-22 09:00")] {
            let decision = fixture
                .decide(&[(SNOOZE_TAG, "2026-11-21T19:00:00Z")], now)
                .unwrap();
            assert_eq!(decision.desired, Desired::Parked);
            assert!(decision.remove_expired_snooze);
            assert!(decision.source.starts_with("default schedule"));
        }
    }

    #[test]
    fn an_invalid_snooze_is_an_error() {
        let fixture = Fixture::new();
        for value in ["tomorrow", "2026-11-21", "2026-11-21 20:00"] {
            let err = fixture
                .decide(&[(SNOOZE_TAG, value)], madrid("2026-11-21 12:00"))
                .unwrap_err();
            assert_eq!(err.rule(), "invalid-snooze-tag");
            assert_eq!(
                err.to_string(),
                format!(
                    "tag sagekeeper:snooze-until={value:?} is not a time: expected an RFC 3339 \
                     time like 2026-11-23T08:00:00+01:00"
                )
            );
        }
    }

    #[test]
    fn a_snooze_does_not_hide_a_bad_schedule_tag() {
        let fixture = Fixture::new();
        let err = fixture
            .decide(
                &[(SNOOZE_TAG, "2030-01-01T00:00:00Z"), (SCHEDULE_TAG, "nope")],
                madrid("2026-11-21 12:00"),
            )
            .unwrap_err();
        assert_eq!(err.rule(), "unknown-schedule");
    }

    #[test]
    fn holidays_apply_to_every_source() {
        let fixture = Fixture::new();
        // Tuesday 2026-12-08 is a holiday.
        let now = madrid("2026-12-08 10:00");
        for tags in [
            vec![],
            vec![(SCHEDULE_TAG, "eu-office")],
            vec![(CUSTODIAN_TAG, "tz=cet")],
        ] {
            let decision = fixture.decide(&tags, now).unwrap();
            assert_eq!(decision.desired, Desired::Parked, "{tags:?}");
        }
        let decision = fixture.decide(&[], now).unwrap();
        assert_eq!(
            decision.until_local().as_deref(),
            Some("Wed 2026-12-09 08:00 CET")
        );
    }
}
