//! Endpoints set up the way that makes parking hard (hand-set capacity, step scaling driven by
//! alarms), and everything about an endpoint that must come back after it is parked, read
//! directly from the emulator for comparison.

use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
use aws_sdk_applicationautoscaling::operation::describe_scaling_policies::DescribeScalingPoliciesOutput;
use aws_sdk_applicationautoscaling::operation::describe_scheduled_actions::DescribeScheduledActionsOutput;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, MetricAggregationType, PolicyType, ScalableDimension, ServiceNamespace,
    StepAdjustment, StepScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_sagemaker::types::DesiredWeightAndCapacity;
use sagekeeper_core::Aws;
use serde_json::{Value, json};

pub const STEP_POLICY: &str = "scale-out-on-latency";

fn variant(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/AllTraffic")
}

/// A step-scaling policy on the endpoint's variant (whose scalable target must exist), invoked
/// by the alarm `<endpoint>-latency-high`, which also pages a topic; returns the alarm's name.
pub async fn seed_step_scaling(aws: &Aws, endpoint: &str) -> String {
    let policy_arn = aws
        .autoscaling()
        .put_scaling_policy()
        .policy_name(STEP_POLICY)
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(variant(endpoint))
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            StepScalingPolicyConfiguration::builder()
                .adjustment_type(AdjustmentType::ChangeInCapacity)
                .step_adjustments(
                    StepAdjustment::builder()
                        .metric_interval_lower_bound(0.0)
                        .scaling_adjustment(1)
                        .build()
                        .unwrap(),
                )
                .cooldown(120)
                .metric_aggregation_type(MetricAggregationType::Average)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .policy_arn;
    let alarm = format!("{endpoint}-latency-high");
    aws.cloudwatch()
        .put_metric_alarm()
        .alarm_name(&alarm)
        .alarm_description("scale out when latency is high")
        .namespace("AWS/SageMaker")
        .metric_name("ModelLatency")
        .dimensions(
            Dimension::builder()
                .name("EndpointName")
                .value(endpoint)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("VariantName")
                .value("AllTraffic")
                .build(),
        )
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(2)
        .threshold(250_000.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(policy_arn)
        .alarm_actions("arn:aws:sns:us-east-1:123456789012:pager")
        .ok_actions("arn:aws:sns:us-east-1:123456789012:pager-ok")
        .send()
        .await
        .unwrap();
    alarm
}

/// Scales the endpoint's variant by hand (as `UpdateEndpointWeightsAndCapacities` does).
pub async fn set_capacity(aws: &Aws, endpoint: &str, instances: i32, weight: f32) {
    aws.sagemaker()
        .update_endpoint_weights_and_capacities()
        .endpoint_name(endpoint)
        .desired_weights_and_capacities(
            DesiredWeightAndCapacity::builder()
                .variant_name("AllTraffic")
                .desired_instance_count(instances)
                .desired_weight(weight)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The scalable targets, scaling policies and scheduled actions of the endpoint's
/// `AllTraffic` variant.
pub async fn autoscaling(
    aws: &Aws,
    endpoint: &str,
) -> (
    DescribeScalableTargetsOutput,
    DescribeScalingPoliciesOutput,
    DescribeScheduledActionsOutput,
) {
    let aas = aws.autoscaling();
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_ids(variant(endpoint))
        .send()
        .await
        .unwrap();
    let policies = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(variant(endpoint))
        .send()
        .await
        .unwrap();
    let actions = aas
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(variant(endpoint))
        .send()
        .await
        .unwrap();
    (targets, policies, actions)
}

/// Everything that must come back after a park: status, config, tags, each variant's
/// instance count and weight, the deployment configuration, the scalable target with its
/// policies of both kinds and scheduled actions, and the alarms named `<endpoint>-*` with
/// their actions (a policy's ARN is shown as `policy:<name>`: a policy put back has a new
/// ARN, and what matters is that its alarms invoke it).
pub async fn restorable_state(aws: &Aws, endpoint: &str) -> Value {
    let sm = aws.sagemaker();
    let described = sm
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
        .ok();
    let mut tags: Vec<String> = Vec::new();
    if let Some(arn) = described.as_ref().and_then(|d| d.endpoint_arn()) {
        tags = super::sagemaker_tag_lines(aws, arn).await;
    }
    let variants: Vec<Value> = described
        .as_ref()
        .map(|d| {
            d.production_variants()
                .iter()
                .map(|v| {
                    json!([
                        v.variant_name(),
                        v.desired_instance_count(),
                        v.desired_weight()
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    let deployment = described
        .as_ref()
        .and_then(|d| d.last_deployment_config())
        .map(|c| format!("{c:?}"));

    let (targets, policies, actions) = autoscaling(aws, endpoint).await;
    let policy_names: Vec<(String, String)> = policies
        .scaling_policies()
        .iter()
        .map(|p| (p.policy_arn.clone(), p.policy_name.clone()))
        .collect();
    let mut policy_view: Vec<Value> = policies
        .scaling_policies()
        .iter()
        .map(|p| {
            let tt = p.target_tracking_scaling_policy_configuration.as_ref();
            let step = p.step_scaling_policy_configuration.as_ref();
            json!({
                "name": p.policy_name,
                "type": p.policy_type.as_str(),
                "target": tt.map(|t| t.target_value),
                "scale_in_cooldown": tt.and_then(|t| t.scale_in_cooldown),
                "steps": step.map(|s| s.step_adjustments().iter().map(|a| json!([
                    a.metric_interval_lower_bound, a.metric_interval_upper_bound, a.scaling_adjustment
                ])).collect::<Vec<_>>()),
                "cooldown": step.and_then(|s| s.cooldown),
            })
        })
        .collect();
    policy_view.sort_by_key(|p| p["name"].to_string());

    let alarms = aws
        .cloudwatch()
        .describe_alarms()
        .alarm_name_prefix(format!("{endpoint}-"))
        .send()
        .await
        .unwrap();
    let by_name = |actions: &[String]| -> Vec<String> {
        actions
            .iter()
            .map(|a| match policy_names.iter().find(|(arn, _)| arn == a) {
                Some((_, name)) => format!("policy:{name}"),
                None => a.clone(),
            })
            .collect()
    };
    let alarm_view: Vec<Value> = alarms
        .metric_alarms()
        .iter()
        .map(|a| {
            json!({
                "name": a.alarm_name(),
                "description": a.alarm_description(),
                "metric": [a.namespace(), a.metric_name(), a.statistic().map(|s| s.as_str().to_owned())],
                "dimensions": a.dimensions().iter().map(|d| format!("{}={}", d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect::<Vec<_>>(),
                "evaluation": [a.period(), a.evaluation_periods(), a.datapoints_to_alarm()],
                "threshold": [a.threshold(), a.comparison_operator().map(|c| c.as_str().to_owned())],
                "treat_missing_data": a.treat_missing_data(),
                "alarm_actions": by_name(a.alarm_actions()),
                "ok_actions": by_name(a.ok_actions()),
            })
        })
        .collect();

    json!({
        "status": described.as_ref().and_then(|d| d.endpoint_status()).map(|s| s.as_str().to_owned()),
        "config": described.as_ref().and_then(|d| d.endpoint_config_name()).map(str::to_owned),
        "tags": tags,
        "variants": variants,
        "deployment_config": deployment,
        "targets": targets.scalable_targets().iter().map(|t| json!([t.min_capacity, t.max_capacity])).collect::<Vec<_>>(),
        "policies": policy_view,
        "scheduled_actions": actions.scheduled_actions().iter().map(|a| json!([a.scheduled_action_name, a.schedule])).collect::<Vec<_>>(),
        "alarms": alarm_view,
    })
}
