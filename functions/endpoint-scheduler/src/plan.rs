//! The pure part of a run: for each opted-in resource, its observed state and the schedule's
//! decision give the steps that converge it. Every intermediate state a crash can leave is a
//! state this planner recognises and finishes.

use chrono::{DateTime, Utc};
use sagekeeper_core::Severity;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::metrics;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, VariantCapacity};
use sagekeeper_core::sagemaker::notebooks::Notebook;
use sagekeeper_core::sagemaker::studio::AppSpec;

use crate::model::{EndpointState, Observed, StudioApp};
use crate::policy::{self, Desired, Policy, SNOOZE_TAG};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStep {
    /// Capture config, tags and autoscaling into a snapshot, verify it, deregister
    /// autoscaling, then delete the endpoint (or scale its components to zero, or hold an
    /// asynchronous endpoint's variants at zero instances).
    Park,
    /// A verified snapshot exists but the endpoint is still up (a crash, or a restore that
    /// met the end of the window): take it down using that snapshot.
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
    /// End an asynchronous endpoint's hold at zero: its recorded scaling limits, policies and
    /// scheduled actions back, the hold's own targets removed, its instance counts back,
    /// then archive the snapshot.
    ReleaseHold,
}

/// A step for one Studio app (see `studio.rs`, which decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppStep {
    /// Write the app's snapshot (unless the same one is there), then DeleteApp.
    Park { prewarm: bool },
    /// DeleteApp of a user's Canvas app; no snapshot, never reopened.
    CloseCanvas,
    /// CreateApp with the snapshot's spec, then archive the snapshot.
    Prewarm,
    /// The app runs again (pre-warmed, or started by its user): archive its snapshot.
    Archive,
    /// Its space runs another app now (one at a time): archive the snapshot, start nothing.
    Retire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotebookStep {
    Stop,
    Start,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Converge<S> {
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

impl<S> Converge<S> {
    fn skip(reason: impl Into<String>) -> Self {
        Converge::Skip(reason.into())
    }
}

pub fn plan_endpoint(state: &EndpointState, desired: Desired) -> Converge<EndpointStep> {
    if desired == Desired::Keep {
        return Converge::NoChange;
    }
    if let (Desired::Parked, Some(_), Some(problem)) =
        (desired, &state.live, &state.snapshot_problem)
    {
        return Converge::Alert {
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
            return Converge::Alert {
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
            return Converge::Alert {
                severity: Severity::Medium,
                rule: "endpoint-config-missing",
                message: "its endpoint config no longer exists: parking would lose the endpoint, so it stays up".to_owned(),
            };
        }
        None => return Converge::NoChange,
    };
    if config.is_serverless() {
        return Converge::skip("serverless endpoint: already pay-per-use");
    }
    if config.hosts_inference_components() {
        return plan_component_endpoint(state, desired);
    }
    let held_snapshot = state.snapshot.as_ref().filter(|s| s.asynchronous);
    if let (Desired::Up, None, Some(snapshot)) = (desired, &state.live, held_snapshot) {
        // We hold asynchronous endpoints, never delete them: someone else did.
        return Converge::Alert {
            severity: Severity::Medium,
            rule: "held-endpoint-deleted",
            message: format!(
                "the asynchronous endpoint held at zero since {} was deleted by someone else: it is not recreated; its snapshot is kept",
                snapshot.parked_at
            ),
        };
    }
    if let (Some(live), true) = (&state.live, config.asynchronous) {
        return plan_async_endpoint(state, live, desired);
    }
    match (desired, &state.live, &state.snapshot) {
        (Desired::Parked, None, _) => Converge::NoChange,
        (Desired::Parked, Some(live), snapshot) => match live.status.as_str() {
            "InService" => match snapshot {
                Some(s) if s.endpoint_config_name == live.config_name => {
                    Converge::Step(EndpointStep::ResumePark)
                }
                _ => Converge::Step(EndpointStep::Park),
            },
            "Deleting" => Converge::NoChange,
            status => Converge::skip(format!(
                "endpoint is {status}; only InService endpoints are parked"
            )),
        },
        (Desired::Up, None, Some(_)) => Converge::Step(EndpointStep::Recreate),
        (Desired::Up, Some(_), None) | (Desired::Up, None, None) => Converge::NoChange,
        (Desired::Up, Some(live), Some(snapshot)) => match live.status.as_str() {
            "InService" if !capacities_to_restore(snapshot, live).is_empty() => {
                Converge::Step(EndpointStep::RestoreCapacity)
            }
            "InService" => Converge::Step(EndpointStep::RestoreScaling),
            "Failed" => Converge::Alert {
                severity: Severity::High,
                rule: "restored-endpoint-failed",
                message: "the recreated endpoint is Failed; the snapshot is kept".to_owned(),
            },
            status => Converge::skip(format!(
                "endpoint is {status}: autoscaling is restored once it is InService"
            )),
        },
        (Desired::Keep, ..) => Converge::NoChange,
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

/// Asynchronous endpoints are never deleted: their variants are held at zero instances, and
/// requests sent meanwhile wait in the queue until the hold ends.
fn plan_async_endpoint(
    state: &EndpointState,
    live: &Endpoint,
    desired: Desired,
) -> Converge<EndpointStep> {
    let held = !state.scaling_limits.is_empty()
        && state.scaling_limits.len() == live.instance_counts.len()
        && state.scaling_limits.iter().all(|l| l.held_at_zero());
    match (desired, &state.snapshot) {
        (Desired::Keep, _) => Converge::NoChange,
        (Desired::Parked, _) if !live.is_in_service() => Converge::skip(format!(
            "endpoint is {}; only InService endpoints are parked",
            live.status
        )),
        // Held at zero by its owner (nothing to save, nothing to give back in the morning),
        // or by us: a new capture now would record the hold's 0..0 as its limits.
        (Desired::Parked, _) if held => Converge::NoChange,
        (Desired::Parked, Some(s)) if s.endpoint_config_name == live.config_name => {
            Converge::Step(EndpointStep::ResumePark)
        }
        (Desired::Parked, _) => Converge::Step(EndpointStep::Park),
        (Desired::Up, None) => Converge::NoChange,
        (Desired::Up, Some(_)) if live.is_in_service() => Converge::Step(EndpointStep::ReleaseHold),
        (Desired::Up, Some(_)) => Converge::skip(format!(
            "endpoint is {}: its hold at zero ends once it is InService",
            live.status
        )),
    }
}

/// Inference-component endpoints are never deleted: their components scale to zero copies.
fn plan_component_endpoint(state: &EndpointState, desired: Desired) -> Converge<EndpointStep> {
    let Some(live) = &state.live else {
        return Converge::NoChange;
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
                Converge::NoChange
            } else {
                Converge::Step(EndpointStep::Park)
            }
        }
        (Desired::Parked, None) => {
            Converge::skip("endpoint or components not InService; parked when they are")
        }
        (Desired::Parked, Some(_)) if state.components.iter().any(|c| c.desired_copies > 0) => {
            Converge::Step(EndpointStep::ResumePark)
        }
        (Desired::Parked, Some(_)) => Converge::NoChange,
        (Desired::Up, None) => Converge::NoChange,
        (Desired::Up, Some(snapshot)) => {
            let restored = snapshot
                .inference_components
                .iter()
                .all(|c| copies(&c.name).is_none_or(|now| now >= c.copies));
            if !restored {
                Converge::Step(EndpointStep::RestoreCopies)
            } else if state.components.iter().all(|c| c.is_in_service()) {
                Converge::Step(EndpointStep::RestoreScaling)
            } else {
                Converge::skip(
                    "components are scaling up: autoscaling is restored once they are InService",
                )
            }
        }
        (Desired::Keep, _) => Converge::NoChange,
    }
}

pub fn plan_notebook(notebook: &Notebook, desired: Desired) -> Converge<NotebookStep> {
    match desired {
        Desired::Keep => Converge::NoChange,
        Desired::Parked if notebook.is_in_service() => Converge::Step(NotebookStep::Stop),
        Desired::Up if notebook.is_stopped() => Converge::Step(NotebookStep::Start),
        Desired::Parked if notebook.is_stopped() => Converge::NoChange,
        Desired::Up if notebook.is_in_service() => Converge::NoChange,
        _ => Converge::skip(format!(
            "notebook is {}; only InService or Stopped notebooks are acted upon",
            notebook.status
        )),
    }
}

/// A write the scheduler makes; `apply` carries each out.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Remove an expired `sagekeeper:snooze-until` tag from a live resource.
    RemoveExpiredSnooze,
    Endpoint {
        state: Box<EndpointState>,
        desired: Desired,
        step: EndpointStep,
    },
    Notebook {
        notebook: Box<Notebook>,
        step: NotebookStep,
    },
    StudioApp {
        app: Box<StudioApp>,
        step: AppStep,
    },
}

/// The whole run's plan: for each opted-in resource the schedule's decision (an invalid
/// schedule or snooze tag is a finding, and the resource is left untouched), then the step
/// that converges it. Also returns what is already parked and stays so, for the savings.
pub fn plan(
    observed: &Observed,
    policy: &Policy<'_>,
    prices: &PriceTable,
    now: DateTime<Utc>,
) -> (Plan<Write>, Parked) {
    let mut plan = Plan::new();
    let mut parked = Parked::default();
    for state in &observed.endpoints {
        let live = state.live.is_some();
        let Some((desired, snooze_expired)) =
            decide(&mut plan, &state.arn, &state.tags, live, policy, now)
        else {
            continue;
        };
        let state = without_expired_snooze(state, snooze_expired);
        match plan_endpoint(&state, desired) {
            Converge::NoChange => {
                if let Some(snapshot) = state.snapshot.as_ref().filter(|_| desired != Desired::Up) {
                    parked.endpoint(snapshot, prices);
                }
            }
            Converge::Step(step) => {
                let arn = state.arn.clone();
                let state = Box::new(state);
                plan.write(
                    arn,
                    Write::Endpoint {
                        state,
                        desired,
                        step,
                    },
                );
            }
            converge => not_converged(&mut plan, &state.arn, converge),
        }
    }
    for (notebook, tags) in &observed.notebooks {
        let Some((desired, _)) = decide(&mut plan, &notebook.arn, tags, true, policy, now) else {
            continue;
        };
        match plan_notebook(notebook, desired) {
            Converge::NoChange if notebook.is_stopped() => parked.notebook(notebook, prices),
            Converge::NoChange => {}
            Converge::Step(step) => {
                let notebook_write = Write::Notebook {
                    notebook: Box::new(notebook.clone()),
                    step,
                };
                plan.write(&notebook.arn, notebook_write);
            }
            converge => not_converged(&mut plan, &notebook.arn, converge),
        }
    }
    (plan, parked)
}

/// A skip or an alert, into the plan (or, for an endpoint planned again during apply, into
/// the report through a plan of its own).
pub fn not_converged<S, W>(plan: &mut Plan<W>, arn: &str, converge: Converge<S>) {
    match converge {
        Converge::Skip(reason) => plan.skip(arn, "schedule", reason),
        Converge::Alert {
            severity,
            rule,
            message,
        } => plan.finding(arn, rule, severity, message),
        Converge::NoChange | Converge::Step(_) => {}
    }
}

/// The schedule's decision for one resource and whether its snooze tag expired. `None` when
/// its tags are invalid (a finding). Keeping a resource is reported as a skip; an expired
/// snooze tag on a live resource is a write.
pub fn decide(
    plan: &mut Plan<Write>,
    arn: &str,
    tags: &Tags,
    exists: bool,
    policy: &Policy<'_>,
    now: DateTime<Utc>,
) -> Option<(Desired, bool)> {
    let decision = match policy::decide(tags, policy, now) {
        Ok(decision) => decision,
        Err(err) => {
            let message = format!("{err}; left untouched");
            plan.finding(arn, err.rule(), Severity::Medium, message);
            return None;
        }
    };
    tracing::debug!(resource = arn, source = %decision.source, desired = ?decision.desired, "decided");
    if decision.desired == Desired::Keep {
        let until = decision
            .until_local()
            .map(|u| format!(" until {u}"))
            .unwrap_or_default();
        let reason = format!("kept as it is by the {}{until}", decision.source);
        plan.skip(arn, "schedule", reason);
    }
    if decision.remove_expired_snooze && exists {
        plan.write(arn, Write::RemoveExpiredSnooze);
    }
    Some((decision.desired, decision.remove_expired_snooze))
}

/// An expired snooze tag must not travel into a snapshot or onto a recreated endpoint.
fn without_expired_snooze(state: &EndpointState, expired: bool) -> EndpointState {
    let mut state = state.clone();
    if expired {
        state.tags.remove(SNOOZE_TAG);
        if let Some(snapshot) = &mut state.snapshot {
            snapshot.tags.remove(SNOOZE_TAG);
        }
    }
    state
}

/// What is parked once the run's steps are done, for the savings estimate.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parked {
    pub endpoints: usize,
    pub notebooks: usize,
    /// Studio apps (JupyterLab, Code Editor, KernelGateway, ...) parked or closed for idleness.
    pub studio_apps: usize,
    /// Canvas sessions closed by this run (a closed session leaves no trace to count later).
    pub canvas_sessions: usize,
    pub hourly_usd: f64,
    /// Instance types without a known price.
    pub unpriced: Vec<String>,
}

impl Parked {
    pub fn endpoint(&mut self, snapshot: &EndpointSnapshot, prices: &PriceTable) {
        let (hourly, unknown) = snapshot.hourly_cost(prices);
        self.endpoints += 1;
        self.hourly_usd += hourly;
        self.unpriced.extend(unknown);
    }

    pub fn notebook(&mut self, notebook: &Notebook, prices: &PriceTable) {
        self.notebooks += 1;
        match prices.hourly(&notebook.instance_type) {
            Some(price) => self.hourly_usd += price,
            None => self.unpriced.push(notebook.instance_type.clone()),
        }
    }

    pub fn studio_app(&mut self, spec: &AppSpec, prices: &PriceTable) {
        self.studio_apps += 1;
        match spec.instance_type.as_deref().map(|t| (t, prices.hourly(t))) {
            Some((_, Some(price))) => self.hourly_usd += price,
            Some((instance_type, None)) => self.unpriced.push(instance_type.to_owned()),
            None => {}
        }
    }

    pub fn canvas(&mut self, prices: &PriceTable) {
        self.canvas_sessions += 1;
        self.hourly_usd += prices.canvas_session();
    }

    pub fn add(&mut self, other: Parked) {
        self.endpoints += other.endpoints;
        self.notebooks += other.notebooks;
        self.studio_apps += other.studio_apps;
        self.canvas_sessions += other.canvas_sessions;
        self.hourly_usd += other.hourly_usd;
        self.unpriced.extend(other.unpriced);
    }

    /// The run's savings as metrics (`EndpointsParked`, `NotebooksStopped`,
    /// `StudioAppsParked`, `CanvasSessionsClosed`, `EstimatedHourlySavingsUSD`) and its
    /// headline (Studio and Canvas named only when there are some).
    pub fn savings(&self, dry_run: bool) -> Plan<Write> {
        let mut savings = Plan::new();
        savings.add_metric(metrics::ENDPOINTS_PARKED, self.endpoints as f64);
        savings.add_metric(metrics::NOTEBOOKS_STOPPED, self.notebooks as f64);
        savings.add_metric(metrics::STUDIO_APPS_PARKED, self.studio_apps as f64);
        savings.add_metric(metrics::CANVAS_SESSIONS_CLOSED, self.canvas_sessions as f64);
        let hourly = (self.hourly_usd * 100.0).round() / 100.0;
        savings.add_metric(metrics::ESTIMATED_HOURLY_SAVINGS_USD, hourly);
        let verb = if dry_run { "would be parked" } else { "parked" };
        let mut parked = vec![format!("{} endpoint(s)", self.endpoints)];
        if self.studio_apps > 0 {
            parked.push(format!("{} Studio app(s)", self.studio_apps));
        }
        if self.canvas_sessions > 0 {
            parked.push(format!("{} Canvas session(s)", self.canvas_sessions));
        }
        let last = format!("{} notebook(s)", self.notebooks);
        let mut headline = format!(
            "{} and {last} {verb}, ~${:.2}/h of on-demand instances",
            parked.join(", "),
            self.hourly_usd
        );
        if !self.unpriced.is_empty() {
            headline.push_str(&format!(
                " (no price known for {})",
                self.unpriced.join(", ")
            ));
        }
        savings.headline = Some(headline);
        savings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use sagekeeper_core::autoscaling::{Limits, ScalingSnapshot};
    use sagekeeper_core::model::snapshot::{ComponentCopies, SNAPSHOT_FORMAT, VariantInstances};
    use sagekeeper_core::run::function::Settings;
    use sagekeeper_core::s3::state::Expect;
    use sagekeeper_core::sagemaker::endpoints::EndpointConfig;
    use sagekeeper_core::sagemaker::endpoints::{VariantConfig, Weight};
    use sagekeeper_core::sagemaker::inference_components::InferenceComponent;
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
            asynchronous: kind == "async",
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
            asynchronous: false,
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
            scaling_limits: vec![],
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

    fn run_plan(observed: &Observed, now: DateTime<Utc>) -> (Plan<Write>, Parked) {
        let env = sagekeeper_core::Env::from_pairs([("STATE_BUCKET", "sagekeeper-state")]);
        let config = crate::config::Config::from_env(&env, false).unwrap();
        plan(observed, &Policy::from(&config), &config.prices, now)
    }

    /// Wednesday 2026-11-18 23:00 UTC: outside the default Mon-Fri 08:00-19:00 UTC schedule.
    fn night() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 23, 0, 0).unwrap()
    }

    #[test]
    fn an_expired_snooze_is_removed_before_the_endpoint_is_parked_without_it() {
        let mut snoozed = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        snoozed
            .tags
            .insert(SNOOZE_TAG.to_owned(), "2026-11-18T20:00:00Z".to_owned());
        let observed = Observed {
            endpoints: vec![snoozed.clone()],
            notebooks: vec![],
            studio: vec![],
        };

        let (plan, parked) = run_plan(&observed, night());

        assert_eq!(plan.writes.len(), 2, "{:?}", plan.writes);
        assert_eq!(
            plan.writes[0],
            (snoozed.arn.clone(), Write::RemoveExpiredSnooze)
        );
        let Write::Endpoint { state, step, .. } = &plan.writes[1].1 else {
            panic!("{:?}", plan.writes[1]);
        };
        assert_eq!(*step, EndpointStep::Park);
        assert!(!state.tags.contains_key(SNOOZE_TAG), "{:?}", state.tags);
        assert_eq!(parked, Parked::default(), "nothing is parked before apply");
        // Control: a snooze still running keeps the endpoint, and nothing is written.
        snoozed
            .tags
            .insert(SNOOZE_TAG.to_owned(), "2026-11-19T20:00:00Z".to_owned());
        let observed = Observed {
            endpoints: vec![snoozed],
            notebooks: vec![],
            studio: vec![],
        };
        let (plan, _) = run_plan(&observed, night());
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        assert_eq!(plan.skips.len(), 1);
        assert!(plan.skips[0].reason.starts_with("kept as it is by the"));
    }

    #[test]
    fn an_endpoint_already_parked_counts_in_the_savings_without_a_write() {
        let parked_state = state(None, Some(config("instance")), Some(snapshot("cfg", &[])));
        let observed = Observed {
            endpoints: vec![parked_state],
            notebooks: vec![],
            studio: vec![],
        };
        let (plan, parked) = run_plan(&observed, night());
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        assert_eq!(parked.endpoints, 1);
    }

    #[test]
    fn the_savings_headline_says_what_is_parked_and_what_has_no_price() {
        let parked = Parked {
            endpoints: 2,
            notebooks: 1,
            hourly_usd: 0.3449,
            unpriced: vec!["ml.x9.huge".to_owned()],
            ..Parked::default()
        };
        let savings = parked.savings(false);
        assert_eq!(
            savings.headline.as_deref(),
            Some(
                "2 endpoint(s) and 1 notebook(s) parked, ~$0.34/h of on-demand instances (no price known for ml.x9.huge)"
            )
        );
        assert_eq!(savings.metrics["EstimatedHourlySavingsUSD"], 0.34);
        assert_eq!(savings.metrics["EndpointsParked"], 2.0);
        let studio = Parked {
            studio_apps: 2,
            canvas_sessions: 1,
            ..Parked::default()
        };
        assert_eq!(
            studio.savings(false).headline.as_deref(),
            Some(
                "0 endpoint(s), 2 Studio app(s), 1 Canvas session(s) and 0 notebook(s) parked, ~$0.00/h of on-demand instances"
            )
        );
        let dry = Parked::default().savings(true);
        assert_eq!(
            dry.headline.as_deref(),
            Some(
                "0 endpoint(s) and 0 notebook(s) would be parked, ~$0.00/h of on-demand instances"
            )
        );
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
            Converge::Step(EndpointStep::Park)
        );
        let parked = state(None, Some(config("instance")), Some(snapshot("cfg", &[])));
        assert_eq!(plan_endpoint(&parked, Desired::Parked), Converge::NoChange);
    }

    #[test]
    fn endpoints_that_are_not_in_service_are_skipped_with_a_reason() {
        for status in ["Creating", "Updating", "Failed", "SystemUpdating"] {
            let s = state(Some(live(status, "cfg")), Some(config("instance")), None);
            let Converge::Skip(reason) = plan_endpoint(&s, Desired::Parked) else {
                panic!("{status}")
            };
            assert!(reason.contains(status));
        }
    }

    /// An asynchronous endpoint whose one variant has the given scaling limits (none: no
    /// scalable target).
    fn async_state(limits: Option<(i32, i32)>, snap: Option<EndpointSnapshot>) -> EndpointState {
        let mut s = state(Some(live("InService", "cfg")), Some(config("async")), snap);
        s.scaling_limits = limits
            .map(|(min, max)| Limits {
                resource_id: "endpoint/ep/variant/AllTraffic".into(),
                min_capacity: min,
                max_capacity: max,
            })
            .into_iter()
            .collect();
        s
    }

    #[test]
    fn asynchronous_endpoints_are_held_at_zero_never_deleted() {
        let parked = |s: &EndpointState| plan_endpoint(s, Desired::Parked);
        // Evening: park (snapshot, then hold); a crash after the snapshot resumes the hold.
        assert_eq!(
            parked(&async_state(Some((1, 4)), None)),
            Converge::Step(EndpointStep::Park)
        );
        assert_eq!(
            parked(&async_state(None, None)),
            Converge::Step(EndpointStep::Park)
        );
        let snap = Some(snapshot("cfg", &[]));
        assert_eq!(
            parked(&async_state(Some((1, 4)), snap.clone())),
            Converge::Step(EndpointStep::ResumePark)
        );
        // Held with our snapshot: parked, nothing to do. Held by its owner: nothing to save.
        assert_eq!(
            parked(&async_state(Some((0, 0)), snap.clone())),
            Converge::NoChange
        );
        assert_eq!(parked(&async_state(Some((0, 0)), None)), Converge::NoChange);
        // Morning: the hold ends only where a snapshot says this suite held it.
        let up = |s: &EndpointState| plan_endpoint(s, Desired::Up);
        assert_eq!(
            up(&async_state(Some((0, 0)), snap.clone())),
            Converge::Step(EndpointStep::ReleaseHold)
        );
        assert_eq!(up(&async_state(Some((0, 0)), None)), Converge::NoChange);
        let mut updating = async_state(Some((0, 0)), snap);
        updating.live.as_mut().unwrap().status = "Updating".into();
        assert!(matches!(up(&updating), Converge::Skip(r) if r.contains("Updating")));
        // Held by us and since redeployed with another config: still held, never captured
        // again (the capture would record 0..0 as its limits).
        let mut redeployed = async_state(Some((0, 0)), Some(snapshot("cfg", &[])));
        redeployed.live.as_mut().unwrap().config_name = "cfg-v2".into();
        assert_eq!(parked(&redeployed), Converge::NoChange);
        // Deleted by someone else while held: reported, not recreated.
        let mut held_snapshot = snapshot("cfg", &[]);
        held_snapshot.asynchronous = true;
        let mut deleted = async_state(None, Some(held_snapshot));
        deleted.live = None;
        assert!(matches!(
            up(&deleted),
            Converge::Alert {
                rule: "held-endpoint-deleted",
                ..
            }
        ));
        // Control: a real-time endpoint parked the same way was deleted by us, and is
        // recreated in the morning.
        let mut real_time = async_state(None, Some(snapshot("cfg", &[])));
        real_time.config = Some(config("instance"));
        real_time.live = None;
        assert_eq!(up(&real_time), Converge::Step(EndpointStep::Recreate));
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
            Converge::Skip("serverless endpoint: already pay-per-use".into())
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
            Converge::Step(EndpointStep::ResumePark)
        );
        // Redeployed with another config since: take a fresh snapshot.
        let s = state(
            Some(live("InService", "cfg-v2")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Converge::Step(EndpointStep::Park)
        );
    }

    #[test]
    fn business_hours_recreate_then_restore_autoscaling_once_in_service() {
        let parked = state(None, Some(config("instance")), Some(snapshot("cfg", &[])));
        assert_eq!(
            plan_endpoint(&parked, Desired::Up),
            Converge::Step(EndpointStep::Recreate)
        );
        let creating = state(
            Some(live("Creating", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert!(matches!(
            plan_endpoint(&creating, Desired::Up),
            Converge::Skip(_)
        ));
        let in_service = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            Some(snapshot("cfg", &[])),
        );
        assert_eq!(
            plan_endpoint(&in_service, Desired::Up),
            Converge::Step(EndpointStep::RestoreScaling)
        );
        let restored = state(
            Some(live("InService", "cfg")),
            Some(config("instance")),
            None,
        );
        assert_eq!(plan_endpoint(&restored, Desired::Up), Converge::NoChange);
    }

    #[test]
    fn a_config_deleted_while_parked_is_a_loud_finding_and_nothing_else() {
        let s = state(None, None, Some(snapshot("cfg", &[])));
        let Converge::Alert { severity, rule, .. } = plan_endpoint(&s, Desired::Up) else {
            panic!()
        };
        assert_eq!(
            (severity, rule),
            (Severity::High, "parked-endpoint-config-missing")
        );
        assert_eq!(plan_endpoint(&s, Desired::Parked), Converge::NoChange);
        // A live endpoint whose config is gone could not come back: never park it.
        let s = state(Some(live("InService", "cfg")), None, None);
        assert!(matches!(
            plan_endpoint(&s, Desired::Parked),
            Converge::Alert {
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
            Converge::Alert {
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
        assert_eq!(plan_endpoint(&s, Desired::Keep), Converge::NoChange);
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
            Converge::Step(EndpointStep::Park)
        );

        // Parked: copies at zero, snapshot holds the counts.
        s.snapshot = Some(snapshot("cfg", &[("ic-a", 2), ("ic-b", 1)]));
        s.components = vec![
            component("ic-a", "InService", 0),
            component("ic-b", "InService", 0),
        ];
        assert_eq!(plan_endpoint(&s, Desired::Parked), Converge::NoChange);
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Converge::Step(EndpointStep::RestoreCopies)
        );

        // Copies back but still scaling up: wait; then restore autoscaling.
        s.components = vec![
            component("ic-a", "Updating", 2),
            component("ic-b", "InService", 1),
        ];
        assert!(matches!(plan_endpoint(&s, Desired::Up), Converge::Skip(_)));
        s.components[0].status = "InService".into();
        assert_eq!(
            plan_endpoint(&s, Desired::Up),
            Converge::Step(EndpointStep::RestoreScaling)
        );

        // Crash after the snapshot, before scaling to zero.
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Converge::Step(EndpointStep::ResumePark)
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
        let Converge::Alert { severity, rule, .. } = plan_endpoint(&s, Desired::Parked) else {
            panic!()
        };
        assert_eq!((severity, rule), (Severity::High, "snapshot-unreadable"));
        // Control: the same endpoint with its snapshot known is parked.
        s.snapshot_problem = None;
        assert_eq!(
            plan_endpoint(&s, Desired::Parked),
            Converge::Step(EndpointStep::Park)
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
            Converge::Step(EndpointStep::RestoreCapacity)
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
            Converge::Step(EndpointStep::RestoreScaling)
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
        assert_eq!(snap.changed_in(&live("InService", "cfg")), None);
        assert!(
            snap.changed_in(&live("InService", "cfg-v2"))
                .unwrap()
                .contains("cfg-v2")
        );
        assert!(
            snap.changed_in(&live("Updating", "cfg"))
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
            Converge::Step(NotebookStep::Stop)
        );
        assert_eq!(
            plan_notebook(&notebook("Stopped"), Desired::Up),
            Converge::Step(NotebookStep::Start)
        );
        assert_eq!(
            plan_notebook(&notebook("Stopped"), Desired::Parked),
            Converge::NoChange
        );
        assert_eq!(
            plan_notebook(&notebook("InService"), Desired::Up),
            Converge::NoChange
        );
        assert!(matches!(
            plan_notebook(&notebook("Pending"), Desired::Parked),
            Converge::Skip(_)
        ));
        assert_eq!(
            plan_notebook(&notebook("InService"), Desired::Keep),
            Converge::NoChange
        );
    }
}
