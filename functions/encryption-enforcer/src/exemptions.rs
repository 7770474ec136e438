//! Exemptions: a resource tagged `sagekeeper:exempt=<rule ids>` (with an optional
//! `sagekeeper:exempt-reason`), or listed in `EXEMPT_RESOURCES`, is reported as exempt from
//! those rules instead of being changed. It is never skipped silently.

use std::collections::BTreeSet;

use crate::model::Evaluable;

pub const EXEMPT_TAG: &str = "sagekeeper:exempt";
pub const EXEMPT_REASON_TAG: &str = "sagekeeper:exempt-reason";

/// Why `subject` is exempt from rule `rule_id`, or `None` when it is not.
///
/// Rule ids in the tag may be separated by commas, spaces, `+` or `;`: S3 and SageMaker do not
/// allow commas in tag values, so a comma list cannot be written there.
pub fn exemption(
    rule_id: &str,
    subject: &impl Evaluable,
    exempt_resources: &BTreeSet<String>,
) -> Option<String> {
    if exempt_resources.contains(&subject.arn().to_ascii_lowercase()) {
        return Some("exempt: listed in EXEMPT_RESOURCES".to_owned());
    }
    let tags = subject.tags();
    let listed = tags.get(EXEMPT_TAG)?;
    let exempt = listed
        .split([',', ' ', '+', ';'])
        .any(|id| id.trim() == rule_id);
    exempt.then(|| match tags.get(EXEMPT_REASON_TAG).map(|r| r.trim()) {
        Some(reason) if !reason.is_empty() => format!("exempt by tag {EXEMPT_TAG}: {reason}"),
        _ => format!("exempt by tag {EXEMPT_TAG} (no {EXEMPT_REASON_TAG} given)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::model::tags::Tags;

    struct Thing(Tags);
    impl Evaluable for Thing {
        fn arn(&self) -> &str {
            "arn:aws:s3:::Acme-Data"
        }
        fn tags(&self) -> &Tags {
            &self.0
        }
    }

    fn tagged(pairs: &[(&str, &str)]) -> Thing {
        Thing(sagekeeper_core::model::tags::from_pairs(pairs))
    }

    #[test]
    fn tag_lists_rules_with_any_separator_and_a_reason() {
        let none = BTreeSet::new();
        let thing = tagged(&[
            (
                EXEMPT_TAG,
                "s3-public-access-block+s3-deny-insecure-transport",
            ),
            (EXEMPT_REASON_TAG, "public dataset, CISO-123"),
        ]);
        assert_eq!(
            exemption("s3-deny-insecure-transport", &thing, &none).as_deref(),
            Some("exempt by tag sagekeeper:exempt: public dataset, CISO-123")
        );
        assert!(exemption("s3-public-access-block", &thing, &none).is_some());
        assert_eq!(exemption("s3-default-encryption-kms", &thing, &none), None);
        let comma = tagged(&[(EXEMPT_TAG, "kms-key-rotation, s3-public-access-block")]);
        assert_eq!(
            exemption("s3-public-access-block", &comma, &none).as_deref(),
            Some("exempt by tag sagekeeper:exempt (no sagekeeper:exempt-reason given)")
        );
        // A prefix of a rule id is not the rule.
        let prefix = tagged(&[(EXEMPT_TAG, "s3-public")]);
        assert_eq!(exemption("s3-public-access-block", &prefix, &none), None);
    }

    #[test]
    fn allow_list_exempts_from_every_rule_whatever_the_case() {
        let listed = BTreeSet::from(["arn:aws:s3:::acme-data".to_owned()]);
        let thing = tagged(&[]);
        assert_eq!(
            exemption("s3-default-encryption-kms", &thing, &listed).as_deref(),
            Some("exempt: listed in EXEMPT_RESOURCES")
        );
        assert_eq!(
            exemption("s3-default-encryption-kms", &thing, &BTreeSet::new()),
            None
        );
    }
}
