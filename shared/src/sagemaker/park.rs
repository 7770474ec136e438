//! Capturing everything needed to bring an endpoint back before it is taken down: the same
//! snapshot whoever takes it down (the scheduler parking it for the night, the tagger
//! deleting it for being idle).

use chrono::{DateTime, Utc};

use crate::autoscaling::{self, ScalingClients, ScalingError};
use crate::model::snapshot::{
    ComponentCopies, EndpointSnapshot, SNAPSHOT_FORMAT, VariantInstances,
};
use crate::model::tags::Tags;
use crate::run::report::{Report, Severity};
use crate::s3::state::{Expect, StateError, StateStore};
use crate::sagemaker::endpoints::{Endpoint, EndpointConfig};
use crate::sagemaker::inference_components::InferenceComponent;

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
    scaling: ScalingClients<'_>,
    live: &Endpoint,
    config: &EndpointConfig,
    components: &[InferenceComponent],
    tags: &Tags,
    now: DateTime<Utc>,
    parked_by: &str,
) -> Result<EndpointSnapshot, ScalingError> {
    let resource_ids = scaling_resource_ids(live, config, components);
    let scaling = autoscaling::capture(scaling, &resource_ids).await?;
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
                weight: live.weights.get(&v.name).copied(),
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
        deployment_config: live.deployment_config.clone(),
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

/// What writing a snapshot under a condition came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written and read back (or, in a dry run, planned): the endpoint may be taken down.
    Verified,
    /// Another run created or replaced the snapshot since it was read: decide again from what
    /// is there now, never overwrite it.
    Conflict,
    /// Not written; a finding says `subject` stays up.
    Failed,
}

/// `store` as a conditional write (`expect`: absent, or the version that was read), under the
/// snapshot's own key, reported as `write-snapshot`. A snapshot is never replaced by one a
/// concurrent run did not see, so a poorer capture cannot overwrite a full one.
pub async fn store_if(
    report: &mut Report,
    state: &StateStore,
    arn: &str,
    snapshot: &EndpointSnapshot,
    expect: &Expect,
    subject: &str,
) -> Stored {
    let key = snapshot.key();
    let mut conflict = false;
    let write = async {
        match state.put_verified_if(&key, snapshot, expect).await {
            Err(err @ StateError::Conflict { .. }) => {
                conflict = true;
                Err(err)
            }
            other => other,
        }
    };
    if report.attempt(arn, "write-snapshot", write).await {
        return Stored::Verified;
    }
    if conflict {
        return Stored::Conflict;
    }
    let message = format!(
        "the snapshot could not be written and verified in s3://{}, so {subject} stays up",
        state.bucket()
    );
    report.finding(arn, "snapshot-failed", Severity::High, message);
    Stored::Failed
}

/// A fresh capture of an endpoint that an earlier snapshot of the same config had captured
/// with autoscaling, while the endpoint now has none: the autoscaling was deregistered by a
/// park that did not finish (or by a concurrent one), not removed by its owner, so it is
/// carried forward rather than dropped.
pub fn carry_forward(mut fresh: EndpointSnapshot, previous: &EndpointSnapshot) -> EndpointSnapshot {
    if fresh.endpoint_config_name == previous.endpoint_config_name
        && fresh.scaling.is_empty()
        && !previous.scaling.is_empty()
    {
        fresh.scaling = previous.scaling.clone();
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscaling::{ScalingSnapshot, TargetSnapshot};
    use chrono::TimeZone;

    fn snapshot(config: &str, targets: usize) -> EndpointSnapshot {
        EndpointSnapshot {
            format: SNAPSHOT_FORMAT,
            endpoint_name: "fraud".into(),
            endpoint_arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud".into(),
            endpoint_config_name: config.into(),
            tags: Tags::new(),
            instances: vec![],
            scaling: ScalingSnapshot {
                targets: (0..targets)
                    .map(|_| TargetSnapshot {
                        resource_id: "endpoint/fraud/variant/AllTraffic".into(),
                        scalable_dimension: "sagemaker:variant:DesiredInstanceCount".into(),
                        min_capacity: 1,
                        max_capacity: 4,
                        suspended: None,
                        policies: vec![],
                        scheduled_actions: vec![],
                    })
                    .collect(),
            },
            inference_components: vec![],
            parked_at: Utc.with_ymd_and_hms(2026, 11, 20, 18, 5, 0).unwrap(),
            parked_by: "endpoint-scheduler".into(),
            deployment_config: None,
        }
    }

    #[test]
    fn autoscaling_an_unfinished_park_removed_is_carried_forward() {
        let previous = snapshot("cfg", 1);
        let fresh = carry_forward(snapshot("cfg", 0), &previous);
        assert_eq!(fresh.scaling, previous.scaling);
        // Control: a redeployment (another config) is captured as it is.
        let other = carry_forward(snapshot("cfg-v2", 0), &previous);
        assert!(other.scaling.is_empty());
    }
}
