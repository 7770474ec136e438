//! The pure part of a run: for each opted-in resource, its observed state and the schedule's
//! decision give the steps that converge it. Every intermediate state a crash can leave is a
//! state this planner recognises and finishes.

use sagekeeper_core::Severity;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, EndpointConfig};
use sagekeeper_core::sagemaker::inference_components::InferenceComponent;
use sagekeeper_core::sagemaker::notebooks::Notebook;
use sagekeeper_core::sagemaker::snapshot::EndpointSnapshot;
use sagekeeper_core::tagging::Tags;

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
        (Desired::Up, Some(live), Some(_)) => match live.status.as_str() {
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
    use sagekeeper_core::sagemaker::endpoints::VariantConfig;
    use sagekeeper_core::sagemaker::snapshot::{ComponentCopies, SNAPSHOT_FORMAT};
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
