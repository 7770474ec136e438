//! Buckets as the encryption-enforcer meets them: default encryption, policies, and what relies
//! on a bucket (server access logs, load balancer logs, a static website, replication), set up
//! the way AWS documents, and read back.

use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, BucketLoggingStatus, BucketVersioningStatus,
    CreateBucketConfiguration, Destination, EncryptionConfiguration, IndexDocument, LoggingEnabled,
    PublicAccessBlockConfiguration, ReplicationConfiguration, ReplicationRule,
    ReplicationRuleFilter, ReplicationRuleStatus, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    SourceSelectionCriteria, SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, Tag, Tagging,
    VersioningConfiguration, WebsiteConfiguration,
};
use sagekeeper_core::Aws;
use serde_json::{Value, json};

pub fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// A new bucket with default encryption SSE-S3 (`key: None`) or SSE-KMS with `key` and a
/// bucket key; no policy, no public access block.
pub async fn create(aws: &Aws, name: &str, key: Option<&str>) {
    let s3 = aws.s3();
    s3.create_bucket().bucket(name).send().await.unwrap();
    let default = match key {
        Some(key) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    };
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default.build().unwrap())
        .bucket_key_enabled(key.is_some())
        .build();
    s3.put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A new bucket `name` in `region`, with the location constraint S3 wants outside us-east-1;
/// nothing else set.
pub async fn create_in(aws: &Aws, region: &str, name: &str) {
    let mut create = aws.s3().create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
}

/// Sets the bucket's tags to `tags`.
pub async fn put_tags(aws: &Aws, name: &str, tags: &[(&str, &str)]) {
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    aws.s3()
        .put_bucket_tagging()
        .bucket(name)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(tag_set))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn block_public_access(aws: &Aws, name: &str) {
    let on = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    aws.s3()
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(on)
        .send()
        .await
        .unwrap();
}

pub async fn put_policy(aws: &Aws, name: &str, statements: Vec<Value>) {
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    aws.s3()
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

/// `source` delivers its server access logs to `target` (the ACL set-up), and then `target`'s
/// ACL is made private again: only `source`'s logging configuration still says so.
pub async fn deliver_access_logs(aws: &Aws, source: &str, target: &str) {
    let s3 = aws.s3();
    grant_log_delivery(aws, target).await;
    s3.put_bucket_logging()
        .bucket(source)
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket(target)
                        .target_prefix(format!("{source}/"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_acl()
        .bucket(target)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap();
}

/// The legacy set-up of a server access log target: the S3 Log Delivery group may write.
pub async fn grant_log_delivery(aws: &Aws, name: &str) {
    aws.s3()
        .put_bucket_acl()
        .bucket(name)
        // Not in the SDK's enum of bucket ACLs, but a canned ACL S3 accepts for buckets.
        .acl(BucketCannedAcl::from("log-delivery-write"))
        .send()
        .await
        .unwrap();
}

/// The statement AWS documents for Application Load Balancer access logs in us-east-1.
pub fn elb_log_delivery(name: &str) -> Value {
    json!({"Sid": "AlbAccessLogs", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::127311923021:root"},
        "Action": "s3:PutObject", "Resource": format!("{}/AWSLogs/*", arn(name))})
}

pub async fn host_website(aws: &Aws, name: &str) {
    aws.s3()
        .put_bucket_website()
        .bucket(name)
        .website_configuration(
            WebsiteConfiguration::builder()
                .index_document(
                    IndexDocument::builder()
                        .suffix("index.html")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// `source` replicates every new object to `destination`; `kms_aware`: SSE-KMS objects too
/// (SseKmsEncryptedObjects enabled, replicas encrypted with `replica_key`).
pub async fn replicate(
    aws: &Aws,
    source: &str,
    destination: &str,
    kms_aware: bool,
    replica_key: &str,
) {
    let s3 = aws.s3();
    for bucket in [source, destination] {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let mut target = Destination::builder().bucket(arn(destination));
    let mut rule = ReplicationRule::builder()
        .id("to-dr")
        .priority(1)
        .status(ReplicationRuleStatus::Enabled)
        .filter(ReplicationRuleFilter::builder().prefix("").build());
    if kms_aware {
        target = target.encryption_configuration(
            EncryptionConfiguration::builder()
                .replica_kms_key_id(replica_key)
                .build(),
        );
        rule = rule.source_selection_criteria(
            SourceSelectionCriteria::builder()
                .sse_kms_encrypted_objects(
                    SseKmsEncryptedObjects::builder()
                        .status(SseKmsEncryptedObjectsStatus::Enabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        );
    }
    let rule = rule.destination(target.build().unwrap()).build().unwrap();
    s3.put_bucket_replication()
        .bucket(source)
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role("arn:aws:iam::123456789012:role/s3-replication")
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// (algorithm, key) of the bucket's default encryption.
pub async fn encryption(aws: &Aws, name: &str) -> (String, Option<String>) {
    let out = aws
        .s3()
        .get_bucket_encryption()
        .bucket(name)
        .send()
        .await
        .unwrap();
    let rules = out.server_side_encryption_configuration.unwrap().rules;
    let default = rules[0].apply_server_side_encryption_by_default().unwrap();
    (
        default.sse_algorithm().as_str().to_owned(),
        default.kms_master_key_id().map(str::to_owned),
    )
}

/// The policy's statements; none without a policy.
pub async fn statements(aws: &Aws, name: &str) -> Vec<Value> {
    let Ok(out) = aws.s3().get_bucket_policy().bucket(name).send().await else {
        return Vec::new();
    };
    let policy: Value = serde_json::from_str(out.policy().unwrap_or("{}")).unwrap();
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    }
}

pub async fn public_access_blocked(aws: &Aws, name: &str) -> bool {
    let out = aws.s3().get_public_access_block().bucket(name).send().await;
    out.ok()
        .and_then(|o| o.public_access_block_configuration)
        .is_some_and(|c| c.block_public_policy() == Some(true))
}
