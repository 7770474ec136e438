//! Carrying out the plans. Every write goes through `Report::perform`, so a dry run makes
//! none; each returns how many resources it changed (or would change, in a dry run).

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::{self, ScalingError};
use sagekeeper_core::lifecycle::{self, Rule};
use sagekeeper_core::logs::{self, LogGroup};
use sagekeeper_core::report::ReportableError;
use sagekeeper_core::sagemaker::snapshot::EndpointSnapshot;
use sagekeeper_core::sagemaker::{self, endpoints, park};
use sagekeeper_core::tagging::{self, MAX_ARNS_PER_TAG_CALL, Tags};
use sagekeeper_core::{Report, Severity, s3_tags};

use crate::gather::{Bucket, Target};
use crate::handler::{Deps, NAME};
use crate::idle::{Candidate, IDLE_SINCE_TAG};
use crate::lifecycle_plan::RULE_ID_PREFIX;

/// Performs one write; true when it succeeded or was only planned (dry run).
async fn attempt<T, E: ReportableError>(
    report: &mut Report,
    resource: &str,
    action: &str,
    write: impl Future<Output = Result<T, E>>,
) -> bool {
    let result = report.perform(resource, action, write).await;
    result.is_some() || report.dry_run
}

fn describe(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds tags: SageMaker resources through the tagging API, up to 20 resources with the same
/// new tags per call; buckets one by one (their tag set is replaced as a whole, so it is read
/// again right before writing). Returns the resources tagged.
pub async fn add_tags(
    deps: &Deps,
    wanted: Vec<(Target, String, Tags)>,
    report: &mut Report,
) -> usize {
    let mut by_tags: BTreeMap<Tags, Vec<String>> = BTreeMap::new();
    let mut tagged = 0;
    for (target, arn, tags) in wanted {
        match target {
            Target::SageMaker => by_tags.entry(tags).or_default().push(arn),
            Target::Bucket(bucket) => {
                let action = format!("add-tags {}", describe(&tags));
                let add = s3_tags::add_missing(&deps.s3, &bucket, &tags);
                if attempt(report, &arn, &action, add).await {
                    tagged += 1;
                }
            }
        }
    }
    for (tags, arns) in by_tags {
        let action = format!("add-tags {}", describe(&tags));
        for chunk in arns.chunks(MAX_ARNS_PER_TAG_CALL) {
            tagged += tag_batch(deps, chunk, &tags, &action, report).await;
        }
    }
    tagged
}

/// One TagResources call; resources it could not tag are errors of their own.
async fn tag_batch(
    deps: &Deps,
    arns: &[String],
    tags: &Tags,
    action: &str,
    report: &mut Report,
) -> usize {
    let call = tagging::tag_resources(&deps.tagging, arns, tags);
    match report.perform(&arns.join(", "), action, call).await {
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

/// Writes our rules into the bucket's lifecycle configuration (read again and merged at the
/// moment of writing, so the owner's rules stay as they are).
pub async fn lifecycle_rules(
    deps: &Deps,
    bucket: &Bucket,
    rules: &[Rule],
    report: &mut Report,
) -> bool {
    let ids: Vec<&str> = rules.iter().filter_map(|r| r.id.as_deref()).collect();
    let action = format!("put-lifecycle-rules {}", ids.join(", "));
    let put = lifecycle::put_merged(&deps.s3, &bucket.name, rules, RULE_ID_PREFIX);
    attempt(report, &bucket.arn, &action, put).await
}

pub async fn retention(deps: &Deps, group: &LogGroup, days: i32, report: &mut Report) -> bool {
    let put = logs::put_retention(&deps.logs, &group.name, days);
    attempt(
        report,
        &group.arn,
        &format!("put-retention {days} days"),
        put,
    )
    .await
}

pub async fn clear_idle_tag(deps: &Deps, arn: &str, report: &mut Report) {
    let delete = sagemaker::delete_tags(&deps.sagemaker, arn, &[IDLE_SINCE_TAG]);
    report
        .perform(arn, &format!("remove-tag {IDLE_SINCE_TAG}"), delete)
        .await;
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
    deps: &Deps,
    candidate: &Candidate,
    now: DateTime<Utc>,
    report: &mut Report,
) -> bool {
    let Some(state) = &deps.state else {
        report.finding(
            &candidate.arn,
            "idle-endpoint-not-deleted",
            Severity::High,
            "no STATE_BUCKET for the snapshot, so the endpoint stays up",
        );
        return false;
    };
    let capture = park::capture(
        &deps.autoscaling,
        &candidate.endpoint,
        &candidate.config,
        &[],
        &candidate.tags,
        now,
        NAME,
    )
    .await;
    let snapshot = match capture {
        Ok(snapshot) => snapshot,
        Err(err @ ScalingError::Unsupported { .. }) => {
            report.finding(
                &candidate.arn,
                "cannot-snapshot",
                Severity::High,
                format!("{err}; the idle endpoint stays up"),
            );
            return false;
        }
        Err(err) => {
            report.error(Some(&candidate.arn), &err);
            return false;
        }
    };
    let key = deleted_snapshot_key(&snapshot);
    let write = state.put_verified(&key, &snapshot);
    if !attempt(
        report,
        &candidate.arn,
        &format!("write-snapshot {}", state.location(&key)),
        write,
    )
    .await
    {
        report.finding(
            &candidate.arn,
            "snapshot-failed",
            Severity::High,
            format!(
                "the snapshot could not be written and verified in s3://{}, so the idle endpoint stays up",
                state.bucket()
            ),
        );
        return false;
    }
    if !snapshot.scaling.is_empty() {
        let deregister = autoscaling::deregister(&deps.autoscaling, &snapshot.scaling);
        if !attempt(report, &candidate.arn, "deregister-autoscaling", deregister).await {
            return false;
        }
    }
    let delete = endpoints::delete(&deps.sagemaker, &candidate.endpoint.name);
    attempt(report, &candidate.arn, "delete-idle-endpoint", delete).await
}
