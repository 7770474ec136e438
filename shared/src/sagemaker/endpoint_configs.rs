//! Endpoint configurations: which are in use or new, and their encryption settings and tags.
//! An endpoint config cannot be changed after creation, so there is nothing here that writes
//! to one except its tags.

use aws_sdk_sagemaker::Client;
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{self, AwsError, AwsResultExt};
use crate::model::tags::Tags;
use crate::sagemaker::{is_not_found, tags};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    pub arn: String,
    /// The key for the ML storage volumes of the endpoint's instances.
    pub kms_key_id: Option<String>,
    pub data_capture_enabled: bool,
    /// The key for the captured requests and responses written to S3.
    pub data_capture_kms_key_id: Option<String>,
    /// Instance types of the production variants (serverless variants have none).
    pub instance_types: Vec<String>,
    pub tags: Tags,
}

/// Describes the config and reads its tags.
pub async fn describe(client: &Client, name: &str) -> Result<EndpointConfig, AwsError> {
    let out = client
        .describe_endpoint_config()
        .endpoint_config_name(name)
        .send()
        .await
        .aws("DescribeEndpointConfig")?;
    let capture = out.data_capture_config();
    let arn = out.endpoint_config_arn().unwrap_or_default().to_owned();
    Ok(EndpointConfig {
        name: out.endpoint_config_name().unwrap_or(name).to_owned(),
        kms_key_id: out.kms_key_id().map(str::to_owned),
        // SageMaker captures by default once a capture configuration with a destination is
        // given; an empty one (the emulator returns it for every config) captures nothing.
        data_capture_enabled: capture.is_some_and(|c| {
            c.destination_s3_uri().is_some() && c.enable_capture().unwrap_or(true)
        }),
        data_capture_kms_key_id: capture.and_then(|c| c.kms_key_id()).map(str::to_owned),
        instance_types: out
            .production_variants()
            .iter()
            .filter_map(|v| v.instance_type().map(|t| t.as_str().to_owned()))
            .collect(),
        tags: tags::list(client, &arn).await?,
        arn,
    })
}

/// Names of the configs the account's endpoints currently use (one DescribeEndpoint per
/// endpoint, at most [`aws::DEFAULT_CONCURRENCY`] at a time). Endpoints deleted meanwhile are
/// left out.
pub async fn in_use(client: &Client) -> Result<Vec<String>, AwsError> {
    let mut pages = client.list_endpoints().into_paginator().items().send();
    let mut endpoints = Vec::new();
    while let Some(endpoint) = pages.next().await {
        if let Some(name) = endpoint.aws("ListEndpoints")?.endpoint_name {
            endpoints.push(name);
        }
    }
    let described = aws::map_bounded(endpoints, aws::DEFAULT_CONCURRENCY, |name| async move {
        client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .aws("DescribeEndpoint")
    })
    .await;
    let mut configs = Vec::new();
    for result in described {
        match result {
            Ok(out) => configs.extend(out.endpoint_config_name),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(err),
        }
    }
    configs.sort();
    configs.dedup();
    Ok(configs)
}

/// Names of the configs created after `since`.
pub async fn created_since(client: &Client, since: DateTime<Utc>) -> Result<Vec<String>, AwsError> {
    let mut pages = client
        .list_endpoint_configs()
        .creation_time_after(SmithyDateTime::from_millis(since.timestamp_millis()))
        .into_paginator()
        .items()
        .send();
    let mut names = Vec::new();
    while let Some(config) = pages.next().await {
        if let Some(name) = config.aws("ListEndpointConfigs")?.endpoint_config_name {
            names.push(name);
        }
    }
    Ok(names)
}
