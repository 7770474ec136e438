//! Tags of one SageMaker resource, read with ListTags, written with AddTags, removed with
//! DeleteTags.
//!
//! ListTags rather than the Resource Groups Tagging API: that index is eventually consistent,
//! and a function triggered seconds after a resource's creation must see the tags it was
//! created with (an exemption, a data classification).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::Tag;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

pub async fn list(client: &Client, arn: &str) -> Result<Tags, AwsError> {
    let mut pages = client
        .list_tags()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send();
    let mut tags = Tags::new();
    while let Some(tag) = pages.next().await {
        let tag = tag.aws("ListTags")?;
        if let Some(key) = tag.key {
            tags.insert(key, tag.value.unwrap_or_default());
        }
    }
    Ok(tags)
}

/// Adds or overwrites `tags` on the resource; other tags are left as they are.
pub async fn add(client: &Client, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    client
        .add_tags()
        .resource_arn(arn)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .aws("AddTags")?;
    Ok(())
}

/// Removes tag keys from the resource (e.g. an expired snooze tag).
pub async fn remove(client: &Client, arn: &str, keys: &[&str]) -> Result<(), AwsError> {
    client
        .delete_tags()
        .resource_arn(arn)
        .set_tag_keys(Some(keys.iter().map(|k| k.to_string()).collect()))
        .send()
        .await
        .aws("DeleteTags")?;
    Ok(())
}
