//! The idempotency key of an alarm transition, and where a retrain carries it.
//!
//! An alarm's name and the time it changed state identify one transition, however many times
//! and in whichever of the three shapes it is delivered; so the key is a hash of the two, and
//! every retrain started for the transition carries it. A delivery that finds a retrain with
//! its key starts nothing.

use sagekeeper_core::events::AlarmChange;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrainKey(String);

/// Training job names are at most 63 characters; the suffix `-rt-<10 hex>` takes 14.
const JOB_BASE_MAX: usize = 63 - 14;

impl RetrainKey {
    /// SHA-256 of the alarm name and the state-change time in milliseconds (the precision all
    /// three shapes share), as 64 lower-case hex digits.
    pub fn of(alarm: &AlarmChange) -> RetrainKey {
        let digest = Sha256::digest(format!(
            "{}\n{}",
            alarm.alarm_name,
            alarm.changed_at.timestamp_millis()
        ));
        RetrainKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// All 64 digits: a valid ClientRequestToken (32–128 characters).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pipeline execution's display name (at most 82 letters, digits and hyphens).
    pub fn display_name(&self) -> String {
        format!("sagekeeper-drift-{}", &self.0[..16])
    }

    /// Put at the start of the execution's description, so it survives any truncation.
    pub fn marker(&self) -> String {
        format!("[sagekeeper retrain-key={}]", self.0)
    }

    /// The prefix of every retrain job cloned from `base`.
    pub fn job_prefix(base: &str) -> String {
        let cut = base
            .char_indices()
            .nth(JOB_BASE_MAX)
            .map_or(base.len(), |(i, _)| i);
        format!("{}-rt-", &base[..cut])
    }

    /// The clone's name: deterministic, so a second delivery collides with the first job
    /// (SageMaker refuses a duplicate name) instead of starting another.
    pub fn job_name(&self, base: &str) -> String {
        format!("{}{}", Self::job_prefix(base), &self.0[..10])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::Trigger;

    fn alarm(event: &str) -> AlarmChange {
        let value: serde_json::Value = serde_json::from_str(event).unwrap();
        match Trigger::parse(&value).unwrap() {
            Trigger::Alarm(alarm) => *alarm,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_three_shapes_of_one_transition_share_a_key() {
        let eventbridge = alarm(include_str!("../../../events/alarm-eventbridge.json"));
        let lambda = alarm(include_str!("../../../events/alarm-lambda-action.json"));
        let sns = alarm(include_str!("../../../events/alarm-sns.json"));
        let key = RetrainKey::of(&eventbridge);
        assert_eq!(RetrainKey::of(&lambda), key);
        assert_eq!(RetrainKey::of(&sns), key);
        assert_eq!(key.as_str().len(), 64);
        assert!(key.as_str().bytes().all(|b| b.is_ascii_hexdigit()));

        let ok = alarm(include_str!("../../../events/alarm-eventbridge-ok.json"));
        assert_ne!(RetrainKey::of(&ok), key, "another transition, another key");
        let mut later = eventbridge.clone();
        later.changed_at += chrono::Duration::milliseconds(1);
        assert_ne!(RetrainKey::of(&later), key);
    }

    #[test]
    fn names_fit_sagemaker_limits() {
        let key = RetrainKey::of(&alarm(include_str!("../../../events/alarm-sns.json")));
        assert_eq!(key.display_name().len(), 33);
        let long = "x".repeat(63);
        let name = key.job_name(&long);
        assert_eq!(name.len(), 63);
        assert!(name.starts_with(&RetrainKey::job_prefix(&long)));
        assert_eq!(
            key.job_name("churn-xgb"),
            format!("churn-xgb-rt-{}", &key.as_str()[..10])
        );
    }
}
