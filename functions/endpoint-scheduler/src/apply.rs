//! Carrying out planned steps. Every write goes through `Report::perform`, so a dry run makes
//! none, and each step stops at the first failure: the next run resumes from what is left.

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::{self, ScalingError};
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::sagemaker::endpoints;
use sagekeeper_core::sagemaker::inference_components;
use sagekeeper_core::sagemaker::notebooks::{self, Notebook};
use sagekeeper_core::sagemaker::park::{self, Stored};
use sagekeeper_core::{Report, Severity};

use crate::clients::Clients;
use crate::plan::{self, EndpointState, EndpointStep, NotebookStep};
use crate::run::NAME;

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
pub async fn endpoint(
    clients: &Clients,
    state: &EndpointState,
    step: EndpointStep,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Applied {
    match step {
        EndpointStep::Park => park(clients, state, now, report).await,
        EndpointStep::ResumePark => match &state.snapshot {
            Some(snapshot) if take_down(clients, state, snapshot, report).await => {
                Applied::Parked(Box::new(snapshot.clone()))
            }
            _ => Applied::Other,
        },
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
                let action = format!("restore-copies {} to {}", component.name, component.copies);
                if !report.attempt(&state.arn, &action, scale).await {
                    break;
                }
            }
        }
        EndpointStep::RestoreScaling => {
            if !snapshot.scaling.is_empty() {
                let restore = autoscaling::restore(clients.scaling(), &snapshot.scaling);
                if !report
                    .attempt(&state.arn, "restore-autoscaling", restore)
                    .await
                {
                    return;
                }
            }
            let (key, archive_key) = (snapshot.key(), snapshot.archive_key());
            let archive = clients.state.archive(&key, &archive_key);
            report
                .perform(&state.arn, "archive-snapshot", archive)
                .await;
        }
    }
}

/// Snapshot, verify, and only then take the endpoint down. The snapshot is written only if
/// the one this run read (or its absence) is still there.
async fn park(
    clients: &Clients,
    state: &EndpointState,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Applied {
    const SUBJECT: &str = "the endpoint";
    let captured = park::captured(
        report,
        &state.arn,
        capture(clients, state, now).await,
        SUBJECT,
    );
    let Some(mut snapshot) = captured else {
        return Applied::Other;
    };
    if let Some(previous) = &state.snapshot {
        snapshot = park::carry_forward(snapshot, previous);
    }
    let expect = state.snapshot_expect();
    match park::store_if(
        report,
        &clients.state,
        &state.arn,
        &snapshot,
        &expect,
        SUBJECT,
    )
    .await
    {
        Stored::Verified if take_down(clients, state, &snapshot, report).await => {
            Applied::Parked(Box::new(snapshot))
        }
        Stored::Conflict => Applied::Replan,
        _ => Applied::Other,
    }
}

/// Deregisters autoscaling, then deletes the endpoint or scales its components to zero.
async fn take_down(
    clients: &Clients,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) -> bool {
    if !snapshot.scaling.is_empty() {
        let deregister = autoscaling::deregister(&clients.autoscaling, &snapshot.scaling);
        if !report
            .attempt(&state.arn, "deregister-autoscaling", deregister)
            .await
        {
            return false;
        }
    }
    if snapshot.hosts_inference_components() {
        for component in &snapshot.inference_components {
            let scale =
                inference_components::set_copy_count(&clients.sagemaker, &component.name, 0);
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
    if !still_as_snapshotted(clients, state, snapshot, report).await {
        // Leave it as it was found: with its autoscaling.
        if !snapshot.scaling.is_empty() {
            let restore = autoscaling::restore(clients.scaling(), &snapshot.scaling);
            report
                .perform(&state.arn, "restore-autoscaling", restore)
                .await;
        }
        return false;
    }
    let delete = endpoints::delete(&clients.sagemaker, &state.name);
    report.attempt(&state.arn, "delete-endpoint", delete).await
}

/// Describes the endpoint again right before it is deleted: one that changed since the
/// snapshot (redeployed, updating) is left up and reported, and the next run plans again.
async fn still_as_snapshotted(
    clients: &Clients,
    state: &EndpointState,
    snapshot: &EndpointSnapshot,
    report: &mut Report,
) -> bool {
    let change = match endpoints::describe(&clients.sagemaker, &state.name).await {
        Ok(Some(now)) => plan::changed_since(snapshot, &now),
        // Gone already (a concurrent park): deleting again is harmless.
        Ok(None) => None,
        Err(err) => {
            report.error(Some(&state.arn), &err);
            return false;
        }
    };
    let Some(change) = change else {
        return true;
    };
    report.finding(
        &state.arn,
        "endpoint-changed-while-parking",
        Severity::Medium,
        format!("{change} since its snapshot was taken: it stays up and is planned again next run"),
    );
    false
}

async fn capture(
    clients: &Clients,
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
        clients.scaling(),
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
