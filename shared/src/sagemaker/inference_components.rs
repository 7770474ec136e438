//! Inference components: parked by scaling their copies to zero, since deleting them (or
//! their endpoint) would lose their specification.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::InferenceComponentRuntimeConfig;

use crate::aws::{AwsError, AwsResultExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceComponent {
    pub name: String,
    pub status: String,
    pub desired_copies: i32,
}

impl InferenceComponent {
    pub fn is_in_service(&self) -> bool {
        self.status == "InService"
    }
}

/// The components hosted on `endpoint`, with their copy counts.
pub async fn list_for_endpoint(
    client: &Client,
    endpoint: &str,
) -> Result<Vec<InferenceComponent>, AwsError> {
    let mut pages = client
        .list_inference_components()
        .endpoint_name_equals(endpoint)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("ListInferenceComponents")?;
        names.extend(
            page.inference_components
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.inference_component_name),
        );
    }
    let mut components = Vec::with_capacity(names.len());
    for name in names {
        let out = client
            .describe_inference_component()
            .inference_component_name(&name)
            .send()
            .await
            .aws("DescribeInferenceComponent")?;
        components.push(InferenceComponent {
            status: out
                .inference_component_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            desired_copies: out
                .runtime_config()
                .and_then(|r| r.desired_copy_count())
                .unwrap_or(0),
            name,
        });
    }
    Ok(components)
}

pub async fn set_copy_count(client: &Client, name: &str, copies: i32) -> Result<(), AwsError> {
    client
        .update_inference_component_runtime_config()
        .inference_component_name(name)
        .desired_runtime_config(
            InferenceComponentRuntimeConfig::builder()
                .copy_count(copies)
                .build(),
        )
        .send()
        .await
        .aws("UpdateInferenceComponentRuntimeConfig")?;
    Ok(())
}

/// The emulator has no inference components, so these run against smithy mocks.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_inference_component::DescribeInferenceComponentOutput;
    use aws_sdk_sagemaker::operation::list_inference_components::ListInferenceComponentsOutput;
    use aws_sdk_sagemaker::operation::update_inference_component_runtime_config::UpdateInferenceComponentRuntimeConfigOutput;
    use aws_sdk_sagemaker::types::{
        InferenceComponentRuntimeConfigSummary, InferenceComponentStatus, InferenceComponentSummary,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn summary(name: &str) -> InferenceComponentSummary {
        InferenceComponentSummary::builder()
            .inference_component_name(name)
            .inference_component_arn(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}"
            ))
            .endpoint_name("llm")
            .endpoint_arn("arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm")
            .variant_name("AllTraffic")
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .last_modified_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
    }

    #[tokio::test]
    async fn lists_components_of_an_endpoint_with_their_copy_counts() {
        let list = mock!(Client::list_inference_components)
            .match_requests(|req| req.endpoint_name_equals() == Some("llm"))
            .then_output(|| {
                ListInferenceComponentsOutput::builder()
                    .inference_components(summary("ic-chat"))
                    .inference_components(summary("ic-embed"))
                    .build()
            });
        let describe = mock!(Client::describe_inference_component).then_compute_output(|req| {
            let name = req
                .inference_component_name()
                .unwrap_or_default()
                .to_owned();
            let copies = if name == "ic-chat" { 3 } else { 1 };
            DescribeInferenceComponentOutput::builder()
                .inference_component_name(&name)
                .inference_component_status(InferenceComponentStatus::InService)
                .runtime_config(
                    InferenceComponentRuntimeConfigSummary::builder()
                        .desired_copy_count(copies)
                        .current_copy_count(copies)
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&list, &describe]);

        let components = list_for_endpoint(&client, "llm").await.unwrap();
        assert_eq!(
            components,
            [
                InferenceComponent {
                    name: "ic-chat".into(),
                    status: "InService".into(),
                    desired_copies: 3
                },
                InferenceComponent {
                    name: "ic-embed".into(),
                    status: "InService".into(),
                    desired_copies: 1
                },
            ]
        );
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test]
    async fn sets_the_copy_count() {
        let update = mock!(Client::update_inference_component_runtime_config)
            .match_requests(|req| {
                req.inference_component_name() == Some("ic-chat")
                    && req.desired_runtime_config().and_then(|c| c.copy_count()) == Some(0)
            })
            .then_output(|| UpdateInferenceComponentRuntimeConfigOutput::builder().build());
        let client = mock_client!(aws_sdk_sagemaker, [&update]);
        set_copy_count(&client, "ic-chat", 0).await.unwrap();
        assert_eq!(update.num_calls(), 1);
    }
}
