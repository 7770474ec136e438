//! Carrying out the plan: one loop over its writes, each through `Report::perform` (so a dry
//! run makes none) under the action id the plan gives it, with the write's parameters in the
//! action's detail, counting what changed (or would change, in a dry run) for the summary
//! the plan makes of it.

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::{self, ScalingClients};
use sagekeeper_core::cloudwatch::log_groups;
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::report::ActionRecord;
use sagekeeper_core::sagemaker::{self, endpoints, park};
use sagekeeper_core::{Report, Severity, s3, tagging};

use crate::clients::Clients;
use crate::data_class::RULE_ID_PREFIX;
use crate::gather::TagVia;
use crate::idle::{Candidate, IDLE_SINCE_TAG};
use crate::plan::{self, Changed, Planned, TagWrite};

pub async fn apply(clients: &Clients, planned: Planned, now: DateTime<Utc>, report: &mut Report) {
    let Planned { plan, found } = planned;
    let mut changed = Changed::default();
    for (resource, write) in plan.record(report) {
        let (action, detail) = (write.action(), write.detail());
        let first = report.actions.len();
        match write {
            TagWrite::AddTags {
                via: TagVia::SageMaker,
                arns,
                tags,
            } => {
                changed.tagged += tag_batch(clients, &resource, &arns, &tags, action, report).await
            }
            TagWrite::AddTags {
                via: TagVia::Bucket(bucket),
                tags,
                ..
            } => {
                let add = s3::tags::add_missing(&clients.s3, &clients.tagging, &bucket, &tags);
                changed.tagged += usize::from(report.attempt(&resource, action, add).await);
            }
            TagWrite::MarkIdle { arns, since } => {
                let tags = Tags::from([(IDLE_SINCE_TAG.to_owned(), since)]);
                tag_batch(clients, &resource, &arns, &tags, action, report).await;
            }
            TagWrite::PutLifecycleRules { bucket, rules } => {
                let put = s3::lifecycle::put_merged(&clients.s3, &bucket, &rules, RULE_ID_PREFIX);
                changed.buckets += usize::from(report.attempt(&resource, action, put).await);
            }
            TagWrite::PutRetention { group, days } => {
                let put = log_groups::put_retention(&clients.logs, &group, days);
                changed.log_groups += usize::from(report.attempt(&resource, action, put).await);
            }
            TagWrite::ClearIdleTag => {
                let delete =
                    sagemaker::delete_tags(&clients.sagemaker, &resource, &[IDLE_SINCE_TAG]);
                report.perform(&resource, action, delete).await;
            }
            TagWrite::DeleteIdleEndpoint(candidate) => {
                // The snapshot names the function that took the endpoint down.
                let parked_by = report.function.clone();
                let deleted = delete_idle(clients, &candidate, now, &parked_by, report).await;
                changed.deleted += usize::from(deleted);
            }
        }
        with_detail(&mut report.actions[first..], action, detail);
    }
    if let Some(found) = found {
        let (metrics, headline) = plan::summary(&found, &changed);
        for (name, value) in metrics {
            report.add_metric(name, value);
        }
        report.headline = Some(headline);
    }
}

/// Puts the write's parameters in the detail of the action it was recorded as (a failed
/// write's detail stays its error).
fn with_detail(recorded: &mut [ActionRecord], action: &str, detail: Option<String>) {
    for record in recorded {
        if record.action == action && record.detail.is_none() {
            record.detail.clone_from(&detail);
        }
    }
}

/// One TagResources call; resources it could not tag are errors of their own. Returns the
/// resources tagged (or that would be, in a dry run).
async fn tag_batch(
    clients: &Clients,
    resource: &str,
    arns: &[String],
    tags: &Tags,
    action: &str,
    report: &mut Report,
) -> usize {
    let call = tagging::tag_resources(&clients.tagging, arns, tags);
    match report.perform(resource, action, call).await {
        Some(failures) => {
            for failure in &failures {
                report.error(Some(&failure.arn), failure);
            }
            arns.len() - failures.len()
        }
        None if report.dry_run => arns.len(),
        None => 0,
    }
}

/// Where the snapshot of an endpoint deleted for being idle goes. Not under the scheduler's
/// `snapshots/endpoints/`: the scheduler would bring such an endpoint back in the morning.
pub fn deleted_snapshot_key(snapshot: &EndpointSnapshot) -> String {
    format!(
        "deleted/endpoints/{}/{}.json",
        snapshot.endpoint_name,
        snapshot.parked_at.format("%Y%m%dT%H%M%SZ")
    )
}

/// Snapshots the endpoint exactly as the scheduler does when parking it (configuration, tags,
/// autoscaling with policies and scheduled actions, what was running), verifies the snapshot,
/// and only then deregisters autoscaling and deletes the endpoint (config and model stay).
pub async fn delete_idle(
    clients: &Clients,
    candidate: &Candidate,
    now: DateTime<Utc>,
    parked_by: &str,
    report: &mut Report,
) -> bool {
    let Some(state) = &clients.state else {
        report.finding(
            &candidate.arn,
            "idle-endpoint-not-deleted",
            Severity::High,
            "no STATE_BUCKET for the snapshot, so the endpoint stays up",
        );
        return false;
    };
    let scaling = ScalingClients {
        autoscaling: &clients.autoscaling,
        cloudwatch: &clients.cloudwatch,
    };
    let capture = park::capture(
        scaling,
        &candidate.endpoint,
        &candidate.config,
        &[],
        &candidate.tags,
        now,
        parked_by,
    )
    .await;
    const SUBJECT: &str = "the idle endpoint";
    let Some(snapshot) = park::captured(report, &candidate.arn, capture, SUBJECT) else {
        return false;
    };
    let key = deleted_snapshot_key(&snapshot);
    let first = report.actions.len();
    let action = "write-snapshot";
    let stored = park::store(
        report,
        state,
        &candidate.arn,
        &key,
        action,
        &snapshot,
        SUBJECT,
    )
    .await;
    with_detail(
        &mut report.actions[first..],
        action,
        Some(state.location(&key)),
    );
    if !stored {
        return false;
    }
    if !snapshot.scaling.is_empty() {
        let deregister = autoscaling::deregister(&clients.autoscaling, &snapshot.scaling);
        if !report
            .attempt(&candidate.arn, "deregister-autoscaling", deregister)
            .await
        {
            return false;
        }
    }
    let delete = endpoints::delete(&clients.sagemaker, &candidate.endpoint.name);
    report
        .attempt(&candidate.arn, "delete-idle-endpoint", delete)
        .await
}
