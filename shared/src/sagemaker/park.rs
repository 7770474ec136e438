//! Capturing everything needed to bring an endpoint back before it is taken down: the same
//! snapshot whoever takes it down (the scheduler parking it for the night, the tagger
//! deleting it for being idle).

use chrono::{DateTime, Utc};

use crate::autoscaling::{self, ScalingError};
use crate::report::{Report, Severity};
use crate::sagemaker::endpoints::{Endpoint, EndpointConfig};
use crate::sagemaker::inference_components::InferenceComponent;
use crate::sagemaker::snapshot::{
    ComponentCopies, EndpointSnapshot, SNAPSHOT_FORMAT, VariantInstances,
};
use crate::state::StateStore;
use crate::tagging::Tags;

/// The Application Auto Scaling resource ids of the endpoint's variants, or of its inference
/// components when it hosts them.
pub fn scaling_resource_ids(
    live: &Endpoint,
    config: &EndpointConfig,
    components: &[InferenceComponent],
) -> Vec<String> {
    if config.hosts_inference_components() {
        components
            .iter()
            .map(|c| format!("inference-component/{}", c.name))
            .collect()
    } else {
        config
            .variants
            .iter()
            .map(|v| format!("endpoint/{}/variant/{}", live.name, v.name))
            .collect()
    }
}

/// Reads the endpoint's autoscaling and returns its snapshot. Autoscaling that cannot be
/// captured completely is `ScalingError::Unsupported`: the endpoint must then stay up.
pub async fn capture(
    autoscaling_client: &aws_sdk_applicationautoscaling::Client,
    live: &Endpoint,
    config: &EndpointConfig,
    components: &[InferenceComponent],
    tags: &Tags,
    now: DateTime<Utc>,
    parked_by: &str,
) -> Result<EndpointSnapshot, ScalingError> {
    let resource_ids = scaling_resource_ids(live, config, components);
    let scaling = autoscaling::capture(autoscaling_client, &resource_ids).await?;
    let hosts_components = config.hosts_inference_components();
    Ok(EndpointSnapshot {
        format: SNAPSHOT_FORMAT,
        endpoint_name: live.name.clone(),
        endpoint_arn: live.arn.clone(),
        endpoint_config_name: live.config_name.clone(),
        tags: tags.clone(),
        instances: config
            .variants
            .iter()
            .map(|v| VariantInstances {
                variant: v.name.clone(),
                instance_type: v.instance_type.clone(),
                count: live
                    .instance_counts
                    .get(&v.name)
                    .copied()
                    .or(v.initial_instance_count)
                    .unwrap_or(0),
            })
            .collect(),
        scaling,
        inference_components: if hosts_components {
            components
                .iter()
                .map(|c| ComponentCopies {
                    name: c.name.clone(),
                    copies: c.desired_copies,
                })
                .collect()
        } else {
            Vec::new()
        },
        parked_at: now,
        parked_by: parked_by.to_owned(),
    })
}

/// A captured snapshot, or `None` with the reason `subject` (e.g. "the endpoint") stays up in
/// the report: a finding when its autoscaling cannot be captured completely, else the error.
pub fn captured(
    report: &mut Report,
    arn: &str,
    capture: Result<EndpointSnapshot, ScalingError>,
    subject: &str,
) -> Option<EndpointSnapshot> {
    match capture {
        Ok(snapshot) => Some(snapshot),
        Err(err @ ScalingError::Unsupported { .. }) => {
            let message = format!("{err}; {subject} stays up");
            report.finding(arn, "cannot-snapshot", Severity::High, message);
            None
        }
        Err(err) => {
            report.error(Some(arn), &err);
            None
        }
    }
}

/// Writes the snapshot under `key` and reads it back (reported as `action`); nothing may be
/// taken down unless this returns true. Otherwise a finding says `subject` stays up.
pub async fn store(
    report: &mut Report,
    state: &StateStore,
    arn: &str,
    key: &str,
    action: &str,
    snapshot: &EndpointSnapshot,
    subject: &str,
) -> bool {
    if report
        .attempt(arn, action, state.put_verified(key, snapshot))
        .await
    {
        return true;
    }
    let message = format!(
        "the snapshot could not be written and verified in s3://{}, so {subject} stays up",
        state.bucket()
    );
    report.finding(arn, "snapshot-failed", Severity::High, message);
    false
}
