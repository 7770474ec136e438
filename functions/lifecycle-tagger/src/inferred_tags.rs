//! Which tags to add to a resource: a pure function of what is known about it.
//!
//! Each required tag the resource lacks is taken, in order, from its parents (nearest first),
//! the creating role's tags, then the configured defaults. A tag already on the resource is
//! never changed, whatever its value: the owner set it.

use chrono::{DateTime, SecondsFormat, Utc};
use sagekeeper_core::model::tags::Tags;

use crate::creator::{CREATED_AT, CREATED_BY};

/// What is known about one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagSources {
    pub own: Tags,
    /// Tags of the resources it came from, nearest first.
    pub parents: Vec<Tags>,
    /// Tags of the IAM role that created it.
    pub role: Option<Tags>,
    /// `CreatedBy` / `CreatedAt` to record (known on create events only).
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// Required keys this resource takes from its ancestors when it reads them, never as a
    /// tag of its own (the Studio keys of `DECIDED_BY_ANCESTORS` in studio.rs): not added, not missing.
    pub left_to_ancestors: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagPolicy<'a> {
    pub required: &'a [String],
    pub defaults: &'a Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inferred {
    pub add: Tags,
    /// Required tags nothing could supply, in the configured order.
    pub missing: Vec<String>,
}

pub fn infer(sources: &TagSources, policy: TagPolicy<'_>) -> Inferred {
    let mut inferred = Inferred::default();
    let lacks = |key: &str| !sources.own.contains_key(key);
    if let Some(by) = sources.created_by.as_ref().filter(|_| lacks(CREATED_BY)) {
        inferred.add.insert(CREATED_BY.to_owned(), by.clone());
    }
    if let Some(at) = sources.created_at.filter(|_| lacks(CREATED_AT)) {
        inferred.add.insert(
            CREATED_AT.to_owned(),
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
    }
    let own_to_decide = |key: &&String| !sources.left_to_ancestors.contains(&key.as_str());
    for key in policy
        .required
        .iter()
        .filter(|k| lacks(k))
        .filter(own_to_decide)
    {
        let found = sources
            .parents
            .iter()
            .chain(sources.role.iter())
            .chain(std::iter::once(policy.defaults))
            .find_map(|tags| tags.get(key).filter(|v| !v.trim().is_empty()));
        match found {
            Some(value) => {
                inferred.add.insert(key.clone(), value.clone());
            }
            None => inferred.missing.push(key.clone()),
        }
    }
    inferred
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use sagekeeper_core::model::tags::from_pairs as tags;

    fn required() -> Vec<String> {
        [
            "Environment",
            "Team",
            "Project",
            "CostCenter",
            "AutoShutdown",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn an_owners_tag_is_never_overwritten_by_any_source() {
        let sources = TagSources {
            own: tags(&[
                ("Team", "churn"),
                ("CreatedBy", "someone-else"),
                ("Project", ""),
            ]),
            parents: vec![tags(&[("Team", "fraud"), ("Project", "p")])],
            role: Some(tags(&[("Team", "ds")])),
            created_by: Some("assumed-role/DataScientist/alice".to_owned()),
            ..TagSources::default()
        };
        let defaults = tags(&[("Team", "unassigned")]);
        let required = required();
        let plan = infer(
            &sources,
            TagPolicy {
                required: &required,
                defaults: &defaults,
            },
        );
        assert!(!plan.add.contains_key("Team"));
        assert!(!plan.add.contains_key("CreatedBy"));
        // An empty value is still the owner's.
        assert!(!plan.add.contains_key("Project"));
    }

    #[test]
    fn parents_come_first_then_the_role_then_defaults() {
        let sources = TagSources {
            own: Tags::new(),
            parents: vec![
                tags(&[("Team", "fraud"), ("Environment", "")]),
                tags(&[("Team", "model-team"), ("Project", "fraud-detection")]),
            ],
            role: Some(tags(&[
                ("Team", "ds"),
                ("CostCenter", "cc-7"),
                ("Environment", "dev"),
            ])),
            ..TagSources::default()
        };
        let defaults = tags(&[("CostCenter", "cc-0"), ("AutoShutdown", "false")]);
        let required = required();
        let plan = infer(
            &sources,
            TagPolicy {
                required: &required,
                defaults: &defaults,
            },
        );
        assert_eq!(
            plan.add,
            tags(&[
                ("Team", "fraud"),
                ("Project", "fraud-detection"),
                ("CostCenter", "cc-7"),
                // An empty parent value supplies nothing.
                ("Environment", "dev"),
                ("AutoShutdown", "false"),
            ])
        );
        assert!(plan.missing.is_empty());
    }

    #[test]
    fn what_nothing_supplies_is_missing_in_order_and_creation_is_recorded() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 18, 1, 37).unwrap();
        let sources = TagSources {
            own: tags(&[("Team", "churn")]),
            created_by: Some("assumed-role/DataScientist/alice@acme.example".to_owned()),
            created_at: Some(at),
            ..TagSources::default()
        };
        let required = required();
        let plan = infer(
            &sources,
            TagPolicy {
                required: &required,
                defaults: &Tags::new(),
            },
        );
        assert_eq!(
            plan.add["CreatedBy"],
            "assumed-role/DataScientist/alice@acme.example"
        );
        assert_eq!(plan.add["CreatedAt"], "2026-11-20T18:01:37Z");
        assert_eq!(
            plan.missing,
            ["Environment", "Project", "CostCenter", "AutoShutdown"]
        );
    }

    #[test]
    fn a_fully_tagged_resource_needs_nothing() {
        let own = tags(&[
            ("Environment", "prod"),
            ("Team", "t"),
            ("Project", "p"),
            ("CostCenter", "c"),
            ("AutoShutdown", "false"),
        ]);
        let sources = TagSources {
            own,
            ..TagSources::default()
        };
        let required = required();
        let defaults = tags(&[("Team", "x")]);
        assert_eq!(
            infer(
                &sources,
                TagPolicy {
                    required: &required,
                    defaults: &defaults
                }
            ),
            Inferred::default()
        );
    }

    #[test]
    fn a_key_left_to_the_ancestors_is_neither_added_nor_missing() {
        let parent = tags(&[("AutoShutdown", "true"), ("Team", "ml")]);
        let mut sources = TagSources {
            parents: vec![parent],
            left_to_ancestors: &["AutoShutdown"],
            ..TagSources::default()
        };
        let required = ["AutoShutdown", "Team", "Project"].map(String::from);
        let policy = TagPolicy {
            required: &required,
            defaults: &tags(&[("AutoShutdown", "false")]),
        };
        let inferred = infer(&sources, policy);
        assert_eq!(inferred.add, tags(&[("Team", "ml")]));
        assert_eq!(inferred.missing, ["Project"]);
        // Control: without it, the parent's value is copied.
        sources.left_to_ancestors = &[];
        assert_eq!(
            infer(&sources, policy).add,
            tags(&[("AutoShutdown", "true"), ("Team", "ml")])
        );
    }
}
