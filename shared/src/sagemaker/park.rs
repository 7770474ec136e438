//! Capturing everything needed to bring an endpoint back before it is taken down: the same
//! snapshot whoever takes it down (the scheduler parking it for the night, the tagger
//! deleting it for being idle).

use chrono::{DateTime, Utc};

use crate::autoscaling::{self, ScalingClients, ScalingError};
use crate::model::snapshot::{
    ComponentCopies, EndpointSnapshot, HELD_AT_ZERO_FORMAT, SNAPSHOT_FORMAT, VariantInstances,
};
use crate::model::tags::Tags;
use crate::run::report::{Report, Severity};
use crate::s3::state::{Expect, StateError, StateStore};
use crate::sagemaker::endpoints::{self, Endpoint, EndpointConfig, VariantConfig};
use crate::sagemaker::inference_components::{self, InferenceComponent};

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
        variant_resource_ids(&live.name, &config.variants)
    }
}

/// `endpoint/<endpoint>/variant/<variant>` of each variant.
pub fn variant_resource_ids(endpoint: &str, variants: &[VariantConfig]) -> Vec<String> {
    variants
        .iter()
        .map(|v| format!("endpoint/{endpoint}/variant/{}", v.name))
        .collect()
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
        format: if config.asynchronous {
            HELD_AT_ZERO_FORMAT
        } else {
            SNAPSHOT_FORMAT
        },
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
        asynchronous: config.asynchronous,
    })
}

/// Where a snapshot is kept, which decides who may bring the endpoint back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Under the endpoint's own key in `snapshots/endpoints/`, replacing only the version that
    /// was read (`expect`): the scheduler brings the endpoint back from it.
    ForRestore { expect: Expect },
    /// Under `deleted/endpoints/`: the endpoint was deleted for good (idle), and is brought
    /// back only by people.
    Deleted,
}

impl Keep {
    fn key(&self, snapshot: &EndpointSnapshot) -> String {
        match self {
            Keep::ForRestore { .. } => snapshot.key(),
            Keep::Deleted => snapshot.deleted_key(),
        }
    }

    fn expect(&self) -> Expect {
        match self {
            Keep::ForRestore { expect } => expect.clone(),
            Keep::Deleted => Expect::Absent,
        }
    }

    /// How findings name what stays up.
    fn subject(&self) -> &'static str {
        match self {
            Keep::ForRestore { .. } => "the endpoint",
            Keep::Deleted => "the idle endpoint",
        }
    }

    fn delete_action(&self) -> &'static str {
        match self {
            Keep::ForRestore { .. } => "delete-endpoint",
            Keep::Deleted => "delete-idle-endpoint",
        }
    }
}

impl StateStore {
    /// Writes the snapshot where `keep` says, under its condition, and verifies it (`put_verified_if`).
    pub async fn put_snapshot(
        &self,
        snapshot: &EndpointSnapshot,
        keep: &Keep,
    ) -> Result<(), StateError> {
        self.put_verified_if(&keep.key(snapshot), snapshot, &keep.expect())
            .await
    }
}

/// An endpoint as read, to be taken down.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    pub arn: &'a str,
    pub endpoint: &'a Endpoint,
    pub config: &'a EndpointConfig,
    /// The components it hosts (inference-component endpoints; empty otherwise).
    pub components: &'a [InferenceComponent],
    pub tags: &'a Tags,
}

/// What taking an endpoint down came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TakenDown {
    /// Down (or, in a dry run, planned), as the snapshot says.
    Down(Box<EndpointSnapshot>),
    /// Another run created or replaced the snapshot since it was read: read and decide again,
    /// never overwrite it.
    Replan,
    /// Still up; the report says why.
    StaysUp,
}

/// The one take-down sequence, whoever takes an endpoint down (the scheduler parking it for
/// the night, the tagger deleting it for being idle): capture everything needed to bring it
/// back, store and verify the snapshot, and only then deregister its autoscaling and delete
/// it (or scale its inference components to zero). Each step stops at the first failure; the
/// next run resumes from what is left.
pub struct TakeDown<'a> {
    pub sagemaker: &'a aws_sdk_sagemaker::Client,
    pub scaling: ScalingClients<'a>,
    pub state: &'a StateStore,
    pub keep: Keep,
    /// The function taking it down, recorded in the snapshot.
    pub by: &'static str,
}

impl TakeDown<'_> {
    /// Captures, stores and takes down. `previous`: a snapshot of the endpoint read earlier,
    /// whose autoscaling is carried forward when an unfinished park removed it.
    pub async fn run(
        &self,
        running: Running<'_>,
        previous: Option<&EndpointSnapshot>,
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> TakenDown {
        let capture = capture(
            self.scaling,
            running.endpoint,
            running.config,
            running.components,
            running.tags,
            now,
            self.by,
        );
        let mut snapshot = match capture.await {
            Ok(snapshot) => snapshot,
            Err(err @ ScalingError::Unsupported { .. }) => {
                let message = format!("{err}; {} stays up", self.keep.subject());
                report.finding(running.arn, "cannot-snapshot", Severity::High, message);
                return TakenDown::StaysUp;
            }
            Err(err) => {
                report.error(Some(running.arn), &err);
                return TakenDown::StaysUp;
            }
        };
        if let Some(previous) = previous {
            snapshot = carry_forward(snapshot, previous);
        }
        let mut conflict = false;
        let write = async {
            match self.state.put_snapshot(&snapshot, &self.keep).await {
                Err(err @ StateError::Conflict { .. }) => {
                    conflict = true;
                    Err(err)
                }
                other => other,
            }
        };
        let location = Some(self.state.location(&self.keep.key(&snapshot)));
        if !report
            .attempt_with(running.arn, "write-snapshot", location, write)
            .await
        {
            if conflict {
                return TakenDown::Replan;
            }
            let message = format!(
                "the snapshot could not be written and verified in s3://{}, so {} stays up",
                self.state.bucket(),
                self.keep.subject()
            );
            report.finding(running.arn, "snapshot-failed", Severity::High, message);
            return TakenDown::StaysUp;
        }
        let variants = &running.config.variants;
        if self.finish(running.arn, variants, &snapshot, report).await {
            TakenDown::Down(Box::new(snapshot))
        } else {
            TakenDown::StaysUp
        }
    }

    /// The part after a verified snapshot: holds an asynchronous endpoint (kept for restore)
    /// at zero instances; otherwise deregisters autoscaling, then scales inference components
    /// to zero, or describes the endpoint again and deletes it if it is still the one the
    /// snapshot describes. True when it is down (or planned to be, in a dry run).
    pub async fn finish(
        &self,
        arn: &str,
        variants: &[VariantConfig],
        snapshot: &EndpointSnapshot,
        report: &mut Report,
    ) -> bool {
        if snapshot.asynchronous && matches!(self.keep, Keep::ForRestore { .. }) {
            return self.hold_at_zero(arn, variants, snapshot, report).await;
        }
        if !snapshot.scaling.is_empty() {
            let deregister = autoscaling::deregister(self.scaling.autoscaling, &snapshot.scaling);
            if !report
                .attempt(arn, "deregister-autoscaling", deregister)
                .await
            {
                return false;
            }
        }
        if snapshot.hosts_inference_components() {
            return self
                .scale_components_to_zero(arn, variants, snapshot, report)
                .await;
        }
        if !self.still_as_snapshotted(arn, snapshot, report).await {
            // Leave it as it was found: with its autoscaling.
            if !snapshot.scaling.is_empty() {
                let restore = autoscaling::restore(self.scaling, &snapshot.scaling);
                report.perform(arn, "restore-autoscaling", restore).await;
            }
            return false;
        }
        let delete = endpoints::delete(self.sagemaker, &snapshot.endpoint_name);
        report.attempt(arn, self.keep.delete_action(), delete).await
    }

    /// Holds an asynchronous endpoint's variants at zero instances rather than deleting it: its
    /// queue keeps the requests sent meanwhile, and its autoscaling stays registered.
    async fn hold_at_zero(
        &self,
        arn: &str,
        variants: &[VariantConfig],
        snapshot: &EndpointSnapshot,
        report: &mut Report,
    ) -> bool {
        let resource_ids = variant_resource_ids(&snapshot.endpoint_name, variants);
        let hold = autoscaling::hold_at_zero(self.scaling.autoscaling, &resource_ids);
        let detail = Some(format!("{} held at 0 instances", resource_ids.join(", ")));
        report
            .attempt_with(arn, "scale-to-zero", detail, hold)
            .await
    }

    async fn scale_components_to_zero(
        &self,
        arn: &str,
        variants: &[VariantConfig],
        snapshot: &EndpointSnapshot,
        report: &mut Report,
    ) -> bool {
        for component in &snapshot.inference_components {
            let scale = inference_components::set_copy_count(self.sagemaker, &component.name, 0);
            let detail = Some(component.name.clone());
            if !report
                .attempt_with(arn, "scale-to-zero", detail, scale)
                .await
            {
                return false;
            }
        }
        for variant in variants {
            if let Some(min) = variant.managed_min_instances.filter(|min| *min > 0) {
                report.finding(
                    arn,
                    "managed-scaling-minimum",
                    Severity::Low,
                    format!(
                        "variant {} keeps at least {min} instance(s) while parked: set its managed instance scaling minimum to 0 to stop paying for them",
                        variant.name
                    ),
                );
            }
        }
        true
    }

    /// Describes the endpoint again right before it is deleted: one that changed since the
    /// snapshot (redeployed, updating) is left up and reported, and the next run decides again.
    async fn still_as_snapshotted(
        &self,
        arn: &str,
        snapshot: &EndpointSnapshot,
        report: &mut Report,
    ) -> bool {
        let change = match endpoints::describe(self.sagemaker, &snapshot.endpoint_name).await {
            Ok(Some(now)) => snapshot.changed_in(&now),
            // Gone already (a concurrent park): deleting again is harmless.
            Ok(None) => None,
            Err(err) => {
                report.error(Some(arn), &err);
                return false;
            }
        };
        let Some(change) = change else {
            return true;
        };
        report.finding(
            arn,
            "endpoint-changed-while-parking",
            Severity::Medium,
            format!(
                "{change} since its snapshot was taken: it stays up and is planned again next run"
            ),
        );
        false
    }
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
            asynchronous: false,
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
