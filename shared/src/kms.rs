//! KMS keys: describe (who manages the key, what kind it is), read and turn on automatic
//! rotation, read tags. SDK types stop here.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, MultiRegionKeyType, OriginType};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyManager {
    /// Created and managed by the account: its owner decides about rotation.
    Customer,
    /// Managed by an AWS service (`aws/s3`, `aws/sagemaker`): AWS rotates it every year.
    Aws,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub arn: String,
    pub key_id: String,
    pub manager: KeyManager,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `HMAC_256`, ...
    pub spec: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: String,
    /// Replicas of multi-Region keys follow their primary's rotation.
    pub multi_region_replica: bool,
}

impl KeyInfo {
    /// Why automatic rotation cannot be turned on for this key, if it cannot: KMS only rotates
    /// enabled, symmetric, customer-managed keys whose material it generated, and rotates
    /// multi-Region replicas through their primary.
    pub fn rotation_unsupported_because(&self) -> Option<String> {
        if self.manager == KeyManager::Aws {
            return Some("AWS managed keys are rotated by AWS every year".to_owned());
        }
        if self.spec != KeySpec::SymmetricDefault.as_str() {
            return Some(format!(
                "{} keys cannot be rotated automatically",
                self.spec
            ));
        }
        if self.origin != OriginType::AwsKms.as_str() {
            return Some(format!(
                "keys with {} key material cannot be rotated automatically",
                self.origin
            ));
        }
        if self.multi_region_replica {
            return Some("a multi-Region replica key follows its primary's rotation".to_owned());
        }
        if self.state != KeyState::Enabled.as_str() {
            return Some(format!("the key is {}", self.state));
        }
        None
    }
}

/// Describes a key given by key id, key ARN, alias name (`alias/x`) or alias ARN.
pub async fn describe_key(client: &Client, key: &str) -> Result<KeyInfo, AwsError> {
    let out = client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .aws("DescribeKey")?;
    let Some(meta) = out.key_metadata else {
        return Err(AwsError {
            operation: "DescribeKey",
            code: "MissingKeyMetadata".to_owned(),
            message: format!("DescribeKey returned no metadata for {key}"),
            retryable: true,
        });
    };
    Ok(KeyInfo {
        arn: meta.arn().unwrap_or(key).to_owned(),
        key_id: meta.key_id().to_owned(),
        manager: match meta.key_manager() {
            Some(KeyManagerType::Aws) => KeyManager::Aws,
            _ => KeyManager::Customer,
        },
        spec: meta
            .key_spec()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| KeySpec::SymmetricDefault.as_str().to_owned()),
        state: meta
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        origin: meta
            .origin()
            .map(|o| o.as_str().to_owned())
            .unwrap_or_else(|| OriginType::AwsKms.as_str().to_owned()),
        multi_region_replica: meta
            .multi_region_configuration()
            .and_then(|c| c.multi_region_key_type())
            == Some(&MultiRegionKeyType::Replica),
    })
}

pub async fn rotation_enabled(client: &Client, key: &str) -> Result<bool, AwsError> {
    let out = client
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .aws("GetKeyRotationStatus")?;
    Ok(out.key_rotation_enabled())
}

/// Turns on yearly automatic rotation. Old key material stays available for decryption, so
/// nothing encrypted before becomes unreadable.
pub async fn enable_rotation(client: &Client, key: &str) -> Result<(), AwsError> {
    client
        .enable_key_rotation()
        .key_id(key)
        .send()
        .await
        .aws("EnableKeyRotation")?;
    Ok(())
}

pub async fn tags(client: &Client, key: &str) -> Result<Tags, AwsError> {
    let mut pages = client
        .list_resource_tags()
        .key_id(key)
        .into_paginator()
        .send();
    let mut tags = Tags::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("ListResourceTags")?;
        tags.extend(
            page.tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.tag_key, t.tag_value)),
        );
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyInfo {
        KeyInfo {
            arn: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
            key_id: "k".to_owned(),
            manager: KeyManager::Customer,
            spec: "SYMMETRIC_DEFAULT".to_owned(),
            state: "Enabled".to_owned(),
            origin: "AWS_KMS".to_owned(),
            multi_region_replica: false,
        }
    }

    #[test]
    fn only_enabled_symmetric_customer_keys_can_rotate() {
        assert_eq!(key().rotation_unsupported_because(), None);
        let cases = [
            KeyInfo {
                manager: KeyManager::Aws,
                ..key()
            },
            KeyInfo {
                spec: "RSA_2048".to_owned(),
                ..key()
            },
            KeyInfo {
                origin: "EXTERNAL".to_owned(),
                ..key()
            },
            KeyInfo {
                multi_region_replica: true,
                ..key()
            },
            KeyInfo {
                state: "PendingDeletion".to_owned(),
                ..key()
            },
        ];
        for case in cases {
            assert!(case.rotation_unsupported_because().is_some(), "{case:?}");
        }
    }
}
