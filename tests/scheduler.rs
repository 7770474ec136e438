//! endpoint-scheduler against the local emulator: lossless park → restore round trips, crash
//! recovery, dry runs, notebooks, snoozes. Each test sweeps an account of its own, so tests
//! run in parallel (and again against the same emulator) without parking each other's
//! endpoints.
//!
//! Not emulated (covered elsewhere): inference components and endpoints that take time to
//! come InService — see the planner's unit tests (functions/endpoint-scheduler/src/plan.rs)
//! and the smithy-mock tests of the inference-component adapter (shared/src/sagemaker/).

use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTargetAction, ServiceNamespace,
};
use aws_sdk_s3::types::VersioningConfiguration;
use aws_sdk_sagemaker::types::Tag;
use sagekeeper_core::{Aws, Outcome, Severity};
use serde_json::Value;

mod support;
use support::reports::{ActionRecord, ReportExt};
use support::{Run, Sandbox, sandbox, seed_endpoint, unique};

/// Friday 2026-11-20 19:05 in Madrid: outside the default Mon-Fri 08:00-19:00.
const EVENING: &str = "scheduled.json";
/// Monday 2026-11-23 08:05 in Madrid: inside it.
const MORNING: &str = "scheduled-morning.json";

struct Account {
    sandbox: Sandbox,
    aws: Aws,
    bucket: String,
}

impl Account {
    /// A fresh account (so the sweep sees only this test's resources) with a state bucket.
    async fn new(region: &'static str) -> Account {
        let sandbox = sandbox(region).await;
        let aws = sandbox.aws.clone();
        let bucket = unique("sk-state");
        support::buckets::create_in(&aws, region, &bucket).await;
        aws.s3()
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Account {
            sandbox,
            aws,
            bucket,
        }
    }

    fn run(&self, event: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut env = vec![
            ("STATE_BUCKET", self.bucket.as_str()),
            ("TIMEZONE", "Europe/Madrid"),
        ];
        env.extend_from_slice(extra_env);
        let run = self.sandbox.run("endpoint-scheduler", event, args, &env);
        assert_eq!(run.code(), 0, "{}\n{}", run.json, run.stderr());
        run
    }

    async fn endpoint_status(&self, name: &str) -> Option<String> {
        match self
            .aws
            .sagemaker()
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(out) => out.endpoint_status().map(|s| s.as_str().to_owned()),
            Err(_) => None,
        }
    }

    async fn tags(&self, arn: &str) -> Vec<(String, String)> {
        support::sagemaker_tags(&self.aws, arn)
            .await
            .into_iter()
            .collect()
    }

    async fn object_keys(&self, prefix: &str) -> Vec<String> {
        support::object_keys(&self.aws, &self.bucket, prefix).await
    }

    /// Target-tracking policy and a scheduled action on the endpoint's variant.
    async fn add_autoscaling(&self, endpoint: &str) {
        support::seed_autoscaling(&self.aws, endpoint, 4, 70.0).await;
        let aas = self.aws.autoscaling();
        let resource = format!("endpoint/{endpoint}/variant/AllTraffic");
        aas.put_scheduled_action()
            .scheduled_action_name("month-end-peak")
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .schedule("cron(0 6 28 * ? *)")
            .scalable_target_action(
                ScalableTargetAction::builder()
                    .min_capacity(2)
                    .max_capacity(6)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// (targets, policies, scheduled actions) registered for the endpoint's variant.
    async fn autoscaling(&self, endpoint: &str) -> (Value, Value, Value) {
        let (targets, policies, actions) = support::parking::autoscaling(&self.aws, endpoint).await;
        let targets: Vec<Value> = targets
            .scalable_targets()
            .iter()
            .map(|t| {
                serde_json::json!([
                    t.min_capacity,
                    t.max_capacity,
                    t.scalable_dimension.as_str()
                ])
            })
            .collect();
        let policies: Vec<Value> = policies
            .scaling_policies()
            .iter()
            .map(|p| {
                let tt = p.target_tracking_scaling_policy_configuration.as_ref();
                serde_json::json!([
                    p.policy_name,
                    p.policy_type.as_str(),
                    tt.map(|t| t.target_value),
                    tt.and_then(|t| t.scale_in_cooldown)
                ])
            })
            .collect();
        let actions: Vec<Value> = actions
            .scheduled_actions()
            .iter()
            .map(|a| {
                let target = a.scalable_target_action.as_ref();
                serde_json::json!([
                    a.scheduled_action_name,
                    a.schedule,
                    target.and_then(|t| t.min_capacity),
                    target.and_then(|t| t.max_capacity)
                ])
            })
            .collect();
        (
            Value::from(targets),
            Value::from(policies),
            Value::from(actions),
        )
    }
}

/// The writes a run did, planned or failed: everything but what it skipped.
fn writes(run: &Run) -> Vec<&ActionRecord> {
    run.report()
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.outcome,
                Outcome::Done | Outcome::Planned | Outcome::Failed
            )
        })
        .collect()
}

#[tokio::test]
async fn park_then_restore_brings_the_endpoint_back_exactly_as_it_was() {
    let account = Account::new("us-west-1").await;
    let name = unique("fraud");
    let arn = seed_endpoint(
        &account.aws,
        &name,
        &[
            ("AutoShutdown", "true"),
            ("Team", "fraud"),
            ("CostCenter", "cc-7"),
        ],
    )
    .await;
    account.add_autoscaling(&name).await;
    let tags_before = account.tags(&arn).await;
    let scaling_before = account.autoscaling(&name).await;
    assert_eq!(
        scaling_before.1.as_array().unwrap().len(),
        1,
        "seeded policy"
    );

    // Evening: snapshot, verify, deregister autoscaling, delete.
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("write-snapshot", Outcome::Done),
            ("deregister-autoscaling", Outcome::Done),
            ("delete-endpoint", Outcome::Done)
        ]
    );
    assert_eq!(
        account.endpoint_status(&name).await,
        None,
        "endpoint deleted"
    );
    let config = account
        .aws
        .sagemaker()
        .describe_endpoint_config()
        .endpoint_config_name(format!("{name}-config"))
        .send()
        .await;
    assert!(config.is_ok(), "the endpoint config stays");
    assert_eq!(
        account.object_keys("snapshots/").await,
        [format!("snapshots/endpoints/{name}.json")]
    );
    assert_eq!(
        account.autoscaling(&name).await.0,
        Value::from(Vec::<Value>::new()),
        "targets deregistered"
    );
    assert_eq!(run.report().metric("EndpointsParked"), Some(1.0));
    assert_eq!(
        run.report().metric("EstimatedHourlySavingsUSD"),
        Some(0.12),
        "one ml.m5.large ≈ $0.115/h"
    );
    assert!(
        run.report()
            .headline
            .as_deref()
            .unwrap()
            .contains("1 endpoint(s)")
    );

    // A second evening run changes nothing.
    let again = account.run(EVENING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);

    // Morning: recreate; autoscaling once it is InService (the emulator is instantly).
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("recreate-endpoint", Outcome::Done)]
    );
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("restore-autoscaling", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ]
    );

    assert_eq!(account.tags(&arn).await, tags_before, "same tags");
    assert_eq!(
        account.autoscaling(&name).await,
        scaling_before,
        "same targets, policies, scheduled actions"
    );
    let described = account
        .aws
        .sagemaker()
        .describe_endpoint()
        .endpoint_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.endpoint_config_name(),
        Some(format!("{name}-config").as_str())
    );
    assert!(account.object_keys("snapshots/").await.is_empty());
    assert_eq!(
        account.object_keys("archive/").await.len(),
        1,
        "snapshot archived"
    );

    let again = account.run(MORNING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_writes_nothing() {
    let account = Account::new("us-west-2").await;
    let name = unique("dry");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    let run = account.run(EVENING, &["--dry-run"], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("write-snapshot", Outcome::Planned),
            ("delete-endpoint", Outcome::Planned)
        ]
    );
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    assert!(
        account.object_keys("").await.is_empty(),
        "no snapshot written"
    );
    assert!(
        run.report()
            .headline
            .as_deref()
            .unwrap()
            .contains("would be parked")
    );
}

#[tokio::test]
async fn a_snapshot_that_cannot_be_written_leaves_the_endpoint_running() {
    let account = Account::new("eu-west-1").await;
    let name = unique("nobucket");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    // The bucket can be listed and the run's lease written, but no snapshot can be.
    let deny_snapshots = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{}/snapshots/*", account.bucket),
        }]
    });
    account
        .aws
        .s3()
        .put_bucket_policy()
        .bucket(&account.bucket)
        .policy(deny_snapshots.to_string())
        .send()
        .await
        .unwrap();
    let env = [
        ("STATE_BUCKET", account.bucket.as_str()),
        ("TIMEZONE", "Europe/Madrid"),
    ];
    let run = account
        .sandbox
        .run("endpoint-scheduler", EVENING, &[], &env);
    assert_eq!(run.code(), 1, "a failed write fails the run");
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("write-snapshot", Outcome::Failed)]
    );
    let findings = run.report().findings_for(&arn);
    assert_eq!(findings[0].rule, "snapshot-failed");
    assert_eq!(findings[0].severity, Severity::High);
}

#[tokio::test]
async fn a_crash_after_the_snapshot_is_finished_by_the_next_run() {
    let account = Account::new("eu-west-2").await;
    let name = unique("crash1");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    account.add_autoscaling(&name).await;
    let scaling_before = account.autoscaling(&name).await;
    // Park, then put the endpoint and its autoscaling back by hand to stand for a crash
    // after the snapshot was written and before anything was taken down.
    account.run(EVENING, &[], &[]);
    sagekeeper_core::sagemaker::endpoints::create(
        &account.aws.sagemaker(),
        &name,
        &format!("{name}-config"),
        &[("AutoShutdown".to_owned(), "true".to_owned())].into(),
    )
    .await
    .unwrap();
    account.add_autoscaling(&name).await;
    let snapshot_versions = account
        .aws
        .s3()
        .list_object_versions()
        .bucket(&account.bucket)
        .prefix("snapshots/")
        .send()
        .await
        .unwrap();
    let versions_before = snapshot_versions.versions().len();

    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("deregister-autoscaling", Outcome::Done),
            ("delete-endpoint", Outcome::Done)
        ],
        "the verified snapshot is reused, not rewritten"
    );
    let versions = account
        .aws
        .s3()
        .list_object_versions()
        .bucket(&account.bucket)
        .prefix("snapshots/")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), versions_before);
    assert_eq!(account.endpoint_status(&name).await, None);

    // And the round trip still ends where it started.
    account.run(MORNING, &[], &[]);
    account.run(MORNING, &[], &[]);
    assert_eq!(account.autoscaling(&name).await, scaling_before);
}

#[tokio::test]
async fn a_crash_after_recreating_is_finished_by_the_next_run() {
    let account = Account::new("eu-central-1").await;
    let name = unique("crash2");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    account.add_autoscaling(&name).await;
    let scaling_before = account.autoscaling(&name).await;
    account.run(EVENING, &[], &[]);
    // The morning run recreated the endpoint and stopped there.
    account.run(MORNING, &[], &[]);
    assert_eq!(
        account.autoscaling(&name).await.0,
        Value::from(Vec::<Value>::new())
    );
    assert_eq!(
        account.object_keys("snapshots/").await.len(),
        1,
        "snapshot kept until fully restored"
    );

    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("restore-autoscaling", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ]
    );
    assert_eq!(account.autoscaling(&name).await, scaling_before);
}

#[tokio::test]
async fn a_config_deleted_while_parked_is_reported_and_the_snapshot_kept() {
    let account = Account::new("ap-southeast-1").await;
    let name = unique("noconfig");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    account.run(EVENING, &[], &[]);
    account
        .aws
        .sagemaker()
        .delete_endpoint_config()
        .endpoint_config_name(format!("{name}-config"))
        .send()
        .await
        .unwrap();

    let run = account.run(MORNING, &[], &[]);
    assert!(
        run.report().outcomes_for(&arn).is_empty(),
        "nothing is created"
    );
    let findings = run.report().findings_for(&arn);
    assert_eq!(findings[0].rule, "parked-endpoint-config-missing");
    assert_eq!(findings[0].severity, Severity::High);
    assert_eq!(account.object_keys("snapshots/").await.len(), 1);
    assert_eq!(account.endpoint_status(&name).await, None);
}

#[tokio::test]
async fn only_opted_in_resources_are_touched_and_bad_tags_are_reported() {
    let account = Account::new("ap-southeast-2").await;
    let kept = seed_endpoint(&account.aws, &unique("prod"), &[("AutoShutdown", "false")]).await;
    let untagged = seed_endpoint(&account.aws, &unique("untagged"), &[("Team", "x")]).await;
    let typo = seed_endpoint(&account.aws, &unique("typo"), &[("AutoShutdown", "yes")]).await;
    let bad_schedule = seed_endpoint(
        &account.aws,
        &unique("badsched"),
        &[
            ("AutoShutdown", "true"),
            ("sagekeeper:schedule", "no-such-schedule"),
        ],
    )
    .await;
    let run = account.run(EVENING, &[], &[]);
    for arn in [&kept, &untagged, &typo, &bad_schedule] {
        assert!(
            run.report().outcomes_for(arn).is_empty(),
            "{arn} was touched"
        );
    }
    assert!(run.report().findings_for(&kept).is_empty());
    assert!(run.report().findings_for(&untagged).is_empty());
    assert_eq!(
        run.report().findings_for(&typo)[0].rule,
        "unknown-opt-in-value"
    );
    assert_eq!(
        run.report().findings_for(&bad_schedule)[0].rule,
        "unknown-schedule"
    );
}

#[tokio::test]
async fn snoozed_endpoints_stay_up_and_expired_snoozes_are_removed() {
    let account = Account::new("ap-northeast-1").await;
    let snoozed_name = unique("snoozed");
    let snoozed = seed_endpoint(
        &account.aws,
        &snoozed_name,
        &[
            ("AutoShutdown", "true"),
            ("sagekeeper:snooze-until", "2026-11-20T22:00:00Z"),
        ],
    )
    .await;
    let expired_name = unique("expired");
    let expired = seed_endpoint(
        &account.aws,
        &expired_name,
        &[
            ("AutoShutdown", "true"),
            ("sagekeeper:snooze-until", "2026-11-20T17:00:00Z"),
        ],
    )
    .await;
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&snoozed),
        [("schedule", Outcome::Skipped)],
        "reported, not acted upon"
    );
    let skipped = run.report().actions_for(&snoozed);
    assert!(
        skipped[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("snooze-until"),
        "{:?}",
        skipped[0]
    );
    assert_eq!(
        account.endpoint_status(&snoozed_name).await.as_deref(),
        Some("InService")
    );
    assert_eq!(
        run.report().outcomes_for(&expired)[0],
        ("remove-expired-snooze", Outcome::Done)
    );
    assert!(
        run.report()
            .outcomes_for(&expired)
            .contains(&("delete-endpoint", Outcome::Done))
    );
    // The snapshot (and so the restored endpoint) no longer carries the expired tag.
    account.run(MORNING, &[], &[]);
    let tags = account.tags(&expired).await;
    assert!(
        !tags.iter().any(|(k, _)| k == "sagekeeper:snooze-until"),
        "{tags:?}"
    );
}

#[tokio::test]
async fn notebooks_stop_off_hours_and_start_in_hours() {
    let account = Account::new("ca-central-1").await;
    let name = unique("nb");
    let arn = support::seed_notebook(&account.aws, &name, None, &[("AutoShutdown", "true")]).await;
    let status = |account: &Account, name: String| {
        let client = account.aws.sagemaker();
        async move {
            let out = client
                .describe_notebook_instance()
                .notebook_instance_name(name)
                .send()
                .await
                .unwrap();
            out.notebook_instance_status()
                .map(|s| s.as_str().to_owned())
        }
    };
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("stop-notebook", Outcome::Done)]
    );
    assert_eq!(
        status(&account, name.clone()).await.as_deref(),
        Some("Stopped")
    );
    assert_eq!(run.report().metric("NotebooksStopped"), Some(1.0));
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("start-notebook", Outcome::Done)]
    );
    assert_eq!(status(&account, name).await.as_deref(), Some("InService"));
}

/// A scheduler run through the fault proxy (no random faults unless `rate` says so).
fn run_through(account: &Account, proxy: &support::faultproxy::Proxy, event: &str) -> Run {
    let mut env = vec![
        ("STATE_BUCKET", account.bucket.as_str()),
        ("TIMEZONE", "Europe/Madrid"),
    ];
    env.extend(proxy.function_env("1"));
    account.sandbox.run("endpoint-scheduler", event, &[], &env)
}

async fn object_text(account: &Account, key: &str) -> String {
    let out = account
        .aws
        .s3()
        .get_object()
        .bucket(&account.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = out.body.collect().await.unwrap().into_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs the morning until nothing is left to do (recreate, capacity, autoscaling).
fn restore_fully(account: &Account) {
    for _ in 0..4 {
        if writes(&account.run(MORNING, &[], &[])).is_empty() {
            return;
        }
    }
    panic!("the morning restore did not converge");
}

// Issue #12: a snapshot that could not be read used to be overwritten by the park that
// followed, and with it what it held about the endpoint.
#[tokio::test]
async fn an_endpoint_whose_snapshot_cannot_be_read_stays_up() {
    let account = Account::new("sa-east-1").await;
    let broken_name = unique("unreadable");
    let broken = seed_endpoint(&account.aws, &broken_name, &[("AutoShutdown", "true")]).await;
    let control_name = unique("readable");
    let control = seed_endpoint(&account.aws, &control_name, &[("AutoShutdown", "true")]).await;
    let key = format!("snapshots/endpoints/{broken_name}.json");
    account
        .aws
        .s3()
        .put_object()
        .bucket(&account.bucket)
        .key(&key)
        .body(b"{\"format\": 2, \"endpoint_name\": ".to_vec().into())
        .send()
        .await
        .unwrap();

    let run = account.sandbox.run(
        "endpoint-scheduler",
        EVENING,
        &[],
        &[
            ("STATE_BUCKET", account.bucket.as_str()),
            ("TIMEZONE", "Europe/Madrid"),
        ],
    );
    assert!(
        run.report().outcomes_for(&broken).is_empty(),
        "{}",
        run.json
    );
    assert_eq!(
        run.report().findings_for(&broken)[0].rule,
        "snapshot-unreadable"
    );
    assert_eq!(
        account.endpoint_status(&broken_name).await.as_deref(),
        Some("InService")
    );
    assert_eq!(
        object_text(&account, &key).await,
        "{\"format\": 2, \"endpoint_name\": ",
        "the unreadable snapshot is left as it is"
    );
    // Control: an endpoint whose snapshot is known is parked by the same run.
    assert_eq!(
        run.report().outcomes_for(&control),
        [
            ("write-snapshot", Outcome::Done),
            ("delete-endpoint", Outcome::Done)
        ]
    );
    assert_eq!(account.endpoint_status(&control_name).await, None);
}

// Issue #12: a run that could not list the state bucket did not know which endpoints were
// already parked, and parked anyway (overwriting their snapshots).
#[tokio::test]
async fn nothing_is_parked_while_the_state_bucket_cannot_be_listed() {
    let account = Account::new("eu-north-1").await;
    let name = unique("unlisted");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    let proxy = support::faultproxy::Proxy::start("0", 11, &["--fail-list-objects"]);

    let run = run_through(&account, &proxy, EVENING);
    assert!(run.report().outcomes_for(&arn).is_empty(), "{}", run.json);
    assert_eq!(
        run.report().findings_for(&arn)[0].rule,
        "snapshot-unreadable"
    );
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    assert!(proxy.counts().all["failed-list"].as_u64().unwrap() > 0);
    assert!(account.object_keys("snapshots/").await.is_empty());

    // Control: once the bucket can be listed again, the endpoint is parked.
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("write-snapshot", Outcome::Done),
            ("delete-endpoint", Outcome::Done)
        ]
    );
}

// Issue #12: an endpoint scaled by hand came back with its config's instance count, and
// without its deployment configuration.
#[tokio::test]
async fn hand_set_capacity_and_deployment_config_come_back() {
    use aws_sdk_sagemaker::types::{
        AutoRollbackConfig, BlueGreenUpdatePolicy, CapacitySize, CapacitySizeType,
        DeploymentConfig, TrafficRoutingConfig, TrafficRoutingConfigType,
    };
    let account = Account::new("eu-west-3").await;
    let name = unique("handset");
    seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    // The same endpoint, created again with a blue/green deployment configuration.
    let sm = account.aws.sagemaker();
    sm.delete_endpoint()
        .endpoint_name(&name)
        .send()
        .await
        .unwrap();
    let deployment = DeploymentConfig::builder()
        .blue_green_update_policy(
            BlueGreenUpdatePolicy::builder()
                .traffic_routing_configuration(
                    TrafficRoutingConfig::builder()
                        .r#type(TrafficRoutingConfigType::Canary)
                        .wait_interval_in_seconds(300)
                        .canary_size(
                            CapacitySize::builder()
                                .r#type(CapacitySizeType::CapacityPercent)
                                .value(10)
                                .build(),
                        )
                        .build(),
                )
                .termination_wait_in_seconds(600)
                .build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfig::builder()
                .alarms(
                    aws_sdk_sagemaker::types::Alarm::builder()
                        .alarm_name(format!("{name}-errors"))
                        .build(),
                )
                .build(),
        )
        .build();
    let arn = sm
        .create_endpoint()
        .endpoint_name(&name)
        .endpoint_config_name(format!("{name}-config"))
        .deployment_config(deployment)
        .tags(Tag::builder().key("AutoShutdown").value("true").build())
        .send()
        .await
        .unwrap()
        .endpoint_arn
        .unwrap();
    account.add_autoscaling(&name).await;
    support::parking::set_capacity(&account.aws, &name, 3, 0.5).await;
    let before = support::parking::restorable_state(&account.aws, &name).await;
    assert_eq!(
        before["variants"],
        serde_json::json!([["AllTraffic", 3, 0.5]])
    );
    assert!(before["deployment_config"].is_string(), "{before}");

    let run = account.run(EVENING, &[], &[]);
    assert!(
        run.report()
            .outcomes_for(&arn)
            .contains(&("delete-endpoint", Outcome::Done))
    );
    account.run(MORNING, &[], &[]);
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("restore-capacity", Outcome::Done)]
    );
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arn),
        [
            ("restore-autoscaling", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ]
    );
    assert_eq!(
        support::parking::restorable_state(&account.aws, &name).await,
        before,
        "same instance count, weight, deployment config, autoscaling and tags"
    );
}

// Snapshots written before format 2 (no weights, no deployment config) still bring their
// endpoint back, instance count included.
#[tokio::test]
async fn a_format_1_snapshot_is_still_restored() {
    let account = Account::new("eu-south-1").await;
    let name = unique("format1");
    let arn = seed_endpoint(
        &account.aws,
        &name,
        &[("AutoShutdown", "true"), ("Team", "t")],
    )
    .await;
    account.add_autoscaling(&name).await;
    let scaling_before = account.autoscaling(&name).await;
    let tags_before = account.tags(&arn).await;
    account.run(EVENING, &[], &[]);
    // Rewrite the snapshot as the previous version wrote it.
    let key = format!("snapshots/endpoints/{name}.json");
    let mut snapshot: Value = serde_json::from_str(&object_text(&account, &key).await).unwrap();
    snapshot["format"] = 1.into();
    snapshot
        .as_object_mut()
        .unwrap()
        .remove("deployment_config");
    for variant in snapshot["instances"].as_array_mut().unwrap() {
        variant.as_object_mut().unwrap().remove("weight");
    }
    account
        .aws
        .s3()
        .put_object()
        .bucket(&account.bucket)
        .key(&key)
        .body(serde_json::to_vec(&snapshot).unwrap().into())
        .send()
        .await
        .unwrap();

    restore_fully(&account);
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    assert_eq!(account.autoscaling(&name).await, scaling_before);
    assert_eq!(account.tags(&arn).await, tags_before);
    assert!(
        account.object_keys("snapshots/").await.is_empty(),
        "archived"
    );
}

// Issue #12: deleting a step-scaling policy (deregistering its target does) detaches it from
// its alarms; the policy came back with a new ARN that no alarm invoked.
#[tokio::test]
async fn step_scaling_policies_come_back_with_their_alarms() {
    let account = Account::new("me-south-1").await;
    let name = unique("stepped");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    account.add_autoscaling(&name).await;
    support::parking::seed_step_scaling(&account.aws, &name).await;
    let before = support::parking::restorable_state(&account.aws, &name).await;
    assert_eq!(
        before["alarms"][0]["alarm_actions"],
        serde_json::json!([
            format!("policy:{}", support::parking::STEP_POLICY),
            "arn:aws:sns:us-east-1:123456789012:pager"
        ])
    );

    let run = account.run(EVENING, &[], &[]);
    assert!(
        run.report()
            .outcomes_for(&arn)
            .contains(&("delete-endpoint", Outcome::Done))
    );
    let parked = support::parking::restorable_state(&account.aws, &name).await;
    assert_eq!(
        parked["alarms"][0]["alarm_actions"],
        serde_json::json!(["arn:aws:sns:us-east-1:123456789012:pager"]),
        "parking detached the policy from its alarm, as AWS does"
    );

    restore_fully(&account);
    assert_eq!(
        support::parking::restorable_state(&account.aws, &name).await,
        before,
        "both policies back, the alarm invoking the new step policy with its other actions"
    );
}

// Issue #12: an endpoint redeployed between its snapshot and its deletion was deleted, and
// the snapshot described another config than the one running.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_changes_while_it_is_parked_stays_up() {
    let account = Account::new("af-south-1").await;
    // Endpoints are handled in name order: the one that changes first.
    let moving_name = unique("a-moving");
    let moving = seed_endpoint(&account.aws, &moving_name, &[("AutoShutdown", "true")]).await;
    account.add_autoscaling(&moving_name).await;
    let control_name = unique("b-still");
    let control = seed_endpoint(&account.aws, &control_name, &[("AutoShutdown", "true")]).await;
    let scaling_before = account.autoscaling(&moving_name).await;
    let sm = account.aws.sagemaker();
    let v2 = format!("{moving_name}-config-v2");
    sm.create_endpoint_config()
        .endpoint_config_name(&v2)
        .production_variants(support::all_traffic(
            &moving_name,
            aws_sdk_sagemaker::types::ProductionVariantInstanceType::MlM5Large,
            1,
        ))
        .send()
        .await
        .unwrap();

    // Every call of the run waits 150-300 ms in the proxy; the redeployment lands right
    // after the snapshot is written, before the endpoint is deleted.
    let proxy = support::faultproxy::Proxy::start("0", 5, &["--latency-ms", "300"]);
    let key = format!("snapshots/endpoints/{moving_name}.json");
    let run = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let running = scope.spawn(|| run_through(&account, &proxy, EVENING));
            tokio::runtime::Handle::current().block_on(async {
                while account.object_keys(&key).await.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                sm.delete_endpoint()
                    .endpoint_name(&moving_name)
                    .send()
                    .await
                    .unwrap();
                sm.create_endpoint()
                    .endpoint_name(&moving_name)
                    .endpoint_config_name(&v2)
                    .tags(Tag::builder().key("AutoShutdown").value("true").build())
                    .send()
                    .await
                    .unwrap();
            });
            running.join().unwrap()
        })
    });
    assert_eq!(
        run.report().outcomes_for(&moving),
        [
            ("write-snapshot", Outcome::Done),
            ("deregister-autoscaling", Outcome::Done),
            ("restore-autoscaling", Outcome::Done)
        ],
        "{}",
        run.json
    );
    assert_eq!(
        run.report().findings_for(&moving)[0].rule,
        "endpoint-changed-while-parking"
    );
    let described = sm
        .describe_endpoint()
        .endpoint_name(&moving_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.endpoint_config_name(),
        Some(v2.as_str()),
        "the new deployment is up"
    );
    assert_eq!(account.autoscaling(&moving_name).await, scaling_before);
    // Control: the endpoint that did not change was parked by the same run.
    assert!(
        run.report()
            .outcomes_for(&control)
            .contains(&("delete-endpoint", Outcome::Done))
    );
    assert_eq!(account.endpoint_status(&control_name).await, None);

    // The next run plans again: it replaces the snapshot with one of the new deployment.
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&moving),
        [
            ("write-snapshot", Outcome::Done),
            ("deregister-autoscaling", Outcome::Done),
            ("delete-endpoint", Outcome::Done)
        ]
    );
    let snapshot: Value = serde_json::from_str(&object_text(&account, &key).await).unwrap();
    assert_eq!(snapshot["endpoint_config_name"], v2.as_str());
}

/// #14: an asynchronous endpoint is held at zero instances overnight and never deleted, so
/// the requests sent meanwhile wait in its queue; in the morning its own scaling limits,
/// policies and scheduled actions are back (unsuspended), and a variant that had no scalable
/// target loses the one the hold registered. Control: a real-time endpoint in the same runs
/// is deleted and recreated, as always.
#[tokio::test]
async fn asynchronous_endpoints_are_held_at_zero_overnight_and_released_in_the_morning() {
    let account = Account::new("eu-west-2").await;
    let opt_in = [("AutoShutdown", "true")];
    let (scaled, bare, real_time) = (unique("queue"), unique("queue-bare"), unique("rt"));
    let owned = unique("queue-owned");
    let scaled_arn = support::seed_async_endpoint(&account.aws, &scaled, &opt_in).await;
    let bare_arn = support::seed_async_endpoint(&account.aws, &bare, &opt_in).await;
    let owned_arn = support::seed_async_endpoint(&account.aws, &owned, &opt_in).await;
    let real_time_arn = seed_endpoint(&account.aws, &real_time, &opt_in).await;
    account.add_autoscaling(&scaled).await;
    let scaling_before = account.autoscaling(&scaled).await;
    let held = serde_json::json!([[0, 0, "sagemaker:variant:DesiredInstanceCount"]]);

    let dry = account.run(EVENING, &["--dry-run"], &[]);
    assert_eq!(
        dry.report().outcomes_for(&scaled_arn),
        [
            ("write-snapshot", Outcome::Planned),
            ("scale-to-zero", Outcome::Planned)
        ]
    );
    assert_eq!(
        account.autoscaling(&scaled).await,
        scaling_before,
        "dry run"
    );
    assert_eq!(
        account.autoscaling(&bare).await.0,
        Value::from(Vec::<Value>::new())
    );

    let evening = account.run(EVENING, &[], &[]);
    for arn in [&scaled_arn, &bare_arn] {
        assert_eq!(
            evening.report().outcomes_for(arn),
            [
                ("write-snapshot", Outcome::Done),
                ("scale-to-zero", Outcome::Done)
            ],
            "{arn}"
        );
    }
    for name in [&scaled, &bare] {
        assert_eq!(
            account.endpoint_status(name).await.as_deref(),
            Some("InService"),
            "{name} is held, not deleted"
        );
        assert_eq!(account.autoscaling(name).await.0, held, "{name}");
    }
    assert_eq!(
        account.autoscaling(&scaled).await.1,
        scaling_before.1,
        "its policies stay attached while it is held"
    );
    assert_eq!(
        scheduled_scaling_suspended(&account, &scaled).await,
        Some(true),
        "no scheduled action raises the limits while it is held"
    );
    assert_eq!(
        account.endpoint_status(&real_time).await,
        None,
        "control: the real-time endpoint is deleted"
    );
    let headline = evening.report().headline.clone().unwrap_or_default();
    assert!(headline.starts_with("4 endpoint(s)"), "{headline}");

    let again = account.run(EVENING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);
    let headline = again.report().headline.clone().unwrap_or_default();
    assert!(
        headline.starts_with("4 endpoint(s)"),
        "still counted: {headline}"
    );

    // Overnight, the owner of one held endpoint gives it autoscaling of their own.
    account
        .aws
        .autoscaling()
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(format!("endpoint/{owned}/variant/AllTraffic"))
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .unwrap();

    let morning = account.run(MORNING, &[], &[]);
    assert_eq!(
        morning.report().outcomes_for(&scaled_arn),
        [
            ("restore-autoscaling", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ]
    );
    assert_eq!(
        morning.report().outcomes_for(&bare_arn),
        [
            ("release-hold", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ]
    );
    assert_eq!(account.autoscaling(&scaled).await, scaling_before);
    assert_eq!(
        scheduled_scaling_suspended(&account, &scaled).await,
        Some(false)
    );
    assert_eq!(
        account.autoscaling(&bare).await.0,
        Value::from(Vec::<Value>::new()),
        "the hold's own target is gone"
    );
    assert_eq!(
        morning.report().outcomes_for(&owned_arn),
        [("archive-snapshot", Outcome::Done)],
        "the owner's own target is not the hold's to remove"
    );
    assert_eq!(
        account.autoscaling(&owned).await.0,
        serde_json::json!([[1, 3, "sagemaker:variant:DesiredInstanceCount"]])
    );
    assert_eq!(
        morning.report().outcomes_for(&real_time_arn),
        [("recreate-endpoint", Outcome::Done)]
    );
    let snapshots = account.object_keys("snapshots/").await;
    assert_eq!(
        snapshots,
        [format!("snapshots/endpoints/{real_time}.json")],
        "only the real-time endpoint's snapshot waits for its autoscaling step"
    );
}

async fn scheduled_scaling_suspended(account: &Account, endpoint: &str) -> Option<bool> {
    let (targets, _, _) = support::parking::autoscaling(&account.aws, endpoint).await;
    targets
        .scalable_targets()
        .first()?
        .suspended_state()?
        .scheduled_scaling_suspended()
}

// --- Studio ------------------------------------------------------------------------------

use aws_sdk_sagemaker::types::{AppInstanceType, AppType};
use support::studio::{
    LAST_USER_ACTIVITY, Owner, app_state, delete_app, seed_app, seed_domain, seed_profile,
    seed_space,
};

const IMAGE: &str = "arn:aws:sagemaker:us-west-2:081325390199:image/sagemaker-distribution-cpu";
const LCC: &str = "arn:aws:sagemaker:us-west-2:123456789012:studio-lifecycle-config/pip-install";
/// 2026-11-23 04:00 UTC, three hours before MORNING (08:05 Madrid = 07:05 UTC).
const DAWN_EPOCH: &str = "1795406400";
/// 2026-11-23 07:00 UTC, five minutes before MORNING.
const JUST_NOW_EPOCH: &str = "1795417200";

fn spec_of(instance: &str) -> Option<(String, String, String)> {
    Some((instance.to_owned(), IMAGE.to_owned(), LCC.to_owned()))
}

#[tokio::test]
async fn studio_spaces_are_parked_at_night_and_prewarmed_in_the_morning() {
    let account = Account::new("us-west-2").await;
    let aws = &account.aws;
    // Opted in through the domain: `lab` inherits, `code` says so itself, `mine` opts out.
    let domain = seed_domain(aws, &unique("ml"), &[("AutoShutdown", "true")]).await;
    seed_space(aws, &domain, "lab", &[]).await;
    seed_space(aws, &domain, "code", &[("AutoShutdown", "true")]).await;
    seed_space(aws, &domain, "stopped", &[]).await;
    seed_space(aws, &domain, "mine", &[("AutoShutdown", "false")]).await;
    let lab = (AppInstanceType::MlT3Large, IMAGE, LCC);
    let code = (AppInstanceType::MlM5Large, IMAGE, LCC);
    let lab_arn = seed_app(
        aws,
        &domain,
        Owner::Space("lab"),
        AppType::JupyterLab,
        Some(lab.clone()),
        &[("project", "fraud")],
    )
    .await;
    let code_arn = seed_app(
        aws,
        &domain,
        Owner::Space("code"),
        AppType::CodeEditor,
        Some(code),
        &[],
    )
    .await;
    seed_app(
        aws,
        &domain,
        Owner::Space("stopped"),
        AppType::JupyterLab,
        Some(lab.clone()),
        &[],
    )
    .await;
    delete_app(aws, &domain, Owner::Space("stopped"), AppType::JupyterLab).await;
    seed_app(
        aws,
        &domain,
        Owner::Space("mine"),
        AppType::JupyterLab,
        Some(lab.clone()),
        &[],
    )
    .await;
    // Control: a domain without the tag, its space's app running.
    let other = seed_domain(aws, &unique("other"), &[("Team", "ml")]).await;
    seed_space(aws, &other, "lab", &[]).await;
    seed_app(
        aws,
        &other,
        Owner::Space("lab"),
        AppType::JupyterLab,
        Some(lab),
        &[],
    )
    .await;

    let run = account.run(EVENING, &[], &[]);
    for arn in [&lab_arn, &code_arn] {
        assert_eq!(
            run.report().outcomes_for(arn),
            [
                ("write-snapshot", Outcome::Done),
                ("delete-app", Outcome::Done)
            ],
            "{}",
            run.json
        );
    }
    assert_eq!(writes(&run).len(), 4, "{}", run.json);
    let status = |domain: String, space: &'static str, app_type: AppType| async move {
        app_state(aws, &domain, Owner::Space(space), app_type)
            .await
            .0
    };
    assert_eq!(
        status(domain.clone(), "lab", AppType::JupyterLab).await,
        "Deleted"
    );
    assert_eq!(
        status(domain.clone(), "code", AppType::CodeEditor).await,
        "Deleted"
    );
    assert_eq!(
        status(domain.clone(), "mine", AppType::JupyterLab).await,
        "InService"
    );
    assert_eq!(
        status(other.clone(), "lab", AppType::JupyterLab).await,
        "InService"
    );
    let mut keys = account.object_keys("snapshots/studio/").await;
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("snapshots/studio/{domain}/space/code/CodeEditor/default.json"),
            format!("snapshots/studio/{domain}/space/lab/JupyterLab/default.json"),
        ]
    );
    assert_eq!(run.report().metric("StudioAppsParked"), Some(2.0));
    assert_eq!(
        run.report().metric("EstimatedHourlySavingsUSD"),
        Some(0.22),
        "ml.t3.large $0.10/h + ml.m5.large $0.115/h"
    );
    let again = account.run(EVENING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);
    assert_eq!(
        again.report().metric("StudioAppsParked"),
        Some(2.0),
        "still parked"
    );

    let run = account.run(MORNING, &[], &[]);
    for arn in [&lab_arn, &code_arn] {
        assert_eq!(
            run.report().outcomes_for(arn),
            [
                ("create-app", Outcome::Done),
                ("archive-snapshot", Outcome::Done)
            ],
            "{}",
            run.json
        );
    }
    assert_eq!(
        writes(&run).len(),
        4,
        "only the two parked apps: {}",
        run.json
    );
    let lab_now = app_state(aws, &domain, Owner::Space("lab"), AppType::JupyterLab).await;
    assert_eq!(lab_now, ("InService".to_owned(), spec_of("ml.t3.large")));
    let code_now = app_state(aws, &domain, Owner::Space("code"), AppType::CodeEditor).await;
    assert_eq!(code_now, ("InService".to_owned(), spec_of("ml.m5.large")));
    assert_eq!(
        status(domain.clone(), "stopped", AppType::JupyterLab).await,
        "Deleted",
        "not running at park time: not started"
    );
    assert_eq!(
        support::sagemaker_tags(aws, &lab_arn)
            .await
            .get("project")
            .map(String::as_str),
        Some("fraud"),
        "the app's own tag comes back with it"
    );
    assert!(account.object_keys("snapshots/").await.is_empty());
    assert_eq!(account.object_keys("archive/studio/").await.len(), 2);
    let again = account.run(MORNING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);

    // The next evening ListApps lists each pre-warmed app after its Deleted record of the
    // night before: the live one is what is parked again.
    let next = account.run(EVENING, &[], &[]);
    for arn in [&lab_arn, &code_arn] {
        assert_eq!(
            next.report().outcomes_for(arn),
            [
                ("write-snapshot", Outcome::Done),
                ("delete-app", Outcome::Done)
            ],
            "{}",
            next.json
        );
    }
}

#[tokio::test]
async fn a_parked_studio_app_is_given_back_when_its_owner_opts_out_and_left_when_its_space_is_taken()
 {
    let account = Account::new("us-west-2").await;
    let aws = &account.aws;
    let domain = seed_domain(aws, &unique("owners"), &[("AutoShutdown", "true")]).await;
    let spec = Some((AppInstanceType::MlT3Large, IMAGE, LCC));
    let mut arns = std::collections::BTreeMap::new();
    for space in ["optout", "taken", "free", "bare", "typo", "gone"] {
        seed_space(aws, &domain, space, &[]).await;
        let spec = if space == "bare" { None } else { spec.clone() };
        let arn = seed_app(
            aws,
            &domain,
            Owner::Space(space),
            AppType::JupyterLab,
            spec,
            &[],
        )
        .await;
        arns.insert(space, arn);
    }
    let state = |space| app_state(aws, &domain, Owner::Space(space), AppType::JupyterLab);

    let run = account.run(EVENING, &[], &[]);
    for space in ["optout", "taken", "free", "typo", "gone"] {
        assert_eq!(
            run.report().outcomes_for(&arns[space]),
            [
                ("write-snapshot", Outcome::Done),
                ("delete-app", Outcome::Done)
            ],
            "{space}: {}",
            run.json
        );
    }
    // No instance type known: parked, it would come back on another one.
    let bare = run.report().actions_for(&arns["bare"]);
    assert_eq!(bare.len(), 1, "{}", run.json);
    assert_eq!(bare[0].outcome, Outcome::Skipped);
    assert!(
        bare[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("no instance type")
    );
    assert_eq!(state("bare").await.0, "InService");

    // Overnight the owner of `optout` opts out: its app comes back now; `free` stays parked.
    // `typo`'s owner mistypes the tag: left alone, not started. `gone` is deleted.
    let tag_space = |space: &'static str, value: &'static str| {
        let arn = account
            .sandbox
            .sagemaker_arn(&format!("space/{domain}/{space}"));
        async move {
            aws.sagemaker()
                .add_tags()
                .resource_arn(arn)
                .set_tags(Some(support::sagemaker_tags_of(&[("AutoShutdown", value)])))
                .send()
                .await
                .unwrap();
        }
    };
    tag_space("typo", "ture").await;
    aws.sagemaker()
        .delete_space()
        .domain_id(&domain)
        .space_name("gone")
        .send()
        .await
        .unwrap();
    aws.sagemaker()
        .add_tags()
        .resource_arn(
            account
                .sandbox
                .sagemaker_arn(&format!("space/{domain}/optout")),
        )
        .set_tags(Some(support::sagemaker_tags_of(&[(
            "AutoShutdown",
            "false",
        )])))
        .send()
        .await
        .unwrap();
    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arns["optout"]),
        [
            ("create-app", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ],
        "{}",
        run.json
    );
    let rules: Vec<_> = run
        .report()
        .findings_for(&arns["optout"])
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, ["opted-out-while-parked"]);
    assert_eq!(state("optout").await.0, "InService");
    assert!(
        run.report().actions_for(&arns["free"]).is_empty(),
        "{}",
        run.json
    );
    assert_eq!(state("free").await.0, "Deleted");
    assert!(
        run.report().actions_for(&arns["typo"]).is_empty(),
        "{}",
        run.json
    );
    assert_eq!(state("typo").await.0, "Deleted");
    let typo = run.report().findings_for(
        &account
            .sandbox
            .sagemaker_arn(&format!("space/{domain}/typo")),
    );
    assert_eq!(typo.len(), 1, "{}", run.json);
    assert_eq!(typo[0].rule, "unknown-opt-in-value");
    // A deleted space's app cannot come back: its snapshot is archived, at once.
    assert_eq!(
        run.report().outcomes_for(&arns["gone"]),
        [("archive-snapshot", Outcome::Done)],
        "{}",
        run.json
    );
    let rules: Vec<_> = run
        .report()
        .findings_for(&arns["gone"])
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, ["prewarm-skipped"]);

    // Before the window its user opens Code Editor in `taken`: a space runs one app at a
    // time, so the morning archives the JupyterLab snapshot instead of failing on CreateApp.
    seed_app(
        aws,
        &domain,
        Owner::Space("taken"),
        AppType::CodeEditor,
        spec,
        &[],
    )
    .await;
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        run.report().outcomes_for(&arns["taken"]),
        [("archive-snapshot", Outcome::Done)],
        "{}",
        run.json
    );
    let rules: Vec<_> = run
        .report()
        .findings_for(&arns["taken"])
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, ["prewarm-skipped"]);
    assert_eq!(state("taken").await.0, "Deleted");
    assert_eq!(
        run.report().outcomes_for(&arns["free"]),
        [
            ("create-app", Outcome::Done),
            ("archive-snapshot", Outcome::Done)
        ],
        "control: {}",
        run.json
    );
    assert!(run.report().errors.is_empty(), "{}", run.json);
    let again = account.run(MORNING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.json);
}

#[tokio::test]
async fn canvas_is_closed_at_night_and_not_reopened() {
    let account = Account::new("us-west-2").await;
    let aws = &account.aws;
    let domain = seed_domain(aws, &unique("canvas"), &[]).await;
    seed_profile(aws, &domain, "ana", &[("AutoShutdown", "true")]).await;
    seed_profile(aws, &domain, "bo", &[]).await;
    let ana = seed_app(aws, &domain, Owner::User("ana"), AppType::Canvas, None, &[]).await;
    seed_app(aws, &domain, Owner::User("bo"), AppType::Canvas, None, &[]).await;

    let run = account.run(EVENING, &[], &[]);
    let actions = run.report().actions_for(&ana);
    assert_eq!(actions.len(), 1, "{}", run.json);
    assert_eq!(actions[0].action, "close-canvas");
    assert_eq!(actions[0].outcome, Outcome::Done);
    assert_eq!(
        actions[0].detail.as_deref(),
        Some(format!("Canvas session of user ana closed (domain {domain}), ~$1.90/h").as_str())
    );
    assert_eq!(run.report().metric("CanvasSessionsClosed"), Some(1.0));
    assert_eq!(run.report().metric("EstimatedHourlySavingsUSD"), Some(1.9));
    assert!(
        run.report()
            .headline
            .as_deref()
            .unwrap()
            .contains("1 Canvas session(s)")
    );
    let state = |user| app_state(aws, &domain, Owner::User(user), AppType::Canvas);
    assert_eq!(state("ana").await.0, "Deleted");
    assert_eq!(state("bo").await.0, "InService", "bo did not opt in");
    assert!(
        account.object_keys("snapshots/").await.is_empty(),
        "no snapshot"
    );

    let run = account.run(MORNING, &[], &[]);
    assert!(writes(&run).is_empty(), "{}", run.json);
    assert_eq!(state("ana").await.0, "Deleted", "never reopened");
}

#[tokio::test]
async fn an_idle_studio_app_is_parked_in_hours_and_not_prewarmed() {
    let account = Account::new("us-west-2").await;
    let aws = &account.aws;
    let domain = seed_domain(aws, &unique("idle"), &[("AutoShutdown", "true")]).await;
    seed_space(aws, &domain, "idle", &[]).await;
    seed_space(aws, &domain, "busy", &[]).await;
    let spec = Some((AppInstanceType::MlT3Large, IMAGE, LCC));
    let idle = seed_app(
        aws,
        &domain,
        Owner::Space("idle"),
        AppType::JupyterLab,
        spec.clone(),
        &[(LAST_USER_ACTIVITY, DAWN_EPOCH)],
    )
    .await;
    seed_app(
        aws,
        &domain,
        Owner::Space("busy"),
        AppType::JupyterLab,
        spec,
        &[(LAST_USER_ACTIVITY, JUST_NOW_EPOCH)],
    )
    .await;

    // Control: idle shutdown is off by default.
    let run = account.run(MORNING, &[], &[]);
    assert!(writes(&run).is_empty(), "{}", run.json);

    let idle_env = [("STUDIO_IDLE_MINUTES", "60")];
    let run = account.run(MORNING, &[], &idle_env);
    assert_eq!(
        run.report().outcomes_for(&idle),
        [
            ("write-snapshot", Outcome::Done),
            ("delete-app", Outcome::Done)
        ],
        "{}",
        run.json
    );
    assert_eq!(writes(&run).len(), 2, "the busy app stays: {}", run.json);
    let state = |space| app_state(aws, &domain, Owner::Space(space), AppType::JupyterLab);
    assert_eq!(state("idle").await.0, "Deleted");
    assert_eq!(state("busy").await.0, "InService");
    let key = format!("snapshots/studio/{domain}/space/idle/JupyterLab/default.json");
    let snapshot: Value = serde_json::from_str(&object_text(&account, &key).await).unwrap();
    assert_eq!(snapshot["prewarm"], Value::Bool(false), "{snapshot}");

    // Later in the window, and the next morning: not pre-warmed.
    let run = account.run(MORNING, &[], &idle_env);
    assert!(writes(&run).is_empty(), "{}", run.json);
    assert_eq!(state("idle").await.0, "Deleted");
}

#[tokio::test]
async fn a_dry_run_changes_no_studio_app() {
    let account = Account::new("us-west-2").await;
    let aws = &account.aws;
    let domain = seed_domain(aws, &unique("dry"), &[("AutoShutdown", "true")]).await;
    seed_space(aws, &domain, "lab", &[]).await;
    seed_profile(aws, &domain, "ana", &[]).await;
    let spec = Some((AppInstanceType::MlT3Large, IMAGE, LCC));
    let lab = seed_app(
        aws,
        &domain,
        Owner::Space("lab"),
        AppType::JupyterLab,
        spec,
        &[],
    )
    .await;
    let canvas = seed_app(aws, &domain, Owner::User("ana"), AppType::Canvas, None, &[]).await;

    let run = account.run(EVENING, &["--dry-run"], &[]);
    assert_eq!(
        run.report().outcomes_for(&lab),
        [
            ("write-snapshot", Outcome::Planned),
            ("delete-app", Outcome::Planned)
        ],
        "{}",
        run.json
    );
    assert_eq!(
        run.report().outcomes_for(&canvas),
        [("close-canvas", Outcome::Planned)]
    );
    assert_eq!(
        app_state(aws, &domain, Owner::Space("lab"), AppType::JupyterLab)
            .await
            .0,
        "InService"
    );
    assert_eq!(
        app_state(aws, &domain, Owner::User("ana"), AppType::Canvas)
            .await
            .0,
        "InService"
    );
    assert!(account.object_keys("snapshots/").await.is_empty());
}
