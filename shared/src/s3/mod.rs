//! S3 bucket settings: list buckets, read and write default encryption, the bucket policy and
//! the public access block; read bucket tags, and what tells what relies on a bucket (logging,
//! website, replication, ACL). SDK types stop here.
//!
//! "Not configured" is an answer, not an error: each getter returns `None` for it, whatever
//! error code S3 (or the emulator) uses to say so.
//!
//! Submodules: `objects` (JSON documents other services write), `tags` (adding bucket tags),
//! `lifecycle` (a bucket's lifecycle rules), `state` (our own state bucket) and `lease` (runs
//! excluding each other through it).

pub mod lease;
pub mod lifecycle;
pub mod objects;
pub mod snapshots;
pub mod state;
pub mod tags;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

/// The bucket's ARN in the deployment's partition; S3 bucket ARNs have neither region nor
/// account.
pub fn bucket_arn(bucket: &str) -> String {
    bucket_arn_in(crate::model::arn::home_partition(), bucket)
}

pub fn bucket_arn_in(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// Names of the buckets in `region` (when given) whose name starts with `prefix` (when given).
///
/// ListBuckets filters by prefix and region on the server; the results are filtered here too,
/// because older S3-compatible endpoints ignore those parameters, and a bucket in another region
/// cannot be configured through this region's client anyway.
pub async fn list_buckets(
    client: &Client,
    prefix: Option<&str>,
    region: Option<&str>,
) -> Result<Vec<String>, AwsError> {
    let mut pages = client
        .list_buckets()
        .set_prefix(prefix.map(str::to_owned))
        .set_bucket_region(region.map(str::to_owned))
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("ListBuckets")?;
        for bucket in page.buckets.unwrap_or_default() {
            let in_region = match (region, bucket.bucket_region()) {
                (Some(wanted), Some(actual)) => wanted == actual,
                _ => true,
            };
            let Some(name) = bucket.name else { continue };
            if in_region && prefix.is_none_or(|p| name.starts_with(p)) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// A bucket's default encryption rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultEncryption {
    /// `AES256` (SSE-S3), `aws:kms` (SSE-KMS), `aws:kms:dsse` (DSSE-KMS).
    pub algorithm: String,
    /// The key as configured: key id, key ARN, alias name or alias ARN. `None` with `aws:kms`
    /// means the AWS managed key `aws/s3`.
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: bool,
}

pub const SSE_KMS: &str = "aws:kms";
pub const DSSE_KMS: &str = "aws:kms:dsse";

/// The bucket's default encryption, or `None` when it has no configuration. Real S3 answers
/// with the SSE-S3 default for such buckets; some emulators answer
/// `ServerSideEncryptionConfigurationNotFoundError`, which means the same.
pub async fn get_default_encryption(
    client: &Client,
    bucket: &str,
) -> Result<Option<DefaultEncryption>, AwsError> {
    let out = match client
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketEncryption")
    {
        Ok(out) => out,
        Err(err) if err.is_code("ServerSideEncryptionConfigurationNotFoundError") => {
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    // S3 allows one rule per bucket; the first with a default is the one that applies.
    let rule = out
        .server_side_encryption_configuration()
        .map(|c| c.rules())
        .unwrap_or_default()
        .iter()
        .find(|r| r.apply_server_side_encryption_by_default().is_some());
    Ok(rule.and_then(|rule| {
        rule.apply_server_side_encryption_by_default()
            .map(|default| DefaultEncryption {
                algorithm: default.sse_algorithm().as_str().to_owned(),
                kms_key_id: default.kms_master_key_id().map(str::to_owned),
                bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
            })
    }))
}

/// Sets default encryption to SSE-KMS with `kms_key_id` and an S3 Bucket Key (which cuts KMS
/// requests, and their cost, by orders of magnitude). Existing objects are not re-encrypted.
pub async fn put_default_encryption_kms(
    client: &Client,
    bucket: &str,
    kms_key_id: &str,
) -> Result<(), AwsError> {
    const OP: &str = "PutBucketEncryption";
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(kms_key_id)
        .build()
        .map_err(|e| invalid_request(OP, &e))?;
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .map_err(|e| invalid_request(OP, &e))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .aws(OP)?;
    Ok(())
}

/// The bucket policy document as stored, or `None` when the bucket has none.
pub async fn get_policy(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    match client
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketPolicy")
    {
        Ok(out) => Ok(out.policy),
        Err(err) if err.is_code("NoSuchBucketPolicy") => Ok(None),
        Err(err) => Err(err),
    }
}

/// Replaces the bucket policy with `policy` (a JSON document).
pub async fn put_policy(client: &Client, bucket: &str, policy: &str) -> Result<(), AwsError> {
    client
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .aws("PutBucketPolicy")?;
    Ok(())
}

/// The bucket's public access block settings; a flag S3 leaves out is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL_ON: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    pub fn is_fully_on(&self) -> bool {
        *self == Self::ALL_ON
    }

    /// The names of the settings that are off, in S3's spelling.
    pub fn settings_off(&self) -> Vec<&'static str> {
        [
            (self.block_public_acls, "BlockPublicAcls"),
            (self.ignore_public_acls, "IgnorePublicAcls"),
            (self.block_public_policy, "BlockPublicPolicy"),
            (self.restrict_public_buckets, "RestrictPublicBuckets"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, name)| name)
        .collect()
    }
}

/// The bucket's own public access block, or `None` when it has none.
pub async fn get_public_access_block(
    client: &Client,
    bucket: &str,
) -> Result<Option<PublicAccessBlock>, AwsError> {
    match client
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .aws("GetPublicAccessBlock")
    {
        Ok(out) => Ok(out
            .public_access_block_configuration
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })),
        Err(err) if err.is_code("NoSuchPublicAccessBlockConfiguration") => Ok(None),
        Err(err) => Err(err),
    }
}

pub async fn put_public_access_block(
    client: &Client,
    bucket: &str,
    settings: PublicAccessBlock,
) -> Result<(), AwsError> {
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(settings.block_public_acls)
                .ignore_public_acls(settings.ignore_public_acls)
                .block_public_policy(settings.block_public_policy)
                .restrict_public_buckets(settings.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .aws("PutPublicAccessBlock")?;
    Ok(())
}

/// The bucket's tags; a bucket without tags has an empty set.
pub async fn get_tags(client: &Client, bucket: &str) -> Result<Tags, AwsError> {
    match client
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketTagging")
    {
        Ok(out) => Ok(out
            .tag_set
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect()),
        Err(err) if err.is_code("NoSuchTagSet") => Ok(Tags::new()),
        Err(err) => Err(err),
    }
}

/// The bucket this bucket's server access logs go to, or `None` when logging is off.
pub async fn get_logging_target(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    let out = client
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketLogging")?;
    Ok(out
        .logging_enabled()
        .map(|l| l.target_bucket().to_owned())
        .filter(|target| !target.is_empty()))
}

/// A bucket's static website configuration: it serves either documents or one redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Website {
    /// The host every request is redirected to, when the website only redirects.
    pub redirect_all_to: Option<String>,
}

/// The bucket's website configuration, or `None` when it is not a static website.
pub async fn get_website(client: &Client, bucket: &str) -> Result<Option<Website>, AwsError> {
    match client
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketWebsite")
    {
        Ok(out) => Ok(Some(Website {
            redirect_all_to: out
                .redirect_all_requests_to()
                .map(|r| r.host_name().to_owned()),
        })),
        Err(err) if err.is_code("NoSuchWebsiteConfiguration") => Ok(None),
        Err(err) => Err(err),
    }
}

/// One rule of a bucket's replication configuration, as far as encryption is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationRule {
    pub id: Option<String>,
    pub enabled: bool,
    /// `SourceSelectionCriteria.SseKmsEncryptedObjects` is enabled: without it S3 does not
    /// replicate objects encrypted with SSE-KMS.
    pub replicates_sse_kms: bool,
    /// The key replicas are encrypted with in the destination, when one is set.
    pub replica_kms_key_id: Option<String>,
}

/// The rules of the bucket's replication configuration; none when it does not replicate.
pub async fn get_replication(
    client: &Client,
    bucket: &str,
) -> Result<Vec<ReplicationRule>, AwsError> {
    use aws_sdk_s3::types::{ReplicationRuleStatus, SseKmsEncryptedObjectsStatus};
    let out = match client
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketReplication")
    {
        Ok(out) => out,
        Err(err) if err.is_code("ReplicationConfigurationNotFoundError") => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let rules = out
        .replication_configuration()
        .map(|c| c.rules())
        .unwrap_or_default();
    Ok(rules
        .iter()
        .map(|rule| ReplicationRule {
            id: rule.id().map(str::to_owned),
            enabled: *rule.status() == ReplicationRuleStatus::Enabled,
            replicates_sse_kms: rule
                .source_selection_criteria()
                .and_then(|c| c.sse_kms_encrypted_objects())
                .is_some_and(|o| *o.status() == SseKmsEncryptedObjectsStatus::Enabled),
            replica_kms_key_id: rule
                .destination()
                .and_then(|d| d.encryption_configuration())
                .and_then(|e| e.replica_kms_key_id())
                .map(str::to_owned),
        })
        .collect())
}

/// One grant of a bucket ACL: the grantee (a group URI, a canonical user id or an e-mail
/// address) and the permission, in S3's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclGrant {
    pub grantee: String,
    pub permission: String,
}

/// The S3 log delivery group, which the legacy (ACL) set-up of server access logging grants
/// write access to the target bucket.
pub const LOG_DELIVERY_GROUP: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The grants of the bucket's ACL.
pub async fn get_acl_grants(client: &Client, bucket: &str) -> Result<Vec<AclGrant>, AwsError> {
    let out = client
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .aws("GetBucketAcl")?;
    Ok(out
        .grants()
        .iter()
        .filter_map(|grant| {
            let grantee = grant.grantee()?;
            let who = grantee.uri().or(grantee.id()).or(grantee.email_address())?;
            Some(AclGrant {
                grantee: who.to_owned(),
                permission: grant
                    .permission()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// A request this adapter could not even build: a bug, never worth a retry.
fn invalid_request(
    operation: &'static str,
    err: &aws_smithy_types::error::operation::BuildError,
) -> AwsError {
    AwsError {
        operation,
        code: "InvalidRequest".to_owned(),
        message: err.to_string(),
        retryable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_encryption::{
        GetBucketEncryptionError, GetBucketEncryptionOutput,
    };
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    #[test]
    fn bucket_arns_name_their_partition() {
        assert_eq!(bucket_arn_in("aws-cn", "b"), "arn:aws-cn:s3:::b");
        assert_eq!(bucket_arn_in("aws", "b"), "arn:aws:s3:::b");
    }

    #[test]
    fn public_access_block_names_what_is_off() {
        let partial = PublicAccessBlock {
            block_public_acls: true,
            ..PublicAccessBlock::default()
        };
        assert!(!partial.is_fully_on());
        assert_eq!(
            partial.settings_off(),
            [
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets"
            ]
        );
        assert!(PublicAccessBlock::ALL_ON.is_fully_on());
        assert!(PublicAccessBlock::ALL_ON.settings_off().is_empty());
    }

    // Real S3 answers GetBucketEncryption with the SSE-S3 default for every bucket, and the
    // emulator with an error for buckets without configuration; both paths are covered here,
    // the emulator's also against moto in tests/enforcer.rs.
    #[tokio::test]
    async fn default_encryption_reads_the_rule_or_none() {
        let kms = mock!(Client::get_bucket_encryption)
            .match_requests(|r| r.bucket() == Some("kms"))
            .then_output(|| {
                let default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::AwsKms)
                    .kms_master_key_id("alias/ml")
                    .build()
                    .unwrap();
                GetBucketEncryptionOutput::builder()
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(
                                ServerSideEncryptionRule::builder()
                                    .apply_server_side_encryption_by_default(default)
                                    .bucket_key_enabled(true)
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let missing = mock!(Client::get_bucket_encryption)
            .match_requests(|r| r.bucket() == Some("none"))
            .then_error(|| {
                GetBucketEncryptionError::generic(
                    ErrorMetadata::builder()
                        .code("ServerSideEncryptionConfigurationNotFoundError")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_s3, [&kms, &missing]);
        assert_eq!(
            get_default_encryption(&client, "kms").await.unwrap(),
            Some(DefaultEncryption {
                algorithm: SSE_KMS.to_owned(),
                kms_key_id: Some("alias/ml".to_owned()),
                bucket_key_enabled: true,
            })
        );
        assert_eq!(get_default_encryption(&client, "none").await.unwrap(), None);
    }
}
