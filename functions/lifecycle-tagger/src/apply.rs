//! Carrying out the plans. Every write goes through `Report::perform`, so a dry run makes
//! none; each returns how many resources it changed (or would change, in a dry run).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sagekeeper_core::autoscaling::ScalingClients;
use sagekeeper_core::cloudwatch::log_groups::{self, LogGroup};
use sagekeeper_core::model::lifecycle::Rule;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::sagemaker;
use sagekeeper_core::sagemaker::park::{Keep, Running, TakeDown, TakenDown};
use sagekeeper_core::tagging::{self, MAX_ARNS_PER_TAG_CALL};
use sagekeeper_core::{Report, Severity, s3};

use crate::clients::Clients;
use crate::gather::{Bucket, Target};
use crate::idle::{Candidate, IDLE_SINCE_TAG};
use crate::lifecycle_plan::RULE_ID_PREFIX;
use crate::run::NAME;

fn describe(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds tags through the tagging API, which adds keys and leaves the others as they are:
/// SageMaker resources up to 20 with the same new tags per call; buckets one by one, with
/// their tag set read again right before writing so only keys still missing are sent.
/// Returns the resources tagged.
pub async fn add_tags(
    clients: &Clients,
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
                let add = s3::tags::add_missing(&clients.s3, &clients.tagging, &bucket, &tags);
                if report.attempt(&arn, &action, add).await {
                    tagged += 1;
                }
            }
        }
    }
    for (tags, arns) in by_tags {
        let action = format!("add-tags {}", describe(&tags));
        for chunk in arns.chunks(MAX_ARNS_PER_TAG_CALL) {
            tagged += tag_batch(clients, chunk, &tags, &action, report).await;
        }
    }
    tagged
}

/// One TagResources call; resources it could not tag are errors of their own.
async fn tag_batch(
    clients: &Clients,
    arns: &[String],
    tags: &Tags,
    action: &str,
    report: &mut Report,
) -> usize {
    let call = tagging::tag_resources(&clients.tagging, arns, tags);
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
    clients: &Clients,
    bucket: &Bucket,
    rules: &[Rule],
    report: &mut Report,
) -> bool {
    let ids: Vec<&str> = rules.iter().filter_map(|r| r.id.as_deref()).collect();
    let action = format!("put-lifecycle-rules {}", ids.join(", "));
    let put = s3::lifecycle::put_merged(&clients.s3, &bucket.name, rules, RULE_ID_PREFIX);
    report.attempt(&bucket.arn, &action, put).await
}

pub async fn retention(
    clients: &Clients,
    group: &LogGroup,
    days: i32,
    report: &mut Report,
) -> bool {
    let put = log_groups::put_retention(&clients.logs, &group.name, days);
    report
        .attempt(&group.arn, &format!("put-retention {days} days"), put)
        .await
}

pub async fn clear_idle_tag(clients: &Clients, arn: &str, report: &mut Report) {
    let delete = sagemaker::delete_tags(&clients.sagemaker, arn, &[IDLE_SINCE_TAG]);
    report
        .perform(arn, &format!("remove-tag {IDLE_SINCE_TAG}"), delete)
        .await;
}

/// Snapshots the endpoint exactly as the scheduler does when parking it (configuration, tags,
/// autoscaling with policies and scheduled actions, what was running), verifies the snapshot,
/// and only then deregisters autoscaling and deletes the endpoint (config and model stay).
pub async fn delete_idle(
    clients: &Clients,
    candidate: &Candidate,
    now: DateTime<Utc>,
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
