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
pub async fn list_for_endpoint(client: &Client, endpoint: &str) -> Result<Vec<InferenceComponent>, AwsError> {
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
            desired_copies: out.runtime_config().and_then(|r| r.desired_copy_count()).unwrap_or(0),
            name,
        });
    }
    Ok(components)
}

pub async fn set_copy_count(client: &Client, name: &str, copies: i32) -> Result<(), AwsError> {
    client
        .update_inference_component_runtime_config()
        .inference_component_name(name)
        .desired_runtime_config(InferenceComponentRuntimeConfig::builder().copy_count(copies).build())
        .send()
        .await
        .aws("UpdateInferenceComponentRuntimeConfig")?;
    Ok(())
}
