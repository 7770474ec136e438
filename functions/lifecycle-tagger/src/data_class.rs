//! Data classes and their S3 lifecycle rules: which class a bucket holds, the rules that class
//! gets, and how they merge into the bucket's own configuration. Pure functions.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

use sagekeeper_core::model::lifecycle::{
    self, Expiration, Filter, LifecycleConfig, MergeError, MergePlan, NoncurrentExpiration, Rule,
    Transition,
};
use sagekeeper_core::model::tags::Tags;

/// Day counts of the lifecycle rules, by data class. `LIFECYCLE_DAYS` overrides any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleDays {
    pub training_data_ia: i32,
    pub training_data_glacier: i32,
    pub model_artifacts_ia: i32,
    pub model_artifacts_noncurrent_days: i32,
    pub model_artifacts_keep_versions: i32,
    pub experiment_logs_ia: i32,
    pub experiment_logs_expire: i32,
    pub temp_expire: i32,
    pub abort_multipart: i32,
}

impl Default for LifecycleDays {
    fn default() -> Self {
        LifecycleDays {
            training_data_ia: 30,
            training_data_glacier: 90,
            model_artifacts_ia: 60,
            model_artifacts_noncurrent_days: 30,
            model_artifacts_keep_versions: 3,
            experiment_logs_ia: 30,
            experiment_logs_expire: 365,
            temp_expire: 7,
            abort_multipart: 7,
        }
    }
}

impl LifecycleDays {
    /// The constraints S3 puts on lifecycle rules, checked before any bucket sees them.
    pub(crate) fn check(&self) -> Result<(), String> {
        let d = self;
        let all = [
            ("training_data_ia", d.training_data_ia),
            ("training_data_glacier", d.training_data_glacier),
            ("model_artifacts_ia", d.model_artifacts_ia),
            (
                "model_artifacts_noncurrent_days",
                d.model_artifacts_noncurrent_days,
            ),
            (
                "model_artifacts_keep_versions",
                d.model_artifacts_keep_versions,
            ),
            ("experiment_logs_ia", d.experiment_logs_ia),
            ("experiment_logs_expire", d.experiment_logs_expire),
            ("temp_expire", d.temp_expire),
            ("abort_multipart", d.abort_multipart),
        ];
        if let Some((name, days)) = all.iter().find(|(_, days)| !(1..=36_500).contains(days)) {
            return Err(format!("{name} must be from 1 to 36500, not {days}"));
        }
        for (name, days) in [
            ("training_data_ia", d.training_data_ia),
            ("model_artifacts_ia", d.model_artifacts_ia),
            ("experiment_logs_ia", d.experiment_logs_ia),
        ] {
            if days < 30 {
                return Err(format!(
                    "{name} must be at least 30: S3 moves objects to Standard-IA after 30 days at the earliest"
                ));
            }
        }
        if d.training_data_glacier < d.training_data_ia + 30 {
            return Err(
                "training_data_glacier must be at least 30 days after training_data_ia (S3's minimum stay in Standard-IA)"
                    .to_owned(),
            );
        }
        if d.experiment_logs_expire <= d.experiment_logs_ia {
            return Err("experiment_logs_expire must be after experiment_logs_ia".to_owned());
        }
        if d.model_artifacts_keep_versions > 100 {
            return Err("model_artifacts_keep_versions must be from 1 to 100".to_owned());
        }
        Ok(())
    }
}

/// A bucket tag naming its data class; it wins over `DATA_CLASS_PREFIXES`.
pub const DATA_CLASS_TAG: &str = "sagekeeper:data-class";
/// Our rules' ids start with this; every other rule is the owner's.
pub const RULE_ID_PREFIX: &str = "sagekeeper-";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataClass {
    TrainingData,
    ModelArtifacts,
    ExperimentLogs,
    Temp,
}

impl DataClass {
    pub const ALL: [DataClass; 4] = [
        DataClass::TrainingData,
        DataClass::ModelArtifacts,
        DataClass::ExperimentLogs,
        DataClass::Temp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::TrainingData => "training-data",
            DataClass::ModelArtifacts => "model-artifacts",
            DataClass::ExperimentLogs => "experiment-logs",
            DataClass::Temp => "temp",
        }
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataClass {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        DataClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or(())
    }
}

/// Where a bucket's class comes from, for findings and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// Neither tagged nor matching a prefix: not an ML bucket we manage.
    None,
    Class(DataClass),
    /// The data-class tag holds a value that is no class: left alone, with a finding.
    Unknown(String),
}

pub fn classify(bucket: &str, tags: &Tags, prefixes: &[(String, DataClass)]) -> Classified {
    if let Some(value) = tags.get(DATA_CLASS_TAG) {
        return match value.parse() {
            Ok(class) => Classified::Class(class),
            Err(()) => Classified::Unknown(value.clone()),
        };
    }
    // `prefixes` is sorted longest first, so the most specific match wins.
    prefixes
        .iter()
        .find(|(prefix, _)| bucket.starts_with(prefix.as_str()))
        .map_or(Classified::None, |(_, class)| Classified::Class(*class))
}

/// The rules a bucket of `class` gets: one rule over the whole bucket, plus aborting
/// incomplete multipart uploads (which every class gets).
pub fn rules_for(class: DataClass, days: &LifecycleDays) -> Vec<Rule> {
    let transition = |days: i32, storage_class: &str| Transition {
        days: Some(days),
        storage_class: Some(storage_class.to_owned()),
        date: None,
    };
    let mut rule = Rule {
        id: Some(format!("{RULE_ID_PREFIX}{class}")),
        status: "Enabled".to_owned(),
        filter: Some(Filter::default()),
        abort_incomplete_multipart_upload_days: Some(days.abort_multipart),
        ..Rule::default()
    };
    match class {
        DataClass::TrainingData => {
            rule.transitions = vec![
                transition(days.training_data_ia, "STANDARD_IA"),
                // Glacier Flexible Retrieval.
                transition(days.training_data_glacier, "GLACIER"),
            ];
        }
        DataClass::ModelArtifacts => {
            rule.transitions = vec![transition(days.model_artifacts_ia, "STANDARD_IA")];
            rule.noncurrent_version_expiration = Some(NoncurrentExpiration {
                noncurrent_days: Some(days.model_artifacts_noncurrent_days),
                newer_noncurrent_versions: Some(days.model_artifacts_keep_versions),
            });
        }
        DataClass::ExperimentLogs => {
            rule.transitions = vec![transition(days.experiment_logs_ia, "STANDARD_IA")];
            rule.expiration = Some(Expiration {
                days: Some(days.experiment_logs_expire),
                ..Expiration::default()
            });
        }
        DataClass::Temp => {
            rule.expiration = Some(Expiration {
                days: Some(days.temp_expire),
                ..Expiration::default()
            });
        }
    }
    vec![rule]
}

/// The change the bucket needs, `None` when its configuration already has our rules.
pub fn change_for(
    class: DataClass,
    existing: &LifecycleConfig,
    days: &LifecycleDays,
) -> Result<Option<MergePlan>, MergeError> {
    lifecycle::merge(existing, &rules_for(class, days), RULE_ID_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use sagekeeper_core::model::tags::from_pairs as tags;

    fn owner_rule() -> Rule {
        Rule {
            id: Some("owner-expire-tmp".to_owned()),
            status: "Enabled".to_owned(),
            filter: Some(Filter {
                prefix: Some("tmp/".to_owned()),
                ..Filter::default()
            }),
            expiration: Some(Expiration {
                days: Some(3),
                ..Expiration::default()
            }),
            ..Rule::default()
        }
    }

    fn transitions(rule: &Rule) -> Vec<(i32, &str)> {
        rule.transitions
            .iter()
            .map(|t| (t.days.unwrap(), t.storage_class.as_deref().unwrap()))
            .collect()
    }

    #[test]
    fn the_tag_wins_over_prefixes_and_the_longest_prefix_wins() {
        let prefixes = vec![
            ("acme-ml-training-".to_owned(), DataClass::TrainingData),
            ("acme-ml-".to_owned(), DataClass::Temp),
        ];
        assert_eq!(
            classify("acme-ml-training-data", &Tags::new(), &prefixes),
            Classified::Class(DataClass::TrainingData)
        );
        assert_eq!(
            classify("acme-ml-scratch", &Tags::new(), &prefixes),
            Classified::Class(DataClass::Temp)
        );
        assert_eq!(
            classify(
                "acme-ml-scratch",
                &tags(&[(DATA_CLASS_TAG, "experiment-logs")]),
                &prefixes
            ),
            Classified::Class(DataClass::ExperimentLogs)
        );
        assert_eq!(
            classify("finance-reports", &Tags::new(), &prefixes),
            Classified::None
        );
        assert_eq!(
            classify("acme-ml-x", &tags(&[(DATA_CLASS_TAG, "cold")]), &prefixes),
            Classified::Unknown("cold".to_owned())
        );
    }

    #[test]
    fn every_class_gets_its_transitions_and_aborts_multipart_uploads() {
        let days = LifecycleDays::default();
        let rule = |class| rules_for(class, &days).remove(0);

        let training = rule(DataClass::TrainingData);
        assert_eq!(training.id.as_deref(), Some("sagekeeper-training-data"));
        assert_eq!(
            transitions(&training),
            [(30, "STANDARD_IA"), (90, "GLACIER")]
        );
        assert_eq!(training.expiration, None);

        let models = rule(DataClass::ModelArtifacts);
        assert_eq!(transitions(&models), [(60, "STANDARD_IA")]);
        assert_eq!(
            models.noncurrent_version_expiration,
            Some(NoncurrentExpiration {
                noncurrent_days: Some(30),
                newer_noncurrent_versions: Some(3)
            })
        );

        let logs = rule(DataClass::ExperimentLogs);
        assert_eq!(transitions(&logs), [(30, "STANDARD_IA")]);
        assert_eq!(logs.expiration.as_ref().and_then(|e| e.days), Some(365));

        let temp = rule(DataClass::Temp);
        assert!(temp.transitions.is_empty());
        assert_eq!(temp.expiration.as_ref().and_then(|e| e.days), Some(7));

        for class in DataClass::ALL {
            let r = rule(class);
            assert_eq!(r.abort_incomplete_multipart_upload_days, Some(7), "{class}");
            assert_eq!(r.status, "Enabled");
            assert_eq!(
                r.filter,
                Some(Filter::default()),
                "{class} covers the whole bucket"
            );
        }
    }

    #[test]
    fn day_counts_are_configurable() {
        let days = LifecycleDays {
            training_data_ia: 45,
            training_data_glacier: 180,
            abort_multipart: 2,
            ..LifecycleDays::default()
        };
        let rule = rules_for(DataClass::TrainingData, &days).remove(0);
        assert_eq!(transitions(&rule), [(45, "STANDARD_IA"), (180, "GLACIER")]);
        assert_eq!(rule.abort_incomplete_multipart_upload_days, Some(2));
    }

    #[test]
    fn merging_keeps_the_owners_rule_and_a_rerun_is_a_no_op() {
        let days = LifecycleDays::default();
        let existing = LifecycleConfig {
            rules: vec![owner_rule()],
            transition_default_minimum_object_size: None,
        };
        let plan = change_for(DataClass::TrainingData, &existing, &days)
            .unwrap()
            .unwrap();
        assert_eq!(plan.config.rules[0], owner_rule());
        assert_eq!(plan.added, ["sagekeeper-training-data"]);
        assert_eq!(plan.config.rules.len(), 2);
        assert_eq!(
            change_for(DataClass::TrainingData, &plan.config, &days).unwrap(),
            None
        );
        // A class change replaces our rule and leaves the owner's alone.
        let changed = change_for(DataClass::Temp, &plan.config, &days)
            .unwrap()
            .unwrap();
        assert_eq!(changed.config.rules[0], owner_rule());
        assert_eq!(changed.added, ["sagekeeper-temp"]);
        assert_eq!(changed.removed, ["sagekeeper-training-data"]);
    }
}
