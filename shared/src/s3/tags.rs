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
) -> Result<Vec<String>, BucketTagError> {
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
        return Err(BucketTagError::TooMany {
            bucket: bucket.to_owned(),
            count: user_tags,
        });
    }
    let arn = s3::bucket_arn(bucket);
    let failures =
        tagging::tag_resources(tagging_client, std::slice::from_ref(&arn), &added).await?;
    if let Some(failure) = failures.into_iter().next() {
        return Err(BucketTagError::NotTagged(failure));
    }
    Ok(added.into_keys().collect())
}

/// Why a bucket's missing tags were not added.
#[derive(Debug, thiserror::Error)]
pub enum BucketTagError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{bucket} would have {count} tags; S3 accepts at most {MAX_BUCKET_TAGS}")]
    TooMany { bucket: String, count: usize },
    /// TagResources answered, but did not tag the bucket.
    #[error(transparent)]
    NotTagged(TagFailure),
}

impl ReportableError for BucketTagError {
    fn kind(&self) -> &'static str {
        match self {
            BucketTagError::Aws(err) => err.kind(),
            BucketTagError::TooMany { .. } => "tag-limit",
            BucketTagError::NotTagged(failure) => failure.kind(),
        }
    }
    fn retryable(&self) -> bool {
        match self {
            BucketTagError::Aws(err) => err.retryable(),
            BucketTagError::TooMany { .. } => false,
            BucketTagError::NotTagged(failure) => failure.retryable(),
        }
    }
}
