//! The pure part of a run: for each opted-in resource, its observed state and the schedule's
//! decision give the steps that converge it. Every intermediate state a crash can leave is a
//! state this planner recognises and finishes.

use sagekeeper_core::Severity;
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::s3::state::Expect;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, EndpointConfig, VariantCapacity};
use sagekeeper_core::sagemaker::inference_components::InferenceComponent;
use sagekeeper_core::sagemaker::notebooks::Notebook;

use crate::policy::Desired;

/// What a run saw of one endpoint, live or parked.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointState {
    pub name: String,
    pub arn: String,
    /// Live tags, or the snapshot's when the endpoint is parked.
    pub tags: Tags,
    pub live: Option<Endpoint>,
    /// The live endpoint's configuration, or the snapshot's when parked; `None` when it no
    /// longer exists.
    pub config: Option<EndpointConfig>,
    /// Components hosted on an inference-component endpoint (empty otherwise).
    pub components: Vec<InferenceComponent>,
    pub snapshot: Option<EndpointSnapshot>,
    /// The version (ETag) `snapshot` was read at: a new snapshot replaces only that version.
    pub snapshot_etag: Option<String>,
    /// Why the endpoint's snapshot is not known (the state bucket could not be listed, or its
    /// snapshot could not be read or is of an unknown format): it must then not be parked,
    /// or a snapshot nobody has read would be overwritten.
    pub snapshot_problem: Option<String>,
}

impl EndpointState {
    /// The condition a new snapshot of this endpoint is written under: there was none, or
    /// it is still the one this run read.
    pub fn snapshot_expect(&self) -> Expect {
        match &self.snapshot_etag {
            Some(etag) => Expect::Version(etag.clone()),
            None => Expect::Absent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStep {
    /// Capture config, tags and autoscaling into a snapshot, verify it, deregister
    /// autoscaling, then delete the endpoint (or scale its components to zero).
    Park,
    /// A verified snapshot exists but the endpoint is still up (a crash, or a restore that
    /// met the end of the window): deregister and delete using that snapshot.
    ResumePark,
    /// Create the endpoint again with the snapshot's name, config and tags.
    Recreate,
    /// Give the recreated endpoint's variants the instance counts and weights they had (set
    /// by hand or by autoscaling, so not in the config); autoscaling comes after.
    RestoreCapacity,
    /// Give inference components their snapshot copy counts back.
    RestoreCopies,
    /// Register the snapshot's autoscaling again, then archive the snapshot.
    RestoreScaling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotebookStep {
    Stop,
    Start,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan<S> {
    /// Already as desired.
    NoChange,
    Step(S),
    /// Deliberately left alone; the reason goes in the report.
    Skip(String),
    /// Left alone because something is wrong that people must look at.
    Alert {
        severity: Severity,
        rule: &'static str,
        message: String,
    },
}

impl<S> Plan<S> {
    fn skip(reason: impl Into<String>) -> Self {
        Plan::Skip(reason.into())
    }
}

pub fn plan_endpoint(state: &EndpointState, desired: Desired) -> Plan<EndpointStep> {
    if desired == Desired::Keep {
        return Plan::NoChange;
    }
    if let (Desired::Parked, Some(_), Some(problem)) =
        (desired, &state.live, &state.snapshot_problem)
    {
        return Plan::Alert {
            severity: Severity::High,
            rule: "snapshot-unreadable",
            message: format!(
                "{problem}: parking could overwrite a snapshot nobody has read, so the endpoint stays up"
            ),
        };
    }
    let config = match &state.config {
        Some(config) => config,
        None if state.live.is_none() && desired == Desired::Up => {
            return Plan::Alert {
                severity: Severity::High,
                rule: "parked-endpoint-config-missing",
                message: format!(
                    "endpoint config {} was deleted while the endpoint was parked: it cannot be recreated; the snapshot is kept",
                    state
                        .snapshot
                        .as_ref()
                        .map_or("?", |s| s.endpoint_config_name.as_str())
                ),
            };
        }
        None if state.live.is_some() && desired == Desired::Parked => {
            return Plan::Alert {
                severity: Severity::Medium,
                rule: "endpoint-config-missing",
                message: "its endpoint config no longer exists: parking would lose the endpoint, so it stays up".to_owned(),
            };
        }
        None => return Plan::NoChange,
    };
    if config.is_serverless() {
        return Plan::skip("serverless endpoint: already pay-per-use");
    }
    if config.hosts_inference_components() {
        return plan_component_endpoint(state, desired);
    }
    match (desired, &state.live, &state.snapshot) {
        (Desired::Parked, None, _) => Plan::NoChange,
        (Desired::Parked, Some(live), snapshot) => match live.status.as_str() {
            "InService" => match snapshot {
                Some(s) if s.endpoint_config_name == live.config_name => {
                    Plan::Step(EndpointStep::ResumePark)
                }
                _ => Plan::Step(EndpointStep::Park),
            },
            "Deleting" => Plan::NoChange,
            status => Plan::skip(format!(
                "endpoint is {status}; only InService endpoints are parked"
            )),
        },
        (Desired::Up, None, Some(_)) => Plan::Step(EndpointStep::Recreate),
        (Desired::Up, Some(_), None) | (Desired::Up, None, None) => Plan::NoChange,
        (Desired::Up, Some(live), Some(snapshot)) => match live.status.as_str() {
            "InService" if !capacities_to_restore(snapshot, live).is_empty() => {
                Plan::Step(EndpointStep::RestoreCapacity)
            }
            "InService" => Plan::Step(EndpointStep::RestoreScaling),
            "Failed" => Plan::Alert {
                severity: Severity::High,
                rule: "restored-endpoint-failed",
                message: "the recreated endpoint is Failed; the snapshot is kept".to_owned(),
            },
            status => Plan::skip(format!(
                "endpoint is {status}: autoscaling is restored once it is InService"
            )),
        },
        (Desired::Keep, ..) => Plan::NoChange,
    }
}

/// The variants whose live instance count or weight differs from the snapshot's. Variants
/// the endpoint no longer has, and counts a format 1 snapshot could not know (0), are left
/// alone; a weight the snapshot lacks is not changed.
pub fn capacities_to_restore(snapshot: &EndpointSnapshot, live: &Endpoint) -> Vec<VariantCapacity> {
    snapshot
        .instances
        .iter()
        .filter(|v| v.count > 0)
        .filter_map(|v| {
            let count = *live.instance_counts.get(&v.variant)?;
            let weight = live.weights.get(&v.variant);
            let weight_differs = v.weight.is_some() && v.weight.as_ref() != weight;
            (count != v.count || weight_differs).then(|| VariantCapacity {
                variant: v.variant.clone(),
                instance_count: v.count,
                weight: v.weight.or(weight.copied()),
            })
        })
        .collect()
}

/// Why the endpoint, described again right before it is deleted, is no longer the one the
/// snapshot describes (someone redeployed or updated it meanwhile), or `None` if it is.
pub fn changed_since(snapshot: &EndpointSnapshot, now: &Endpoint) -> Option<String> {
    if now.config_name != snapshot.endpoint_config_name {
        return Some(format!(
            "its config is now {} (the snapshot has {})",
            now.config_name, snapshot.endpoint_config_name
        ));
    }
    (!now.is_in_service()).then(|| format!("it is now {}", now.status))
}

/// Inference-component endpoints are never deleted: their components scale to zero copies.
fn plan_component_endpoint(state: &EndpointState, desired: Desired) -> Plan<EndpointStep> {
    let Some(live) = &state.live else {
        return Plan::NoChange;
    };
    let copies = |name: &str| {
        state
            .components
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.desired_copies)
    };
    match (desired, &state.snapshot) {
        (Desired::Parked, None)
            if live.is_in_service() && state.components.iter().all(|c| c.is_in_service()) =>
        {
            if state.components.iter().all(|c| c.desired_copies == 0) {
                Plan::NoChange
            } else {
                Plan::Step(EndpointStep::Park)
            }
        }
        (Desired::Parked, None) => {
            Plan::skip("endpoint or components not InService; parked when they are")
        }
        (Desired::Parked, Some(_)) if state.components.iter().any(|c| c.desired_copies > 0) => {
            Plan::Step(EndpointStep::ResumePark)
        }
        (Desired::Parked, Some(_)) => Plan::NoChange,
        (Desired::Up, None) => Plan::NoChange,
        (Desired::Up, Some(snapshot)) => {
            let restored = snapshot
                .inference_components
                .iter()
                .all(|c| copies(&c.name).is_none_or(|now| now >= c.copies));
            if !restored {
                Plan::Step(EndpointStep::RestoreCopies)
            } else if state.components.iter().all(|c| c.is_in_service()) {
                Plan::Step(EndpointStep::RestoreScaling)
            } else {
                Plan::skip(
                    "components are scaling up: autoscaling is restored once they are InService",
                )
            }
        }
        (Desired::Keep, _) => Plan::NoChange,
    }
}

pub fn plan_notebook(notebook: &Notebook, desired: Desired) -> Plan<NotebookStep> {
    match desired {
        Desired::Keep => Plan::NoChange,
        Desired::Parked if notebook.is_in_service() => Plan::Step(NotebookStep::Stop),
        Desired::Up if notebook.is_stopped() => Plan::Step(NotebookStep::Start),
        Desired::Parked if notebook.is_stopped() => Plan::NoChange,
        Desired::Up if notebook.is_in_service() => Plan::NoChange,
        _ => Plan::skip(format!(
            "notebook is {}; only InService or Stopped notebooks are acted upon",
            notebook.status
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use sagekeeper_core::autoscaling::ScalingSnapshot;
    use sagekeeper_core::model::snapshot::{ComponentCopies, SNAPSHOT_FORMAT, VariantInstances};
    use sagekeeper_core::sagemaker::endpoints::{VariantConfig, Weight};
    use std::collections::BTreeMap;

    fn config(kind: &str) -> EndpointConfig {
        EndpointConfig {
            name: "cfg".into(),
            variants: vec![VariantConfig {
                name: "AllTraffic".into(),
                model_name: (kind != "components").then(|| "model".into()),
                instance_type: (kind != "serverless").then(|| "ml.m5.large".into()),
                initial_instance_count: Some(1),
                serverless: kind == "serverless",
                managed_min_instances: None,
            }],
        }
    }

    fn live(status: &str, config_name: &str) -> Endpoint {
        Endpoint {
            name: "ep".into(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".into(),
            status: status.into(),
            config_name: config_name.into(),
            instance_counts: BTreeMap::from([("AllTraffic".into(), 1)]),
            weights: BTreeMap::from([("AllTraffic".into(), Weight(1.0))]),
            deployment_config: None,
        }
    }

    fn snapshot(config_name: &str, components: &[(&str, i32)]) -> EndpointSnapshot {
        EndpointSnapshot {
            format: SNAPSHOT_FORMAT,
            endpoint_name: "ep".into(),
            endpoint_arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".into(),
            endpoint_config_name: config_name.into(),
            tags: BTreeMap::new(),
            instances: vec![],
            scaling: ScalingSnapshot { targets: vec![] },
            inference_components: components
                .iter()
                .map(|(n, c)| ComponentCopies {
                    name: n.to_string(),
                    copies: *c,
                })
                .collect(),
            parked_at: Utc.with_ymd_and_hms(2026, 11, 20, 18, 5, 0).unwrap(),
            parked_by: "endpoint-scheduler".into(),
            deployment_config: None,
        }
    }

    fn state(
        live_ep: Option<Endpoint>,
        cfg: Option<EndpointConfig>,
        snap: Option<EndpointSnapshot>,
    ) -> EndpointState {
        EndpointState {
            name: "ep".into(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".into(),
            tags: Tags::new(),
            live: live_ep,
            config: cfg,
            components: vec![],
            snapshot: snap,
            snapshot_etag: None,
            snapshot_problem: None,
        }
    }

    fn component(name: &str, status: &str, copies: i32) -> InferenceComponent {
        InferenceComponent {
            name: name.into(),
            status: status.into(),
            desired_copies: copies,
        }
    }

    #[test]
    fn off_hours_parks_in_service_endpoints_and_leaves_parked_ones() {
        let up = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        assert_eq!(
            plan_endpoint(&up, Desired::Parked),
            Plan::Step(EndpointStep::Park)
        );
        let parked = state(None, Some(config("instance")), Some(snapshot("cfg", &[])));
        assert_eq!(plan_endpoint(&parked, Desired::Parked), Plan::NoChange);
    }

    #[test]
    fn endpoints_that_are_not_in_service_are_skipped_with_a_reason() {
        for status in ["Creating", "Updating", "Failed", "SystemUpdating"] {
            let s = state(Some(live(status, "cfg")), Some(config("instance")), None);
            let Plan::Skip(reason) = plan_endpoint(&s, Desired::Parked) else {
                panic!("{status}")
            };
            assert!(reason.contains(status));
        }
    }

    #[test]
    fn serverless_endpoints_are_skipped() {
        let s = state(
            Some(live("InService", "cfg")),
            Some(config("serverless")),
            None,
        );
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Skip("serverless endpoint: already pay-per-use".into())
        );
    }

    #[test]
    fn crash_after_snapshot_before_delete_resumes_with_that_snapshot() {
        let s = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Step(EndpointStep::ResumePark)
        );
        // Redeployed with another config since: take a fresh snapshot.
        let s = state(
            Some(live("InService", "cfg-v2")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Step(EndpointStep::Park)
        );
    }

    #[test]
    fn business_hours_recreate_then_restore_autoscaling_once_in_service() {
        let parked = state(None, Some(config("instance")), Some(snapshot("cfg", &[])));
        assert_eq!(
            plan_endpoint(&parked, Desired::Up),
            Plan::Step(EndpointStep::Recreate)
        );
        let creating = state(
            Some(live("Creating", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert!(matches!(
            plan_endpoint(&creating, Desired::Up),
            Plan::Skip(_)
        ));
        let in_service = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(
            plan_endpoint(&in_service, Desired::Up),
            Plan::Step(EndpointStep::RestoreScaling)
        );
        let restored = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        assert_eq!(plan_endpoint(&restored, Desired::Up), Plan::NoChange);
    }

    #[test]
    fn a_config_deleted_while_parked_is_a_loud_finding_and_nothing_else() {
        let s = state(None, None, Some(snapshot("cfg", &[])));
        let Plan::Alert { severity, rule, .. } = plan_endpoint(&s, Desired::Up) else {
            panic!()
        };
        assert_eq!(
            (severity, rule),
            (Severity::High, "parked-endpoint-config-missing")
        );
        assert_eq!(plan_endpoint(&s, Desired::Parked), Plan::NoChange);
        // A live endpoint whose config is gone could not come back: never park it.
        let s = state(Some(live("InService", "cfg")), None, None);
        assert!(matches!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Alert {
                rule: "endpoint-config-missing",
                ..
            }
        ));
    }

    #[test]
    fn a_failed_recreation_keeps_the_snapshot_and_alerts() {
        let s = state(
            Some(live("Failed", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert!(matches!(
            plan_endpoint(&s, Desired::Up),
            Plan::Alert {
                severity: Severity::High,
                ..
            }
        ));
    }

    #[test]
    fn snoozed_resources_are_kept_as_they_are() {
        let s = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        assert_eq!(plan_endpoint(&s, Desired::Keep), Plan::NoChange);
    }

    #[test]
    fn component_endpoints_scale_copies_instead_of_deleting() {
        let mut s = state(
            Some(live("InService", "cfg")),
            Some(config("components")),
            None,
        );
        s.components = vec![
            component("ic-a", "InService", 2),
            component("ic-b", "InService", 1),
        ];
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Step(EndpointStep::Park)
        );

        // Parked: copies at zero, snapshot holds the counts.
        s.snapshot = Some(snapshot("cfg", &[("ic-a", 2), ("ic-b", 1)]));
        s.components = vec![
            component("ic-a", "InService", 0),
            component("ic-b", "InService", 0),
        ];
        assert_eq!(plan_endpoint(&s, Desired::Parked), Plan::NoChange);
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Plan::Step(EndpointStep::RestoreCopies)
        );

        // Copies back but still scaling up: wait; then restore autoscaling.
        s.components = vec![
            component("ic-a", "Updating", 2),
            component("ic-b", "InService", 1),
        ];
        assert!(matches!(plan_endpoint(&s, Desired::Up), Plan::Skip(_)));
        s.components[0].status = "InService".into();
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Plan::Step(EndpointStep::RestoreScaling)
        );

        // Crash after the snapshot, before scaling to zero.
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Step(EndpointStep::ResumePark)
        );
    }

    #[test]
    fn an_endpoint_whose_snapshot_is_unknown_is_never_parked() {
        let mut s = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        s.snapshot_problem = Some("the state bucket s3://b could not be listed".into());
        let Plan::Alert { severity, rule, .. } = plan_endpoint(&s, Desired::Parked) else {
            panic!()
        };
        assert_eq!((severity, rule), (Severity::High, "snapshot-unreadable"));
        // Control: the same endpoint with its snapshot known is parked.
        s.snapshot_problem = None;
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Plan::Step(EndpointStep::Park)
        );
    }

    #[test]
    fn a_new_snapshot_replaces_only_the_version_that_was_read() {
        let mut s = state(
            Some(live("InService", "cfg-v2")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(s.snapshot_expect(), Expect::Absent);
        s.snapshot_etag = Some("\"e1\"".into());
        assert_eq!(s.snapshot_expect(), Expect::Version("\"e1\"".into()));
    }

    #[test]
    fn hand_set_capacity_is_restored_before_autoscaling() {
        let mut snap = snapshot("cfg", &[]);
        snap.instances = vec![VariantInstances {
            variant: "AllTraffic".into(),
            instance_type: Some("ml.m5.large".into()),
            count: 3,
            weight: Some(Weight(0.5)),
        }];
        let mut s = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            Some(snap.clone()),
        );
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Plan::Step(EndpointStep::RestoreCapacity)
        );
        let live_now = s.live.clone().unwrap();
        assert_eq!(
            capacities_to_restore(&snap, &live_now),
            [VariantCapacity {
                variant: "AllTraffic".into(),
                instance_count: 3,
                weight: Some(Weight(0.5)),
            }]
        );
        // Once the live endpoint has them, autoscaling comes next.
        let live_now = s.live.as_mut().unwrap();
        live_now.instance_counts.insert("AllTraffic".into(), 3);
        live_now.weights.insert("AllTraffic".into(), Weight(0.5));
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Plan::Step(EndpointStep::RestoreScaling)
        );
        // A format 1 snapshot knows the count but not the weight: the weight stays.
        snap.instances[0].weight = None;
        let live_now = s.live.as_mut().unwrap();
        live_now.instance_counts.insert("AllTraffic".into(), 1);
        assert_eq!(
            capacities_to_restore(&snap, live_now),
            [VariantCapacity {
                variant: "AllTraffic".into(),
                instance_count: 3,
                weight: Some(Weight(0.5)),
            }]
        );
    }

    #[test]
    fn an_endpoint_that_changed_since_its_snapshot_is_recognised() {
        let snap = snapshot("cfg", &[]);
        assert_eq!(changed_since(&snap, &live("InService", "cfg")), None);
        assert!(
            changed_since(&snap, &live("InService", "cfg-v2"))
                .unwrap()
                .contains("cfg-v2")
        );
        assert!(
            changed_since(&snap, &live("Updating", "cfg"))
                .unwrap()
                .contains("Updating")
        );
    }

    #[test]
    fn notebooks_stop_and_start_only_from_stable_states() {
        let notebook = |status: &str| Notebook {
            name: "nb".into(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb".into(),
            status: status.into(),
            instance_type: "ml.t3.medium".into(),
            kms_key_id: None,
            direct_internet_access: false,
            root_access: false,
        };
        assert_eq!(
            plan_notebook(&notebook("InService"), Desired::Parked),
            Plan::Step(NotebookStep::Stop)
        );
        assert_eq!(
            plan_notebook(&notebook("Stopped"), Desired::Up),
            Plan::Step(NotebookStep::Start)
        );
        assert_eq!(
            plan_notebook(&notebook("Stopped"), Desired::Parked),
            Plan::NoChange
        );
        assert_eq!(
            plan_notebook(&notebook("InService"), Desired::Up),
            Plan::NoChange
        );
        assert!(matches!(
            plan_notebook(&notebook("Pending"), Desired::Parked),
            Plan::Skip(_)
        ));
        assert_eq!(
            plan_notebook(&notebook("InService"), Desired::Keep),
            Plan::NoChange
        );
    }
}
