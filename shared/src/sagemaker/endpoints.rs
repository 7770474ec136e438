//! Real-time endpoints and their configurations: describe into plain data, create, delete.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    self as sdk, CapacitySizeType, DesiredWeightAndCapacity, Tag, TrafficRoutingConfigType,
};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsResultExt};
use crate::sagemaker::is_not_found;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub arn: String,
    /// `InService`, `Creating`, `Updating`, `Deleting`, `Failed`, ...
    pub status: String,
    pub config_name: String,
    /// Variant name → instances running now.
    pub instance_counts: BTreeMap<String, i32>,
    /// Variant name → desired traffic weight (absent when SageMaker gives none).
    pub weights: BTreeMap<String, Weight>,
    /// How updates are deployed (blue/green or rolling, auto-rollback alarms): set when the
    /// endpoint was created or last updated, not part of its config.
    pub deployment_config: Option<DeploymentConfig>,
}

/// An endpoint's `DeploymentConfig`, as plain data a snapshot keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    pub blue_green: Option<BlueGreen>,
    pub rolling: Option<Rolling>,
    /// Names of the alarms that roll a deployment back.
    pub rollback_alarms: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueGreen {
    pub traffic_routing: Option<TrafficRouting>,
    pub termination_wait_seconds: Option<i32>,
    pub maximum_execution_timeout_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficRouting {
    /// `ALL_AT_ONCE`, `CANARY`, `LINEAR`.
    pub kind: Option<String>,
    pub wait_interval_seconds: Option<i32>,
    pub canary_size: Option<Capacity>,
    pub linear_step_size: Option<Capacity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// `INSTANCE_COUNT` or `CAPACITY_PERCENT`.
    pub kind: Option<String>,
    pub value: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rolling {
    pub maximum_batch_size: Option<Capacity>,
    pub wait_interval_seconds: Option<i32>,
    pub maximum_execution_timeout_seconds: Option<i32>,
    pub rollback_maximum_batch_size: Option<Capacity>,
}

impl From<&sdk::DeploymentConfig> for DeploymentConfig {
    fn from(c: &sdk::DeploymentConfig) -> Self {
        let capacity = |c: Option<&sdk::CapacitySize>| {
            c.map(|c| Capacity {
                kind: c.r#type().map(|t| t.as_str().to_owned()),
                value: c.value(),
            })
        };
        DeploymentConfig {
            blue_green: c.blue_green_update_policy().map(|b| BlueGreen {
                traffic_routing: b.traffic_routing_configuration().map(|t| TrafficRouting {
                    kind: t.r#type().map(|k| k.as_str().to_owned()),
                    wait_interval_seconds: t.wait_interval_in_seconds(),
                    canary_size: capacity(t.canary_size()),
                    linear_step_size: capacity(t.linear_step_size()),
                }),
                termination_wait_seconds: b.termination_wait_in_seconds(),
                maximum_execution_timeout_seconds: b.maximum_execution_timeout_in_seconds(),
            }),
            rolling: c.rolling_update_policy().map(|r| Rolling {
                maximum_batch_size: capacity(r.maximum_batch_size()),
                wait_interval_seconds: r.wait_interval_in_seconds(),
                maximum_execution_timeout_seconds: r.maximum_execution_timeout_in_seconds(),
                rollback_maximum_batch_size: capacity(r.rollback_maximum_batch_size()),
            }),
            rollback_alarms: c.auto_rollback_configuration().map(|a| {
                a.alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name().map(str::to_owned))
                    .collect()
            }),
        }
    }
}

impl From<&DeploymentConfig> for sdk::DeploymentConfig {
    fn from(c: &DeploymentConfig) -> Self {
        let capacity = |c: &Option<Capacity>| {
            c.as_ref().map(|c| {
                sdk::CapacitySize::builder()
                    .set_type(c.kind.as_deref().map(CapacitySizeType::from))
                    .set_value(c.value)
                    .build()
            })
        };
        sdk::DeploymentConfig::builder()
            .set_blue_green_update_policy(c.blue_green.as_ref().map(|b| {
                sdk::BlueGreenUpdatePolicy::builder()
                    .set_traffic_routing_configuration(b.traffic_routing.as_ref().map(|t| {
                        sdk::TrafficRoutingConfig::builder()
                            .set_type(t.kind.as_deref().map(TrafficRoutingConfigType::from))
                            .set_wait_interval_in_seconds(t.wait_interval_seconds)
                            .set_canary_size(capacity(&t.canary_size))
                            .set_linear_step_size(capacity(&t.linear_step_size))
                            .build()
                    }))
                    .set_termination_wait_in_seconds(b.termination_wait_seconds)
                    .set_maximum_execution_timeout_in_seconds(b.maximum_execution_timeout_seconds)
                    .build()
            }))
            .set_rolling_update_policy(c.rolling.as_ref().map(|r| {
                sdk::RollingUpdatePolicy::builder()
                    .set_maximum_batch_size(capacity(&r.maximum_batch_size))
                    .set_wait_interval_in_seconds(r.wait_interval_seconds)
                    .set_maximum_execution_timeout_in_seconds(r.maximum_execution_timeout_seconds)
                    .set_rollback_maximum_batch_size(capacity(&r.rollback_maximum_batch_size))
                    .build()
            }))
            .set_auto_rollback_configuration(c.rollback_alarms.as_ref().map(|names| {
                sdk::AutoRollbackConfig::builder()
                    .set_alarms(Some(
                        names
                            .iter()
                            .map(|n| sdk::Alarm::builder().alarm_name(n).build())
                            .collect(),
                    ))
                    .build()
            }))
            .build()
    }
}

/// A variant's traffic weight. Compared bit for bit: a weight read from SageMaker, kept in a
/// snapshot and read back is the same float, and `Eq` lets endpoints be compared whole.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weight(pub f32);

impl PartialEq for Weight {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Weight {}

/// One variant's instance count and weight, as `UpdateEndpointWeightsAndCapacities` sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantCapacity {
    pub variant: String,
    pub instance_count: i32,
    pub weight: Option<Weight>,
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
    /// Asynchronous inference (an `AsyncInferenceConfig`): requests wait in a queue, so the
    /// endpoint can be held at zero instances instead of being deleted.
    pub asynchronous: bool,
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
        weights: out
            .production_variants()
            .iter()
            .filter_map(|v| {
                let weight = v.desired_weight().or(v.current_weight())?;
                Some((v.variant_name()?.to_owned(), Weight(weight)))
            })
            .collect(),
        deployment_config: out.last_deployment_config().map(DeploymentConfig::from),
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
        asynchronous: out.async_inference_config().is_some(),
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
    create_with(client, name, config_name, tags, None).await
}

/// `create`, with the deployment configuration the endpoint had.
pub async fn create_with(
    client: &Client,
    name: &str,
    config_name: &str,
    tags: &BTreeMap<String, String>,
    deployment: Option<&DeploymentConfig>,
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
        .set_deployment_config(deployment.map(sdk::DeploymentConfig::from))
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

/// Sets the variants' instance counts (and weights, where given) on a live endpoint, e.g. the
/// counts someone set by hand before it was parked; SageMaker then updates it in place.
pub async fn set_capacities(
    client: &Client,
    name: &str,
    capacities: &[VariantCapacity],
) -> Result<(), AwsError> {
    let desired = capacities
        .iter()
        .map(|c| {
            DesiredWeightAndCapacity::builder()
                .variant_name(&c.variant)
                .desired_instance_count(c.instance_count)
                .set_desired_weight(c.weight.map(|w| w.0))
                .build()
        })
        .collect();
    client
        .update_endpoint_weights_and_capacities()
        .endpoint_name(name)
        .set_desired_weights_and_capacities(Some(desired))
        .send()
        .await
        .aws("UpdateEndpointWeightsAndCapacities")?;
    Ok(())
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
