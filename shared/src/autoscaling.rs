//! Application Auto Scaling for SageMaker resources: capture every scalable target with its
//! scaling policies and scheduled actions into plain serializable data, and put them back.
//!
//! Deregistering a scalable target deletes its policies and scheduled actions, so a capture
//! must be complete before anything is deregistered: configurations this module cannot
//! represent (predictive scaling, metric math) are refused with `Unsupported` rather than
//! captured partially. A step-scaling policy is captured with the CloudWatch alarms that
//! invoke it, which are pointed at the policy's new ARN when it is put back.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension,
    ScalableTargetAction, ScalingPolicy, ScheduledAction, ServiceNamespace, StepAdjustment,
    StepScalingPolicyConfiguration, SuspendedState, TargetTrackingScalingPolicyConfiguration,
};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsResultExt};
use crate::cloudwatch::metric_alarms::{self, MetricAlarm};

/// The clients a capture or restore uses: scaling itself, and CloudWatch for the alarms of
/// step-scaling policies.
#[derive(Debug, Clone, Copy)]
pub struct ScalingClients<'a> {
    pub autoscaling: &'a Client,
    pub cloudwatch: &'a aws_sdk_cloudwatch::Client,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingSnapshot {
    pub targets: Vec<TargetSnapshot>,
}

impl ScalingSnapshot {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSnapshot {
    /// e.g. `endpoint/fraud/variant/AllTraffic` or `inference-component/ic-1`.
    pub resource_id: String,
    pub scalable_dimension: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub suspended: Option<Suspended>,
    pub policies: Vec<PolicySnapshot>,
    pub scheduled_actions: Vec<ScheduledActionSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suspended {
    pub dynamic_scaling_in: Option<bool>,
    pub dynamic_scaling_out: Option<bool>,
    pub scheduled_scaling: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    pub name: String,
    pub policy: PolicyConfig,
    /// The policy's ARN when captured: what its alarms' actions name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The alarms that invoke a step-scaling policy (target tracking makes its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<MetricAlarm>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PolicyConfig {
    TargetTracking {
        target_value: f64,
        predefined_metric: Option<PredefinedMetric>,
        customized_metric: Option<CustomizedMetric>,
        scale_out_cooldown: Option<i32>,
        scale_in_cooldown: Option<i32>,
        disable_scale_in: Option<bool>,
    },
    StepScaling {
        adjustment_type: Option<String>,
        steps: Vec<Step>,
        min_adjustment_magnitude: Option<i32>,
        cooldown: Option<i32>,
        metric_aggregation_type: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredefinedMetric {
    pub metric_type: String,
    pub resource_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomizedMetric {
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub statistic: Option<String>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
    pub adjustment: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledActionSnapshot {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    /// Epoch seconds; the SDK's own date type does not serialize.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub min_capacity: Option<i32>,
    pub max_capacity: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScalingError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{resource_id}: {what} cannot be captured yet, so parking it would lose it")]
    Unsupported { resource_id: String, what: String },
}

impl crate::run::report::ReportableError for ScalingError {
    fn kind(&self) -> &'static str {
        match self {
            ScalingError::Aws(_) => "aws",
            ScalingError::Unsupported { .. } => "unsupported-autoscaling",
        }
    }
    fn retryable(&self) -> bool {
        matches!(self, ScalingError::Aws(e) if e.retryable)
    }
}

/// Captures the scalable targets (with policies and scheduled actions) of `resource_ids`.
/// Resources without a scalable target contribute nothing.
pub async fn capture(
    clients: ScalingClients<'_>,
    resource_ids: &[String],
) -> Result<ScalingSnapshot, ScalingError> {
    let client = clients.autoscaling;
    if resource_ids.is_empty() {
        return Ok(ScalingSnapshot { targets: vec![] });
    }
    let mut pages = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .set_resource_ids(Some(resource_ids.to_vec()))
        .into_paginator()
        .send();
    let mut targets = Vec::new();
    while let Some(page) = pages.next().await {
        for target in page
            .aws("DescribeScalableTargets")?
            .scalable_targets
            .unwrap_or_default()
        {
            let policies =
                capture_policies(clients, &target.resource_id, &target.scalable_dimension).await?;
            let scheduled_actions =
                capture_scheduled_actions(client, &target.resource_id, &target.scalable_dimension)
                    .await?;
            targets.push(TargetSnapshot {
                resource_id: target.resource_id,
                scalable_dimension: target.scalable_dimension.as_str().to_owned(),
                min_capacity: target.min_capacity,
                max_capacity: target.max_capacity,
                suspended: target.suspended_state.map(|s| Suspended {
                    dynamic_scaling_in: s.dynamic_scaling_in_suspended,
                    dynamic_scaling_out: s.dynamic_scaling_out_suspended,
                    scheduled_scaling: s.scheduled_scaling_suspended,
                }),
                policies,
                scheduled_actions,
            });
        }
    }
    Ok(ScalingSnapshot { targets })
}

async fn capture_policies(
    clients: ScalingClients<'_>,
    resource_id: &str,
    dimension: &ScalableDimension,
) -> Result<Vec<PolicySnapshot>, ScalingError> {
    let mut pages = clients
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(dimension.clone())
        .into_paginator()
        .send();
    let mut policies = Vec::new();
    while let Some(page) = pages.next().await {
        for policy in page
            .aws("DescribeScalingPolicies")?
            .scaling_policies
            .unwrap_or_default()
        {
            let alarm_names: Vec<String> = match policy.policy_type {
                PolicyType::StepScaling => policy
                    .alarms()
                    .iter()
                    .map(|a| a.alarm_name.clone())
                    .collect(),
                // Target tracking creates and deletes its own alarms.
                _ => Vec::new(),
            };
            let mut snapshot = policy_snapshot(resource_id, policy)?;
            if !alarm_names.is_empty() {
                snapshot.alarms = metric_alarms::describe(clients.cloudwatch, &alarm_names)
                    .await?
                    .map_err(|u| ScalingError::Unsupported {
                        resource_id: resource_id.to_owned(),
                        what: format!(
                            "alarm {} of policy {} uses {}",
                            u.alarm, snapshot.name, u.what
                        ),
                    })?;
            }
            policies.push(snapshot);
        }
    }
    Ok(policies)
}

fn policy_snapshot(
    resource_id: &str,
    policy: ScalingPolicy,
) -> Result<PolicySnapshot, ScalingError> {
    let unsupported = |what: String| ScalingError::Unsupported {
        resource_id: resource_id.to_owned(),
        what,
    };
    let config = match (
        &policy.policy_type,
        policy.target_tracking_scaling_policy_configuration,
        policy.step_scaling_policy_configuration,
    ) {
        (PolicyType::TargetTrackingScaling, Some(tt), _) => {
            let customized_metric = match tt.customized_metric_specification {
                Some(spec) if spec.metrics.is_some() => {
                    return Err(unsupported(format!(
                        "policy {} uses metric math",
                        policy.policy_name
                    )));
                }
                Some(spec) => Some(CustomizedMetric {
                    metric_name: spec.metric_name,
                    namespace: spec.namespace,
                    dimensions: spec
                        .dimensions
                        .unwrap_or_default()
                        .into_iter()
                        .map(|d| (d.name, d.value))
                        .collect(),
                    statistic: spec.statistic.map(|s| s.as_str().to_owned()),
                    unit: spec.unit,
                }),
                None => None,
            };
            PolicyConfig::TargetTracking {
                target_value: tt.target_value,
                predefined_metric: tt
                    .predefined_metric_specification
                    .map(|p| PredefinedMetric {
                        metric_type: p.predefined_metric_type.as_str().to_owned(),
                        resource_label: p.resource_label,
                    }),
                customized_metric,
                scale_out_cooldown: tt.scale_out_cooldown,
                scale_in_cooldown: tt.scale_in_cooldown,
                disable_scale_in: tt.disable_scale_in,
            }
        }
        (PolicyType::StepScaling, _, Some(step)) => PolicyConfig::StepScaling {
            adjustment_type: step.adjustment_type.map(|a| a.as_str().to_owned()),
            steps: step
                .step_adjustments
                .unwrap_or_default()
                .into_iter()
                .map(|s| Step {
                    lower_bound: s.metric_interval_lower_bound,
                    upper_bound: s.metric_interval_upper_bound,
                    adjustment: s.scaling_adjustment,
                })
                .collect(),
            min_adjustment_magnitude: step.min_adjustment_magnitude,
            cooldown: step.cooldown,
            metric_aggregation_type: step.metric_aggregation_type.map(|m| m.as_str().to_owned()),
        },
        (other, ..) => {
            return Err(unsupported(format!(
                "policy {} of type {}",
                policy.policy_name,
                other.as_str()
            )));
        }
    };
    Ok(PolicySnapshot {
        name: policy.policy_name,
        policy: config,
        arn: Some(policy.policy_arn),
        alarms: Vec::new(),
    })
}

async fn capture_scheduled_actions(
    client: &Client,
    resource_id: &str,
    dimension: &ScalableDimension,
) -> Result<Vec<ScheduledActionSnapshot>, ScalingError> {
    let mut pages = client
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(dimension.clone())
        .into_paginator()
        .send();
    let mut actions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("DescribeScheduledActions")?;
        actions.extend(
            page.scheduled_actions
                .unwrap_or_default()
                .into_iter()
                .map(scheduled_snapshot),
        );
    }
    Ok(actions)
}

fn scheduled_snapshot(action: ScheduledAction) -> ScheduledActionSnapshot {
    ScheduledActionSnapshot {
        name: action.scheduled_action_name,
        schedule: action.schedule,
        timezone: action.timezone,
        start_time: action.start_time.map(|t| t.secs()),
        end_time: action.end_time.map(|t| t.secs()),
        min_capacity: action
            .scalable_target_action
            .as_ref()
            .and_then(|a| a.min_capacity),
        max_capacity: action
            .scalable_target_action
            .as_ref()
            .and_then(|a| a.max_capacity),
    }
}

/// A scalable target's limits as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub resource_id: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
}

impl Limits {
    pub fn held_at_zero(&self) -> bool {
        self.max_capacity == 0
    }
}

/// The limits of the variant scalable targets among `resource_ids` (none for a resource
/// without a target): one call, without the policies a capture reads.
pub async fn limits(client: &Client, resource_ids: &[String]) -> Result<Vec<Limits>, AwsError> {
    if resource_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pages = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .set_resource_ids(Some(resource_ids.to_vec()))
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .into_paginator()
        .send();
    let mut limits = Vec::new();
    while let Some(page) = pages.next().await {
        for target in page
            .aws("DescribeScalableTargets")?
            .scalable_targets
            .unwrap_or_default()
        {
            limits.push(Limits {
                resource_id: target.resource_id,
                min_capacity: target.min_capacity,
                max_capacity: target.max_capacity,
            });
        }
    }
    Ok(limits)
}

/// Holds each variant at zero instances: its scalable target (registered here if it had none)
/// gets limits 0..0, so Application Auto Scaling scales it in to zero and no policy scales it
/// out, and scheduled scaling is suspended so no scheduled action raises the limits while it
/// is held. Its policies and scheduled actions stay attached. Only asynchronous endpoints may
/// run at zero instances; their queues keep the requests meanwhile.
pub async fn hold_at_zero(client: &Client, resource_ids: &[String]) -> Result<(), AwsError> {
    for resource_id in resource_ids {
        client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .min_capacity(0)
            .max_capacity(0)
            .suspended_state(
                SuspendedState::builder()
                    .scheduled_scaling_suspended(true)
                    .build(),
            )
            .send()
            .await
            .aws("RegisterScalableTarget")?;
    }
    Ok(())
}

/// Ends the hold of variants that had no scalable target before it: the target registered
/// for the hold is deregistered (one already gone counts as deregistered).
pub async fn release_hold(client: &Client, resource_ids: &[String]) -> Result<(), AwsError> {
    let held = ScalingSnapshot {
        targets: resource_ids
            .iter()
            .map(|resource_id| TargetSnapshot {
                resource_id: resource_id.clone(),
                scalable_dimension: ScalableDimension::SageMakerVariantDesiredInstanceCount
                    .as_str()
                    .to_owned(),
                min_capacity: 0,
                max_capacity: 0,
                suspended: None,
                policies: Vec::new(),
                scheduled_actions: Vec::new(),
            })
            .collect(),
    };
    deregister(client, &held).await
}

/// Deregisters the captured targets; their policies and scheduled actions go with them.
/// A target that is already gone counts as deregistered, so a re-run after a crash succeeds.
pub async fn deregister(client: &Client, snapshot: &ScalingSnapshot) -> Result<(), AwsError> {
    for target in &snapshot.targets {
        let result = client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&target.resource_id)
            .scalable_dimension(ScalableDimension::from(target.scalable_dimension.as_str()))
            .send()
            .await
            .aws("DeregisterScalableTarget");
        match result {
            Ok(_) => {}
            // AWS answers ObjectNotFoundException; the emulator a ValidationException.
            Err(err)
                if err.is_code("ObjectNotFoundException")
                    || (err.is_code("ValidationException")
                        && err.message.contains("No scalable target")) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Registers every target with its policies and scheduled actions again, and points the
/// alarms of step-scaling policies at their new ARNs. Every call is an upsert, so restoring
/// twice is harmless.
pub async fn restore(
    clients: ScalingClients<'_>,
    snapshot: &ScalingSnapshot,
) -> Result<(), AwsError> {
    let client = clients.autoscaling;
    for target in &snapshot.targets {
        let dimension = ScalableDimension::from(target.scalable_dimension.as_str());
        client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&target.resource_id)
            .scalable_dimension(dimension.clone())
            .min_capacity(target.min_capacity)
            .max_capacity(target.max_capacity)
            // Explicit, also when nothing was suspended: a target held at zero has its
            // scheduled scaling suspended, and registering it again without a state would
            // keep that.
            .suspended_state({
                let s = target.suspended.clone().unwrap_or_default();
                SuspendedState::builder()
                    .dynamic_scaling_in_suspended(s.dynamic_scaling_in.unwrap_or(false))
                    .dynamic_scaling_out_suspended(s.dynamic_scaling_out.unwrap_or(false))
                    .scheduled_scaling_suspended(s.scheduled_scaling.unwrap_or(false))
                    .build()
            })
            .send()
            .await
            .aws("RegisterScalableTarget")?;
        for policy in &target.policies {
            let arn = put_policy(client, &target.resource_id, &dimension, policy).await?;
            for alarm in &policy.alarms {
                let alarm = match &policy.arn {
                    Some(old) => alarm.repointed(old, &arn),
                    None => alarm.clone(),
                };
                metric_alarms::put(clients.cloudwatch, &alarm).await?;
            }
        }
        for action in &target.scheduled_actions {
            client
                .put_scheduled_action()
                .service_namespace(ServiceNamespace::Sagemaker)
                .resource_id(&target.resource_id)
                .scalable_dimension(dimension.clone())
                .scheduled_action_name(&action.name)
                .schedule(&action.schedule)
                .set_timezone(action.timezone.clone())
                .set_start_time(action.start_time.map(aws_smithy_types::DateTime::from_secs))
                .set_end_time(action.end_time.map(aws_smithy_types::DateTime::from_secs))
                .scalable_target_action(
                    ScalableTargetAction::builder()
                        .set_min_capacity(action.min_capacity)
                        .set_max_capacity(action.max_capacity)
                        .build(),
                )
                .send()
                .await
                .aws("PutScheduledAction")?;
        }
    }
    Ok(())
}

async fn put_policy(
    client: &Client,
    resource_id: &str,
    dimension: &ScalableDimension,
    policy: &PolicySnapshot,
) -> Result<String, AwsError> {
    let request = client
        .put_scaling_policy()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(dimension.clone())
        .policy_name(&policy.name);
    let request = match &policy.policy {
        PolicyConfig::TargetTracking {
            target_value,
            predefined_metric,
            customized_metric,
            scale_out_cooldown,
            scale_in_cooldown,
            disable_scale_in,
        } => request
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(*target_value)
                    .set_predefined_metric_specification(predefined_metric.as_ref().and_then(|p| {
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(MetricType::from(p.metric_type.as_str()))
                            .set_resource_label(p.resource_label.clone())
                            .build()
                            .ok()
                    }))
                    .set_customized_metric_specification(customized_metric.as_ref().map(|c| {
                        CustomizedMetricSpecification::builder()
                            .set_metric_name(c.metric_name.clone())
                            .set_namespace(c.namespace.clone())
                            .set_dimensions(Some(
                                c.dimensions
                                    .iter()
                                    .filter_map(|(n, v)| {
                                        MetricDimension::builder().name(n).value(v).build().ok()
                                    })
                                    .collect(),
                            ))
                            .set_statistic(c.statistic.as_deref().map(MetricStatistic::from))
                            .set_unit(c.unit.clone())
                            .build()
                    }))
                    .set_scale_out_cooldown(*scale_out_cooldown)
                    .set_scale_in_cooldown(*scale_in_cooldown)
                    .set_disable_scale_in(*disable_scale_in)
                    .build()
                    .map_err(|e| invalid_snapshot(resource_id, e))?,
            ),
        PolicyConfig::StepScaling {
            adjustment_type,
            steps,
            min_adjustment_magnitude,
            cooldown,
            metric_aggregation_type,
        } => request
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(
                StepScalingPolicyConfiguration::builder()
                    .set_adjustment_type(adjustment_type.as_deref().map(AdjustmentType::from))
                    .set_step_adjustments(Some(
                        steps
                            .iter()
                            .filter_map(|s| {
                                StepAdjustment::builder()
                                    .set_metric_interval_lower_bound(s.lower_bound)
                                    .set_metric_interval_upper_bound(s.upper_bound)
                                    .scaling_adjustment(s.adjustment)
                                    .build()
                                    .ok()
                            })
                            .collect(),
                    ))
                    .set_min_adjustment_magnitude(*min_adjustment_magnitude)
                    .set_cooldown(*cooldown)
                    .set_metric_aggregation_type(
                        metric_aggregation_type
                            .as_deref()
                            .map(MetricAggregationType::from),
                    )
                    .build(),
            ),
    };
    let out = request.send().await.aws("PutScalingPolicy")?;
    Ok(out.policy_arn)
}

fn invalid_snapshot(resource_id: &str, err: impl std::fmt::Display) -> AwsError {
    AwsError {
        operation: "PutScalingPolicy",
        code: "InvalidSnapshot".to_owned(),
        message: format!("{resource_id}: {err}"),
        retryable: false,
    }
}
