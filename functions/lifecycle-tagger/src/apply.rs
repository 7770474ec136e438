//! Carrying out the plan: one loop over its writes, each through `Report::perform` (so a dry
//! run makes none) under the action id the plan gives it, with the write's parameters in the
//! action's detail, counting what changed (or would change, in a dry run) for the summary
//! the plan makes of it.

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::ScalingClients;
use sagekeeper_core::cloudwatch::log_groups;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::apply as run_apply;
use sagekeeper_core::sagemaker;
use sagekeeper_core::sagemaker::park::{Keep, Running, TakeDown, TakenDown};
use sagekeeper_core::{Report, Severity, s3, tagging};

use crate::clients::Clients;
use crate::config::NAME;
use crate::data_class::RULE_ID_PREFIX;
use crate::gather::TagVia;
use crate::idle::{Candidate, IDLE_SINCE_TAG};
use crate::plan::{self, Changed, Planned, TagWrite};

/// Makes the plan's writes, `concurrency` resources at a time (one resource's writes in
/// order). Idle endpoints are deleted after every tag write, so a tag added this run is in
/// the snapshot taken before the delete.
pub async fn apply(
    clients: &Clients,
    planned: Planned,
    now: DateTime<Utc>,
    concurrency: usize,
    report: &mut Report,
) {
    let Planned { plan, found } = planned;
    let (deletes, writes): (Vec<_>, Vec<_>) = plan
        .record(report)
        .into_iter()
        .partition(|(_, w)| matches!(w, TagWrite::DeleteIdleEndpoint(_)));
    let mut changed = Changed::default();
    for writes in [writes, deletes] {
        let parts = run_apply::by_resource(
            report,
            writes,
            concurrency,
            |resource, writes, mut report| async move {
                let mut changed = Changed::default();
                for write in writes {
                    write_one(clients, &resource, write, now, &mut report, &mut changed).await;
                }
                (report, changed)
            },
        )
        .await;
        for part in parts {
            changed.add(part);
        }
    }
    if let Some(found) = found {
        let (metrics, headline) = plan::summary(&found, &changed);
        for (name, value) in metrics {
            report.add_metric(name, value);
        }
        report.headline = Some(headline);
    }
}

async fn write_one(
    clients: &Clients,
    resource: &str,
    write: TagWrite,
    now: DateTime<Utc>,
    report: &mut Report,
    changed: &mut Changed,
) {
    let (action, detail) = (write.action(), write.detail());
    match write {
        TagWrite::AddTags {
            via: TagVia::SageMaker,
            arns,
            tags,
        } => {
            changed.tagged +=
                tag_batch(clients, resource, &arns, &tags, (action, detail), report).await
        }
        TagWrite::AddTags {
            via: TagVia::Bucket(bucket),
            tags,
            ..
        } => {
            let add = s3::tags::add_missing(&clients.s3, &clients.tagging, &bucket, &tags);
            changed.tagged += usize::from(report.attempt_with(resource, action, detail, add).await);
        }
        TagWrite::MarkIdle { arns, since } => {
            let tags = Tags::from([(IDLE_SINCE_TAG.to_owned(), since)]);
            tag_batch(clients, resource, &arns, &tags, (action, detail), report).await;
        }
        TagWrite::PutLifecycleRules { bucket, rules } => {
            let put = s3::lifecycle::put_merged(&clients.s3, &bucket, &rules, RULE_ID_PREFIX);
            changed.buckets +=
                usize::from(report.attempt_with(resource, action, detail, put).await);
        }
        TagWrite::PutRetention { group, days } => {
            let put = log_groups::put_retention(&clients.logs, &group, days);
            changed.log_groups +=
                usize::from(report.attempt_with(resource, action, detail, put).await);
        }
        TagWrite::ClearIdleTag => {
            let delete = sagemaker::tags::remove(&clients.sagemaker, resource, &[IDLE_SINCE_TAG]);
            report.perform_with(resource, action, detail, delete).await;
        }
        TagWrite::DeleteIdleEndpoint(candidate) => {
            let deleted = delete_idle(clients, &candidate, now, report).await;
            changed.deleted += usize::from(deleted);
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
    (action, detail): (&str, Option<String>),
    report: &mut Report,
) -> usize {
    let call = tagging::tag_resources(&clients.tagging, arns, tags);
    match report.perform_with(resource, action, detail, call).await {
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

/// Snapshots the endpoint exactly as the scheduler does when parking it (configuration, tags,
/// autoscaling with policies and scheduled actions, what was running), verifies the snapshot,
/// and only then deregisters autoscaling and deletes the endpoint (config and model stay).
async fn delete_idle(
    clients: &Clients,
    candidate: &Candidate,
    now: DateTime<Utc>,
    report: &mut Report,
) -> bool {
    let Some(state) = &clients.state else {
        report.finding(
            &candidate.arn,
            plan::NOT_DELETED_RULE,
            Severity::High,
            "no STATE_BUCKET for the snapshot, so the endpoint stays up",
        );
        return false;
    };
    let take_down = TakeDown {
        sagemaker: &clients.sagemaker,
        scaling: ScalingClients {
            autoscaling: &clients.autoscaling,
            cloudwatch: &clients.cloudwatch,
        },
        state,
        keep: Keep::Deleted,
        by: NAME,
    };
    let running = Running {
        arn: &candidate.arn,
        endpoint: &candidate.endpoint,
        config: &candidate.config,
        components: &[],
        tags: &candidate.tags,
    };
    matches!(
        take_down.run(running, None, now, report).await,
        TakenDown::Down(_)
    )
}
