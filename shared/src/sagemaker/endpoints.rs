//! Real-time endpoints and their configurations: describe into plain data, create, delete.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::Tag;

use crate::aws::{AwsError, AwsResultExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub arn: String,
    /// `InService`, `Creating`, `Updating`, `Deleting`, `Failed`, ...
    pub status: String,
    pub config_name: String,
    /// Variant name → instances running now.
    pub instance_counts: BTreeMap<String, i32>,
}

impl Endpoint {
    pub fn is_in_service(&self) -> bool {
        self.status == "InService"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantConfig {
    pub name: String,
    /// None for variants that host inference components.
    pub model_name: Option<String>,
    pub instance_type: Option<String>,
    pub initial_instance_count: Option<i32>,
    pub serverless: bool,
    /// Managed instance scaling minimum (inference-component endpoints).
    pub managed_min_instances: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    pub variants: Vec<VariantConfig>,
}

impl EndpointConfig {
    pub fn is_serverless(&self) -> bool {
        !self.variants.is_empty() && self.variants.iter().all(|v| v.serverless)
    }

    /// Variants of inference-component endpoints name no model: the components do.
    pub fn hosts_inference_components(&self) -> bool {
        !self.variants.is_empty()
            && self
                .variants
                .iter()
                .all(|v| v.model_name.is_none() && !v.serverless)
    }
}

/// SageMaker answers "not found" for endpoints and configs with a ValidationException.
fn is_not_found(err: &AwsError) -> bool {
    err.is_code("ValidationException") && err.message.contains("Could not find")
}

/// `None` when the endpoint does not exist.
pub async fn describe(client: &Client, name: &str) -> Result<Option<Endpoint>, AwsError> {
    let out = match client
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .aws("DescribeEndpoint")
    {
        Ok(out) => out,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(Some(Endpoint {
        name: out.endpoint_name().unwrap_or(name).to_owned(),
        arn: out.endpoint_arn().unwrap_or_default().to_owned(),
        status: out
            .endpoint_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        config_name: out.endpoint_config_name().unwrap_or_default().to_owned(),
        instance_counts: out
            .production_variants()
            .iter()
            .filter_map(|v| {
                Some((
                    v.variant_name()?.to_owned(),
                    v.current_instance_count().unwrap_or(0),
                ))
            })
            .collect(),
    }))
}

/// `None` when the configuration does not exist (someone deleted it).
pub async fn describe_config(
    client: &Client,
    name: &str,
) -> Result<Option<EndpointConfig>, AwsError> {
    let result = client
        .describe_endpoint_config()
        .endpoint_config_name(name)
        .send()
        .await
        .aws("DescribeEndpointConfig");
    let out = match result {
        Ok(out) => out,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(Some(EndpointConfig {
        name: name.to_owned(),
        variants: out
            .production_variants()
            .iter()
            .map(|v| VariantConfig {
                name: v.variant_name().unwrap_or_default().to_owned(),
                model_name: v.model_name().map(str::to_owned),
                instance_type: v.instance_type().map(|t| t.as_str().to_owned()),
                initial_instance_count: v.initial_instance_count(),
                serverless: v.serverless_config().is_some(),
                managed_min_instances: v
                    .managed_instance_scaling()
                    .and_then(|m| m.min_instance_count()),
            })
            .collect(),
    }))
}

/// Creates the endpoint with the given configuration and tags. Tags under the reserved
/// `aws:` prefix are AWS's own and cannot be set, so they are left out.
pub async fn create(
    client: &Client,
    name: &str,
    config_name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let tags: Vec<Tag> = tags
        .iter()
        .filter(|(key, _)| !key.starts_with("aws:"))
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    let result = client
        .create_endpoint()
        .endpoint_name(name)
        .endpoint_config_name(config_name)
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .aws("CreateEndpoint");
    match result {
        Ok(out) => Ok(out.endpoint_arn.unwrap_or_default()),
        // A retry of a create whose answer was lost: the endpoint is there, which is the goal.
        Err(err)
            if err.is_code("ValidationException") && err.message.contains("already existing") =>
        {
            Ok(String::new())
        }
        Err(err) => Err(err),
    }
}

/// Deletes the endpoint only; its configuration and model stay, so it can be recreated.
/// An endpoint that is already gone counts as deleted, so a re-run after a crash succeeds.
pub async fn delete(client: &Client, name: &str) -> Result<(), AwsError> {
    match client
        .delete_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .aws("DeleteEndpoint")
    {
        Ok(_) => Ok(()),
        Err(err) if is_not_found(&err) => Ok(()),
        Err(err) => Err(err),
    }
}
