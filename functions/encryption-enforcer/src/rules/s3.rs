//! Bucket rules: default encryption with a customer-managed KMS key, TLS-only access, public
//! access block.

use sagekeeper_core::Severity;
use sagekeeper_core::kms::KeyManager;
use sagekeeper_core::s3::{DSSE_KMS, SSE_KMS};

use super::{Context, Evaluation, Mode, Rule, RuleInfo};
use crate::bucket_policy::{self, TlsDeny};
use crate::model::Bucket;

pub const DEFAULT_ENCRYPTION: &str = "s3-default-encryption-kms";
pub const DENY_INSECURE_TRANSPORT: &str = "s3-deny-insecure-transport";
pub const PUBLIC_ACCESS_BLOCK: &str = "s3-public-access-block";

pub static RULES: &[Rule<Bucket>] = &[
    Rule {
        info: RuleInfo {
            id: DEFAULT_ENCRYPTION,
            title: "S3 default encryption uses a customer-managed KMS key with a bucket key",
            severity: Severity::High,
            control: "Encrypt ML data at rest with keys the account controls (SSE-KMS)",
            default_mode: Mode::Remediate,
        },
        check: default_encryption,
    },
    Rule {
        info: RuleInfo {
            id: DENY_INSECURE_TRANSPORT,
            title: "Bucket policy denies requests without TLS",
            severity: Severity::Medium,
            control: "Encrypt ML data in transit (aws:SecureTransport)",
            default_mode: Mode::Remediate,
        },
        check: deny_insecure_transport,
    },
    Rule {
        info: RuleInfo {
            id: PUBLIC_ACCESS_BLOCK,
            title: "Bucket public access block is fully on",
            severity: Severity::High,
            control: "Keep ML data private (S3 Block Public Access)",
            default_mode: Mode::Remediate,
        },
        check: public_access_block,
    },
];

fn default_encryption(bucket: &Bucket, context: &Context) -> Evaluation {
    let Some(encryption) = &bucket.encryption else {
        return Evaluation::NonCompliant(
            "no default encryption configuration: new objects get SSE-S3 (AES256), not SSE-KMS"
                .to_owned(),
        );
    };
    let algorithm = encryption.algorithm.as_str();
    if algorithm != SSE_KMS && algorithm != DSSE_KMS {
        return Evaluation::NonCompliant(format!(
            "default encryption is {algorithm}{}, not SSE-KMS",
            if algorithm == "AES256" {
                " (SSE-S3)"
            } else {
                ""
            }
        ));
    }
    let Some(key) = encryption.kms_key_id.as_deref() else {
        return Evaluation::NonCompliant(
            "SSE-KMS with the AWS managed key aws/s3, not a customer-managed key".to_owned(),
        );
    };
    let described = context.keys.get(key);
    let aws_managed = described.map_or(key.ends_with("alias/aws/s3"), |k| {
        k.info.manager == KeyManager::Aws
    });
    if aws_managed {
        return Evaluation::NonCompliant(format!(
            "SSE-KMS with the AWS managed key {key}, not a customer-managed key"
        ));
    }
    if let Some(required) = context.required_kms_key {
        let key_arn = described.map_or(key, |k| k.info.arn.as_str());
        let same = key_arn == required || required.ends_with(&format!(":key/{key}"));
        if !same {
            return Evaluation::NonCompliant(format!(
                "SSE-KMS with {key}, not the required key {required}"
            ));
        }
    }
    // DSSE-KMS does not support bucket keys; SSE-KMS without one calls KMS for every object.
    if algorithm == SSE_KMS && !encryption.bucket_key_enabled {
        return Evaluation::NonCompliant(
            "SSE-KMS without an S3 Bucket Key: every object request calls KMS".to_owned(),
        );
    }
    Evaluation::Compliant
}

fn deny_insecure_transport(bucket: &Bucket, _: &Context) -> Evaluation {
    let Some(text) = &bucket.policy else {
        return Evaluation::NonCompliant(
            "no bucket policy, so requests over plain HTTP are allowed".to_owned(),
        );
    };
    match bucket_policy::tls_deny(text, &bucket.name) {
        Ok(TlsDeny::Everyone) => Evaluation::Compliant,
        Ok(TlsDeny::WithExceptions(exceptions)) => Evaluation::Excepted(format!(
            "the policy denies requests without TLS with the owner's exceptions, kept as they are: {}",
            exceptions.join("; ")
        )),
        Ok(TlsDeny::Absent) => Evaluation::NonCompliant(
            "the bucket policy does not deny requests with aws:SecureTransport=false".to_owned(),
        ),
        Err(err) => Evaluation::NonCompliant(format!("{err}; it is left unchanged")),
    }
}

fn public_access_block(bucket: &Bucket, _: &Context) -> Evaluation {
    match &bucket.public_access_block {
        None => Evaluation::NonCompliant("no public access block configuration".to_owned()),
        Some(settings) if settings.is_fully_on() => Evaluation::Compliant,
        Some(settings) => Evaluation::NonCompliant(format!(
            "public access block settings off: {}",
            settings.settings_off().join(", ")
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Key, KeyIndex, TagMatch};
    use sagekeeper_core::kms::KeyInfo;
    use sagekeeper_core::model::tags::Tags;
    use sagekeeper_core::s3::{DefaultEncryption, PublicAccessBlock};

    pub const KEY_ARN: &str =
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    pub fn key(arn: &str, manager: KeyManager, rotation: bool) -> Key {
        Key {
            info: KeyInfo {
                arn: arn.to_owned(),
                key_id: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
                manager,
                spec: "SYMMETRIC_DEFAULT".to_owned(),
                state: "Enabled".to_owned(),
                origin: "AWS_KMS".to_owned(),
                multi_region_replica: false,
            },
            rotation_enabled: Some(rotation),
            tags: Tags::new(),
        }
    }

    pub fn keys() -> KeyIndex {
        let mut index = KeyIndex::default();
        index.insert("alias/ml-data", key(KEY_ARN, KeyManager::Customer, true));
        index.insert(
            "alias/aws/s3",
            key(
                "arn:aws:kms:us-east-1:123456789012:key/aws-s3",
                KeyManager::Aws,
                true,
            ),
        );
        index
    }

    /// A bucket that passes every rule.
    pub fn good_bucket() -> Bucket {
        Bucket {
            name: "acme-ml-training-data".to_owned(),
            arn: "arn:aws:s3:::acme-ml-training-data".to_owned(),
            encryption: Some(DefaultEncryption {
                algorithm: SSE_KMS.to_owned(),
                kms_key_id: Some(KEY_ARN.to_owned()),
                bucket_key_enabled: true,
            }),
            policy: Some(
                serde_json::json!({"Version": "2012-10-17", "Statement": [bucket_policy::tls_only_statement("acme-ml-training-data")]})
                    .to_string(),
            ),
            public_access_block: Some(PublicAccessBlock::ALL_ON),
            tags: Tags::new(),
            uses: crate::model::BucketUses::default(),
        }
    }

    fn check(bucket: &Bucket, id: &str, required: Option<&str>) -> Evaluation {
        let keys = keys();
        let sensitive = TagMatch::parse("DataClassification").unwrap();
        let context = Context {
            required_kms_key: required,
            keys: &keys,
            sensitive_tag: &sensitive,
        };
        let rule = RULES.iter().find(|r| r.info.id == id).unwrap();
        (rule.check)(bucket, &context)
    }

    fn is_non_compliant(evaluation: Evaluation, says: &str) {
        match evaluation {
            Evaluation::NonCompliant(reason) => assert!(reason.contains(says), "{reason}"),
            other => panic!("expected non-compliant ({says}), got {other:?}"),
        }
    }

    #[test]
    fn a_well_configured_bucket_passes_every_rule() {
        for rule in RULES {
            assert_eq!(
                check(&good_bucket(), rule.info.id, Some(KEY_ARN)),
                Evaluation::Compliant,
                "{}",
                rule.info.id
            );
        }
    }

    #[test]
    fn default_encryption_must_be_sse_kms_with_a_customer_key_and_bucket_key() {
        let with = |algorithm: &str, key: Option<&str>, bucket_key: bool| Bucket {
            encryption: Some(DefaultEncryption {
                algorithm: algorithm.to_owned(),
                kms_key_id: key.map(str::to_owned),
                bucket_key_enabled: bucket_key,
            }),
            ..good_bucket()
        };
        let none = Bucket {
            encryption: None,
            ..good_bucket()
        };
        is_non_compliant(
            check(&none, DEFAULT_ENCRYPTION, None),
            "no default encryption",
        );
        is_non_compliant(
            check(&with("AES256", None, false), DEFAULT_ENCRYPTION, None),
            "AES256 (SSE-S3)",
        );
        is_non_compliant(
            check(&with(SSE_KMS, None, true), DEFAULT_ENCRYPTION, None),
            "AWS managed key aws/s3",
        );
        is_non_compliant(
            check(
                &with(SSE_KMS, Some("alias/aws/s3"), true),
                DEFAULT_ENCRYPTION,
                None,
            ),
            "AWS managed key",
        );
        is_non_compliant(
            check(
                &with(SSE_KMS, Some(KEY_ARN), false),
                DEFAULT_ENCRYPTION,
                None,
            ),
            "without an S3 Bucket Key",
        );
        // A customer key known by alias is the required key; an unknown one is not.
        assert_eq!(
            check(
                &with(SSE_KMS, Some("alias/ml-data"), true),
                DEFAULT_ENCRYPTION,
                Some(KEY_ARN)
            ),
            Evaluation::Compliant
        );
        is_non_compliant(
            check(
                &with(SSE_KMS, Some("alias/other"), true),
                DEFAULT_ENCRYPTION,
                Some(KEY_ARN),
            ),
            "not the required key",
        );
        // Without a required key any customer key will do; DSSE-KMS needs no bucket key.
        assert_eq!(
            check(
                &with(SSE_KMS, Some("alias/other"), true),
                DEFAULT_ENCRYPTION,
                None
            ),
            Evaluation::Compliant
        );
        assert_eq!(
            check(
                &with(DSSE_KMS, Some(KEY_ARN), false),
                DEFAULT_ENCRYPTION,
                Some(KEY_ARN)
            ),
            Evaluation::Compliant
        );
    }

    #[test]
    fn tls_rule_needs_a_deny_statement_and_reports_unparseable_policies() {
        let with = |policy: Option<&str>| Bucket {
            policy: policy.map(str::to_owned),
            ..good_bucket()
        };
        is_non_compliant(
            check(&with(None), DENY_INSECURE_TRANSPORT, None),
            "no bucket policy",
        );
        is_non_compliant(
            check(
                &with(Some(r#"{"Version":"2012-10-17","Statement":[]}"#)),
                DENY_INSECURE_TRANSPORT,
                None,
            ),
            "does not deny",
        );
        is_non_compliant(
            check(&with(Some("{not json")), DENY_INSECURE_TRANSPORT, None),
            "not valid JSON",
        );
    }

    #[test]
    fn public_access_block_must_be_fully_on() {
        let with = |settings: Option<PublicAccessBlock>| Bucket {
            public_access_block: settings,
            ..good_bucket()
        };
        is_non_compliant(
            check(&with(None), PUBLIC_ACCESS_BLOCK, None),
            "no public access block",
        );
        let partial = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            ..PublicAccessBlock::default()
        };
        is_non_compliant(
            check(&with(Some(partial)), PUBLIC_ACCESS_BLOCK, None),
            "BlockPublicPolicy, RestrictPublicBuckets",
        );
    }
}
