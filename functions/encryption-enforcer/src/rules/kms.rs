//! Key rule: customer-managed keys that protect ML data rotate automatically.

use sagekeeper_core::Severity;

use super::{Context, Evaluation, Mode, Rule, RuleInfo};
use crate::model::Key;

pub const ROTATION: &str = "kms-key-rotation";

pub static RULES: &[Rule<Key>] = &[Rule {
    info: RuleInfo {
        id: ROTATION,
        title: "Customer-managed KMS keys used for ML data rotate automatically",
        severity: Severity::Medium,
        control: "Rotate encryption keys (KMS automatic key rotation)",
        default_mode: Mode::Remediate,
    },
    check: rotation,
}];

fn rotation(key: &Key, _: &Context) -> Evaluation {
    if let Some(why) = key.info.rotation_unsupported_because() {
        return Evaluation::NotApplicable(why);
    }
    match key.rotation_enabled {
        Some(true) => Evaluation::Compliant,
        Some(false) => Evaluation::NonCompliant("automatic key rotation is off".to_owned()),
        None => Evaluation::NotApplicable("the rotation status could not be read".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyIndex, TagMatch};
    use crate::rules::s3::tests::{KEY_ARN, key};
    use sagekeeper_core::kms::KeyManager;

    fn check(key: &Key) -> Evaluation {
        let keys = KeyIndex::default();
        let sensitive = TagMatch::parse("DataClassification").unwrap();
        let context = Context {
            required_kms_key: None,
            keys: &keys,
            sensitive_tag: &sensitive,
        };
        rotation(key, &context)
    }

    #[test]
    fn customer_keys_must_rotate_aws_keys_are_not_ours_to_rotate() {
        assert_eq!(
            check(&key(KEY_ARN, KeyManager::Customer, true)),
            Evaluation::Compliant
        );
        assert_eq!(
            check(&key(KEY_ARN, KeyManager::Customer, false)),
            Evaluation::NonCompliant("automatic key rotation is off".to_owned())
        );
        assert!(matches!(
            check(&key(KEY_ARN, KeyManager::Aws, false)),
            Evaluation::NotApplicable(_)
        ));
        let mut asymmetric = key(KEY_ARN, KeyManager::Customer, false);
        asymmetric.info.spec = "RSA_2048".to_owned();
        assert!(matches!(check(&asymmetric), Evaluation::NotApplicable(_)));
    }
}
