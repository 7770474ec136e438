//! The run's plan: a pure function of what was gathered, the configuration and the clock.
//! Every finding, skip and write of the run is decided here, with the action ids and details
//! the writes are reported under, and the metrics and headline (from what the writes
//! changed, which `apply` counts). Training cost findings are findings only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sagekeeper_core::Severity;
use sagekeeper_core::events::{ApiCall, ResourceRef};
use sagekeeper_core::model::lifecycle::Rule;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::metrics;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::sagemaker::catalog::Kind;
use sagekeeper_core::sagemaker::invocation_mode::InvocationMode;
use sagekeeper_core::sagemaker::jobs::TrainingRun;
use sagekeeper_core::tagging::MAX_ARNS_PER_TAG_CALL;

use crate::config::Config;
use crate::creator::Creator;
use crate::data_class::LifecycleDays;
use crate::data_class::{self, Classified, DATA_CLASS_TAG, DataClass};
use crate::gather::{Bucket, Gathered, Made, Subject, TagVia, Watched};
use crate::idle::{
    self, Candidate, Deletion, IDLE_SINCE_TAG, Idle, IdlePolicy, NotJudged, Verdict,
};
use crate::inferred_tags::{self, TagPolicy};
use crate::retention;
use crate::training_cost::{self, TrainingPolicy};

/// The finding for an endpoint whose idleness cannot be judged (never tagged idle, never
/// deleted).
pub const NOT_JUDGED_RULE: &str = "idle-endpoint-not-judged";
pub const REQUIRED_TAGS_RULE: &str = "required-tags-missing";
pub const UNKNOWN_DATA_CLASS_RULE: &str = "unknown-data-class";
pub const LIFECYCLE_NOT_MERGED_RULE: &str = "lifecycle-rules-not-merged";
pub const IDLE_RULE: &str = "idle-endpoint";
/// An idle endpoint due for deletion that could not be deleted (no snapshot bucket).
pub const NOT_DELETED_RULE: &str = "idle-endpoint-not-deleted";

/// The ARN resource types of SageMaker Studio that create calls tag.
pub const STUDIO_KINDS: [&str; 4] = ["domain", "user-profile", "space", "app"];

/// The tagger's writes, in the order the plan lists them.
#[derive(Debug, Clone, PartialEq)]
pub enum TagWrite {
    /// Adds the same tags to resources that lack them: SageMaker resources (at most 20) in one
    /// TagResources call, a bucket alone (see [`TagVia`]). Counted as tagged resources.
    AddTags {
        via: TagVia,
        arns: Vec<String>,
        tags: Tags,
    },
    /// Tags idle endpoints (at most 20) `sagekeeper:idle-since=<since>` in one call.
    MarkIdle {
        arns: Vec<String>,
        since: String,
    },
    /// Merges our rules into the bucket's lifecycle configuration, read again at the moment
    /// of writing so the owner's rules stay as they are.
    PutLifecycleRules {
        bucket: String,
        rules: Vec<Rule>,
    },
    PutRetention {
        group: String,
        days: i32,
    },
    /// Removes the idle-since tag of an endpoint that is used again.
    ClearIdleTag,
    /// Snapshots the idle endpoint, then deregisters its autoscaling and deletes it.
    DeleteIdleEndpoint(Box<Candidate>),
}

impl TagWrite {
    /// The write's stable, kebab-case action id.
    pub fn action(&self) -> &'static str {
        match self {
            TagWrite::AddTags { .. } | TagWrite::MarkIdle { .. } => "add-tags",
            TagWrite::PutLifecycleRules { .. } => "put-lifecycle-rules",
            TagWrite::PutRetention { .. } => "put-retention",
            TagWrite::ClearIdleTag => "remove-tags",
            TagWrite::DeleteIdleEndpoint(_) => "delete-idle-endpoint",
        }
    }

    /// The write's parameters, reported in the action's detail.
    pub fn detail(&self) -> Option<String> {
        match self {
            TagWrite::AddTags { tags, .. } => Some(describe(tags)),
            TagWrite::MarkIdle { since, .. } => Some(format!("{IDLE_SINCE_TAG}={since}")),
            TagWrite::PutLifecycleRules { rules, .. } => Some(
                rules
                    .iter()
                    .filter_map(|r| r.id.as_deref())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            TagWrite::PutRetention { days, .. } => Some(format!("{days} days")),
            TagWrite::ClearIdleTag => Some(IDLE_SINCE_TAG.to_owned()),
            TagWrite::DeleteIdleEndpoint(_) => None,
        }
    }
}

fn describe(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A run's plan, and what its metrics and headline count besides what the writes change
/// (`found` is `None` when a create call was turned away or its resource could not be read:
/// no metrics, no headline).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub plan: Plan<TagWrite>,
    pub found: Option<Found>,
}

impl Planned {
    /// This plan followed by `next` (the screening of a create call, then its plan).
    pub fn then(mut self, next: Planned) -> Planned {
        self.plan.extend(next.plan);
        Planned {
            plan: self.plan,
            found: next.found,
        }
    }
}

/// What the plan found, for the metrics and the headline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub sweep: bool,
    pub dry_run: bool,
    pub missing_tags: usize,
    pub idle: usize,
    pub idle_monthly_usd: f64,
    /// Training jobs that ran on on-demand capacity.
    pub training_without_spot: usize,
    /// What managed spot would have saved on those of them with a price and a run time.
    pub spot_savings_usd: f64,
}

/// What the writes changed (or would change, in a dry run), counted by `apply`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    pub tagged: usize,
    pub buckets: usize,
    pub log_groups: usize,
    pub deleted: usize,
}

impl Changed {
    pub fn add(&mut self, other: Changed) {
        self.tagged += other.tagged;
        self.buckets += other.buckets;
        self.log_groups += other.log_groups;
        self.deleted += other.deleted;
    }
}

/// What a create call alone decides: it is turned away (a skip) or its resource is gathered;
/// a creator CloudTrail does not name is a finding either way.
pub fn screen(call: &ApiCall, resource: Option<ResourceRef>) -> (Planned, Option<Made>) {
    let mut plan = Plan::new();
    let made = screen_into(&mut plan, call, resource);
    (Planned { plan, found: None }, made)
}

fn screen_into(
    plan: &mut Plan<TagWrite>,
    call: &ApiCall,
    resource: Option<ResourceRef>,
) -> Option<Made> {
    let Some(resource) = resource else {
        let reason = format!("{} creates nothing sagekeeper tags", call.event_name);
        plan.skip("-", "tag", reason);
        return None;
    };
    if !call.event_name.starts_with("Create") {
        let reason = format!("{} is not a create call", call.event_name);
        plan.skip(&resource.arn, "tag", reason);
        return None;
    }
    if Creator::from_identity(&call.user_identity).is_none() {
        plan.finding(
            &resource.arn,
            "creator-unknown",
            Severity::Low,
            format!(
                "CloudTrail's userIdentity (type {:?}) names nobody, so CreatedBy is not set",
                call.user_identity.r#type
            ),
        );
    }
    if resource.kind == "bucket" {
        return Some(Made::Bucket(resource));
    }
    if STUDIO_KINDS.contains(&resource.kind) {
        return Some(Made::Studio(resource));
    }
    match Kind::from_arn_type(resource.kind) {
        Some(kind) => Some(Made::SageMaker(resource, kind)),
        None => {
            let reason = format!("{} resources are not tagged", resource.kind);
            plan.skip(&resource.arn, "tag", reason);
            None
        }
    }
}

/// Everything the run does about what was gathered.
pub fn plan(gathered: &Gathered, config: &Config, now: DateTime<Utc>) -> Planned {
    let mut plan = Plan::new();
    let mut found = Found {
        sweep: gathered.sweep,
        dry_run: config.common.dry_run,
        ..Found::default()
    };
    let policy = TagPolicy {
        required: &config.required_tags,
        defaults: &config.default_tags,
    };
    tags(&mut plan, &mut found, &gathered.subjects, policy);
    lifecycle(&mut plan, &gathered.buckets, &config.lifecycle_days);
    for group in retention::unretained(&gathered.log_groups) {
        let days = config.log_retention_days;
        let name = group.name.clone();
        plan.write(&group.arn, TagWrite::PutRetention { group: name, days });
    }
    let policy = config.idle_policy();
    idle(
        &mut plan,
        &mut found,
        &gathered.endpoints,
        &policy,
        now,
        config,
    );
    training(
        &mut plan,
        &mut found,
        &gathered.training,
        &config.training_policy(),
        &config.prices,
    );
    Planned {
        plan,
        found: Some(found),
    }
}

fn tags(plan: &mut Plan<TagWrite>, found: &mut Found, subjects: &[Subject], policy: TagPolicy<'_>) {
    let mut batches: BTreeMap<Tags, Vec<String>> = BTreeMap::new();
    for subject in subjects {
        let inferred = inferred_tags::infer(&subject.sources, policy);
        let required_to_add = policy.required.iter().any(|k| inferred.add.contains_key(k));
        if inferred.missing.is_empty() && !required_to_add {
            // Every required tag is on the resource already. One this run only adds is not
            // evidence yet: a dry run or a failed write leaves it missing.
            plan.pass(&subject.arn, REQUIRED_TAGS_RULE);
        } else if !inferred.missing.is_empty() {
            found.missing_tags += 1;
            plan.finding(
                &subject.arn,
                REQUIRED_TAGS_RULE,
                Severity::Medium,
                format!(
                    "{} could not be inferred from the resource, its parents, its creator's role or DEFAULT_TAGS; {}",
                    inferred.missing.join(", "),
                    subject
                        .creator
                        .as_ref()
                        .map_or("creator unknown".to_owned(), |c| format!("created by {c}"))
                ),
            );
        }
        if inferred.add.is_empty() {
            continue;
        }
        match &subject.via {
            TagVia::SageMaker => batches
                .entry(inferred.add)
                .or_default()
                .push(subject.arn.clone()),
            TagVia::Bucket(_) => plan.write(
                &subject.arn,
                TagWrite::AddTags {
                    via: subject.via.clone(),
                    arns: vec![subject.arn.clone()],
                    tags: inferred.add,
                },
            ),
        }
    }
    // Sorted, so a sweep continued after its deadline (run::budget) forms the same chunks.
    for (tags, mut arns) in batches {
        arns.sort();
        for chunk in arns.chunks(MAX_ARNS_PER_TAG_CALL) {
            let write = TagWrite::AddTags {
                via: TagVia::SageMaker,
                arns: chunk.to_vec(),
                tags: tags.clone(),
            };
            plan.write(chunk.join(", "), write);
        }
    }
}

fn lifecycle(plan: &mut Plan<TagWrite>, buckets: &[Bucket], days: &LifecycleDays) {
    for bucket in buckets {
        let class = match &bucket.class {
            Classified::None => {
                // Untagged: no class to know, no rules to merge.
                plan.pass(&bucket.arn, UNKNOWN_DATA_CLASS_RULE);
                plan.pass(&bucket.arn, LIFECYCLE_NOT_MERGED_RULE);
                continue;
            }
            Classified::Class(class) => *class,
            Classified::Unknown(value) => {
                plan.finding(
                    &bucket.arn,
                    UNKNOWN_DATA_CLASS_RULE,
                    Severity::Medium,
                    format!(
                        "{DATA_CLASS_TAG}={value:?} is not a data class ({}); the bucket is left alone",
                        DataClass::ALL.map(DataClass::as_str).join(", ")
                    ),
                );
                continue;
            }
        };
        plan.pass(&bucket.arn, UNKNOWN_DATA_CLASS_RULE);
        match data_class::change_for(class, &bucket.lifecycle, days) {
            Ok(None) => {
                tracing::debug!(resource = %bucket.arn, %class, "lifecycle rules in place");
                plan.pass(&bucket.arn, LIFECYCLE_NOT_MERGED_RULE);
            }
            // Not a pass until the merge is written (a dry run or a failed write leaves it).
            Ok(Some(_)) => {
                plan.write(
                    &bucket.arn,
                    TagWrite::PutLifecycleRules {
                        bucket: bucket.name.clone(),
                        rules: data_class::rules_for(class, days),
                    },
                );
            }
            Err(err) => plan.finding(
                &bucket.arn,
                LIFECYCLE_NOT_MERGED_RULE,
                Severity::Medium,
                format!("{err}; the bucket's lifecycle configuration is left as it is"),
            ),
        }
    }
}

/// Judges every watched endpoint: an idle one gets its finding and idle-since tag and, when
/// due and allowed, is deleted; one used again loses its idle-since tag.
fn idle(
    plan: &mut Plan<TagWrite>,
    found: &mut Found,
    endpoints: &[Watched],
    policy: &IdlePolicy,
    now: DateTime<Utc>,
    config: &Config,
) {
    let mut marks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut due = Vec::new();
    for Watched { candidate, traffic } in endpoints {
        let observed = match traffic {
            Ok(observed) => observed,
            Err(NotJudged::Quiet(reason)) => {
                tracing::debug!(resource = %candidate.arn, %reason, "not judged for idleness");
                continue;
            }
            Err(NotJudged::Unreadable(reason)) => {
                plan.finding(
                    &candidate.arn,
                    NOT_JUDGED_RULE,
                    Severity::Info,
                    format!("idleness not judged: {reason}"),
                );
                continue;
            }
        };
        match idle::judge(candidate, observed, policy, now, &config.prices) {
            Verdict::Active { clear_idle_tag } => {
                plan.pass(&candidate.arn, IDLE_RULE);
                plan.pass(&candidate.arn, NOT_DELETED_RULE);
                if clear_idle_tag {
                    plan.write(&candidate.arn, TagWrite::ClearIdleTag);
                }
            }
            Verdict::Unknown => plan.skip(
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
            Verdict::NoData { metrics } => plan.finding(
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
                found.idle += 1;
                found.idle_monthly_usd += verdict.monthly_usd;
                plan.finding(
                    &candidate.arn,
                    IDLE_RULE,
                    Severity::Medium,
                    idle_message(candidate, &verdict, policy),
                );
                if let Some(date) = &verdict.tag {
                    marks
                        .entry(date.clone())
                        .or_default()
                        .push(candidate.arn.clone());
                }
                if verdict.deletion == Deletion::Due {
                    due.push(candidate);
                }
            }
        }
    }
    for (since, mut arns) in marks {
        arns.sort();
        for chunk in arns.chunks(MAX_ARNS_PER_TAG_CALL) {
            let write = TagWrite::MarkIdle {
                arns: chunk.to_vec(),
                since: since.clone(),
            };
            plan.write(chunk.join(", "), write);
        }
    }
    for candidate in due {
        let write = TagWrite::DeleteIdleEndpoint(Box::new(candidate.clone()));
        plan.write(&candidate.arn, write);
    }
}

/// Cost findings on the recent training jobs (see `training_cost`); never a write.
fn training(
    plan: &mut Plan<TagWrite>,
    found: &mut Found,
    runs: &[TrainingRun],
    policy: &TrainingPolicy,
    prices: &PriceTable,
) {
    for run in runs {
        let findings = training_cost::judge(run, policy, prices);
        if training_cost::is_judged(run) {
            for rule in training_cost::RULES {
                if findings.iter().all(|f| f.rule != rule) {
                    plan.pass(&run.arn, rule);
                }
            }
        }
        for finding in findings {
            if finding.rule == training_cost::WITHOUT_SPOT {
                found.training_without_spot += 1;
            }
            found.spot_savings_usd += finding.saving_usd.unwrap_or(0.0);
            plan.finding(&run.arn, finding.rule, finding.severity, finding.message);
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

/// The run's metrics and one-sentence headline, from what the plan found and what the writes
/// changed.
pub fn summary(found: &Found, changed: &Changed) -> (Vec<(&'static str, f64)>, String) {
    let mut metrics = vec![
        (metrics::RESOURCES_TAGGED, changed.tagged as f64),
        (metrics::RESOURCES_MISSING_TAGS, found.missing_tags as f64),
    ];
    if found.sweep {
        metrics.extend([
            (metrics::LIFECYCLE_RULES_APPLIED, changed.buckets as f64),
            (metrics::LOG_GROUPS_RETAINED, changed.log_groups as f64),
            (metrics::IDLE_ENDPOINTS, found.idle as f64),
            (metrics::IDLE_ENDPOINTS_DELETED, changed.deleted as f64),
            (
                metrics::IDLE_ENDPOINTS_MONTHLY_COST_USD,
                (found.idle_monthly_usd * 100.0).round() / 100.0,
            ),
            (
                metrics::TRAINING_JOBS_WITHOUT_SPOT,
                found.training_without_spot as f64,
            ),
            (
                metrics::ESTIMATED_SPOT_SAVINGS_USD,
                (found.spot_savings_usd * 100.0).round() / 100.0,
            ),
        ]);
    } else if changed.buckets > 0 {
        metrics.push((metrics::LIFECYCLE_RULES_APPLIED, changed.buckets as f64));
    }
    let would = if found.dry_run { "would be " } else { "" };
    let mut parts = vec![format!("{} resource(s) {would}tagged", changed.tagged)];
    if found.missing_tags > 0 {
        parts.push(format!("{} missing required tags", found.missing_tags));
    }
    if found.sweep || changed.buckets > 0 {
        parts.push(format!(
            "lifecycle rules {would}set on {} bucket(s)",
            changed.buckets
        ));
    }
    if found.sweep {
        parts.push(format!(
            "retention {would}set on {} log group(s)",
            changed.log_groups
        ));
        parts.push(format!(
            "{} idle endpoint(s), ~${:.2}/month",
            found.idle, found.idle_monthly_usd
        ));
        if changed.deleted > 0 {
            parts.push(format!(
                "{} idle endpoint(s) {would}deleted",
                changed.deleted
            ));
        }
        if found.training_without_spot > 0 {
            parts.push(format!(
                "{} training job(s) without spot, ~${:.2} spot would have saved",
                found.training_without_spot, found.spot_savings_usd
            ));
        }
    }
    (metrics, parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use sagekeeper_core::Env;
    use sagekeeper_core::cloudwatch::log_groups::LogGroup;
    use sagekeeper_core::model::lifecycle::LifecycleConfig;
    use sagekeeper_core::model::tags::from_pairs as tags;
    use sagekeeper_core::run::function::Settings;
    use sagekeeper_core::sagemaker::jobs::JobKind;
    use serde_json::json;

    use crate::gather::Traffic;
    use crate::idle::tests::{candidate, invocations, now};
    use crate::inferred_tags::TagSources;
    use crate::training_cost::tests::run as training_run;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_env(&Env::from_pairs(pairs.iter().copied()), false).unwrap()
    }

    fn call(event_name: &str, identity: serde_json::Value) -> ApiCall {
        ApiCall {
            event_name: event_name.to_owned(),
            event_source: "s3.amazonaws.com".to_owned(),
            account: "123456789012".to_owned(),
            region: "eu-west-3".to_owned(),
            time: Utc.with_ymd_and_hms(2026, 11, 20, 18, 1, 37).unwrap(),
            user_identity: serde_json::from_value(identity).unwrap(),
            request_parameters: json!({}),
            response_elements: None,
        }
    }

    fn root() -> serde_json::Value {
        json!({"type": "Root", "principalId": "123456789012", "accountId": "123456789012",
               "arn": "arn:aws:iam::123456789012:root"})
    }

    fn resource(kind: &'static str, name: &str) -> ResourceRef {
        ResourceRef {
            kind,
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:eu-west-3:123456789012:{kind}/{name}"),
        }
    }

    fn skips(plan: &Plan<TagWrite>) -> Vec<(&str, &str, &str)> {
        plan.skips
            .iter()
            .map(|s| (s.resource.as_str(), s.action.as_str(), s.reason.as_str()))
            .collect()
    }

    fn rules(plan: &Plan<TagWrite>) -> Vec<(&str, &str)> {
        plan.findings
            .iter()
            .map(|f| (f.resource.as_str(), f.rule.as_str()))
            .collect()
    }

    /// The rules each resource was seen passing (what resolves its earlier findings).
    fn passes(plan: &Plan<TagWrite>) -> Vec<(&str, &str)> {
        plan.passes
            .iter()
            .map(|p| (p.resource.as_str(), p.rule.as_str()))
            .collect()
    }

    #[test]
    fn screening_turns_away_what_is_not_tagged_and_names_an_unknown_creator() {
        let (planned, made) = screen(&call("CreateBucket", root()), None);
        assert_eq!(made, None);
        assert_eq!(
            skips(&planned.plan),
            [("-", "tag", "CreateBucket creates nothing sagekeeper tags")]
        );

        let job = resource("training-job", "fraud");
        let (planned, made) = screen(&call("StopTrainingJob", root()), Some(job.clone()));
        assert_eq!(made, None);
        assert_eq!(
            planned.plan.skips[0].reason,
            "StopTrainingJob is not a create call"
        );

        let (planned, made) = screen(&call("CreateTrainingJob", root()), Some(job.clone()));
        assert_eq!(
            made,
            Some(Made::SageMaker(job, Kind::Job(JobKind::Training)))
        );
        assert!(planned.plan.findings.is_empty() && planned.plan.skips.is_empty());
        assert_eq!(planned.found, None, "no headline from screening alone");

        let nobody = json!({"type": "AWSService"});
        let bucket = resource("bucket", "b");
        let (planned, made) = screen(&call("CreateBucket", nobody.clone()), Some(bucket.clone()));
        assert_eq!(made, Some(Made::Bucket(bucket.clone())));
        assert_eq!(
            rules(&planned.plan),
            [(bucket.arn.as_str(), "creator-unknown")]
        );

        let odd = resource("workteam", "w");
        let (planned, made) = screen(&call("CreateWorkteam", nobody), Some(odd.clone()));
        assert_eq!(made, None);
        assert_eq!(
            rules(&planned.plan),
            [(odd.arn.as_str(), "creator-unknown")]
        );
        assert_eq!(
            skips(&planned.plan),
            [(odd.arn.as_str(), "tag", "workteam resources are not tagged")]
        );
    }

    fn subject(arn: &str, via: TagVia, own: &[(&str, &str)]) -> Subject {
        Subject {
            arn: arn.to_owned(),
            via,
            sources: TagSources {
                own: tags(own),
                ..TagSources::default()
            },
            creator: Some("root".to_owned()),
        }
    }

    #[test]
    fn sagemaker_resources_are_tagged_in_batches_of_twenty_and_buckets_alone() {
        let config = config(&[
            ("REQUIRED_TAGS", "Environment,Team"),
            ("DEFAULT_TAGS", r#"{"Environment": "dev"}"#),
        ]);
        let arn = |i: usize| format!("arn:aws:sagemaker:eu-west-3:123456789012:model/m{i:02}");
        // Listed newest first, as SageMaker lists them.
        let mut subjects: Vec<Subject> = (0..25)
            .rev()
            .map(|i| subject(&arn(i), TagVia::SageMaker, &[("Team", "t")]))
            .collect();
        subjects.push(subject(
            "arn:aws:s3:::b",
            TagVia::Bucket("b".to_owned()),
            &[],
        ));
        let complete = arn(99);
        let both = [("Environment", "prod"), ("Team", "t")];
        subjects.push(subject(&complete, TagVia::SageMaker, &both));
        let gathered = Gathered {
            subjects,
            ..Gathered::default()
        };

        let planned = plan(&gathered, &config, now());

        let writes = &planned.plan.writes;
        assert_eq!(writes.len(), 3);
        assert_eq!(
            writes[0],
            (
                "arn:aws:s3:::b".to_owned(),
                TagWrite::AddTags {
                    via: TagVia::Bucket("b".to_owned()),
                    arns: vec!["arn:aws:s3:::b".to_owned()],
                    tags: tags(&[("Environment", "dev")]),
                }
            )
        );
        let TagWrite::AddTags {
            via,
            arns,
            tags: added,
        } = &writes[1].1
        else {
            panic!("{writes:?}");
        };
        assert_eq!((via, arns.len()), (&TagVia::SageMaker, 20));
        // Sorted, so the parts of a sweep cut short by its deadline form the same batches.
        assert_eq!(arns, &(0..20).map(arn).collect::<Vec<_>>());
        assert_eq!(writes[1].0, arns.join(", "));
        assert_eq!(added, &tags(&[("Environment", "dev")]));
        assert!(matches!(&writes[2].1, TagWrite::AddTags { arns, .. } if arns.len() == 5));
        assert_eq!(
            rules(&planned.plan),
            [("arn:aws:s3:::b", "required-tags-missing")]
        );
        assert!(
            planned.plan.findings[0]
                .message
                .starts_with("Team could not be inferred")
        );
        // Only a resource that has every required tag passes: one that is only being given
        // them (a dry run, a failed write) is not evidence yet.
        assert_eq!(
            passes(&planned.plan),
            [(complete.as_str(), REQUIRED_TAGS_RULE)]
        );
        let found = planned.found.unwrap();
        assert_eq!((found.sweep, found.missing_tags), (false, 1));
    }

    #[test]
    fn a_resource_with_every_required_tag_passes_while_its_creator_is_recorded() {
        let config = config(&[("REQUIRED_TAGS", "Team")]);
        let via = TagVia::Bucket("new".to_owned());
        let mut made = subject("arn:aws:s3:::new", via, &[("Team", "fraud")]);
        made.sources.created_by = Some("assumed-role/DataScientist/alice".to_owned());
        let gathered = Gathered {
            subjects: vec![made],
            ..Gathered::default()
        };

        let planned = plan(&gathered, &config, now());

        assert_eq!(
            passes(&planned.plan),
            [("arn:aws:s3:::new", REQUIRED_TAGS_RULE)]
        );
        assert!(matches!(
            &planned.plan.writes[..],
            [(_, TagWrite::AddTags { tags, .. })] if tags.contains_key(crate::creator::CREATED_BY)
        ));
    }

    fn bucket(name: &str, class: Classified) -> Bucket {
        Bucket {
            name: name.to_owned(),
            arn: format!("arn:aws:s3:::{name}"),
            class,
            lifecycle: LifecycleConfig::default(),
        }
    }

    #[test]
    fn classified_buckets_get_their_rules_and_bare_log_groups_a_retention() {
        let gathered = Gathered {
            sweep: true,
            buckets: vec![
                bucket("plain", Classified::None),
                bucket("odd", Classified::Unknown("cold".to_owned())),
                bucket("scratch", Classified::Class(DataClass::Temp)),
            ],
            log_groups: vec![
                LogGroup {
                    name: "/aws/sagemaker/TrainingJobs".to_owned(),
                    arn: "arn:group:training".to_owned(),
                    retention_days: None,
                },
                LogGroup {
                    name: "/aws/sagemaker/Endpoints/fraud".to_owned(),
                    arn: "arn:group:endpoints".to_owned(),
                    retention_days: Some(14),
                },
            ],
            ..Gathered::default()
        };

        let planned = plan(&gathered, &config(&[("LOG_RETENTION_DAYS", "30")]), now());

        assert_eq!(
            rules(&planned.plan),
            [("arn:aws:s3:::odd", "unknown-data-class")]
        );
        // The odd bucket passes nothing: its class is unknown and its rules were not judged.
        assert_eq!(
            passes(&planned.plan),
            [
                ("arn:aws:s3:::plain", UNKNOWN_DATA_CLASS_RULE),
                ("arn:aws:s3:::plain", LIFECYCLE_NOT_MERGED_RULE),
                // Its rules are only being merged: no pass for them until they are there.
                ("arn:aws:s3:::scratch", UNKNOWN_DATA_CLASS_RULE),
            ]
        );
        let writes: Vec<(&str, &str, Option<String>)> = planned
            .plan
            .writes
            .iter()
            .map(|(resource, w)| (resource.as_str(), w.action(), w.detail()))
            .collect();
        assert_eq!(
            writes,
            [
                (
                    "arn:aws:s3:::scratch",
                    "put-lifecycle-rules",
                    Some("sagekeeper-temp".to_owned())
                ),
                (
                    "arn:group:training",
                    "put-retention",
                    Some("30 days".to_owned())
                ),
            ]
        );
    }

    fn watched(candidate: Candidate, traffic: Traffic) -> Watched {
        Watched { candidate, traffic }
    }

    fn endpoint(name: &str, tags: &[(&str, &str)]) -> Candidate {
        let mut c = candidate(tags);
        c.arn = format!("arn:aws:sagemaker:eu-west-3:123456789012:endpoint/{name}");
        c
    }

    #[test]
    fn idle_endpoints_are_marked_reported_and_deleted_when_due() {
        let config = config(&[("DELETE_IDLE_ENDPOINTS", "true"), ("STATE_BUCKET", "state")]);
        let long_ago = (now() - Duration::days(30)).format("%Y-%m-%d").to_string();
        let gathered = Gathered {
            sweep: true,
            endpoints: vec![
                watched(
                    endpoint("components", &[]),
                    Err(NotJudged::Unreadable("per component".to_owned())),
                ),
                watched(
                    endpoint("young", &[]),
                    Err(NotJudged::Quiet("young".to_owned())),
                ),
                watched(endpoint("new-idle", &[]), Ok(invocations(&[Some(0.0)]))),
                watched(
                    endpoint("old-idle", &[(IDLE_SINCE_TAG, &long_ago)]),
                    Ok(invocations(&[Some(0.0)])),
                ),
                watched(
                    endpoint("used-again", &[(IDLE_SINCE_TAG, &long_ago)]),
                    Ok(invocations(&[Some(3.0)])),
                ),
                watched(endpoint("unknown", &[]), Ok(invocations(&[None]))),
            ],
            ..Gathered::default()
        };

        let planned = plan(&gathered, &config, now());

        let arn = |name: &str| format!("arn:aws:sagemaker:eu-west-3:123456789012:endpoint/{name}");
        let found: Vec<(String, &str)> = planned
            .plan
            .findings
            .iter()
            .map(|f| (f.resource.clone(), f.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (arn("components"), NOT_JUDGED_RULE),
                (arn("new-idle"), "idle-endpoint"),
                (arn("old-idle"), "idle-endpoint"),
            ]
        );
        assert!(planned.plan.findings[1].message.ends_with(&format!(
            "it will be deleted (after a snapshot) from {} if it stays idle",
            (now() + Duration::days(7)).date_naive()
        )));
        assert!(
            planned.plan.findings[2]
                .message
                .ends_with("deleting it after a snapshot")
        );
        assert_eq!(planned.plan.skips[0].resource, arn("unknown"));
        assert_eq!(planned.plan.skips[0].action, "idle-check");
        // Only the endpoint seen in use passes; unjudged ones neither pass nor fail.
        let used_again = arn("used-again");
        assert_eq!(
            passes(&planned.plan),
            [
                (used_again.as_str(), IDLE_RULE),
                (used_again.as_str(), NOT_DELETED_RULE)
            ]
        );
        let writes: Vec<(String, &str, Option<String>)> = planned
            .plan
            .writes
            .iter()
            .map(|(resource, w)| (resource.clone(), w.action(), w.detail()))
            .collect();
        assert_eq!(
            writes,
            [
                (
                    arn("used-again"),
                    "remove-tags",
                    Some(IDLE_SINCE_TAG.to_owned())
                ),
                (
                    arn("new-idle"),
                    "add-tags",
                    Some(format!("{IDLE_SINCE_TAG}=2026-11-20"))
                ),
                (arn("old-idle"), "delete-idle-endpoint", None),
            ]
        );
        let found = planned.found.unwrap();
        assert_eq!(found.idle, 2);
        assert!((found.idle_monthly_usd - 2.0 * 167.9).abs() < 0.01);
    }

    #[test]
    fn training_jobs_get_cost_findings_on_their_arn_and_no_write() {
        let on_demand = training_run("on-demand");
        let mut unpriced = training_run("unpriced");
        unpriced.instances = vec![("ml.trn9.huge".to_owned(), 1)];
        let mut spot = training_run("spot");
        spot.managed_spot = true;
        spot.checkpoint_s3_uri = Some("s3://ckpt/spot".to_owned());
        spot.max_wait_seconds = Some(172_800);
        let mut running = training_run("running");
        running.status = "InProgress".to_owned();
        let gathered = Gathered {
            sweep: true,
            training: vec![on_demand.clone(), unpriced.clone(), spot.clone(), running],
            ..Gathered::default()
        };

        let planned = plan(&gathered, &config(&[("SPOT_DISCOUNT", "0.5")]), now());

        assert_eq!(
            rules(&planned.plan),
            [
                (on_demand.arn.as_str(), "training-without-spot"),
                (unpriced.arn.as_str(), "training-without-spot"),
            ]
        );
        // A safe spot run passes every rule; an on-demand one every rule but spot (the spot
        // rules do not apply to it); a running one is not judged.
        let passed = passes(&planned.plan);
        for rule in training_cost::RULES {
            assert!(passed.contains(&(spot.arn.as_str(), rule)), "{rule}");
            let on_demand_passes = passed.contains(&(on_demand.arn.as_str(), rule));
            assert_eq!(
                on_demand_passes,
                rule != training_cost::WITHOUT_SPOT,
                "{rule}"
            );
        }
        assert_eq!(passed.len(), 4 + 3 + 3, "{passed:?}");
        assert!(planned.plan.writes.is_empty());
        let found = planned.found.unwrap();
        assert_eq!(found.training_without_spot, 2);
        // Only the priced run counts: 5400 s = 1.5 h × 2 × $0.23 = $0.69, half of it $0.345.
        assert!((found.spot_savings_usd - 0.345).abs() < 1e-9);
    }

    #[test]
    fn add_tags_details_name_every_tag() {
        let write = TagWrite::AddTags {
            via: TagVia::SageMaker,
            arns: vec!["a".to_owned()],
            tags: tags(&[("Environment", "dev"), ("Team", "fraud")]),
        };
        assert_eq!(write.action(), "add-tags");
        assert_eq!(
            write.detail().as_deref(),
            Some("Environment=dev, Team=fraud")
        );
    }

    #[test]
    fn the_headline_counts_what_the_writes_changed() {
        let changed = Changed {
            tagged: 3,
            buckets: 1,
            log_groups: 2,
            deleted: 1,
        };
        let sweep = Found {
            sweep: true,
            dry_run: true,
            missing_tags: 1,
            idle: 2,
            idle_monthly_usd: 335.804,
            ..Found::default()
        };
        let (metrics, headline) = summary(&sweep, &changed);
        assert_eq!(
            headline,
            "3 resource(s) would be tagged; 1 missing required tags; lifecycle rules would be set on 1 bucket(s); retention would be set on 2 log group(s); 2 idle endpoint(s), ~$335.80/month; 1 idle endpoint(s) would be deleted"
        );
        assert!(metrics.contains(&(metrics::IDLE_ENDPOINTS_MONTHLY_COST_USD, 335.8)));
        assert!(metrics.contains(&(metrics::TRAINING_JOBS_WITHOUT_SPOT, 0.0)));
        assert!(metrics.contains(&(metrics::ESTIMATED_SPOT_SAVINGS_USD, 0.0)));
        let (metrics, headline) = summary(
            &Found {
                training_without_spot: 2,
                spot_savings_usd: 0.4834,
                ..sweep.clone()
            },
            &changed,
        );
        assert!(
            headline.ends_with("; 2 training job(s) without spot, ~$0.48 spot would have saved"),
            "{headline}"
        );
        assert!(metrics.contains(&(metrics::TRAINING_JOBS_WITHOUT_SPOT, 2.0)));
        assert!(metrics.contains(&(metrics::ESTIMATED_SPOT_SAVINGS_USD, 0.48)));
        assert!(metrics.contains(&("IdleEndpointsDeleted", 1.0)));

        let create = Found::default();
        let (metrics, headline) = summary(
            &create,
            &Changed {
                tagged: 1,
                ..Changed::default()
            },
        );
        assert_eq!(headline, "1 resource(s) tagged");
        assert_eq!(
            metrics,
            [("ResourcesTagged", 1.0), ("ResourcesMissingTags", 0.0)]
        );
        let (metrics, headline) = summary(&create, &changed);
        assert_eq!(
            headline,
            "3 resource(s) tagged; lifecycle rules set on 1 bucket(s)"
        );
        assert_eq!(metrics.len(), 3);
    }
}
