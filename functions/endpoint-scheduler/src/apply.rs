//! Carrying out planned steps. Every write goes through `Report::perform`, so a dry run makes
//! none, and each step stops at the first failure: the next run resumes from what is left.

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::{self, ScalingError};
use sagekeeper_core::sagemaker::endpoints;
use sagekeeper_core::sagemaker::inference_components;
use sagekeeper_core::sagemaker::notebooks::{self, Notebook};
use sagekeeper_core::sagemaker::park;
use sagekeeper_core::sagemaker::snapshot::EndpointSnapshot;
use sagekeeper_core::{Report, Severity};

use crate::handler::{Deps, NAME};
use crate::plan::{EndpointState, EndpointStep, NotebookStep};

/// Runs one step; returns the snapshot of the endpoint when it is parked afterwards.
pub async fn endpoint(
    deps: &Deps,
    state: &EndpointState,
    step: EndpointStep,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Option<EndpointSnapshot> {
    match step {
        EndpointStep::Park => park(deps, state, now, report).await,
        EndpointStep::ResumePark => {
            let snapshot = state.snapshot.clone()?;
            take_down(deps, state, &snapshot, report)
                .await
                .then_some(snapshot)
        }
        EndpointStep::Recreate => {
            let snapshot = state.snapshot.as_ref()?;
            let create = endpoints::create(
                &deps.sagemaker,
                &state.name,
                &snapshot.endpoint_config_name,
                &snapshot.tags,
            );
            report
                .perform(&state.arn, "recreate-endpoint", create)
                .await;
            None
        }
        EndpointStep::RestoreCopies => {
            let snapshot = state.snapshot.as_ref()?;
            for component in &snapshot.inference_components {
                let scale = inference_components::set_copy_count(
                    &deps.sagemaker,
                    &component.name,
                    component.copies,
                );
                let action = format!("restore-copies {} to {}", component.name, component.copies);
                if !report.attempt(&state.arn, &action, scale).await {
                    break;
                }
            }
            None
        }
        EndpointStep::RestoreScaling => {
            let snapshot = state.snapshot.as_ref()?;
            if !snapshot.scaling.is_empty() {
                let restore = autoscaling::restore(&deps.autoscaling, &snapshot.scaling);
                if !report
                    .attempt(&state.arn, "restore-autoscaling", restore)
                    .await
                {
                    return None;
                }
            }
            let (key, archive_key) = (snapshot.key(), snapshot.archive_key());
            let archive = deps.state.archive(&key, &archive_key);
            report
                .perform(&state.arn, "archive-snapshot", archive)
                .await;
            None
        }
    }
}

/// Snapshot, verify, and only then take the endpoint down.
async fn park(
    deps: &Deps,
    state: &EndpointState,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Option<EndpointSnapshot> {
    const SUBJECT: &str = "the endpoint";
    let snapshot = park::captured(report, &state.arn, capture(deps, state, now).await, SUBJECT)?;
    let key = snapshot.key();
    let stored = park::store(
        report,
        &deps.state,
        &state.arn,
        &key,
        "write-snapshot",
        &snapshot,
        SUBJECT,
    );
    if !stored.await {
        return None;
    }
    take_down(deps, state, &snapshot, report)
        .await
        .then_some(snapshot)
}

/// Deregisters autoscaling, then deletes the endpoint or scales its components to zero.
async fn take_down(
    deps: &Deps,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) -> bool {
    if !snapshot.scaling.is_empty() {
        let deregister = autoscaling::deregister(&deps.autoscaling, &snapshot.scaling);
        if !report
            .attempt(&state.arn, "deregister-autoscaling", deregister)
            .await
        {
            return false;
        }
    }
    if snapshot.hosts_inference_components() {
        for component in &snapshot.inference_components {
            let scale = inference_components::set_copy_count(&deps.sagemaker, &component.name, 0);
            let action = format!("scale-to-zero {}", component.name);
            if !report.attempt(&state.arn, &action, scale).await {
                return false;
            }
        }
        for variant in state.config.iter().flat_map(|c| &c.variants) {
            if let Some(min) = variant.managed_min_instances.filter(|min| *min > 0) {
                report.finding(
                    &state.arn,
                    "managed-scaling-minimum",
                    Severity::Low,
                    format!(
                        "variant {} keeps at least {min} instance(s) while parked: set its managed instance scaling minimum to 0 to stop paying for them",
                        variant.name
                    ),
                );
            }
        }
        return true;
    }
    let delete = endpoints::delete(&deps.sagemaker, &state.name);
    report.attempt(&state.arn, "delete-endpoint", delete).await
}

async fn capture(
    deps: &Deps,
    state: &EndpointState,
    now: DateTime<Utc>,
) -> Result<EndpointSnapshot, ScalingError> {
    let (Some(live), Some(config)) = (&state.live, &state.config) else {
        return Err(ScalingError::Unsupported {
            resource_id: state.name.clone(),
            what: "an endpoint without a live configuration".to_owned(),
        });
    };
    park::capture(
        &deps.autoscaling,
        live,
        config,
        &state.components,
        &state.tags,
        now,
        NAME,
    )
    .await
}

/// Runs one notebook step; returns true when the notebook is stopped afterwards.
pub async fn notebook(
    deps: &Deps,
    notebook: &Notebook,
    step: NotebookStep,
    report: &mut Report,
) -> bool {
    match step {
        NotebookStep::Stop => {
            let stop = notebooks::stop(&deps.sagemaker, &notebook.name);
            report.attempt(&notebook.arn, "stop-notebook", stop).await
        }
        NotebookStep::Start => {
            report
                .perform(
                    &notebook.arn,
                    "start-notebook",
                    notebooks::start(&deps.sagemaker, &notebook.name),
                )
                .await;
            false
        }
    }
}
