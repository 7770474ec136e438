//! Adding tags to an S3 bucket. PutBucketTagging replaces the bucket's whole tag set, so the
//! set is read again right before writing and only keys the bucket does not have are added:
//! a tag the owner set (even since the run's plan) keeps its value.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Tag, Tagging};

use crate::aws::{AwsError, AwsResultExt};
use crate::s3;
use crate::tagging::Tags;

/// S3 accepts at most this many tags on a bucket.
pub const MAX_BUCKET_TAGS: usize = 50;

/// Adds the keys of `new` the bucket does not have yet; returns the keys added.
pub async fn add_missing(
    client: &Client,
    bucket: &str,
    new: &Tags,
) -> Result<Vec<String>, AwsError> {
    let mut tags = s3::get_tags(client, bucket).await?;
    let added: Vec<String> = new
        .keys()
        .filter(|key| !tags.contains_key(*key))
        .cloned()
        .collect();
    if added.is_empty() {
        return Ok(added);
    }
    for key in &added {
        tags.insert(key.clone(), new[key].clone());
    }
    if tags.len() > MAX_BUCKET_TAGS {
        return Err(AwsError {
            operation: "PutBucketTagging",
            code: "TooManyTags".to_owned(),
            message: format!(
                "{bucket} would have {} tags; S3 accepts at most {MAX_BUCKET_TAGS}",
                tags.len()
            ),
            retryable: false,
        });
    }
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .and_then(|set| Tagging::builder().set_tag_set(Some(set)).build())
        .map_err(|e| AwsError {
            operation: "PutBucketTagging",
            code: "InvalidRequest".to_owned(),
            message: format!("{bucket}: {e}"),
            retryable: false,
        })?;
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tag_set)
        .send()
        .await
        .aws("PutBucketTagging")?;
    Ok(added)
}
