//! One scheduled run: a reconciler. For every opted-in resource it works out the desired
//! state for "now" (the event's time) and converges to it, so missed, late and repeated runs
//! are harmless.

use chrono::{DateTime, Utc};
use sagekeeper_core::events::Schedule;
use sagekeeper_core::run::function::Function;
use sagekeeper_core::sagemaker;
use sagekeeper_core::{CommonConfig, ConfigError, Env, Report, Scope, Severity};

use sagekeeper_core::model::snapshot::EndpointSnapshot;

use crate::apply::Applied;
use crate::clients::Clients;
use crate::config::Config;
use crate::plan::{self, EndpointState, Plan};
use crate::policy::{self, Desired, Policy, SNOOZE_TAG};
use crate::{apply, inventory, run_lease};

pub const NAME: &str = EndpointScheduler::NAME;

pub struct EndpointScheduler;

impl Function for EndpointScheduler {
    const NAME: &'static str = "endpoint-scheduler";
    const ABOUT: &'static str = "parks SageMaker endpoints and notebooks outside business hours";
    type Trigger = Schedule;
    type Config = Config;
    type Clients = Clients;

    fn config(env: &Env, dry_run_flag: bool) -> Result<Config, ConfigError> {
        Config::from_env(env, dry_run_flag)
    }
    fn common(config: &Config) -> &CommonConfig {
        &config.common
    }
    fn clients(scope: &Scope, config: &Config) -> Clients {
        Clients::new(scope, config)
    }

    async fn run(clients: &Clients, config: &Config, schedule: Schedule, report: &mut Report) {
        reconcile(clients, config, schedule.time, report).await;
    }
}

/// What is parked once the run's steps are done, for the savings estimate.
#[derive(Debug, Default)]
struct Parked {
    endpoints: usize,
    notebooks: usize,
    hourly_usd: f64,
    unpriced: Vec<String>,
}

impl Parked {
    fn add_price(&mut self, price: Option<f64>, instance_type: &str) {
        match price {
            Some(price) => self.hourly_usd += price,
            None => self.unpriced.push(instance_type.to_owned()),
        }
    }
}

async fn reconcile(clients: &Clients, config: &Config, now: DateTime<Utc>, report: &mut Report) {
    let Some(turn) = run_lease::take(clients, report).await else {
        return;
    };
    tracing::info!(%now, "reconciling opted-in resources");
    let inventory = inventory::gather(clients, report).await;
    let mut parked = Parked::default();

    for state in &inventory.endpoints {
        let Some((desired, snooze_expired)) = decide(
            clients,
            config,
            &state.arn,
            &state.tags,
            state.live.is_some(),
            now,
            report,
        )
        .await
        else {
            continue;
        };
        let state = without_expired_snooze(state, snooze_expired);
        if let Some(snapshot) = converge_endpoint(clients, state, desired, now, report).await {
            let (hourly, unknown) = snapshot.hourly_cost(&config.prices);
            parked.endpoints += 1;
            parked.hourly_usd += hourly;
            parked.unpriced.extend(unknown);
        }
    }

    for (notebook, tags) in &inventory.notebooks {
        let Some((desired, _)) =
            decide(clients, config, &notebook.arn, tags, true, now, report).await
        else {
            continue;
        };
        let stopped = match plan::plan_notebook(notebook, desired) {
            Plan::NoChange => notebook.is_stopped(),
            Plan::Step(step) => apply::notebook(clients, notebook, step, report).await,
            Plan::Skip(reason) => {
                report.skipped(&notebook.arn, "schedule", reason);
                false
            }
            Plan::Alert {
                severity,
                rule,
                message,
            } => {
                report.finding(&notebook.arn, rule, severity, message);
                false
            }
        };
        if stopped {
            parked.notebooks += 1;
            parked.add_price(
                config.prices.hourly(&notebook.instance_type),
                &notebook.instance_type,
            );
        }
    }
    record_savings(&parked, report);
    run_lease::give_back(clients, turn, report).await;
}

/// How many times an endpoint is planned again after a concurrent run changed it under this
/// one; past that it is left for the next run.
const REPLANS: usize = 2;

/// Plans and applies one endpoint's step, planning again from a fresh read when a concurrent
/// run changed its snapshot meanwhile; returns its snapshot when it is parked afterwards.
async fn converge_endpoint(
    clients: &Clients,
    mut state: EndpointState,
    desired: Desired,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Option<EndpointSnapshot> {
    for _ in 0..=REPLANS {
        match plan::plan_endpoint(&state, desired) {
            Plan::NoChange => return state.snapshot.filter(|_| desired != Desired::Up),
            Plan::Step(step) => match apply::endpoint(clients, &state, step, now, report).await {
                Applied::Parked(snapshot) => return Some(*snapshot),
                Applied::Other => return None,
                Applied::Replan => {}
            },
            Plan::Skip(reason) => {
                report.skipped(&state.arn, "schedule", reason);
                return None;
            }
            Plan::Alert {
                severity,
                rule,
                message,
            } => {
                report.finding(&state.arn, rule, severity, message);
                return None;
            }
        }
        state = match inventory::refresh(clients, &state).await {
            Ok(fresh) => fresh,
            Err(err) => {
                report.error(Some(&state.arn), &err);
                return None;
            }
        };
    }
    None
}

/// The schedule's decision for one resource, and whether its snooze tag expired; an invalid
/// schedule or snooze tag is a finding for that resource, which is then left untouched.
/// Removes an expired snooze tag from a live resource.
async fn decide(
    clients: &Clients,
    config: &Config,
    arn: &str,
    tags: &sagekeeper_core::model::tags::Tags,
    exists: bool,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Option<(Desired, bool)> {
    let decision = match policy::decide(tags, &Policy::from(config), now) {
        Ok(decision) => decision,
        Err(err) => {
            report.finding(
                arn,
                err.rule(),
                Severity::Medium,
                format!("{err}; left untouched"),
            );
            return None;
        }
    };
    tracing::debug!(resource = arn, source = %decision.source, desired = ?decision.desired, "decided");
    if decision.desired == Desired::Keep {
        let until = decision
            .until_local()
            .map(|u| format!(" until {u}"))
            .unwrap_or_default();
        report.skipped(
            arn,
            "schedule",
            format!("kept as it is by the {}{until}", decision.source),
        );
    }
    if decision.remove_expired_snooze && exists {
        let remove = sagemaker::delete_tags(&clients.sagemaker, arn, &[SNOOZE_TAG]);
        report.perform(arn, "remove-expired-snooze", remove).await;
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

fn record_savings(parked: &Parked, report: &mut Report) {
    report.add_metric("EndpointsParked", parked.endpoints as f64);
    report.add_metric("NotebooksStopped", parked.notebooks as f64);
    report.add_metric(
        "EstimatedHourlySavingsUSD",
        (parked.hourly_usd * 100.0).round() / 100.0,
    );
    let verb = if report.dry_run {
        "would be parked"
    } else {
        "parked"
    };
    let mut headline = format!(
        "{} endpoint(s) and {} notebook(s) {verb}, ~${:.2}/h of on-demand instances",
        parked.endpoints, parked.notebooks, parked.hourly_usd
    );
    if !parked.unpriced.is_empty() {
        headline.push_str(&format!(
            " (no price known for {})",
            parked.unpriced.join(", ")
        ));
    }
    report.headline = Some(headline);
}
