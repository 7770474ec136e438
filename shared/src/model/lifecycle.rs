//! S3 bucket lifecycle configurations as plain data, and the pure merge of sagekeeper's own
//! rules into a bucket's configuration (reading and writing them: `crate::s3::lifecycle`).
//!
//! A bucket has one lifecycle configuration holding every rule, and PutBucketLifecycle
//! replaces all of it. So the owner's rules are read into these types field by field (every
//! field S3 has, so writing them back loses nothing), ours are merged in by their id prefix,
//! and the whole configuration is written back only when something changed.

use serde::{Deserialize, Serialize};

/// S3 refuses a configuration with more rules than this.
pub const MAX_RULES: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfig {
    pub rules: Vec<Rule>,
    /// `all_storage_classes_128K` or `varies_by_storage_class`; kept as read.
    pub transition_default_minimum_object_size: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: Option<String>,
    /// `Enabled` or `Disabled`.
    pub status: String,
    pub filter: Option<Filter>,
    /// The rule-level prefix of old configurations (before `Filter`).
    pub prefix: Option<String>,
    pub expiration: Option<Expiration>,
    pub transitions: Vec<Transition>,
    pub noncurrent_version_transitions: Vec<NoncurrentTransition>,
    pub noncurrent_version_expiration: Option<NoncurrentExpiration>,
    pub abort_incomplete_multipart_upload_days: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub prefix: Option<String>,
    pub tag: Option<(String, String)>,
    pub object_size_greater_than: Option<i64>,
    pub object_size_less_than: Option<i64>,
    pub and: Option<AndFilter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AndFilter {
    pub prefix: Option<String>,
    pub tags: Vec<(String, String)>,
    pub object_size_greater_than: Option<i64>,
    pub object_size_less_than: Option<i64>,
}

/// Dates are epoch seconds (S3 only accepts midnight UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiration {
    pub date: Option<i64>,
    pub days: Option<i32>,
    pub expired_object_delete_marker: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub date: Option<i64>,
    pub days: Option<i32>,
    /// `STANDARD_IA`, `GLACIER`, `DEEP_ARCHIVE`, ...
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentTransition {
    pub noncurrent_days: Option<i32>,
    pub storage_class: Option<String>,
    pub newer_noncurrent_versions: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    pub noncurrent_days: Option<i32>,
    pub newer_noncurrent_versions: Option<i32>,
}

impl Rule {
    pub fn is_ours(&self, prefix: &str) -> bool {
        self.id.as_deref().is_some_and(|id| id.starts_with(prefix))
    }

    /// The same rule as S3 may spell it back: an empty filter, an empty prefix and no filter
    /// at all select the same objects.
    fn normalized(&self) -> Rule {
        let mut rule = self.clone();
        rule.prefix = rule.prefix.filter(|p| !p.is_empty());
        rule.filter = rule.filter.map(|mut f| {
            f.prefix = f.prefix.filter(|p| !p.is_empty());
            f
        });
        if rule.filter == Some(Filter::default()) {
            rule.filter = None;
        }
        rule
    }
}

/// What merging changes in a bucket's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The configuration to write: the owner's rules unchanged and in order, then ours.
    pub config: LifecycleConfig,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error(
        "rule {0:?} does not carry the id prefix {1:?}, so it could not be told apart from the owner's"
    )]
    NotOurs(String, String),
    #[error("the merged configuration would have {0} rules; S3 accepts at most {MAX_RULES}")]
    TooManyRules(usize),
}

/// Merges `ours` (every rule id starting with `prefix`) into `existing`. Rules whose id does
/// not start with `prefix` are the owner's and are kept exactly as they are; our earlier
/// rules are replaced by `ours` (and dropped when no longer wanted). `None` when the bucket
/// already has exactly these rules, so a re-run writes nothing.
pub fn merge(
    existing: &LifecycleConfig,
    ours: &[Rule],
    prefix: &str,
) -> Result<Option<MergePlan>, MergeError> {
    if let Some(stray) = ours.iter().find(|r| !r.is_ours(prefix)) {
        return Err(MergeError::NotOurs(
            stray.id.clone().unwrap_or_default(),
            prefix.to_owned(),
        ));
    }
    let (current_ours, owners): (Vec<&Rule>, Vec<&Rule>) =
        existing.rules.iter().partition(|r| r.is_ours(prefix));
    let same = current_ours.len() == ours.len()
        && current_ours
            .iter()
            .zip(ours)
            .all(|(a, b)| a.normalized() == b.normalized());
    if same {
        return Ok(None);
    }
    let id = |r: &Rule| r.id.clone().unwrap_or_default();
    let current_by_id = |wanted: &str| current_ours.iter().find(|r| id(r) == wanted);
    let mut plan = MergePlan {
        config: LifecycleConfig {
            rules: owners
                .into_iter()
                .cloned()
                .chain(ours.iter().cloned())
                .collect(),
            transition_default_minimum_object_size: existing
                .transition_default_minimum_object_size
                .clone(),
        },
        added: Vec::new(),
        updated: Vec::new(),
        removed: Vec::new(),
    };
    for rule in ours {
        match current_by_id(&id(rule)) {
            None => plan.added.push(id(rule)),
            Some(current) if current.normalized() != rule.normalized() => {
                plan.updated.push(id(rule))
            }
            Some(_) => {}
        }
    }
    plan.removed = current_ours
        .iter()
        .map(|r| id(r))
        .filter(|current| !ours.iter().any(|r| &id(r) == current))
        .collect();
    if plan.config.rules.len() > MAX_RULES {
        return Err(MergeError::TooManyRules(plan.config.rules.len()));
    }
    Ok(Some(plan))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PREFIX: &str = "sagekeeper-";

    pub(crate) fn owner_rule() -> Rule {
        Rule {
            id: Some("expire-scratch".to_owned()),
            status: "Enabled".to_owned(),
            filter: Some(Filter {
                prefix: Some("scratch/".to_owned()),
                ..Filter::default()
            }),
            expiration: Some(Expiration {
                days: Some(3),
                ..Expiration::default()
            }),
            ..Rule::default()
        }
    }

    /// Every field S3 has, so a round trip through the SDK types shows nothing is lost.
    pub(crate) fn rich_owner_rule() -> Rule {
        Rule {
            id: Some("archive-old-versions".to_owned()),
            status: "Disabled".to_owned(),
            filter: Some(Filter {
                and: Some(AndFilter {
                    prefix: Some("models/".to_owned()),
                    tags: vec![("keep".to_owned(), "yes".to_owned())],
                    object_size_greater_than: Some(1024),
                    object_size_less_than: Some(1 << 30),
                }),
                ..Filter::default()
            }),
            prefix: None,
            expiration: Some(Expiration {
                expired_object_delete_marker: Some(true),
                ..Expiration::default()
            }),
            transitions: vec![Transition {
                date: Some(1_798_761_600), // 2027-01-01T00:00:00Z
                days: None,
                storage_class: Some("DEEP_ARCHIVE".to_owned()),
            }],
            noncurrent_version_transitions: vec![NoncurrentTransition {
                noncurrent_days: Some(10),
                storage_class: Some("GLACIER_IR".to_owned()),
                newer_noncurrent_versions: Some(2),
            }],
            noncurrent_version_expiration: Some(NoncurrentExpiration {
                noncurrent_days: Some(40),
                newer_noncurrent_versions: Some(5),
            }),
            abort_incomplete_multipart_upload_days: None,
        }
    }

    pub(crate) fn ours(id: &str, ia_days: i32) -> Rule {
        Rule {
            id: Some(id.to_owned()),
            status: "Enabled".to_owned(),
            filter: Some(Filter::default()),
            transitions: vec![Transition {
                days: Some(ia_days),
                storage_class: Some("STANDARD_IA".to_owned()),
                ..Transition::default()
            }],
            abort_incomplete_multipart_upload_days: Some(7),
            ..Rule::default()
        }
    }

    pub(crate) fn config(rules: Vec<Rule>) -> LifecycleConfig {
        LifecycleConfig {
            rules,
            transition_default_minimum_object_size: Some("all_storage_classes_128K".to_owned()),
        }
    }

    #[test]
    fn adds_our_rules_after_the_owners_which_stay_unchanged() {
        let existing = config(vec![owner_rule(), rich_owner_rule()]);
        let wanted = [ours("sagekeeper-training-data", 30)];
        let plan = merge(&existing, &wanted, PREFIX).unwrap().unwrap();
        assert_eq!(
            plan.config.rules,
            vec![owner_rule(), rich_owner_rule(), wanted[0].clone()]
        );
        assert_eq!(plan.added, ["sagekeeper-training-data"]);
        assert!(plan.updated.is_empty() && plan.removed.is_empty());
        assert_eq!(
            plan.config
                .transition_default_minimum_object_size
                .as_deref(),
            Some("all_storage_classes_128K")
        );
    }

    #[test]
    fn a_second_merge_changes_nothing() {
        let wanted = [ours("sagekeeper-training-data", 30)];
        let first = merge(&config(vec![owner_rule()]), &wanted, PREFIX)
            .unwrap()
            .unwrap();
        assert_eq!(merge(&first.config, &wanted, PREFIX).unwrap(), None);
    }

    #[test]
    fn our_rules_read_back_in_another_spelling_are_the_same() {
        // S3 may answer an empty filter as <Filter><Prefix></Prefix></Filter>.
        let mut read_back = ours("sagekeeper-temp", 30);
        read_back.filter = Some(Filter {
            prefix: Some(String::new()),
            ..Filter::default()
        });
        let existing = config(vec![owner_rule(), read_back]);
        assert_eq!(
            merge(&existing, &[ours("sagekeeper-temp", 30)], PREFIX).unwrap(),
            None
        );
    }

    #[test]
    fn changed_day_counts_update_our_rule_and_stale_rules_of_ours_go() {
        let existing = config(vec![
            ours("sagekeeper-temp", 30),
            owner_rule(),
            ours("sagekeeper-training-data", 30),
        ]);
        let wanted = [ours("sagekeeper-training-data", 45)];
        let plan = merge(&existing, &wanted, PREFIX).unwrap().unwrap();
        assert_eq!(plan.config.rules, vec![owner_rule(), wanted[0].clone()]);
        assert_eq!(plan.updated, ["sagekeeper-training-data"]);
        assert_eq!(plan.removed, ["sagekeeper-temp"]);
        assert!(plan.added.is_empty());
    }

    #[test]
    fn a_rule_without_our_prefix_is_refused_and_limits_are_kept() {
        let err = merge(&LifecycleConfig::default(), &[owner_rule()], PREFIX).unwrap_err();
        assert!(matches!(err, MergeError::NotOurs(..)), "{err}");
        let many = config(
            (0..MAX_RULES)
                .map(|i| Rule {
                    id: Some(format!("owner-{i}")),
                    ..owner_rule()
                })
                .collect(),
        );
        assert_eq!(
            merge(&many, &[ours("sagekeeper-temp", 30)], PREFIX).unwrap_err(),
            MergeError::TooManyRules(MAX_RULES + 1)
        );
    }
}
