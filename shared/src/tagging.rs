//! Resource Groups Tagging API: tags for many resources in one call per 100, instead of one
//! ListTags call per resource.

use aws_sdk_resourcegroupstagging::Client;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;

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

/// TagResources accepts at most this many ARNs per call.
pub const MAX_ARNS_PER_TAG_CALL: usize = 20;

/// A resource TagResources could not tag, while the call itself succeeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TagResources could not tag {arn}: {code}: {message}")]
pub struct TagFailure {
    pub arn: String,
    pub code: String,
    pub message: String,
}

impl crate::run::report::ReportableError for TagFailure {
    fn kind(&self) -> &'static str {
        "aws"
    }
    fn retryable(&self) -> bool {
        self.code == "ThrottlingException" || self.code == "InternalServiceException"
    }
}

/// Adds `tags` to every resource in `arns` (an existing key gets the new value), 20 ARNs per
/// call. `Ok` lists the resources that could not be tagged; `Err` is a call that failed as a
/// whole (the resources of earlier calls are tagged).
pub async fn tag_resources(
    client: &Client,
    arns: &[String],
    tags: &Tags,
) -> Result<Vec<TagFailure>, AwsError> {
    let mut failures = Vec::new();
    for chunk in arns.chunks(MAX_ARNS_PER_TAG_CALL) {
        let out = client
            .tag_resources()
            .set_resource_arn_list(Some(chunk.to_vec()))
            .set_tags(Some(
                tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ))
            .send()
            .await
            .aws("TagResources")?;
        for (arn, info) in out.failed_resources_map.unwrap_or_default() {
            failures.push(TagFailure {
                arn,
                code: info
                    .error_code
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_else(|| info.status_code.to_string()),
                message: info.error_message.unwrap_or_default(),
            });
        }
    }
    failures.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(failures)
}

#[cfg(test)]
mod tag_resources_tests {
    use super::*;
    use aws_sdk_resourcegroupstagging::operation::tag_resources::TagResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ErrorCode, FailureInfo};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    // The emulator tags whatever it is given; the 20-ARN limit per call and partial failures
    // are checked against mocks.
    #[tokio::test]
    async fn tags_20_resources_per_call_and_returns_the_failures() {
        let full = mock!(Client::tag_resources)
            .match_requests(|r| r.resource_arn_list().len() == 20)
            .then_output(|| TagResourcesOutput::builder().build());
        let rest = mock!(Client::tag_resources)
            .match_requests(|r| {
                r.resource_arn_list().len() == 5 && r.tags().is_some_and(|t| t["Team"] == "fraud")
            })
            .then_output(|| {
                TagResourcesOutput::builder()
                    .failed_resources_map(
                        "arn:aws:sagemaker:us-east-1:123456789012:model/m-24",
                        FailureInfo::builder()
                            .status_code(400)
                            .error_code(ErrorCode::InvalidParameterException)
                            .error_message("gone")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(
            aws_sdk_resourcegroupstagging,
            RuleMode::MatchAny,
            [&full, &rest]
        );
        let arns: Vec<String> = (0..25)
            .map(|i| format!("arn:aws:sagemaker:us-east-1:123456789012:model/m-{i}"))
            .collect();
        let tags = Tags::from([("Team".to_owned(), "fraud".to_owned())]);
        let failures = tag_resources(&client, &arns, &tags).await.unwrap();
        assert_eq!(full.num_calls(), 1);
        assert_eq!(rest.num_calls(), 1);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, "InvalidParameterException");
        assert!(failures[0].to_string().contains("model/m-24"));
    }
}
