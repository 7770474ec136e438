//! Carrying out planned steps. Every write goes through `Report::perform`, so a dry run makes
//! none, and each step stops at the first failure: the next run resumes from what is left.

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::{self, ScalingError};
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::apply as run_apply;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::s3::state::Expect;
use sagekeeper_core::s3::state::StateError;
use sagekeeper_core::sagemaker;
use sagekeeper_core::sagemaker::endpoints;
use sagekeeper_core::sagemaker::inference_components;
use sagekeeper_core::sagemaker::notebooks::{self, Notebook};
use sagekeeper_core::sagemaker::park::{self, Keep, Running, TakeDown, TakenDown};
use sagekeeper_core::sagemaker::studio::{self as studio_api, AppSnapshot};
use sagekeeper_core::{Report, Severity};

use crate::clients::Clients;
use crate::config::NAME;
use crate::gather;
use crate::model::EndpointState;
use crate::model::StudioApp;
use crate::plan::{self, AppStep, Converge, EndpointStep, NotebookStep, Parked, Write};
use crate::policy::{Desired, SNOOZE_TAG};
use crate::studio;

/// Carries out the run's writes, `concurrency` resources at a time (each one's in order);
/// returns what they parked.
pub async fn apply(
    clients: &Clients,
    prices: &PriceTable,
    writes: Vec<(String, Write)>,
    now: DateTime<Utc>,
    concurrency: usize,
    report: &mut Report,
) -> Parked {
    let parts = run_apply::by_resource(
        report,
        writes,
        concurrency,
        |arn, writes, mut report| async move {
            let mut parked = Parked::default();
            for write in writes {
                apply_one(clients, prices, &arn, write, now, &mut report, &mut parked).await;
            }
            (report, parked)
        },
    )
    .await;
    let mut parked = Parked::default();
    for part in parts {
        parked.add(part);
    }
    parked
}

async fn apply_one(
    clients: &Clients,
    prices: &PriceTable,
    arn: &str,
    write: Write,
    now: DateTime<Utc>,
    report: &mut Report,
    parked: &mut Parked,
) {
    match write {
        Write::RemoveExpiredSnooze => {
            let remove = sagemaker::tags::remove(&clients.sagemaker, arn, &[SNOOZE_TAG]);
            report.perform(arn, "remove-expired-snooze", remove).await;
        }
        Write::Endpoint {
            state,
            desired,
            step,
        } => {
            if let Some(snapshot) = converge(clients, *state, desired, step, now, report).await {
                parked.endpoint(&snapshot, prices);
            }
        }
        Write::Notebook { notebook, step } => {
            if self::notebook(clients, &notebook, step, report).await {
                parked.notebook(&notebook, prices);
            }
        }
        Write::StudioApp { app, step } => {
            studio_app(clients, prices, &app, step, now, report, parked).await;
        }
    }
}

/// How many times an endpoint is planned again after a concurrent run changed it under this
/// one; past that it is left for the next run.
const REPLANS: usize = 2;

/// Applies one endpoint's step, planning again from a fresh read when a concurrent run
/// changed its snapshot meanwhile; returns its snapshot when it is parked afterwards.
async fn converge(
    clients: &Clients,
    mut state: EndpointState,
    desired: Desired,
    mut step: EndpointStep,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Option<EndpointSnapshot> {
    for _ in 0..=REPLANS {
        match endpoint(clients, &state, step, now, report).await {
            Applied::Parked(snapshot) => return Some(*snapshot),
            Applied::Other => return None,
            Applied::Replan => {}
        }
        state = match gather::refresh(clients, &state).await {
            Ok(fresh) => fresh,
            Err(err) => {
                report.error(Some(&state.arn), &err);
                return None;
            }
        };
        step = match plan::plan_endpoint(&state, desired) {
            Converge::NoChange => return state.snapshot.filter(|_| desired != Desired::Up),
            Converge::Step(step) => step,
            converge => {
                let mut replanned: Plan<Write> = Plan::new();
                plan::not_converged(&mut replanned, &state.arn, converge);
                replanned.record(report);
                return None;
            }
        };
    }
    None
}

/// What a step came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The endpoint is parked afterwards, as this snapshot says.
    Parked(Box<EndpointSnapshot>),
    /// Done, or stopped at a failure the report shows; the next run goes on from there.
    Other,
    /// A concurrent run changed the snapshot since this run read it: read and plan again.
    Replan,
}

/// Runs one step.
async fn endpoint(
    clients: &Clients,
    state: &EndpointState,
    step: EndpointStep,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Applied {
    match step {
        EndpointStep::Park => park(clients, state, now, report).await,
        EndpointStep::ResumePark => {
            let Some(snapshot) = &state.snapshot else {
                return Applied::Other;
            };
            let variants = state.config.as_ref().map(|c| c.variants.as_slice());
            let take_down = take_down(clients, state.snapshot_expect());
            if take_down
                .finish(&state.arn, variants.unwrap_or_default(), snapshot, report)
                .await
            {
                Applied::Parked(Box::new(snapshot.clone()))
            } else {
                Applied::Other
            }
        }
        step => {
            restore(clients, state, step, report).await;
            Applied::Other
        }
    }
}

/// The steps that bring a parked endpoint back.
async fn restore(
    clients: &Clients,
    state: &EndpointState,
    step: EndpointStep,
    report: &mut Report,
) {
    let Some(snapshot) = &state.snapshot else {
        return;
    };
    match step {
        EndpointStep::Park | EndpointStep::ResumePark => {}
        EndpointStep::Recreate => {
            let create = endpoints::create_with(
                &clients.sagemaker,
                &state.name,
                &snapshot.endpoint_config_name,
                &snapshot.tags,
                snapshot.deployment_config.as_ref(),
            );
            report
                .perform(&state.arn, "recreate-endpoint", create)
                .await;
        }
        EndpointStep::RestoreCapacity => {
            let Some(live) = &state.live else {
                return;
            };
            let capacities = plan::capacities_to_restore(snapshot, live);
            let set = endpoints::set_capacities(&clients.sagemaker, &state.name, &capacities);
            report.perform(&state.arn, "restore-capacity", set).await;
        }
        EndpointStep::RestoreCopies => {
            for component in &snapshot.inference_components {
                let scale = inference_components::set_copy_count(
                    &clients.sagemaker,
                    &component.name,
                    component.copies,
                );
                let detail = Some(format!("{} to {}", component.name, component.copies));
                if !report
                    .attempt_with(&state.arn, "restore-copies", detail, scale)
                    .await
                {
                    break;
                }
            }
        }
        EndpointStep::RestoreScaling => {
            if restore_scaling(clients, state, snapshot, report).await {
                archive(clients, state, snapshot, report).await;
            }
        }
        EndpointStep::ReleaseHold => {
            if release_hold(clients, state, snapshot, report).await {
                archive(clients, state, snapshot, report).await;
            }
        }
    }
}

/// Registers the snapshot's autoscaling again; true when done (or there was none).
async fn restore_scaling(
    clients: &Clients,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) -> bool {
    if snapshot.scaling.is_empty() {
        return true;
    }
    let restore = autoscaling::restore(clients.scaling(), &snapshot.scaling);
    report
        .attempt(&state.arn, "restore-autoscaling", restore)
        .await
}

/// Ends an asynchronous endpoint's hold at zero: its own scaling back (limits, policies,
/// scheduled actions, unsuspended), the targets registered only for the hold removed, then
/// the instance counts it had. True when all is done.
async fn release_hold(
    clients: &Clients,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) -> bool {
    let (Some(live), Some(config)) = (&state.live, &state.config) else {
        return false;
    };
    if !restore_scaling(clients, state, snapshot, report).await {
        return false;
    }
    // Targets the hold registered: none in the snapshot, and still at 0..0 (one its owner
    // registered since is theirs, and stays).
    let recorded = |id: &String| {
        snapshot
            .scaling
            .targets
            .iter()
            .any(|t| &t.resource_id == id)
    };
    let held = |id: &String| {
        state
            .scaling_limits
            .iter()
            .any(|l| &l.resource_id == id && l.held_at_zero())
    };
    let held_only: Vec<String> = park::variant_resource_ids(&state.name, &config.variants)
        .into_iter()
        .filter(|id| !recorded(id) && held(id))
        .collect();
    if !held_only.is_empty() {
        let release = autoscaling::release_hold(&clients.autoscaling, &held_only);
        let detail = Some(held_only.join(", "));
        if !report
            .attempt_with(&state.arn, "release-hold", detail, release)
            .await
        {
            return false;
        }
    }
    let capacities = plan::capacities_to_restore(snapshot, live);
    if capacities.is_empty() {
        return true;
    }
    let set = endpoints::set_capacities(&clients.sagemaker, &state.name, &capacities);
    report.attempt(&state.arn, "restore-capacity", set).await
}

async fn archive(
    clients: &Clients,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) {
    let (key, archive_key) = (snapshot.key(), snapshot.archive_key());
    let archive = clients.state.archive(&key, &archive_key);
    report
        .perform(&state.arn, "archive-snapshot", archive)
        .await;
}

/// Snapshot, verify, and only then take the endpoint down. The snapshot is written only if
/// the one this run read (or its absence) is still there.
async fn park(
    clients: &Clients,
    state: &EndpointState,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Applied {
    let (Some(endpoint), Some(config)) = (&state.live, &state.config) else {
        let err = ScalingError::Unsupported {
            resource_id: state.name.clone(),
            what: "an endpoint without a live configuration".to_owned(),
        };
        let message = format!("{err}; the endpoint stays up");
        report.finding(&state.arn, "cannot-snapshot", Severity::High, message);
        return Applied::Other;
    };
    let running = Running {
        arn: &state.arn,
        endpoint,
        config,
        components: &state.components,
        tags: &state.tags,
    };
    let take_down = take_down(clients, state.snapshot_expect());
    match take_down
        .run(running, state.snapshot.as_ref(), now, report)
        .await
    {
        TakenDown::Down(snapshot) => Applied::Parked(snapshot),
        TakenDown::Replan => Applied::Replan,
        TakenDown::StaysUp => Applied::Other,
    }
}

fn take_down(clients: &Clients, expect: Expect) -> TakeDown<'_> {
    TakeDown {
        sagemaker: &clients.sagemaker,
        scaling: clients.scaling(),
        state: &clients.state,
        keep: Keep::ForRestore { expect },
        by: NAME,
    }
}

/// Runs one notebook step; returns true when the notebook is stopped afterwards.
async fn notebook(
    clients: &Clients,
    notebook: &Notebook,
    step: NotebookStep,
    report: &mut Report,
) -> bool {
    match step {
        NotebookStep::Stop => {
            let stop = notebooks::stop(&clients.sagemaker, &notebook.name);
            report.attempt(&notebook.arn, "stop-notebook", stop).await
        }
        NotebookStep::Start => {
            report
                .perform(
                    &notebook.arn,
                    "start-notebook",
                    notebooks::start(&clients.sagemaker, &notebook.name),
                )
                .await;
            false
        }
    }
}

/// Runs one Studio app step; what it parks or closes counts in `parked`.
async fn studio_app(
    clients: &Clients,
    prices: &PriceTable,
    app: &StudioApp,
    step: AppStep,
    now: DateTime<Utc>,
    report: &mut Report,
    parked: &mut Parked,
) {
    match step {
        AppStep::Park { prewarm } => {
            let arn = app.live.as_ref().and_then(|l| l.arn.as_deref());
            let own_tags = match arn {
                Some(arn) => sagemaker::tags::list(&clients.sagemaker, arn).await,
                None => Ok(Tags::new()),
            };
            let Some(own_tags) = report.keep(Some(&app.arn), own_tags) else {
                return;
            };
            let snapshot = studio::snapshot_of(app, prewarm, &own_tags, now, NAME);
            let unchanged = app.snapshot.as_ref().is_some_and(|s| s.same_as(&snapshot));
            if !unchanged {
                let location = clients.state.location(&snapshot.key());
                let write = write_app_snapshot(clients, &snapshot, app.snapshot_expect());
                if !report
                    .attempt_with(&app.arn, "write-snapshot", Some(location), write)
                    .await
                {
                    return;
                }
            }
            let detail = Some(studio::app_detail(&app.key, &snapshot.spec));
            let delete = studio_api::delete_app(&clients.sagemaker, &app.key);
            if report
                .attempt_with(&app.arn, "delete-app", detail, delete)
                .await
            {
                parked.studio_app(&snapshot.spec, prices);
            }
        }
        AppStep::CloseCanvas => {
            let detail = Some(studio::canvas_detail(&app.key, prices));
            let delete = studio_api::delete_app(&clients.sagemaker, &app.key);
            if report
                .attempt_with(&app.arn, "close-canvas", detail, delete)
                .await
            {
                parked.canvas(prices);
            }
        }
        AppStep::Prewarm => {
            let Some(snapshot) = &app.snapshot else {
                return;
            };
            let detail = Some(studio::app_detail(&app.key, &snapshot.spec));
            let create = studio_api::create_app(
                &clients.sagemaker,
                &app.key,
                &snapshot.spec,
                &snapshot.tags,
            );
            if report
                .attempt_with(&app.arn, "create-app", detail, create)
                .await
            {
                archive_app_snapshot(clients, app, snapshot, report).await;
            }
        }
        AppStep::Archive | AppStep::Retire => {
            if let Some(snapshot) = &app.snapshot {
                archive_app_snapshot(clients, app, snapshot, report).await;
            }
        }
    }
}

/// Writes and verifies an app's snapshot under `expect`. A conflict means another run wrote
/// it meanwhile: read it again, and go on if it records the same app.
async fn write_app_snapshot(
    clients: &Clients,
    snapshot: &AppSnapshot,
    expect: Expect,
) -> Result<(), StateError> {
    let key = snapshot.key();
    match clients.state.put_verified_if(&key, snapshot, &expect).await {
        Err(err @ StateError::Conflict { .. }) => {
            match clients.state.get_json::<AppSnapshot>(&key).await? {
                Some(theirs) if theirs.same_as(snapshot) => Ok(()),
                _ => Err(err),
            }
        }
        done => done,
    }
}

async fn archive_app_snapshot(
    clients: &Clients,
    app: &StudioApp,
    snapshot: &AppSnapshot,
    report: &mut Report,
) {
    let (key, archive_key) = (snapshot.key(), snapshot.archive_key());
    let archive = clients.state.archive(&key, &archive_key);
    report.perform(&app.arn, "archive-snapshot", archive).await;
}
