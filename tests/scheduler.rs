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
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, VersioningConfiguration,
};
use aws_sdk_sagemaker::types::Tag;
use sagekeeper_core::Aws;
use serde_json::Value;

mod support;
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
        aws.s3()
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await
            .unwrap();
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
        assert_eq!(run.code(), 0, "{}\n{}", run.report, run.stderr());
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
        let out = self
            .aws
            .sagemaker()
            .list_tags()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let mut tags: Vec<(String, String)> = out
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        tags.sort();
        tags
    }

    async fn object_keys(&self, prefix: &str) -> Vec<String> {
        let out = self
            .aws
            .s3()
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
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
        let aas = self.aws.autoscaling();
        let resource = format!("endpoint/{endpoint}/variant/AllTraffic");
        let targets = aas
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(&resource)
            .send()
            .await
            .unwrap();
        let policies = aas
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource)
            .send()
            .await
            .unwrap();
        let actions = aas
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource)
            .send()
            .await
            .unwrap();
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

fn actions_for<'a>(run: &'a Run, arn: &str) -> Vec<(&'a str, &'a str)> {
    run.report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["resource"] == arn)
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect()
}

fn writes(run: &Run) -> Vec<&Value> {
    run.report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "done" || a["outcome"] == "planned" || a["outcome"] == "failed")
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
        actions_for(&run, &arn),
        [
            ("write-snapshot", "done"),
            ("deregister-autoscaling", "done"),
            ("delete-endpoint", "done")
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
    assert_eq!(run.report["metrics"]["EndpointsParked"], 1.0);
    assert_eq!(
        run.report["metrics"]["EstimatedHourlySavingsUSD"], 0.12,
        "one ml.m5.large ≈ $0.115/h"
    );
    assert!(
        run.report["headline"]
            .as_str()
            .unwrap()
            .contains("1 endpoint(s)")
    );

    // A second evening run changes nothing.
    let again = account.run(EVENING, &[], &[]);
    assert!(writes(&again).is_empty(), "{}", again.report);

    // Morning: recreate; autoscaling once it is InService (the emulator is instantly).
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(actions_for(&run, &arn), [("recreate-endpoint", "done")]);
    assert_eq!(
        account.endpoint_status(&name).await.as_deref(),
        Some("InService")
    );
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(
        actions_for(&run, &arn),
        [
            ("restore-autoscaling", "done"),
            ("archive-snapshot", "done")
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
    assert!(writes(&again).is_empty(), "{}", again.report);
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_writes_nothing() {
    let account = Account::new("us-west-2").await;
    let name = unique("dry");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    let run = account.run(EVENING, &["--dry-run"], &[]);
    assert_eq!(
        actions_for(&run, &arn),
        [
            ("write-snapshot", "planned"),
            ("delete-endpoint", "planned")
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
        run.report["headline"]
            .as_str()
            .unwrap()
            .contains("would be parked")
    );
}

#[tokio::test]
async fn a_snapshot_that_cannot_be_written_leaves_the_endpoint_running() {
    let account = Account::new("eu-west-1").await;
    let name = unique("nobucket");
    let arn = seed_endpoint(&account.aws, &name, &[("AutoShutdown", "true")]).await;
    let missing_bucket = unique("missing-bucket");
    let env = [
        ("STATE_BUCKET", missing_bucket.as_str()),
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
    assert_eq!(actions_for(&run, &arn), [("write-snapshot", "failed")]);
    let findings = support::entries_for(&run.report, "findings", &arn);
    assert_eq!(findings[0]["rule"], "snapshot-failed");
    assert_eq!(findings[0]["severity"], "high");
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
        .send()
        .await
        .unwrap();
    let versions_before = snapshot_versions.versions().len();

    let run = account.run(EVENING, &[], &[]);
    assert_eq!(
        actions_for(&run, &arn),
        [
            ("deregister-autoscaling", "done"),
            ("delete-endpoint", "done")
        ],
        "the verified snapshot is reused, not rewritten"
    );
    let versions = account
        .aws
        .s3()
        .list_object_versions()
        .bucket(&account.bucket)
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
        actions_for(&run, &arn),
        [
            ("restore-autoscaling", "done"),
            ("archive-snapshot", "done")
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
    assert!(actions_for(&run, &arn).is_empty(), "nothing is created");
    let findings = support::entries_for(&run.report, "findings", &arn);
    assert_eq!(findings[0]["rule"], "parked-endpoint-config-missing");
    assert_eq!(findings[0]["severity"], "high");
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
        assert!(actions_for(&run, arn).is_empty(), "{arn} was touched");
    }
    assert!(support::entries_for(&run.report, "findings", &kept).is_empty());
    assert!(support::entries_for(&run.report, "findings", &untagged).is_empty());
    assert_eq!(
        support::entries_for(&run.report, "findings", &typo)[0]["rule"],
        "unknown-opt-in-value"
    );
    assert_eq!(
        support::entries_for(&run.report, "findings", &bad_schedule)[0]["rule"],
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
        actions_for(&run, &snoozed),
        [("schedule", "skipped")],
        "reported, not acted upon"
    );
    let skipped = support::entries_for(&run.report, "actions", &snoozed);
    assert!(
        skipped[0]["detail"]
            .as_str()
            .unwrap()
            .contains("snooze-until"),
        "{}",
        skipped[0]
    );
    assert_eq!(
        account.endpoint_status(&snoozed_name).await.as_deref(),
        Some("InService")
    );
    assert_eq!(
        actions_for(&run, &expired)[0],
        ("remove-expired-snooze", "done")
    );
    assert!(actions_for(&run, &expired).contains(&("delete-endpoint", "done")));
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
    let arn = account
        .aws
        .sagemaker()
        .create_notebook_instance()
        .notebook_instance_name(&name)
        .instance_type(aws_sdk_sagemaker::types::InstanceType::MlT3Medium)
        .role_arn("arn:aws:iam::123456789012:role/SageMakerExecutionRole")
        .tags(Tag::builder().key("AutoShutdown").value("true").build())
        .send()
        .await
        .unwrap()
        .notebook_instance_arn
        .unwrap();
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
    assert_eq!(actions_for(&run, &arn), [("stop-notebook", "done")]);
    assert_eq!(
        status(&account, name.clone()).await.as_deref(),
        Some("Stopped")
    );
    assert_eq!(run.report["metrics"]["NotebooksStopped"], 1.0);
    let run = account.run(MORNING, &[], &[]);
    assert_eq!(actions_for(&run, &arn), [("start-notebook", "done")]);
    assert_eq!(status(&account, name).await.as_deref(), Some("InService"));
}
