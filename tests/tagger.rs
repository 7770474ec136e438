//! lifecycle-tagger against the local emulator: tags on create events (with inference from
//! the resource, its parents, the creator's role and the defaults), lifecycle rules merged
//! into the owner's, log retention, idle endpoints (with the snapshot before deletion),
//! training cost findings, dry runs and malformed events. Each test runs in an account of its
//! own (`support::sandbox`) and a region no other test file uses, because the sweep sees a
//! whole region.
//!
//! Not emulated, covered by smithy mocks in the core crate: the emulator drops fields of
//! lifecycle rules (NewerNoncurrentVersions of a noncurrent expiration, object-size filters),
//! so the field-for-field round trip of the owner's rules is tested in
//! shared/src/s3/lifecycle.rs; GetMetricData batching (500 metrics per call) and pagination in
//! shared/src/cloudwatch/metric_data.rs; TagResources' 20-ARN limit in shared/src/tagging.rs; a training
//! job's tuning-job parent in shared/src/sagemaker/lineage.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};
use sagekeeper_core::model::lifecycle::{Expiration, Filter, Rule};
use sagekeeper_core::model::snapshot::EndpointSnapshot;
use sagekeeper_core::s3::lifecycle;
use sagekeeper_core::{Outcome, Severity};
use serde_json::Value;

mod support;
use support::reports::ReportExt;
use support::{Run, Sandbox, repo_root, sandbox, seed_endpoint, unique};

const FUNCTION: &str = "lifecycle-tagger";
/// Fri 2026-11-20 18:05 UTC.
const SWEEP_EVENT: &str = "scheduled.json";
const CREATE_TRAINING_JOB: &str = "cloudtrail-sagemaker-create-training-job.json";
const CREATE_BUCKET: &str = "cloudtrail-s3-create-bucket.json";
/// The caller of every CloudTrail sample.
const CREATOR: &str = "assumed-role/DataScientist/alice@acme.example";

/// An event file written for one test, removed when the test is done with it.
struct EventFile(PathBuf);

impl std::ops::Deref for EventFile {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for EventFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A copy of an events/ file for this sandbox's account and region, with `replace` applied.
fn event_for(sandbox: &Sandbox, file: &str, replace: &[(&str, &str)]) -> EventFile {
    let mut text = std::fs::read_to_string(repo_root().join("events").join(file)).unwrap();
    text = text
        .replace("us-east-1", &sandbox.region)
        .replace("123456789012", &sandbox.account_id);
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    write_event(&text)
}

fn write_event(text: &str) -> EventFile {
    let path = std::env::temp_dir().join(format!("{}.json", unique("tagger-event")));
    std::fs::write(&path, text).unwrap();
    EventFile(path)
}

fn run(sandbox: &Sandbox, event: &str, env: &[(&str, &str)]) -> Run {
    let run = sandbox.run(FUNCTION, event, &[], env);
    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
    run
}

/// (resource, action, outcome) of every action of the run.
fn actions(run: &Run) -> Vec<(String, String, Outcome)> {
    run.report()
        .actions
        .iter()
        .map(|a| (a.resource.clone(), a.action.clone(), a.outcome))
        .collect()
}

/// (resource, message) of every finding of `rule`.
fn findings(run: &Run, rule: &str) -> Vec<(String, String)> {
    run.report()
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.resource.clone(), f.message.clone()))
        .collect()
}

async fn sagemaker_tags(sandbox: &Sandbox, arn: &str) -> BTreeMap<String, String> {
    support::sagemaker_tags(&sandbox.aws, arn).await
}

async fn bucket_tags(sandbox: &Sandbox, bucket: &str) -> BTreeMap<String, String> {
    sagekeeper_core::s3::get_tags(&sandbox.aws.s3(), bucket)
        .await
        .unwrap()
}

/// The role that created everything in the CloudTrail samples, with `tags`.
async fn data_scientist_role(sandbox: &Sandbox, tags: &[(&str, &str)]) {
    sandbox
        .aws
        .iam()
        .create_role()
        .role_name("DataScientist")
        .assume_role_policy_document("{}")
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| {
                    aws_sdk_iam::types::Tag::builder()
                        .key(*k)
                        .value(*v)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .send()
        .await
        .unwrap();
}

async fn training_job(sandbox: &Sandbox, name: &str, tags: &[(&str, &str)]) -> String {
    support::seed_training_job(&sandbox.aws, &sandbox.account_id, name, tags).await
}

async fn create_bucket(sandbox: &Sandbox, name: &str, tags: &[(&str, &str)]) {
    support::buckets::create_in(&sandbox.aws, &sandbox.region, name).await;
    if !tags.is_empty() {
        support::buckets::put_tags(&sandbox.aws, name, tags).await;
    }
}

async fn rules(sandbox: &Sandbox, bucket: &str) -> Vec<Rule> {
    lifecycle::get(&sandbox.aws.s3(), bucket)
        .await
        .unwrap()
        .rules
}

fn rule<'a>(rules: &'a [Rule], id: &str) -> &'a Rule {
    rules
        .iter()
        .find(|r| r.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no rule {id} in {rules:#?}"))
}

fn transitions(rule: &Rule) -> Vec<(i32, String)> {
    rule.transitions
        .iter()
        .map(|t| (t.days.unwrap(), t.storage_class.clone().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_create_training_job_event_tags_the_job_and_keeps_the_owners_tag() {
    let sandbox = sandbox("eu-west-3").await;
    data_scientist_role(
        &sandbox,
        &[("Team", "ds-platform"), ("CostCenter", "cc-4471")],
    )
    .await;
    let job = unique("churn-xgb");
    // As the event says: created with the owner's Team tag only.
    let arn = training_job(&sandbox, &job, &[("Team", "churn")]).await;
    let event = event_for(
        &sandbox,
        CREATE_TRAINING_JOB,
        &[("churn-xgb-2026-11-20", &job)],
    );

    let first = run(
        &sandbox,
        &event,
        &[(
            "DEFAULT_TAGS",
            r#"{"Environment": "dev", "AutoShutdown": "false", "Team": "unassigned"}"#,
        )],
    );

    let tags = sagemaker_tags(&sandbox, &arn).await;
    assert_eq!(tags["CreatedBy"], CREATOR);
    assert_eq!(
        tags["CreatedAt"], "2026-11-20T18:01:37Z",
        "the event's time"
    );
    assert_eq!(tags["Team"], "churn", "the owner's tag stays as it was");
    assert_eq!(tags["CostCenter"], "cc-4471", "from the creating role");
    assert_eq!(tags["Environment"], "dev", "from DEFAULT_TAGS");
    assert_eq!(tags["AutoShutdown"], "false");
    assert!(!tags.contains_key("Project"));
    assert!(
        tags.values().all(|v| !v.contains("ASIA")),
        "no access key id in any tag: {tags:?}"
    );
    let missing = findings(&first, "required-tags-missing");
    assert_eq!(missing.len(), 1, "{:#}", first.json);
    assert_eq!(missing[0].0, arn);
    assert!(
        missing[0].1.starts_with("Project could not be inferred"),
        "{}",
        missing[0].1
    );
    assert!(missing[0].1.contains(CREATOR), "{}", missing[0].1);

    // The same event again (EventBridge delivers at least once): nothing left to add.
    let again = run(
        &sandbox,
        &event,
        &[("DEFAULT_TAGS", r#"{"Environment": "prod"}"#)],
    );
    assert!(actions(&again).is_empty(), "{:#}", again.json);
    assert_eq!(sagemaker_tags(&sandbox, &arn).await, tags);
}

#[tokio::test]
async fn a_create_bucket_event_tags_the_bucket_and_sets_its_lifecycle_rules() {
    let sandbox = sandbox("eu-west-3").await;
    data_scientist_role(&sandbox, &[("CostCenter", "cc-4471")]).await;
    let prefix = unique("tg-scratch");
    let bucket = format!("{prefix}-b");
    create_bucket(&sandbox, &bucket, &[("Team", "research")]).await;
    let event = event_for(&sandbox, CREATE_BUCKET, &[("acme-ml-scratch", &bucket)]);
    let prefixes = format!(r#"{{"{prefix}": "temp"}}"#);

    run(
        &sandbox,
        &event,
        &[
            ("DEFAULT_TAGS", r#"{"Environment": "sandbox"}"#),
            ("DATA_CLASS_PREFIXES", &prefixes),
        ],
    );

    let tags = bucket_tags(&sandbox, &bucket).await;
    assert_eq!(tags["Team"], "research");
    assert_eq!(tags["CreatedBy"], CREATOR);
    assert_eq!(tags["CostCenter"], "cc-4471");
    assert_eq!(tags["Environment"], "sandbox");
    let rules = rules(&sandbox, &bucket).await;
    let temp = rule(&rules, "sagekeeper-temp");
    assert_eq!(temp.expiration.as_ref().and_then(|e| e.days), Some(7));
    assert_eq!(temp.abort_incomplete_multipart_upload_days, Some(7));
}

#[tokio::test]
async fn lifecycle_rules_by_data_class_are_merged_into_the_owners_and_a_rerun_changes_nothing() {
    let sandbox = sandbox("eu-south-1").await;
    let base = unique("tg");
    let (train, models, logs, temp, bad, plain) = (
        format!("{base}-train"),
        format!("{base}-models"),
        format!("{base}-logs"),
        format!("{base}-temp"),
        format!("{base}-bad"),
        format!("{base}-plain"),
    );
    create_bucket(
        &sandbox,
        &train,
        &[("sagekeeper:data-class", "training-data")],
    )
    .await;
    // Classified by name (DATA_CLASS_PREFIXES below).
    create_bucket(&sandbox, &models, &[]).await;
    create_bucket(
        &sandbox,
        &logs,
        &[("sagekeeper:data-class", "experiment-logs")],
    )
    .await;
    create_bucket(&sandbox, &temp, &[("sagekeeper:data-class", "temp")]).await;
    create_bucket(&sandbox, &bad, &[("sagekeeper:data-class", "cold-storage")]).await;
    create_bucket(&sandbox, &plain, &[]).await;
    let owner_rule = LifecycleRule::builder()
        .id("owner-expire-scratch")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("scratch/").build())
        .expiration(LifecycleExpiration::builder().days(3).build())
        .build()
        .unwrap();
    sandbox
        .aws
        .s3()
        .put_bucket_lifecycle_configuration()
        .bucket(&train)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(owner_rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let owners_before = rules(&sandbox, &train).await;
    assert_eq!(owners_before.len(), 1);
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);
    let prefixes = format!(r#"{{"{models}": "model-artifacts"}}"#);
    let env = [("DATA_CLASS_PREFIXES", prefixes.as_str())];

    let first = run(&sandbox, &event, &env);

    let train_rules = rules(&sandbox, &train).await;
    assert_eq!(train_rules.len(), 2, "{train_rules:#?}");
    assert_eq!(
        train_rules[0], owners_before[0],
        "the owner's rule is unchanged"
    );
    let ours = rule(&train_rules, "sagekeeper-training-data");
    assert_eq!(
        transitions(ours),
        [(30, "STANDARD_IA".to_owned()), (90, "GLACIER".to_owned())]
    );
    assert_eq!(ours.abort_incomplete_multipart_upload_days, Some(7));
    assert_eq!(ours.status, "Enabled");

    let model_rules = rules(&sandbox, &models).await;
    let ours = rule(&model_rules, "sagekeeper-model-artifacts");
    assert_eq!(transitions(ours), [(60, "STANDARD_IA".to_owned())]);
    // The emulator keeps NoncurrentDays but drops NewerNoncurrentVersions (see the core
    // crate's mock test of the request, which carries both).
    assert_eq!(
        ours.noncurrent_version_expiration
            .as_ref()
            .and_then(|e| e.noncurrent_days),
        Some(30)
    );
    assert_eq!(ours.abort_incomplete_multipart_upload_days, Some(7));

    let log_rules = rules(&sandbox, &logs).await;
    let ours = rule(&log_rules, "sagekeeper-experiment-logs");
    assert_eq!(transitions(ours), [(30, "STANDARD_IA".to_owned())]);
    assert_eq!(ours.expiration.as_ref().and_then(|e| e.days), Some(365));
    assert_eq!(ours.abort_incomplete_multipart_upload_days, Some(7));

    let temp_rules = rules(&sandbox, &temp).await;
    let ours = rule(&temp_rules, "sagekeeper-temp");
    assert!(ours.transitions.is_empty());
    assert_eq!(
        ours.expiration,
        Some(Expiration {
            days: Some(7),
            ..Expiration::default()
        })
    );
    assert_eq!(ours.filter, Some(Filter::default()));
    assert_eq!(ours.abort_incomplete_multipart_upload_days, Some(7));

    assert!(
        rules(&sandbox, &bad).await.is_empty(),
        "an unknown class leaves the bucket alone"
    );
    assert!(
        rules(&sandbox, &plain).await.is_empty(),
        "a bucket without a class is not ours"
    );
    let unknown = findings(&first, "unknown-data-class");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].0, format!("arn:aws:s3:::{bad}"));
    assert!(
        unknown[0].1.contains("\"cold-storage\""),
        "{}",
        unknown[0].1
    );
    assert_eq!(
        bucket_tags(&sandbox, &bad).await.len(),
        1,
        "not tagged either"
    );

    // A second run writes no lifecycle rule where the emulator keeps what was written.
    let second = run(&sandbox, &event, &env);
    let rewritten: Vec<String> = actions(&second)
        .into_iter()
        .filter(|(_, action, _)| action == "put-lifecycle-rules")
        .map(|(resource, ..)| resource)
        .collect();
    assert!(
        rewritten
            .iter()
            .all(|r| r == &format!("arn:aws:s3:::{models}")),
        "only the model-artifacts bucket, whose rule the emulator truncates: {rewritten:?}"
    );
    assert_eq!(rules(&sandbox, &train).await, train_rules);
    assert_eq!(rules(&sandbox, &logs).await, log_rules);
    assert_eq!(rules(&sandbox, &temp).await, temp_rules);
    assert_eq!(rules(&sandbox, &train).await[0], owners_before[0]);
}

#[tokio::test]
async fn log_retention_is_set_only_where_there_is_none() {
    let sandbox = sandbox("ap-east-1").await;
    let logs = sandbox.aws.logs();
    let base = unique("tg");
    let (training, endpoints, lambda) = (
        format!("/aws/sagemaker/TrainingJobs-{base}"),
        format!("/aws/sagemaker/Endpoints/{base}"),
        format!("/aws/lambda/{base}"),
    );
    for group in [&training, &endpoints, &lambda] {
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
    }
    logs.put_retention_policy()
        .log_group_name(&endpoints)
        .retention_in_days(14)
        .send()
        .await
        .unwrap();
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let run = run(&sandbox, &event, &[("LOG_RETENTION_DAYS", "30")]);

    let retention = |name: &str| {
        let logs = logs.clone();
        let name = name.to_owned();
        async move {
            logs.describe_log_groups()
                .log_group_name_prefix(&name)
                .send()
                .await
                .unwrap()
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name.as_str()))
                .and_then(|g| g.retention_in_days())
        }
    };
    assert_eq!(retention(&training).await, Some(30));
    assert_eq!(
        retention(&endpoints).await,
        Some(14),
        "a chosen retention stays"
    );
    assert_eq!(retention(&lambda).await, None, "not a SageMaker log group");
    let retained: Vec<_> = actions(&run)
        .into_iter()
        .filter(|(_, action, _)| action == "put-retention")
        .collect();
    assert_eq!(retained.len(), 1, "{retained:?}");
    assert!(
        retained[0].0.ends_with(&format!("log-group:{training}")),
        "{retained:?}"
    );
    assert_eq!(run.report().metric("LogGroupsRetained"), Some(1.0));
}

/// Without a fan-out queue nothing can continue a run cut short: it says so in a finding, and
/// the next run (here one without a limit) does the rest, none twice.
#[tokio::test]
async fn a_run_cut_short_without_a_queue_reports_itself_incomplete_and_the_next_run_finishes() {
    let sandbox = sandbox("ap-east-1").await;
    let logs = sandbox.aws.logs();
    let base = unique("tg");
    let groups: Vec<String> = (0..4)
        .map(|i| format!("/aws/sagemaker/TrainingJobs-{base}-{i}"))
        .collect();
    for group in &groups {
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
    }
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);
    let retained = |run: &Run| -> Vec<String> {
        actions(run)
            .into_iter()
            .filter(|(_, action, outcome)| action == "put-retention" && *outcome == Outcome::Done)
            .map(|(resource, _, _)| resource)
            .collect()
    };
    let env = [("LOG_RETENTION_DAYS", "30"), ("APPLY_CONCURRENCY", "1")];

    // 1 ms: past the limit before the first write, so the run starts exactly one.
    let short = run(
        &sandbox,
        &event,
        &[env[0], env[1], ("RUN_TIME_LIMIT_MS", "1")],
    );
    let first = retained(&short);
    assert_eq!(first.len(), 1, "{:#}", short.json);
    let incomplete = findings(&short, "sweep-incomplete");
    assert_eq!(incomplete.len(), 1, "{:#}", short.json);
    assert!(
        incomplete[0].1.contains("next scheduled run"),
        "{incomplete:?}"
    );
    assert!(short.report().continuation.is_some());
    assert_eq!(short.report().metric("RunsCutShort"), Some(1.0));

    // The control: the same account without a limit finishes, and says nothing of the kind.
    let rest = run(&sandbox, &event, &env);
    let mut all = retained(&rest);
    assert_eq!(all.len(), 3, "{:#}", rest.json);
    assert!(!all.contains(&first[0]), "handled twice: {}", first[0]);
    assert!(findings(&rest, "sweep-incomplete").is_empty());
    assert_eq!(rest.report().continuation, None);
    all.extend(first);
    all.sort();
    let mut expected: Vec<String> = groups.iter().map(|g| format!("log-group:{g}")).collect();
    expected.sort();
    let ends: Vec<bool> = all
        .iter()
        .zip(&expected)
        .map(|(a, e)| a.ends_with(e))
        .collect();
    assert!(ends.iter().all(|e| *e), "{all:?}");
}

/// `Invocations` datapoints for the endpoint's AllTraffic variant at `time`.
async fn invocations(sandbox: &Sandbox, endpoint: &str, time: &str, count: f64) {
    let variant = [("EndpointName", endpoint), ("VariantName", "AllTraffic")];
    support::tagger::sagemaker_metric(sandbox, "Invocations", &variant, time, count).await;
}

/// Created long before the sweep (the emulator's creation times are the wall clock's).
const LONG_AGO: (&str, &str) = ("CreatedAt", "2026-10-01T00:00:00Z");

#[tokio::test]
async fn idle_detection_flags_an_endpoint_without_invocations_and_not_one_in_use() {
    let sandbox = sandbox("me-south-1").await;
    let idle = unique("idle");
    let busy = unique("busy");
    let recovered = unique("recovered");
    let idle_arn = seed_endpoint(&sandbox.aws, &idle, &[LONG_AGO]).await;
    let busy_arn = seed_endpoint(&sandbox.aws, &busy, &[LONG_AGO]).await;
    let recovered_arn = seed_endpoint(
        &sandbox.aws,
        &recovered,
        &[LONG_AGO, ("sagekeeper:idle-since", "2026-11-02")],
    )
    .await;
    // The sweep runs at 2026-11-20T18:05Z: a day and an hour before it, inside the window.
    invocations(&sandbox, &busy, "2026-11-19T17:00:00Z", 12.0).await;
    invocations(&sandbox, &recovered, "2026-11-20T09:30:00Z", 1.0).await;
    // Traffic older than the 7-day window does not count.
    invocations(&sandbox, &idle, "2026-11-10T12:00:00Z", 40.0).await;
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let run = run(&sandbox, &event, &[]);

    let idle_tags = sagemaker_tags(&sandbox, &idle_arn).await;
    assert_eq!(idle_tags["sagekeeper:idle-since"], "2026-11-20");
    let flagged = findings(&run, "idle-endpoint");
    assert_eq!(flagged.len(), 1, "{:#}", run.json);
    assert_eq!(flagged[0].0, idle_arn);
    // 1 × ml.m5.large at $0.115/h for 730 h.
    assert!(flagged[0].1.contains("~$83.95/month"), "{}", flagged[0].1);
    assert!(flagged[0].1.contains("1 × ml.m5.large"), "{}", flagged[0].1);
    assert!(
        !sagemaker_tags(&sandbox, &busy_arn)
            .await
            .contains_key("sagekeeper:idle-since")
    );
    assert!(
        !sagemaker_tags(&sandbox, &recovered_arn)
            .await
            .contains_key("sagekeeper:idle-since"),
        "used again: the idle-since tag goes"
    );
    assert_eq!(run.report().metric("IdleEndpoints"), Some(1.0));
    assert_eq!(
        run.report().metric("IdleEndpointsMonthlyCostUSD"),
        Some(83.95)
    );
    let headline = run.report().headline.as_deref().unwrap();
    assert!(
        headline.contains("1 idle endpoint(s), ~$83.95/month"),
        "{headline}"
    );

    // Still idle the next day: the date it became idle is kept, and it is not deleted
    // (DELETE_IDLE_ENDPOINTS is off).
    let next_day = event_for(
        &sandbox,
        SWEEP_EVENT,
        &[("2026-11-20T18:05:00Z", "2026-11-21T18:05:00Z")],
    );
    run_next_day(&sandbox, &next_day, &idle, &idle_arn).await;
}

async fn run_next_day(sandbox: &Sandbox, event: &str, idle: &str, idle_arn: &str) {
    let run = run(sandbox, event, &[]);
    assert_eq!(
        sagemaker_tags(sandbox, idle_arn).await["sagekeeper:idle-since"],
        "2026-11-20"
    );
    let flagged = findings(&run, "idle-endpoint");
    assert!(
        flagged
            .iter()
            .any(|(arn, message)| arn == idle_arn && message.contains("idle since 2026-11-20"))
    );
    let status = sandbox
        .aws
        .sagemaker()
        .describe_endpoint()
        .endpoint_name(idle)
        .send()
        .await;
    assert!(status.is_ok(), "not deleted");
}

async fn object_keys(sandbox: &Sandbox, bucket: &str) -> Vec<String> {
    support::object_keys(&sandbox.aws, bucket, "").await
}

#[tokio::test]
async fn an_idle_endpoint_past_its_grace_period_is_snapshotted_then_deleted() {
    let sandbox = sandbox("af-south-1").await;
    let state_bucket = unique("tg-state");
    create_bucket(&sandbox, &state_bucket, &[]).await;
    let name = unique("stale");
    let arn = seed_endpoint(
        &sandbox.aws,
        &name,
        &[
            LONG_AGO,
            ("sagekeeper:idle-since", "2026-11-10"),
            ("Team", "fraud"),
        ],
    )
    .await;
    support::seed_autoscaling(&sandbox.aws, &name, 4, 70.0).await;
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);
    let env = [
        ("DELETE_IDLE_ENDPOINTS", "true"),
        ("IDLE_GRACE_DAYS", "7"),
        ("STATE_BUCKET", state_bucket.as_str()),
    ];

    // A dry run says what it would do and does none of it.
    let dry = sandbox.run(FUNCTION, &event, &["--dry-run"], &env);
    assert_eq!(dry.code(), 0, "{:#}", dry.json);
    let planned: Vec<(String, Outcome)> = actions(&dry)
        .into_iter()
        .filter(|(resource, ..)| resource == &arn)
        .map(|(_, action, outcome)| (action, outcome))
        .collect();
    assert_eq!(planned.len(), 3, "{planned:?}");
    assert!(
        planned
            .iter()
            .all(|(_, outcome)| *outcome == Outcome::Planned)
    );
    assert!(object_keys(&sandbox, &state_bucket).await.is_empty());
    assert!(
        sandbox
            .aws
            .sagemaker()
            .describe_endpoint()
            .endpoint_name(&name)
            .send()
            .await
            .is_ok()
    );

    let run = run(&sandbox, &event, &env);

    let steps: Vec<(String, Outcome)> = actions(&run)
        .into_iter()
        .filter(|(resource, ..)| resource == &arn)
        .map(|(_, action, outcome)| (action, outcome))
        .collect();
    let keys = object_keys(&sandbox, &state_bucket).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(&format!("deleted/endpoints/{name}/")),
        "{keys:?}"
    );
    assert_eq!(
        steps,
        [
            ("write-snapshot".to_owned(), Outcome::Done),
            ("deregister-autoscaling".to_owned(), Outcome::Done),
            ("delete-idle-endpoint".to_owned(), Outcome::Done),
        ]
    );
    // The action is a stable id; where the snapshot went is its detail.
    let location = format!("s3://{state_bucket}/{}", keys[0]);
    assert!(
        run.report()
            .actions
            .iter()
            .any(|a| a.action == "write-snapshot" && a.detail.as_deref() == Some(&location)),
        "{:?}",
        run.report().actions
    );
    let body = sandbox
        .aws
        .s3()
        .get_object()
        .bucket(&state_bucket)
        .key(&keys[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let snapshot: EndpointSnapshot = serde_json::from_slice(&body).unwrap();
    assert_eq!(snapshot.endpoint_config_name, format!("{name}-config"));
    assert_eq!(snapshot.tags["Team"], "fraud");
    assert_eq!(snapshot.scaling.targets.len(), 1);
    assert_eq!(snapshot.scaling.targets[0].policies.len(), 1);
    assert_eq!(snapshot.parked_by, FUNCTION);
    assert!(
        sandbox
            .aws
            .sagemaker()
            .describe_endpoint()
            .endpoint_name(&name)
            .send()
            .await
            .is_err(),
        "deleted"
    );
    assert!(
        sandbox
            .aws
            .sagemaker()
            .describe_endpoint_config()
            .endpoint_config_name(format!("{name}-config"))
            .send()
            .await
            .is_ok(),
        "its configuration stays, so it can be recreated from the snapshot"
    );
    assert_eq!(run.report().metric("IdleEndpointsDeleted"), Some(1.0));
}

async fn endpoint_exists(sandbox: &Sandbox, name: &str) -> bool {
    sandbox
        .aws
        .sagemaker()
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .is_ok()
}

/// Deletion on, 7 days of grace, snapshots to `state_bucket`.
fn deleting(state_bucket: &str) -> [(&str, &str); 3] {
    [
        ("DELETE_IDLE_ENDPOINTS", "true"),
        ("IDLE_GRACE_DAYS", "7"),
        ("STATE_BUCKET", state_bucket),
    ]
}

/// Tagged idle since long before the sweep's grace period: deleted if judged idle again.
const IDLE_SINCE_LONG_AGO: (&str, &str) = ("sagekeeper:idle-since", "2026-11-10");

// An asynchronous endpoint never publishes `Invocations`; it was judged by that metric, seen
// as idle and deleted while it processed requests. It is judged by `InvocationsProcessed`
// (and its queue) now. Control: a real-time endpoint with no invocations in the window, as old
// and as long tagged idle, is still deleted.
#[tokio::test]
async fn an_async_endpoint_processing_requests_is_not_deleted_and_a_silent_real_time_one_is() {
    let sandbox = sandbox("eu-north-1").await;
    let state_bucket = unique("tg-state");
    create_bucket(&sandbox, &state_bucket, &[]).await;
    let busy = unique("async-busy");
    let busy_arn =
        support::seed_async_endpoint(&sandbox.aws, &busy, &[LONG_AGO, IDLE_SINCE_LONG_AGO]).await;
    let silent = unique("rt-silent");
    let silent_arn = seed_endpoint(&sandbox.aws, &silent, &[LONG_AGO, IDLE_SINCE_LONG_AGO]).await;
    // Requests processed a day before the sweep (2026-11-20T18:05Z), and its queue watched.
    let variant = [
        ("EndpointName", busy.as_str()),
        ("VariantName", "AllTraffic"),
    ];
    support::tagger::sagemaker_metric(
        &sandbox,
        "InvocationsProcessed",
        &variant,
        "2026-11-19T12:00:00Z",
        25.0,
    )
    .await;
    support::tagger::sagemaker_metric(
        &sandbox,
        "ApproximateBacklogSize",
        &[("EndpointName", busy.as_str())],
        "2026-11-19T12:00:00Z",
        0.0,
    )
    .await;
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let run = run(&sandbox, &event, &deleting(&state_bucket));

    assert!(endpoint_exists(&sandbox, &busy).await, "{:#}", run.json);
    assert!(
        !sagemaker_tags(&sandbox, &busy_arn)
            .await
            .contains_key("sagekeeper:idle-since"),
        "in use: its idle-since tag goes"
    );
    assert!(
        findings(&run, "idle-endpoint")
            .iter()
            .all(|(arn, _)| arn != &busy_arn)
    );
    assert!(!endpoint_exists(&sandbox, &silent).await, "{:#}", run.json);
    let deleted: Vec<String> = actions(&run)
        .into_iter()
        .filter(|(_, action, outcome)| {
            action == "delete-idle-endpoint" && *outcome == Outcome::Done
        })
        .map(|(resource, ..)| resource)
        .collect();
    assert_eq!(deleted, [silent_arn]);
}

// No datapoint at all is "unknown" for an asynchronous endpoint: its queue size is published
// while it is up, so silence shows nothing about its traffic. It stays, with an info finding.
// Control: an asynchronous endpoint whose queue was watched all week and stayed empty, with no
// request processed, is judged idle and deleted.
#[tokio::test]
async fn a_silent_async_endpoint_is_unknown_and_one_with_an_empty_queue_is_idle() {
    let sandbox = sandbox("sa-east-1").await;
    let state_bucket = unique("tg-state");
    create_bucket(&sandbox, &state_bucket, &[]).await;
    let silent = unique("async-silent");
    let silent_arn =
        support::seed_async_endpoint(&sandbox.aws, &silent, &[LONG_AGO, IDLE_SINCE_LONG_AGO]).await;
    let quiet = unique("async-quiet");
    let quiet_arn =
        support::seed_async_endpoint(&sandbox.aws, &quiet, &[LONG_AGO, IDLE_SINCE_LONG_AGO]).await;
    for day in 14..=20 {
        support::tagger::sagemaker_metric(
            &sandbox,
            "ApproximateBacklogSize",
            &[("EndpointName", quiet.as_str())],
            &format!("2026-11-{day}T06:00:00Z"),
            0.0,
        )
        .await;
    }
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let run = run(&sandbox, &event, &deleting(&state_bucket));

    assert!(endpoint_exists(&sandbox, &silent).await, "{:#}", run.json);
    assert_eq!(
        sagemaker_tags(&sandbox, &silent_arn).await["sagekeeper:idle-since"],
        "2026-11-10",
        "unknown: nothing changes"
    );
    let not_judged = findings(&run, "idle-endpoint-not-judged");
    assert_eq!(not_judged.len(), 1, "{:#}", run.json);
    assert_eq!(not_judged[0].0, silent_arn);
    assert!(
        not_judged[0].1.contains("ApproximateBacklogSize"),
        "{}",
        not_judged[0].1
    );
    let severity = run
        .report()
        .findings
        .iter()
        .find(|f| f.rule == "idle-endpoint-not-judged")
        .map(|f| f.severity);
    assert_eq!(severity, Some(Severity::Info));

    assert!(!endpoint_exists(&sandbox, &quiet).await, "{:#}", run.json);
    let idle = findings(&run, "idle-endpoint");
    assert_eq!(idle.len(), 1, "{:#}", run.json);
    assert_eq!(idle[0].0, quiet_arn);
    assert!(
        idle[0].1.starts_with("no request processed or queued"),
        "{}",
        idle[0].1
    );
}

// A bucket created by CloudFormation carries `aws:cloudformation:*` system tags; S3's
// PutBucketTagging refuses any tag set holding them, so writing the whole set back failed and
// such a bucket was never tagged. The emulator gives stack-created buckets those tags and
// refuses them from clients as S3 does (scripts/emulator/system_tags.py). Control: a bucket
// without system tags is tagged as before.
#[tokio::test]
async fn a_bucket_created_by_cloudformation_is_tagged_and_keeps_its_system_tags() {
    let sandbox = sandbox("eu-north-1").await;
    let stacked = unique("tg-cfn");
    support::tagger::cloudformation_bucket(&sandbox, &stacked);
    let system_before: BTreeMap<String, String> = bucket_tags(&sandbox, &stacked)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("aws:"))
        .collect();
    assert_eq!(system_before.len(), 3, "{system_before:?}");
    let plain = unique("tg-plain");
    create_bucket(&sandbox, &plain, &[("Team", "research")]).await;
    let env = [("DEFAULT_TAGS", r#"{"Environment": "sandbox"}"#)];

    for bucket in [&stacked, &plain] {
        let event = event_for(&sandbox, CREATE_BUCKET, &[("acme-ml-scratch", bucket)]);
        let run = run(&sandbox, &event, &env);
        assert!(run.report().errors.is_empty(), "{:#}", run.json);
        let tagged: Vec<_> = actions(&run)
            .into_iter()
            .filter(|(_, action, _)| action == "add-tags")
            .collect();
        assert_eq!(tagged.len(), 1, "{:#}", run.json);
        assert_eq!(tagged[0].0, format!("arn:aws:s3:::{bucket}"));
        assert_eq!(tagged[0].2, Outcome::Done, "{:#}", run.json);
    }

    let tags = bucket_tags(&sandbox, &stacked).await;
    assert_eq!(tags["CreatedBy"], CREATOR);
    assert_eq!(tags["Environment"], "sandbox");
    assert_eq!(tags["Team"], "data", "the template's tag stays");
    for (key, value) in &system_before {
        assert_eq!(tags.get(key), Some(value), "system tag {key} unchanged");
    }
    let tags = bucket_tags(&sandbox, &plain).await;
    assert_eq!(tags["CreatedBy"], CREATOR);
    assert_eq!(tags["Environment"], "sandbox");
    assert_eq!(tags["Team"], "research");
}

#[tokio::test]
async fn a_dry_run_sweep_reports_every_change_and_makes_none() {
    let sandbox = sandbox("ap-northeast-2").await;
    let bucket = unique("tg-dry");
    create_bucket(
        &sandbox,
        &bucket,
        &[("sagekeeper:data-class", "training-data")],
    )
    .await;
    let group = format!("/aws/sagemaker/TrainingJobs-{}", unique("dry"));
    sandbox
        .aws
        .logs()
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let endpoint = unique("dry-idle");
    let endpoint_arn = seed_endpoint(&sandbox.aws, &endpoint, &[LONG_AGO]).await;
    let tags_before = sagemaker_tags(&sandbox, &endpoint_arn).await;
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let run = run(
        &sandbox,
        &event,
        &[
            ("DRY_RUN", "true"),
            ("DEFAULT_TAGS", r#"{"Environment": "dev"}"#),
        ],
    );

    assert!(run.report().dry_run);
    let all = actions(&run);
    assert!(!all.is_empty());
    assert!(
        all.iter().all(|(.., outcome)| *outcome == Outcome::Planned),
        "{all:?}"
    );
    // Stable action ids, the parameters in the detail.
    let detail_of = |resource: &str, action: &str| {
        run.report()
            .actions
            .iter()
            .find(|a| a.resource == resource && a.action == action)
            .map(|a| a.detail.clone().unwrap_or_default())
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let (group_arn, ..) = all
        .iter()
        .find(|(resource, ..)| resource.ends_with(&format!("log-group:{group}")))
        .unwrap();
    let tags = detail_of(&bucket_arn, "add-tags").unwrap();
    assert!(tags.contains("Environment=dev"), "{tags}");
    assert_eq!(
        detail_of(&bucket_arn, "put-lifecycle-rules").as_deref(),
        Some("sagekeeper-training-data")
    );
    assert_eq!(
        detail_of(group_arn, "put-retention").as_deref(),
        Some("90 days")
    );
    assert!(rules(&sandbox, &bucket).await.is_empty());
    assert_eq!(bucket_tags(&sandbox, &bucket).await.len(), 1);
    assert_eq!(sagemaker_tags(&sandbox, &endpoint_arn).await, tags_before);
    let groups = sandbox
        .aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), None);
    assert_eq!(findings(&run, "idle-endpoint").len(), 1);
    assert!(
        run.report()
            .headline
            .as_deref()
            .unwrap()
            .contains("would be tagged")
    );
}

#[tokio::test]
async fn malformed_events_are_clear_errors_and_change_nothing() {
    let sandbox = sandbox("il-central-1").await;
    let job = unique("churn-xgb");
    let arn = training_job(&sandbox, &job, &[("Team", "churn")]).await;
    let tags_before = sagemaker_tags(&sandbox, &arn).await;
    let original: Value = serde_json::from_str(
        &std::fs::read_to_string(&*event_for(
            &sandbox,
            CREATE_TRAINING_JOB,
            &[("churn-xgb-2026-11-20", &job)],
        ))
        .unwrap(),
    )
    .unwrap();
    let mut without_name = original.clone();
    without_name["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("trainingJobName");
    let mut without_time = original.clone();
    without_time["detail"]
        .as_object_mut()
        .unwrap()
        .remove("eventTime");
    let mut bad_time = original.clone();
    bad_time["detail"]["eventTime"] = Value::from("yesterday");

    for (event, expected) in [
        (
            without_name,
            "CreateTrainingJob without requestParameters.trainingJobName",
        ),
        (without_time, "malformed CloudTrail API call"),
        (bad_time, "eventTime \"yesterday\""),
        (
            serde_json::json!({"detail-type": "Object Created"}),
            "unrecognised event",
        ),
    ] {
        let path = write_event(&event.to_string());
        let run = sandbox.run(
            FUNCTION,
            &path,
            &[],
            &[("DEFAULT_TAGS", r#"{"Environment": "dev"}"#)],
        );
        assert_eq!(run.code(), 1, "{:#}", run.json);
        let errors = &run.report().errors;
        assert_eq!(errors.len(), 1, "{:#}", run.json);
        assert_eq!(errors[0].kind, "invalid-event");
        let message = &errors[0].message;
        assert!(message.contains(expected), "{message}");
        assert!(actions(&run).is_empty(), "{:#}", run.json);
    }
    assert_eq!(
        sagemaker_tags(&sandbox, &arn).await,
        tags_before,
        "no writes"
    );
}

// Training cost findings, from the daily sweep. The emulator completes a job at once and
// returns neither BillableTimeInSeconds nor TrainingTimeInSeconds, with TrainingEndTime equal
// to TrainingStartTime: the billed time falls back to end − start, 0 s, so the saving figure
// is $0.00 here; the figure itself is checked against hand computations in
// functions/lifecycle-tagger/src/training_cost.rs. What this test shows end to end: which jobs
// are judged, on which ARN, the price the table gives, the fallback named, and no write.
#[tokio::test]
async fn the_sweep_reports_training_jobs_that_could_have_used_spot() {
    use support::tagger::{TrainingSetup, seed_training_run};
    let sandbox = sandbox("ap-southeast-3").await;
    let base = unique("train");
    let on_demand = seed_training_run(
        &sandbox,
        &format!("{base}-on-demand"),
        TrainingSetup {
            count: 2,
            max_runtime_seconds: Some(7200),
            ..TrainingSetup::default()
        },
    )
    .await;
    let safe_spot = seed_training_run(
        &sandbox,
        &format!("{base}-safe-spot"),
        TrainingSetup {
            count: 1,
            spot: true,
            checkpoint: Some("s3://acme-ml-checkpoints/safe/"),
            max_runtime_seconds: Some(3600),
            max_wait_seconds: Some(7200),
        },
    )
    .await;
    let bare_spot = seed_training_run(
        &sandbox,
        &format!("{base}-bare-spot"),
        TrainingSetup {
            count: 1,
            spot: true,
            max_runtime_seconds: Some(3600),
            ..TrainingSetup::default()
        },
    )
    .await;
    let no_limit = seed_training_run(
        &sandbox,
        &format!("{base}-no-limit"),
        TrainingSetup {
            count: 1,
            ..TrainingSetup::default()
        },
    )
    .await;
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let sweep = run(&sandbox, &event, &[]);

    // The training cost findings on `arn` (the jobs also lack the required tags).
    let on = |run: &Run, arn: &str| -> Vec<(String, Severity)> {
        const RULES: [&str; 4] = [
            "training-without-spot",
            "spot-without-checkpoint",
            "spot-without-max-wait",
            "training-runtime-unbounded",
        ];
        run.report()
            .findings
            .iter()
            .filter(|f| f.resource == arn && RULES.contains(&f.rule.as_str()))
            .map(|f| (f.rule.clone(), f.severity))
            .collect()
    };
    assert_eq!(
        on(&sweep, &on_demand),
        [("training-without-spot".to_owned(), Severity::Low)]
    );
    assert_eq!(
        findings(&sweep, "training-without-spot")
            .into_iter()
            .find(|(arn, _)| arn == &on_demand)
            .unwrap()
            .1,
        "ran on on-demand capacity (EnableManagedSpotTraining off): 0 s billed (TrainingEndTime - TrainingStartTime) on 2 × ml.m5.xlarge at $0.230/h = $0.00; managed spot (with a checkpoint location and MaxWaitTimeInSeconds) would have saved ~$0.00 of it at SPOT_DISCOUNT 0.70"
    );
    assert!(on(&sweep, &safe_spot).is_empty(), "the control: safe spot");
    assert_eq!(
        on(&sweep, &bare_spot),
        [
            ("spot-without-checkpoint".to_owned(), Severity::Medium),
            ("spot-without-max-wait".to_owned(), Severity::Low),
        ]
    );
    assert_eq!(
        on(&sweep, &no_limit),
        [
            ("training-without-spot".to_owned(), Severity::Low),
            ("training-runtime-unbounded".to_owned(), Severity::Low),
        ]
    );
    let report = sweep.report();
    assert_eq!(report.metric("TrainingJobsWithoutSpot"), Some(2.0));
    assert_eq!(report.metric("EstimatedSpotSavingsUSD"), Some(0.0));
    let headline = report.headline.as_deref().unwrap();
    assert!(
        headline.contains("2 training job(s) without spot, ~$0.00 spot would have saved"),
        "{headline}"
    );
    // Findings only: nothing but the tagging of the sweep touches the jobs.
    let jobs = [&on_demand, &safe_spot, &bare_spot, &no_limit];
    assert!(
        actions(&sweep)
            .iter()
            .filter(|(resource, ..)| jobs.iter().any(|arn| resource.contains(arn.as_str())))
            .all(|(_, action, _)| action == "add-tags"),
        "{:?}",
        actions(&sweep)
    );

    // A cap of 1 h: the on-demand job's 2 h limit is above it, the safe spot job's 1 h is not.
    let capped = run(&sandbox, &event, &[("TRAINING_MAX_RUNTIME_HOURS", "1")]);
    assert_eq!(
        on(&capped, &on_demand),
        [
            ("training-without-spot".to_owned(), Severity::Low),
            ("training-runtime-unbounded".to_owned(), Severity::Medium),
        ]
    );
    assert!(
        on(&capped, &safe_spot).is_empty(),
        "at the cap, not above it"
    );

    // Jobs created before the lookback window are not judged: the same sweep in 2099.
    let later = event_for(&sandbox, SWEEP_EVENT, &[("2026-11-20", "2099-11-20")]);
    let later = run(&sandbox, &later, &[]);
    for arn in jobs {
        assert!(on(&later, arn).is_empty(), "{arn}");
    }
    assert_eq!(later.report().metric("TrainingJobsWithoutSpot"), Some(0.0));
}

/// A Studio domain `ml` whose tags are set after its resources were made (AWS copies a
/// domain's tags only to apps launched after the tagging), two user profiles (`ana` with her
/// own `Team`), a shared space, ana's private space, a space whose owner set `Team` after its
/// app started, and apps, one of them deleted. The ARNs by short name.
async fn seed_studio(sandbox: &Sandbox) -> BTreeMap<&'static str, String> {
    use aws_sdk_sagemaker::types::AppType;
    use support::studio::{Owner, add_tags, delete_app, seed_app, seed_domain, seed_profile};
    use support::studio::{seed_space, seed_space_of};
    let aws = &sandbox.aws;
    let domain = seed_domain(aws, "ml", &[]).await;
    seed_profile(aws, &domain, "ana", &[("Team", "fraud")]).await;
    seed_profile(aws, &domain, "bo", &[]).await;
    seed_space(aws, &domain, "team", &[]).await;
    seed_space_of(aws, &domain, "ana-lab", Some("ana"), &[]).await;
    seed_space(aws, &domain, "vision", &[]).await;
    let team_app = seed_app(
        aws,
        &domain,
        Owner::Space("team"),
        AppType::JupyterLab,
        None,
        &[],
    )
    .await;
    let ana_app = seed_app(
        aws,
        &domain,
        Owner::Space("ana-lab"),
        AppType::JupyterLab,
        None,
        &[],
    )
    .await;
    let vision_app = seed_app(
        aws,
        &domain,
        Owner::Space("vision"),
        AppType::CodeEditor,
        None,
        &[],
    )
    .await;
    let gone = seed_app(aws, &domain, Owner::User("bo"), AppType::Canvas, None, &[]).await;
    delete_app(aws, &domain, Owner::User("bo"), AppType::Canvas).await;
    let arn = |resource: &str| sandbox.sagemaker_arn(resource);
    let arns = BTreeMap::from([
        ("domain", arn(&format!("domain/{domain}"))),
        ("ana", arn(&format!("user-profile/{domain}/ana"))),
        ("bo", arn(&format!("user-profile/{domain}/bo"))),
        ("team", arn(&format!("space/{domain}/team"))),
        ("ana-lab", arn(&format!("space/{domain}/ana-lab"))),
        ("vision", arn(&format!("space/{domain}/vision"))),
        ("team-app", team_app),
        ("ana-app", ana_app),
        ("vision-app", vision_app),
        ("gone-app", gone),
    ]);
    add_tags(aws, &arns["vision"], &[("Team", "vision")]).await;
    add_tags(
        aws,
        &arns["domain"],
        &[("Team", "ml"), ("Project", "churn"), ("CostCenter", "cc-1")],
    )
    .await;
    arns
}

const STUDIO_DEFAULTS: (&str, &str) = (
    "DEFAULT_TAGS",
    r#"{"Environment": "dev", "AutoShutdown": "false"}"#,
);

#[tokio::test]
async fn studio_resources_inherit_the_required_tags_from_their_domain_and_owner() {
    let sandbox = sandbox("eu-west-3").await;
    let arns = seed_studio(&sandbox).await;
    let mut before = BTreeMap::new();
    for (name, arn) in &arns {
        before.insert(*name, sagemaker_tags(&sandbox, arn).await);
    }
    let event = event_for(&sandbox, SWEEP_EVENT, &[]);

    let dry = run(&sandbox, &event, &[("DRY_RUN", "true"), STUDIO_DEFAULTS]);
    let planned: Vec<_> = actions(&dry)
        .into_iter()
        .filter(|(resource, ..)| resource.contains(":user-profile/") || resource.contains(":app/"))
        .collect();
    assert!(!planned.is_empty(), "{:#}", dry.json);
    assert!(planned.iter().all(|(.., o)| *o == Outcome::Planned));
    for (name, arn) in &arns {
        assert_eq!(sagemaker_tags(&sandbox, arn).await, before[name], "{name}");
    }

    let first = run(&sandbox, &event, &[STUDIO_DEFAULTS]);
    let tags = |name: &'static str| {
        let arn = arns[name].clone();
        let sandbox = &sandbox;
        async move { sagemaker_tags(sandbox, &arn).await }
    };
    let team_of = |t: &BTreeMap<String, String>| t.get("Team").cloned().unwrap_or_default();
    let domain = tags("domain").await;
    assert_eq!(
        (team_of(&domain).as_str(), domain["Environment"].as_str()),
        ("ml", "dev"),
        "the domain gets the defaults"
    );
    assert_eq!(
        domain["AutoShutdown"], "false",
        "the control: the domain decides"
    );
    // A profile and a shared space without tags: the domain's values.
    for name in ["bo", "team"] {
        let t = tags(name).await;
        assert_eq!(
            (
                team_of(&t).as_str(),
                t["Project"].as_str(),
                t["CostCenter"].as_str()
            ),
            ("ml", "churn", "cc-1"),
            "{name}: {t:?}"
        );
        // The scheduler reads a space's or profile's own AutoShutdown as overriding the
        // domain's: a copy would freeze the domain's value of today there.
        assert!(!t.contains_key("AutoShutdown"), "{name}: {t:?}");
    }
    // ana's own Team stays; her private space takes it before the domain's.
    assert_eq!(team_of(&tags("ana").await), "fraud");
    let lab = tags("ana-lab").await;
    assert_eq!(
        (team_of(&lab).as_str(), lab["Project"].as_str()),
        ("fraud", "churn")
    );
    // The control: the Team its owner set is unchanged.
    let vision = tags("vision").await;
    assert_eq!(
        (team_of(&vision).as_str(), vision["Project"].as_str()),
        ("vision", "churn")
    );
    // Apps take their space's values.
    assert_eq!(team_of(&tags("team-app").await), "ml");
    assert_eq!(team_of(&tags("ana-app").await), "fraud");
    assert_eq!(team_of(&tags("vision-app").await), "vision");
    // A deleted app is not tagged.
    assert_eq!(tags("gone-app").await, before["gone-app"]);
    assert!(
        !actions(&first)
            .iter()
            .any(|(resource, ..)| resource.contains(&arns["gone-app"])),
        "{:#}",
        first.json
    );
    assert!(
        findings(&first, "required-tags-missing").is_empty(),
        "{:#}",
        first.json
    );

    let mut after = BTreeMap::new();
    for (name, arn) in &arns {
        after.insert(*name, sagemaker_tags(&sandbox, arn).await);
    }
    let again = run(&sandbox, &event, &[STUDIO_DEFAULTS]);
    let studio_actions: Vec<_> = actions(&again)
        .into_iter()
        .filter(|(resource, ..)| arns.values().any(|arn| resource.contains(arn.as_str())))
        .collect();
    assert!(studio_actions.is_empty(), "{studio_actions:?}");
    for (name, arn) in &arns {
        assert_eq!(sagemaker_tags(&sandbox, arn).await, after[name], "{name}");
    }
}

#[tokio::test]
async fn a_create_space_event_tags_the_space_with_its_creator_and_its_owners_tags() {
    use support::studio::{seed_domain, seed_profile, seed_space_of};
    let sandbox = sandbox("eu-west-3").await;
    data_scientist_role(&sandbox, &[("CostCenter", "cc-4471"), ("Team", "ds")]).await;
    let domain = seed_domain(
        &sandbox.aws,
        "acmeml",
        &[("Team", "ml"), ("Project", "churn")],
    )
    .await;
    assert_eq!(domain, "d-acmeml", "the id the CloudTrail sample names");
    seed_profile(&sandbox.aws, &domain, "alice", &[("Team", "fraud")]).await;
    seed_space_of(&sandbox.aws, &domain, "alice-lab", Some("alice"), &[]).await;
    let arn = sandbox.sagemaker_arn("space/d-acmeml/alice-lab");
    let event = event_for(&sandbox, "cloudtrail-sagemaker-create-space.json", &[]);

    let created = run(&sandbox, &event, &[STUDIO_DEFAULTS]);

    let tags = sagemaker_tags(&sandbox, &arn).await;
    assert_eq!(tags["CreatedBy"], CREATOR, "{:#}", created.json);
    assert_eq!(tags["CreatedAt"], "2026-11-20T18:03:10Z");
    assert_eq!(
        tags["Team"], "fraud",
        "its owner's, before the domain's and the role's"
    );
    assert_eq!(tags["Project"], "churn", "the domain's");
    assert_eq!(tags["CostCenter"], "cc-4471", "the creating role's");
    assert_eq!(tags["Environment"], "dev");
    let again = run(&sandbox, &event, &[STUDIO_DEFAULTS]);
    assert!(actions(&again).is_empty(), "{:#}", again.json);
}
