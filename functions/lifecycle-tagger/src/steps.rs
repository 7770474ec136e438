//! The run's four steps over a gathered inventory: plan (pure), report what the plan found,
//! apply. Each returns what it changed for the headline and the metrics.

use chrono::{DateTime, Utc};
use sagekeeper_core::cloudwatch::metric_data::{self, MetricQuery};
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::sagemaker::invocation_mode::InvocationMode;
use sagekeeper_core::{Report, Severity};

use crate::apply;
use crate::clients::Clients;
use crate::config::Config;
use crate::gather::{Bucket, Subject, Target};
use crate::idle::{
    self, Candidate, Deletion, IDLE_SINCE_TAG, Idle, IdlePolicy, NotJudged, Verdict,
};
use crate::lifecycle_plan::{self, Classified, DATA_CLASS_TAG, DataClass};
use crate::retention;
use crate::tags_plan::{self, TagPolicy};

/// The finding for an endpoint whose idleness cannot be judged (never tagged idle, never
/// deleted).
pub const NOT_JUDGED_RULE: &str = "idle-endpoint-not-judged";

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub tagged: usize,
    pub missing_tags: usize,
    pub buckets: usize,
    pub log_groups: usize,
    pub idle: usize,
    pub idle_monthly_usd: f64,
    pub deleted: usize,
}

pub async fn tags(
    clients: &Clients,
    config: &Config,
    subjects: &[Subject],
    report: &mut Report,
    tally: &mut Tally,
) {
    let policy = TagPolicy {
        required: &config.required_tags,
        defaults: &config.default_tags,
    };
    let mut wanted = Vec::new();
    for subject in subjects {
        let plan = tags_plan::plan(&subject.sources, policy);
        if !plan.missing.is_empty() {
            tally.missing_tags += 1;
            report.finding(
                &subject.arn,
                "required-tags-missing",
                Severity::Medium,
                format!(
                    "{} could not be inferred from the resource, its parents, its creator's role or DEFAULT_TAGS; {}",
                    plan.missing.join(", "),
                    subject
                        .creator
                        .as_ref()
                        .map_or("creator unknown".to_owned(), |c| format!("created by {c}"))
                ),
            );
        }
        if !plan.add.is_empty() {
            wanted.push((subject.target.clone(), subject.arn.clone(), plan.add));
        }
    }
    tally.tagged += apply::add_tags(clients, wanted, report).await;
}

pub async fn lifecycle(
    clients: &Clients,
    config: &Config,
    buckets: &[Bucket],
    report: &mut Report,
    tally: &mut Tally,
) {
    let days = &config.lifecycle_days;
    for bucket in buckets {
        let class = match &bucket.class {
            Classified::None => continue,
            Classified::Class(class) => *class,
            Classified::Unknown(value) => {
                report.finding(
                    &bucket.arn,
                    "unknown-data-class",
                    Severity::Medium,
                    format!(
                        "{DATA_CLASS_TAG}={value:?} is not a data class ({}); the bucket is left alone",
                        DataClass::ALL.map(DataClass::as_str).join(", ")
                    ),
                );
                continue;
            }
        };
        match lifecycle_plan::plan_bucket(class, &bucket.lifecycle, days) {
            Ok(None) => tracing::debug!(resource = %bucket.arn, %class, "lifecycle rules in place"),
            Ok(Some(_)) => {
                let rules = lifecycle_plan::rules_for(class, days);
                if apply::lifecycle_rules(clients, bucket, &rules, report).await {
                    tally.buckets += 1;
                }
            }
            Err(err) => report.finding(
                &bucket.arn,
                "lifecycle-rules-not-merged",
                Severity::Medium,
                format!("{err}; the bucket's lifecycle configuration is left as it is"),
            ),
        }
    }
}

pub async fn retention(
    clients: &Clients,
    config: &Config,
    groups: &[sagekeeper_core::cloudwatch::log_groups::LogGroup],
    report: &mut Report,
    tally: &mut Tally,
) {
    let days = config.log_retention_days;
    for group in retention::plan(groups) {
        if apply::retention(clients, group, days, report).await {
            tally.log_groups += 1;
        }
    }
}

/// Reads the metrics of every judged endpoint in as few calls as possible, then tags,
/// reports and (when due and allowed) deletes the idle ones.
pub async fn idle(
    clients: &Clients,
    config: &Config,
    candidates: &[Candidate],
    now: DateTime<Utc>,
    report: &mut Report,
    tally: &mut Tally,
) {
    let policy = IdlePolicy {
        idle_days: config.idle_days,
        delete: config.delete_idle_endpoints,
        grace_days: config.idle_grace_days,
    };
    let mut judged = Vec::new();
    for candidate in candidates {
        match candidate.signals(&policy, now) {
            Ok(signals) => judged.push((candidate, signals)),
            Err(NotJudged::Quiet(reason)) => {
                tracing::debug!(resource = %candidate.arn, %reason, "not judged for idleness")
            }
            Err(NotJudged::Unreadable(reason)) => report.finding(
                &candidate.arn,
                NOT_JUDGED_RULE,
                Severity::Info,
                format!("idleness not judged: {reason}"),
            ),
        }
    }
    if judged.is_empty() {
        return;
    }
    let queries: Vec<MetricQuery> = judged
        .iter()
        .flat_map(|(_, signals)| signals.iter().map(|s| s.query.clone()))
        .collect();
    let start = idle::window_start(&policy, now);
    let readings =
        match metric_data::read(&clients.cloudwatch, &queries, start, now, idle::PERIOD_SECS).await
        {
            Ok(readings) => readings,
            Err(err) => {
                report.error(None, &err);
                return;
            }
        };
    let mut readings = readings.into_iter();
    let mut new_tags = Vec::new();
    let mut due = Vec::new();
    for (candidate, signals) in judged {
        let observed: Vec<_> = signals
            .into_iter()
            .map(|signal| (signal, readings.next().flatten()))
            .collect();
        match idle::judge(candidate, &observed, &policy, now, &config.prices) {
            Verdict::Active {
                clear_idle_tag: true,
            } => apply::clear_idle_tag(clients, &candidate.arn, report).await,
            Verdict::Active { .. } => {}
            Verdict::Unknown => report.skipped(
                &candidate.arn,
                "idle-check",
                match candidate.mode {
                    InvocationMode::RealTime => {
                        "CloudWatch did not return every variant's invocations"
                    }
                    InvocationMode::Async => {
                        "CloudWatch did not return every variant's processed requests and the queue size"
                    }
                },
            ),
            Verdict::NoData { metrics } => report.finding(
                &candidate.arn,
                NOT_JUDGED_RULE,
                Severity::Info,
                format!(
                    "idleness not judged: {} had no datapoint in the last {} days, though the endpoint publishes it while it is up, so its traffic is unknown; it is neither tagged idle nor deleted",
                    metrics.join(", "),
                    policy.idle_days
                ),
            ),
            Verdict::Idle(verdict) => {
                tally.idle += 1;
                tally.idle_monthly_usd += verdict.monthly_usd;
                report.finding(
                    &candidate.arn,
                    "idle-endpoint",
                    Severity::Medium,
                    idle_message(candidate, &verdict, &policy),
                );
                if let Some(date) = &verdict.tag {
                    let tag = Tags::from([(IDLE_SINCE_TAG.to_owned(), date.clone())]);
                    new_tags.push((Target::SageMaker, candidate.arn.clone(), tag));
                }
                if verdict.deletion == Deletion::Due {
                    due.push(candidate);
                }
            }
        }
    }
    apply::add_tags(clients, new_tags, report).await;
    for candidate in due {
        if apply::delete_idle(clients, candidate, now, report).await {
            tally.deleted += 1;
        }
    }
}

fn idle_message(candidate: &Candidate, verdict: &Idle, policy: &IdlePolicy) -> String {
    let traffic = match candidate.mode {
        InvocationMode::RealTime => "no invocations",
        InvocationMode::Async => "no request processed or queued",
    };
    let mut message = format!(
        "{traffic} in the last {} days (idle since {}); ~${:.2}/month on-demand for {}",
        policy.idle_days,
        verdict.since,
        verdict.monthly_usd,
        candidate.instances()
    );
    if !verdict.unpriced.is_empty() {
        message.push_str(&format!(
            " (no price known for {})",
            verdict.unpriced.join(", ")
        ));
    }
    message.push_str(&match &verdict.deletion {
        Deletion::Off => "; DELETE_IDLE_ENDPOINTS=true would delete it (after a snapshot) once the grace period is over".to_owned(),
        Deletion::InGrace { due } => format!("; it will be deleted (after a snapshot) from {due} if it stays idle"),
        Deletion::Due => "; deleting it after a snapshot".to_owned(),
        Deletion::BadSinceTag(value) => format!(
            "; not deleted: {IDLE_SINCE_TAG}={value:?} is not a YYYY-MM-DD date"
        ),
    });
    message
}

/// Records the metrics and the one-sentence headline.
pub fn summarize(tally: &Tally, sweep: bool, report: &mut Report) {
    report.add_metric("ResourcesTagged", tally.tagged as f64);
    report.add_metric("ResourcesMissingTags", tally.missing_tags as f64);
    if sweep {
        report.add_metric("LifecycleRulesApplied", tally.buckets as f64);
        report.add_metric("LogGroupsRetained", tally.log_groups as f64);
        report.add_metric("IdleEndpoints", tally.idle as f64);
        report.add_metric("IdleEndpointsDeleted", tally.deleted as f64);
        report.add_metric(
            "IdleEndpointsMonthlyCostUSD",
            (tally.idle_monthly_usd * 100.0).round() / 100.0,
        );
    } else if tally.buckets > 0 {
        report.add_metric("LifecycleRulesApplied", tally.buckets as f64);
    }
    let would = if report.dry_run { "would be " } else { "" };
    let mut parts = vec![format!("{} resource(s) {would}tagged", tally.tagged)];
    if tally.missing_tags > 0 {
        parts.push(format!("{} missing required tags", tally.missing_tags));
    }
    if sweep || tally.buckets > 0 {
        parts.push(format!(
            "lifecycle rules {would}set on {} bucket(s)",
            tally.buckets
        ));
    }
    if sweep {
        parts.push(format!(
            "retention {would}set on {} log group(s)",
            tally.log_groups
        ));
        parts.push(format!(
            "{} idle endpoint(s), ~${:.2}/month",
            tally.idle, tally.idle_monthly_usd
        ));
        if tally.deleted > 0 {
            parts.push(format!("{} idle endpoint(s) {would}deleted", tally.deleted));
        }
    }
    report.headline = Some(parts.join("; "));
}
