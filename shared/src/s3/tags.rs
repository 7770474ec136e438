//! Adding tags to an S3 bucket without rewriting its tag set. S3's own PutBucketTagging
//! replaces the whole set, and S3 refuses a set holding system tags (`aws:` keys, e.g. the
//! `aws:cloudformation:*` tags of every bucket a stack created) from any client, so writing the
//! set back fails on such buckets. The Resource Groups Tagging API's TagResources adds keys to a
//! bucket and leaves the others, system tags included, as they are. The set is read right
//! before writing and only keys the bucket does not have are sent: a tag the owner set (even
//! since the run's plan) keeps its value.

use crate::aws::AwsError;
use crate::model::tags::Tags;
use crate::run::report::ReportableError;
use crate::s3;
use crate::tagging::{self, TagFailure};

/// S3 accepts at most this many tags on a bucket; system tags (`aws:`) do not count.
pub const MAX_BUCKET_TAGS: usize = 50;

/// Keys under this prefix are AWS's own: no client may set them.
pub const SYSTEM_TAG_PREFIX: &str = "aws:";

/// Adds the keys of `new` the bucket does not have yet; returns the keys added.
pub async fn add_missing(
    s3_client: &aws_sdk_s3::Client,
    tagging_client: &aws_sdk_resourcegroupstagging::Client,
    bucket: &str,
    new: &Tags,
) -> Result<Vec<String>, AwsError> {
    let tags = s3::get_tags(s3_client, bucket).await?;
    let added: Tags = new
        .iter()
        .filter(|(key, _)| !tags.contains_key(*key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if added.is_empty() {
        return Ok(Vec::new());
    }
    let user_tags = tags
        .keys()
        .chain(added.keys())
        .filter(|key| !key.starts_with(SYSTEM_TAG_PREFIX))
        .count();
    if user_tags > MAX_BUCKET_TAGS {
        return Err(AwsError {
            operation: "TagResources",
            code: "TooManyTags".to_owned(),
            message: format!(
                "{bucket} would have {user_tags} tags; S3 accepts at most {MAX_BUCKET_TAGS}"
            ),
            retryable: false,
        });
    }
    let arn = s3::bucket_arn(bucket);
    let failures =
        tagging::tag_resources(tagging_client, std::slice::from_ref(&arn), &added).await?;
    if let Some(failure) = failures.into_iter().next() {
        return Err(failed(failure));
    }
    Ok(added.into_keys().collect())
}

/// A bucket TagResources could not tag, as the error of this one-bucket write.
fn failed(failure: TagFailure) -> AwsError {
    AwsError {
        operation: "TagResources",
        retryable: failure.retryable(),
        message: failure.to_string(),
        code: failure.code,
    }
}
