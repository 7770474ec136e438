//! Resource Groups Tagging API: tags for many resources in one call per 100, instead of one
//! ListTags call per resource.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::Client;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::aws::{AwsError, AwsResultExt};

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    pub arn: String,
    pub tags: Tags,
}

/// Every resource of the given types (`sagemaker:endpoint`, `s3`, ...) carrying `tag_key`,
/// optionally only with one of `values`.
pub async fn resources_with_tag(
    client: &Client,
    resource_types: &[&str],
    tag_key: &str,
    values: &[&str],
) -> Result<Vec<TaggedResource>, AwsError> {
    let filter = TagFilter::builder()
        .key(tag_key)
        .set_values((!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()))
        .build();
    let mut pages = client
        .get_resources()
        .set_resource_type_filters(Some(resource_types.iter().map(|t| t.to_string()).collect()))
        .tag_filters(filter)
        .resources_per_page(100)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("GetResources")?;
        for mapping in page.resource_tag_mapping_list.unwrap_or_default() {
            let Some(arn) = mapping.resource_arn else {
                continue;
            };
            let tags = mapping
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect();
            found.push(TaggedResource { arn, tags });
        }
    }
    Ok(found)
}
