//! drift-retrainer against the local emulator, run as an operator runs it: alarm events in all
//! three shapes start exactly one retrain (a pipeline execution or a spot copy of a training
//! job), suppressions say why, and the notification says what drifted.
//!
//! Each test makes its own endpoint, pipeline or job and writes its own copies of the sample
//! alarms in events/ naming them, in a region no other test file uses.
//!
//! Not emulated, covered elsewhere with smithy mocks: pipeline executions that are still
//! running and training-job name collisions (functions/drift-retrainer/src/run.rs). Model
//! Monitor schedules and executions are the emulator's (scripts/emulator/monitoring.py): a
//! test seeds a schedule and makes executions of it with reserved tags on processing jobs.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemaker::types::{
    AppSpecification, EndpointInput, MonitoringAppSpecification, MonitoringClusterConfig,
    MonitoringInput, MonitoringJobDefinition, MonitoringOutput, MonitoringOutputConfig,
    MonitoringResources, MonitoringS3Output, MonitoringScheduleConfig, MonitoringType,
    ProcessingClusterConfig, ProcessingInstanceType, ProcessingOutput, ProcessingOutputConfig,
    ProcessingResources, ProcessingS3Output, ProcessingS3UploadMode, TrainingInstanceType,
};
use chrono::{DateTime, Duration, Timelike, Utc};
use sagekeeper_core::{Aws, Outcome, Severity};
use serde_json::{Value, json};

mod support;
use support::reports::{ActionRecord, Finding, ReportExt};
use support::retrain::{self, Alarm, REGION, ROLE, Shape, sample, source_job, write_event};
use support::{Run, aws_in, emulator_url, unique};

/// The Model Monitor analyzer image in the tests' region (sa-east-1).
const MONITOR_IMAGE: &str =
    "539772159869.dkr.ecr.sa-east-1.amazonaws.com/sagemaker-model-monitor-analyzer";

/// Nothing listens here: a run that made any AWS call would report a failed call.
const CLOSED_ENDPOINT: &str = "http://127.0.0.1:9";

struct Execution {
    display_name: String,
    description: String,
    parameters: Vec<(String, String)>,
}

struct Account {
    aws: Aws,
}

impl Account {
    async fn new() -> Account {
        let aws = aws_in(REGION).await;
        retrain::state_bucket(&aws).await;
        Account { aws }
    }

    fn run_at(&self, endpoint: &str, event: &Path, env: &[(&str, &str)]) -> Run {
        retrain::run_at(endpoint, event, env)
    }

    /// Runs the function on `event`; the run must succeed.
    fn run(&self, event: &Path, env: &[(&str, &str)]) -> Run {
        let run = self.run_at(emulator_url(), event, env);
        assert_eq!(run.code(), 0, "{}\n{}", run.json, run.stderr());
        run
    }

    async fn pipeline(&self, name: &str, parameters: &[&str]) {
        retrain::pipeline(&self.aws, name, parameters).await;
    }

    async fn endpoint(&self, name: &str, tags: &[(&str, &str)]) {
        support::seed_endpoint(&self.aws, name, tags).await;
    }

    /// An endpoint whose tag names a new pipeline declaring `parameters`; returns the pipeline.
    async fn endpoint_retrained_by_pipeline(&self, endpoint: &str, parameters: &[&str]) -> String {
        retrain::endpoint_retrained_by_pipeline(&self.aws, endpoint, parameters).await
    }

    async fn executions(&self, pipeline: &str) -> Vec<Execution> {
        let sm = self.aws.sagemaker();
        let listed = sm
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .send()
            .await
            .unwrap();
        let mut executions = Vec::new();
        for summary in listed.pipeline_execution_summaries() {
            let arn = summary.pipeline_execution_arn().unwrap();
            let parameters = sm
                .list_pipeline_parameters_for_execution()
                .pipeline_execution_arn(arn)
                .send()
                .await
                .unwrap();
            let mut parameters: Vec<(String, String)> = parameters
                .pipeline_parameters()
                .iter()
                .map(|p| {
                    (
                        p.name().unwrap_or_default().to_owned(),
                        p.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            parameters.sort();
            executions.push(Execution {
                display_name: summary
                    .pipeline_execution_display_name()
                    .unwrap_or_default()
                    .to_owned(),
                description: summary
                    .pipeline_execution_description()
                    .unwrap_or_default()
                    .to_owned(),
                parameters,
            });
        }
        executions
    }

    async fn bucket(&self) -> String {
        let bucket = unique("sk-reports");
        support::buckets::create_in(&self.aws, REGION, &bucket).await;
        bucket
    }

    /// The alarm's Model Monitor schedule: data quality on the alarm's endpoint, as the
    /// emulator holds it (scripts/emulator/monitoring.py).
    async fn monitoring_schedule(&self, alarm: &Alarm, output_uri: &str) {
        let definition = MonitoringJobDefinition::builder()
            .monitoring_inputs(
                MonitoringInput::builder()
                    .endpoint_input(
                        EndpointInput::builder()
                            .endpoint_name(&alarm.endpoint)
                            .local_path("/opt/ml/processing/input/endpoint")
                            .build(),
                    )
                    .build(),
            )
            .monitoring_output_config(
                MonitoringOutputConfig::builder()
                    .monitoring_outputs(
                        MonitoringOutput::builder()
                            .s3_output(
                                MonitoringS3Output::builder()
                                    .s3_uri(output_uri)
                                    .local_path("/opt/ml/processing/output")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .monitoring_resources(
                MonitoringResources::builder()
                    .cluster_config(
                        MonitoringClusterConfig::builder()
                            .instance_count(1)
                            .instance_type(ProcessingInstanceType::MlM5Xlarge)
                            .volume_size_in_gb(20)
                            .build(),
                    )
                    .build(),
            )
            .monitoring_app_specification(
                MonitoringAppSpecification::builder()
                    .image_uri(MONITOR_IMAGE)
                    .build(),
            )
            .role_arn(ROLE)
            .build();
        self.aws
            .sagemaker()
            .create_monitoring_schedule()
            .monitoring_schedule_name(&alarm.schedule)
            .monitoring_schedule_config(
                MonitoringScheduleConfig::builder()
                    .monitoring_type(MonitoringType::DataQuality)
                    .monitoring_job_definition(definition)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// An execution of the alarm's schedule, scheduled at `scheduled` with `status`, whose
    /// reports are in `output_uri`: a processing job (what an execution is) with the
    /// emulator's reserved tags, which make it an execution of the schedule.
    async fn monitoring_execution(
        &self,
        alarm: &Alarm,
        status: &str,
        scheduled: DateTime<Utc>,
        output_uri: &str,
    ) {
        let job = unique("model-monitoring");
        let scheduled = scheduled.timestamp().to_string();
        self.aws
            .sagemaker()
            .create_processing_job()
            .processing_job_name(&job)
            .role_arn(ROLE)
            .app_specification(AppSpecification::builder().image_uri(MONITOR_IMAGE).build())
            .processing_resources(
                ProcessingResources::builder()
                    .cluster_config(
                        ProcessingClusterConfig::builder()
                            .instance_count(1)
                            .instance_type(ProcessingInstanceType::MlM5Xlarge)
                            .volume_size_in_gb(20)
                            .build(),
                    )
                    .build(),
            )
            .processing_output_config(
                ProcessingOutputConfig::builder()
                    .outputs(
                        ProcessingOutput::builder()
                            .output_name("result")
                            .s3_output(
                                ProcessingS3Output::builder()
                                    .s3_uri(output_uri)
                                    .local_path("/opt/ml/processing/resultdata")
                                    .s3_upload_mode(ProcessingS3UploadMode::Continuous)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .set_tags(Some(support::sagemaker_tags_of(&[
                ("emulator:monitoring-schedule", &alarm.schedule),
                ("emulator:execution-status", status),
                ("emulator:scheduled-time", &scheduled),
            ])))
            .send()
            .await
            .unwrap();
    }

    /// Puts `fixture` (a file in tests/fixtures/) as `constraint_violations.json` under `prefix`.
    async fn violations_file(&self, bucket: &str, prefix: &str, fixture: &str) {
        self.aws
            .s3()
            .put_object()
            .bucket(bucket)
            .key(format!("{prefix}/constraint_violations.json"))
            .body(ByteStream::from(
                std::fs::read(support::repo_root().join("tests/fixtures").join(fixture)).unwrap(),
            ))
            .send()
            .await
            .unwrap();
    }
}

fn parameter<'a>(execution: &'a Execution, name: &str) -> &'a str {
    execution
        .parameters
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no parameter {name}: {:?}", execution.parameters))
}

fn only_action(run: &Run) -> &ActionRecord {
    let actions = &run.report().actions;
    assert_eq!(actions.len(), 1, "{}", run.json);
    &actions[0]
}

fn finding<'a>(run: &'a Run, rule: &str) -> &'a Finding {
    run.report()
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} finding: {}", run.json))
}

#[tokio::test]
async fn each_alarm_shape_starts_one_pipeline_execution_with_the_declared_parameters() {
    let account = Account::new().await;
    for shape in [Shape::EventBridge, Shape::LambdaAction, Shape::Sns] {
        let endpoint = unique("fraud");
        // Declares four parameters the retrainer fills and one it does not know.
        let pipeline = account
            .endpoint_retrained_by_pipeline(
                &endpoint,
                &[
                    "TriggerReason",
                    "AlarmName",
                    "EndpointName",
                    "RetrainKey",
                    "InstanceType",
                ],
            )
            .await;
        let alarm = Alarm::new(&endpoint);

        let run = account.run(&alarm.write(shape), &[]);

        let action = only_action(&run);
        assert_eq!(action.action, "start-pipeline-execution", "{shape:?}");
        assert_eq!(action.outcome, Outcome::Done, "{shape:?}: {}", run.json);
        assert_eq!(run.report().metric("RetrainsStarted"), Some(1.0));
        let executions = account.executions(&pipeline).await;
        assert_eq!(executions.len(), 1, "{shape:?}");
        let execution = &executions[0];
        let names: Vec<&str> = execution
            .parameters
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            ["AlarmName", "EndpointName", "RetrainKey", "TriggerReason"],
            "{shape:?}: only declared parameters, and only those it can fill"
        );
        assert_eq!(parameter(execution, "AlarmName"), alarm.name);
        assert_eq!(parameter(execution, "EndpointName"), endpoint);
        let key = parameter(execution, "RetrainKey");
        assert_eq!(key.len(), 64);
        assert!(
            parameter(execution, "TriggerReason")
                .starts_with(&format!("drift alarm {} went into ALARM at ", alarm.name)),
            "{:?}",
            execution.parameters
        );
        assert_eq!(
            execution.display_name,
            format!("sagekeeper-drift-{}", &key[..16])
        );
        assert!(
            execution
                .description
                .starts_with(&format!("[sagekeeper retrain-key={key}]"))
        );
        let headline = run.report().headline.as_deref().unwrap();
        assert!(
            headline.starts_with(&format!(
                "retrain started for {endpoint}: pipeline {pipeline} execution arn:aws:sagemaker:{REGION}:"
            )),
            "{headline}"
        );
        // No monitoring schedule or execution is seeded here: the retrain starts without a
        // report (the tests below seed one).
        assert!(
            headline.ends_with("(violation report unavailable)"),
            "{headline}"
        );
        let drift = &finding(&run, "drift").message;
        assert!(
            drift.contains(&format!(
                "no finished Model Monitor execution of schedule {} before the alarm",
                alarm.schedule
            )),
            "{drift}"
        );
    }
}

#[tokio::test]
async fn a_transition_delivered_again_in_any_shape_starts_nothing_new() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account
        .endpoint_retrained_by_pipeline(&endpoint, &["TriggerReason"])
        .await;
    let alarm = Alarm::new(&endpoint);

    let first = account.run(&alarm.write(Shape::EventBridge), &[]);
    assert_eq!(only_action(&first).outcome, Outcome::Done);
    for shape in [Shape::EventBridge, Shape::Sns, Shape::LambdaAction] {
        let again = account.run(&alarm.write(shape), &[]);
        let action = only_action(&again);
        assert_eq!(action.outcome, Outcome::Skipped, "{shape:?}");
        assert!(
            action
                .detail
                .as_deref()
                .unwrap()
                .starts_with("duplicate delivery: arn:aws:sagemaker:"),
            "{action:?}"
        );
        assert_eq!(again.report().metric("RetrainsSuppressed"), Some(1.0));
        assert_eq!(
            finding(&again, "retrain-suppressed").severity,
            Severity::Info
        );
    }
    assert_eq!(account.executions(&pipeline).await.len(), 1);
}

#[tokio::test]
async fn ok_and_insufficient_data_transitions_start_nothing_and_call_nothing() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
    for state in ["OK", "INSUFFICIENT_DATA"] {
        let alarm = Alarm {
            state,
            ..Alarm::new(&endpoint)
        };
        for shape in [Shape::EventBridge, Shape::Sns] {
            // Against a closed port: any AWS call would fail the run.
            let run = account.run_at(CLOSED_ENDPOINT, &alarm.write(shape), &[]);
            assert_eq!(run.code(), 0, "{}", run.json);
            let action = only_action(&run);
            assert_eq!(action.outcome, Outcome::Skipped);
            assert_eq!(
                action.detail.as_deref(),
                Some(&*format!(
                    "alarm is {state}: only a change into ALARM starts a retrain"
                ))
            );
            assert!(run.report().errors.is_empty());
        }
    }
    assert!(account.executions(&pipeline).await.is_empty());
}

#[tokio::test]
async fn a_new_transition_within_the_cooldown_is_suppressed() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
    let alarm = Alarm::new(&endpoint);
    account.run(&alarm.write(Shape::EventBridge), &[]);

    // The alarm went back to OK and, 30 minutes later, into ALARM again.
    let again = account.run(&alarm.later(30).write(Shape::EventBridge), &[]);
    let action = only_action(&again);
    assert_eq!(action.outcome, Outcome::Skipped);
    let detail = action.detail.as_deref().unwrap();
    assert!(
        detail.starts_with("cooldown: arn:aws:sagemaker:"),
        "{detail}"
    );
    assert_eq!(
        finding(&again, "retrain-suppressed").severity,
        Severity::Low
    );
    assert!(
        again
            .report()
            .headline
            .as_deref()
            .unwrap()
            .starts_with(&format!("retrain of {endpoint} suppressed: cooldown"))
    );
    assert_eq!(account.executions(&pipeline).await.len(), 1);

    // With the cooldown off, the next transition starts a second retrain.
    let no_cooldown = [("RETRAIN_COOLDOWN_HOURS", "0")];
    let third = account.run(&alarm.later(31).write(Shape::EventBridge), &no_cooldown);
    assert_eq!(only_action(&third).outcome, Outcome::Done, "{}", third.json);
    assert_eq!(account.executions(&pipeline).await.len(), 2);
}

#[tokio::test]
async fn retrains_beyond_the_daily_cap_are_suppressed() {
    // The emulator stamps executions with the clock: keep the test within one UTC day.
    let now = Utc::now();
    if now.hour() == 23 && now.minute() == 59 {
        tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    }
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
    let env = [("RETRAIN_COOLDOWN_HOURS", "0"), ("RETRAIN_DAILY_CAP", "2")];
    let alarm = Alarm::new(&endpoint);

    for minutes in [0, 1] {
        let run = account.run(&alarm.later(minutes).write(Shape::Sns), &env);
        assert_eq!(only_action(&run).outcome, Outcome::Done);
    }
    let capped = account.run(&alarm.later(2).write(Shape::Sns), &env);
    let detail = only_action(&capped).detail.as_deref().unwrap().to_owned();
    assert!(
        detail.starts_with("daily cap: 2 retrain(s) of this target started on"),
        "{detail}"
    );
    assert!(detail.ends_with("at most 2 per day"), "{detail}");
    assert_eq!(account.executions(&pipeline).await.len(), 2);
}

#[tokio::test]
async fn a_job_target_is_copied_with_its_encryption_network_and_tags_onto_spot_with_checkpoints() {
    let account = Account::new().await;
    let endpoint = unique("churn");
    let source = unique("churn-xgb");
    source_job(&account.aws, &source, ROLE).await;
    account
        .endpoint(&endpoint, &[("sagekeeper:retrain-from-job", &source)])
        .await;
    let alarm = Alarm::new(&endpoint);
    let env = [("RETRAIN_ROLE_ARN", ROLE)];

    let run = account.run(&alarm.write(Shape::LambdaAction), &env);
    let action = only_action(&run);
    assert_eq!(action.action, "create-training-job");
    assert_eq!(action.outcome, Outcome::Done, "{}", run.json);
    let copy_arn = action.resource.as_str();
    let copy = copy_arn.rsplit('/').next().unwrap();
    assert!(copy.starts_with(&format!("{source}-rt-")), "{copy}");

    let sm = account.aws.sagemaker();
    let job = sm
        .describe_training_job()
        .training_job_name(copy)
        .send()
        .await
        .unwrap();
    let output = job.output_data_config().unwrap();
    assert_eq!(
        output.kms_key_id(),
        Some("arn:aws:kms:sa-east-1:123456789012:key/output-key")
    );
    let resources = job.resource_config().unwrap();
    assert_eq!(
        resources.volume_kms_key_id(),
        Some("arn:aws:kms:sa-east-1:123456789012:key/volume-key")
    );
    assert_eq!(
        resources.instance_type(),
        Some(&TrainingInstanceType::MlM5Xlarge)
    );
    let vpc = job.vpc_config().unwrap();
    assert_eq!(vpc.security_group_ids(), ["sg-0123456789abcdef0"]);
    assert_eq!(vpc.subnets(), ["subnet-0123456789abcdef0"]);
    assert_eq!(job.enable_network_isolation(), Some(true));
    assert_eq!(job.enable_inter_container_traffic_encryption(), Some(true));
    assert_eq!(job.role_arn(), Some(ROLE));
    assert_eq!(job.hyper_parameters().unwrap()["max_depth"], "5");
    assert_eq!(
        job.input_data_config()[0]
            .data_source()
            .and_then(|d| d.s3_data_source())
            .and_then(|s| s.s3_uri()),
        Some("s3://acme-ml-training-data/churn/train/")
    );
    // Spot with checkpointing.
    assert_eq!(job.enable_managed_spot_training(), Some(true));
    let stopping = job.stopping_condition().unwrap();
    assert_eq!(stopping.max_runtime_in_seconds(), Some(3600));
    assert_eq!(stopping.max_wait_time_in_seconds(), Some(7200));
    assert_eq!(
        job.checkpoint_config().and_then(|c| c.s3_uri()),
        Some(format!("s3://acme-ml-model-artifacts/churn/{copy}/checkpoints/").as_str())
    );
    let tags: Vec<(String, String)> = sm
        .list_tags()
        .resource_arn(copy_arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    for (key, value) in [
        ("Team", "churn"),
        ("sagekeeper:retrained-from", source.as_str()),
        ("sagekeeper:trigger-alarm", alarm.name.as_str()),
    ] {
        assert!(
            tags.contains(&(key.to_owned(), value.to_owned())),
            "{key}: {tags:?}"
        );
    }
    assert!(tags.iter().any(|(k, _)| k == "sagekeeper:retrain-key"));

    // The same transition again: the job of that name is found, nothing is created.
    let again = account.run(&alarm.write(Shape::Sns), &env);
    let action = only_action(&again);
    assert_eq!(action.outcome, Outcome::Skipped);
    assert_eq!(
        action.detail.as_deref(),
        Some(&*format!(
            "duplicate delivery: {copy_arn} was already started for this alarm transition"
        ))
    );
}

#[tokio::test]
async fn a_job_running_as_another_role_than_retrain_role_arn_is_not_copied() {
    let account = Account::new().await;
    let endpoint = unique("churn");
    let source = unique("churn-xgb");
    source_job(
        &account.aws,
        &source,
        "arn:aws:iam::123456789012:role/DataScientist",
    )
    .await;
    account
        .endpoint(&endpoint, &[("sagekeeper:retrain-from-job", &source)])
        .await;
    let run = account.run(
        &Alarm::new(&endpoint).write(Shape::EventBridge),
        &[("RETRAIN_ROLE_ARN", ROLE)],
    );
    assert!(run.report().actions.is_empty());
    let refusal = finding(&run, "retrain-role-not-allowed");
    assert_eq!(refusal.severity, Severity::High);
    assert!(
        refusal
            .message
            .contains("role/DataScientist, but retraining jobs may only run as"),
        "{refusal:?}"
    );
    let copies = account
        .aws
        .sagemaker()
        .list_training_jobs()
        .name_contains(format!("{source}-rt-"))
        .send()
        .await
        .unwrap();
    assert!(copies.training_job_summaries().is_empty());
}

#[tokio::test]
async fn the_violation_report_in_s3_is_summarized_in_the_notification_and_parameters() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account
        .endpoint_retrained_by_pipeline(
            &endpoint,
            &[
                "ViolatedFeatures",
                "ViolationReportUri",
                "MonitoringScheduleName",
            ],
        )
        .await;
    let alarm = Alarm::new(&endpoint);
    let bucket = account.bucket().await;
    let output = format!("s3://{bucket}/monitoring/{endpoint}/{}", alarm.schedule);
    account.monitoring_schedule(&alarm, &output).await;
    // The execution that raised the alarm, an hour before it, with its report.
    let hour = alarm.at - Duration::hours(1);
    let prefix = format!(
        "monitoring/{endpoint}/{}/{}",
        alarm.schedule,
        hour.format("%Y/%m/%d/%H")
    );
    account
        .violations_file(&bucket, &prefix, "constraint_violations.json")
        .await;
    account
        .monitoring_execution(
            &alarm,
            "CompletedWithViolations",
            hour,
            &format!("s3://{bucket}/{prefix}"),
        )
        .await;
    // Around it, executions the retrainer must pass over: an older one without violations,
    // one still running and one scheduled after the alarm (neither with a report).
    for (status, scheduled, hour_dir) in [
        ("Completed", alarm.at - Duration::hours(2), "older"),
        ("InProgress", alarm.at - Duration::minutes(5), "running"),
        (
            "CompletedWithViolations",
            alarm.at + Duration::hours(1),
            "later",
        ),
    ] {
        account
            .monitoring_execution(&alarm, status, scheduled, &format!("{output}/{hour_dir}"))
            .await;
    }
    account
        .violations_file(
            &bucket,
            &format!("monitoring/{endpoint}/{}/older", alarm.schedule),
            "constraint_violations_none.json",
        )
        .await;
    let inbox = support::Inbox::new(&account.aws).await;

    let run = account.run(
        &alarm.write(Shape::EventBridge),
        &[("NOTIFY_TOPIC_ARN", inbox.topic_arn.as_str())],
    );

    let named = "(violations in 6 features: merchant_category, total_amount, card_age_days, hour_of_day, device_type and 1 more)";
    let headline = run.report().headline.as_deref().unwrap();
    assert!(headline.ends_with(named), "{headline}");
    let report_uri = format!("s3://{bucket}/{prefix}/constraint_violations.json");
    let executions = account.executions(&pipeline).await;
    assert_eq!(executions.len(), 1);
    assert_eq!(
        parameter(&executions[0], "ViolatedFeatures"),
        "merchant_category,total_amount,card_age_days,hour_of_day,device_type"
    );
    assert_eq!(parameter(&executions[0], "ViolationReportUri"), report_uri);
    assert_eq!(
        parameter(&executions[0], "MonitoringScheduleName"),
        alarm.schedule
    );

    let messages: Vec<String> = inbox
        .envelopes()
        .await
        .iter()
        .map(|e| e["Message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages.len(), 1, "one message per run");
    let text = &messages[0];
    assert!(
        text.contains(&format!(
            "retrain started for {endpoint}: pipeline {pipeline} execution"
        )),
        "{text}"
    );
    assert!(text.contains(named), "{text}");
    assert!(
        text.contains("baseline_drift_check ×4, categorical_values_check ×1"),
        "{text}"
    );
    assert!(text.contains(&report_uri), "{text}");
}

#[tokio::test]
async fn a_missing_or_unreadable_violation_report_is_reported_unavailable_and_the_retrain_starts() {
    let account = Account::new().await;
    let bucket = account.bucket().await;
    account
        .aws
        .s3()
        .put_object()
        .bucket(&bucket)
        .key("monitoring/garbage/constraint_violations.json")
        .body(ByteStream::from_static(b"<html>not a report</html>"))
        .send()
        .await
        .unwrap();
    for (prefix, expected) in [
        ("monitoring/nothing-here", "does not exist"),
        (
            "monitoring/garbage",
            "could not be read: s3://{bucket}/monitoring/garbage/constraint_violations.json is not the JSON document expected",
        ),
    ] {
        let endpoint = unique("fraud");
        let pipeline = account
            .endpoint_retrained_by_pipeline(&endpoint, &["ViolatedFeatures", "ViolationReportUri"])
            .await;
        let alarm = Alarm::new(&endpoint);
        let output = format!("s3://{bucket}/{prefix}");
        account.monitoring_schedule(&alarm, &output).await;
        account
            .monitoring_execution(
                &alarm,
                "CompletedWithViolations",
                alarm.at - Duration::hours(1),
                &output,
            )
            .await;

        let run = account.run(&alarm.write(Shape::Sns), &[]);
        assert_eq!(only_action(&run).outcome, Outcome::Done);
        let drift = finding(&run, "drift").message.clone();
        let report_uri = format!("s3://{bucket}/{prefix}/constraint_violations.json");
        assert!(
            drift.contains(&format!("violation report unavailable: {report_uri}")),
            "{drift}"
        );
        assert!(
            drift.contains(&expected.replace("{bucket}", &bucket)),
            "{drift}"
        );
        // Parameters without a value keep the pipeline's defaults.
        let executions = account.executions(&pipeline).await;
        assert!(
            executions[0].parameters.is_empty(),
            "{:?}",
            executions[0].parameters
        );
    }
}

/// The control beside the report tests: when the latest finished execution before the alarm
/// found no violations, or there is none (a failed one, one after the alarm), no features are
/// named, although each execution's output holds a report.
#[tokio::test]
async fn without_a_violating_execution_before_the_alarm_no_features_are_named() {
    let account = Account::new().await;
    let bucket = account.bucket().await;
    for (status, hours_after_alarm, fixture) in [
        ("Completed", -1, "constraint_violations_none.json"),
        ("Failed", -1, "constraint_violations.json"),
        ("CompletedWithViolations", 1, "constraint_violations.json"),
    ] {
        let endpoint = unique("fraud");
        let pipeline = account
            .endpoint_retrained_by_pipeline(&endpoint, &["ViolatedFeatures", "ViolationReportUri"])
            .await;
        let alarm = Alarm::new(&endpoint);
        let prefix = format!("monitoring/{endpoint}");
        let output = format!("s3://{bucket}/{prefix}");
        account.monitoring_schedule(&alarm, &output).await;
        account.violations_file(&bucket, &prefix, fixture).await;
        let scheduled = alarm.at + Duration::hours(hours_after_alarm);
        account
            .monitoring_execution(&alarm, status, scheduled, &output)
            .await;

        let run = account.run(&alarm.write(Shape::EventBridge), &[]);
        assert_eq!(only_action(&run).outcome, Outcome::Done, "{status}");
        let headline = run.report().headline.as_deref().unwrap();
        let drift = &finding(&run, "drift").message;
        let parameters = &account.executions(&pipeline).await[0].parameters;
        if status == "Completed" {
            let report_uri = format!("{output}/constraint_violations.json");
            assert!(
                headline.ends_with("(the latest monitoring report lists no violations)"),
                "{headline}"
            );
            assert!(
                drift.contains(&format!("{report_uri} lists no violations")),
                "{drift}"
            );
            assert_eq!(
                parameters,
                &[("ViolationReportUri".to_owned(), report_uri)],
                "no ViolatedFeatures"
            );
        } else {
            assert!(
                headline.ends_with("(violation report unavailable)"),
                "{status}: {headline}"
            );
            assert!(
                drift.contains(&format!(
                    "no finished Model Monitor execution of schedule {} before the alarm",
                    alarm.schedule
                )),
                "{status}: {drift}"
            );
            assert!(parameters.is_empty(), "{status}: {parameters:?}");
        }
    }
}

#[tokio::test]
async fn malformed_alarm_payloads_are_clear_errors_and_start_nothing() {
    let account = Account::new().await;
    let mut missing_state = sample("alarm-eventbridge.json");
    missing_state["detail"]
        .as_object_mut()
        .unwrap()
        .remove("state");
    let mut unknown_state = sample("alarm-sns.json");
    let message = unknown_state["Records"][0]["Sns"]["Message"]
        .as_str()
        .unwrap()
        .replace("\"ALARM\"", "\"PANIC\"");
    unknown_state["Records"][0]["Sns"]["Message"] = json!(message);
    let mut not_an_alarm = sample("alarm-sns.json");
    not_an_alarm["Records"][0]["Sns"]["Message"] = json!("drift!");
    let mut no_name = sample("alarm-lambda-action.json");
    no_name["alarmData"]
        .as_object_mut()
        .unwrap()
        .remove("alarmName");

    for (event, expected) in [
        (missing_state, "missing field `state`"),
        (unknown_state, "unknown alarm state \"PANIC\""),
        (
            not_an_alarm,
            "the SNS message is not a CloudWatch alarm notification",
        ),
        (no_name, "alarmName"),
    ] {
        let run = account.run_at(CLOSED_ENDPOINT, &write_event(&event), &[]);
        assert_eq!(run.code(), 1, "{}", run.json);
        let errors = &run.report().errors;
        assert_eq!(
            errors.len(),
            1,
            "only the event's error, no AWS call: {errors:?}"
        );
        assert_eq!(errors[0].kind, "invalid-event");
        let message = &errors[0].message;
        assert!(
            message.starts_with("malformed CloudWatch alarm state change: "),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
        assert!(run.report().actions.is_empty());
    }
}

#[tokio::test]
async fn a_dry_run_decides_and_reports_but_starts_nothing() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account
        .endpoint_retrained_by_pipeline(&endpoint, &["TriggerReason"])
        .await;
    let run = account.run(
        &Alarm::new(&endpoint).write(Shape::EventBridge),
        &[("DRY_RUN", "true")],
    );
    let action = only_action(&run);
    assert_eq!(action.action, "start-pipeline-execution");
    assert_eq!(action.outcome, Outcome::Planned);
    assert!(
        run.report()
            .headline
            .as_deref()
            .unwrap()
            .starts_with(&format!(
                "retrain would start for {endpoint}: pipeline {pipeline}"
            ))
    );
    assert_eq!(run.report().metric("RetrainsStarted"), Some(0.0));
    assert!(account.executions(&pipeline).await.is_empty());
}

#[tokio::test]
async fn configuration_overrides_tags_and_no_target_is_a_finding() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let tagged = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
    let configured = unique("retrain");
    account.pipeline(&configured, &[]).await;
    let mut targets = serde_json::Map::new();
    targets.insert(endpoint.clone(), json!({"pipeline": configured}));
    let targets = Value::Object(targets).to_string();

    let run = account.run(
        &Alarm::new(&endpoint).write(Shape::EventBridge),
        &[("RETRAIN_TARGETS", targets.as_str())],
    );
    assert_eq!(only_action(&run).outcome, Outcome::Done);
    assert_eq!(account.executions(&configured).await.len(), 1);
    assert!(account.executions(&tagged).await.is_empty());

    let untagged = unique("fraud");
    account.endpoint(&untagged, &[("Team", "fraud")]).await;
    let alarm = Alarm::new(&untagged);
    let run = account.run(&alarm.write(Shape::EventBridge), &[]);
    assert!(run.report().actions.is_empty());
    let missing = finding(&run, "no-retrain-target");
    assert_eq!(missing.severity, Severity::Medium);
    assert_eq!(missing.resource, alarm.arn());
}

#[tokio::test]
async fn an_sns_notification_of_an_alarm_without_a_description_starts_the_retrain() {
    let account = Account::new().await;
    // GIVEN two endpoints retrained by pipelines, and alarms delivered through SNS, one as
    // CloudWatch sends it without a description ("AlarmDescription": null, "Unit": null)
    let mut started = Vec::new();
    for without_description in [true, false] {
        let endpoint = unique("fraud");
        let pipeline = account
            .endpoint_retrained_by_pipeline(&endpoint, &["AlarmName"])
            .await;
        let alarm = Alarm::new(&endpoint);
        let event = if without_description {
            alarm.write_sns_without_description()
        } else {
            alarm.write(Shape::Sns)
        };
        // WHEN the retrainer gets it
        let run = account.run(&event, &[]);
        // THEN the retrain starts, with or without a description (the control)
        assert!(run.report().errors.is_empty(), "{}", run.json);
        assert_eq!(only_action(&run).outcome, Outcome::Done, "{}", run.json);
        let executions = account.executions(&pipeline).await;
        assert_eq!(executions.len(), 1);
        assert_eq!(parameter(&executions[0], "AlarmName"), alarm.name);
        started.push(without_description);
    }
    assert_eq!(started, [true, false]);
}

#[tokio::test]
async fn an_alarm_over_other_metrics_is_a_finding_unless_listed_in_retrain_alarms() {
    let account = Account::new().await;
    let endpoint = unique("fraud");
    let pipeline = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
    // GIVEN a latency alarm on the endpoint, whose name looks like a drift alarm's
    let alarm = Alarm {
        metric: ("AWS/SageMaker", "ModelLatency"),
        ..Alarm::new(&endpoint)
    };
    for shape in [Shape::EventBridge, Shape::LambdaAction, Shape::Sns] {
        // WHEN it fires
        let run = account.run(&alarm.write(shape), &[]);
        // THEN nothing starts, and the finding says why
        assert!(run.report().actions.is_empty(), "{}", run.json);
        let refusal = finding(&run, "alarm-not-monitoring");
        assert_eq!(refusal.severity, Severity::Medium);
        assert_eq!(refusal.resource, alarm.arn());
        assert!(
            refusal.message.contains("AWS/SageMaker/ModelLatency"),
            "{refusal:?}"
        );
    }
    assert!(account.executions(&pipeline).await.is_empty());

    // Control: listed in RETRAIN_ALARMS (by ARN), the same alarm starts the retrain.
    let listed = alarm.arn();
    let run = account.run(
        &alarm.write(Shape::EventBridge),
        &[("RETRAIN_ALARMS", listed.as_str())],
    );
    assert_eq!(only_action(&run).outcome, Outcome::Done, "{}", run.json);
    assert_eq!(account.executions(&pipeline).await.len(), 1);
}

#[tokio::test]
async fn a_retrain_of_card_fraud_does_not_hold_back_fraud() {
    let account = Account::new().await;
    // GIVEN two training jobs, one's name a suffix of the other's, each retraining an endpoint
    let fraud = unique("fraud-xgb");
    let card_fraud = format!("card-{fraud}");
    let (fraud_endpoint, card_endpoint) = (unique("fraud"), unique("card"));
    for (job, endpoint) in [(&fraud, &fraud_endpoint), (&card_fraud, &card_endpoint)] {
        source_job(&account.aws, job, ROLE).await;
        account
            .endpoint(endpoint, &[("sagekeeper:retrain-from-job", job)])
            .await;
    }
    let env = [("RETRAIN_ROLE_ARN", ROLE)];
    // AND card-fraud retrained a moment ago (its copy's name contains "<fraud>-rt-")
    let card = account.run(&Alarm::new(&card_endpoint).write(Shape::EventBridge), &env);
    assert_eq!(only_action(&card).outcome, Outcome::Done, "{}", card.json);

    // WHEN fraud's alarm fires
    let alarm = Alarm::new(&fraud_endpoint);
    let run = account.run(&alarm.write(Shape::EventBridge), &env);

    // THEN fraud's retrain starts: card-fraud's copy is not in its history
    let action = only_action(&run);
    assert_eq!(action.outcome, Outcome::Done, "{}", run.json);
    let copy = action.resource.rsplit('/').next().unwrap();
    assert!(copy.starts_with(&format!("{fraud}-rt-")), "{action:?}");
    // Control: fraud's own copy does hold back its next transition (cooldown).
    let again = account.run(&alarm.later(30).write(Shape::EventBridge), &env);
    let detail = only_action(&again).detail.as_deref().unwrap().to_owned();
    assert!(detail.starts_with("cooldown: "), "{detail}");
    assert!(detail.contains(&format!("/{fraud}-rt-")), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_alarms_on_one_endpoint_at_the_same_moment_start_one_retrain() {
    let account = Account::new().await;
    // GIVEN endpoints each with a data-quality and a model-quality alarm, changing state at
    // the same moment (two transitions, two keys), and one more pair on two endpoints
    let mut pairs = Vec::new();
    for _ in 0..3 {
        let endpoint = unique("fraud");
        let pipeline = account.endpoint_retrained_by_pipeline(&endpoint, &[]).await;
        let data = Alarm::new(&endpoint);
        let model = Alarm {
            name: format!("{}-model-quality", data.name),
            schedule: format!("{endpoint}-mq"),
            metric: ("aws/sagemaker/Endpoints/model-metrics", "accuracy"),
            ..data.clone()
        };
        pairs.push((vec![pipeline], data, model));
    }
    let (one, other) = (unique("fraud"), unique("fraud"));
    let separate = vec![
        account.endpoint_retrained_by_pipeline(&one, &[]).await,
        account.endpoint_retrained_by_pipeline(&other, &[]).await,
    ];
    pairs.push((separate, Alarm::new(&one), Alarm::new(&other)));

    // WHEN each pair's alarms reach two function processes at once
    let events: Vec<_> = pairs
        .iter()
        .flat_map(|(_, a, b)| [a.write(Shape::EventBridge), b.write(Shape::Sns)])
        .collect();
    let url = emulator_url();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let running: Vec<_> = events
            .iter()
            .map(|event| scope.spawn(move || retrain::run_at(url, event, &[])))
            .collect();
        running.into_iter().map(|r| r.join().unwrap()).collect()
    });

    // THEN one retrain starts per endpoint; the other alarm of the pair is held back by it
    for (i, (pipelines, ..)) in pairs.iter().enumerate() {
        let (a, b) = (&runs[2 * i], &runs[2 * i + 1]);
        for run in [a, b] {
            assert_eq!(run.code(), 0, "{}\n{}", run.json, run.stderr());
        }
        let outcomes = [only_action(a).outcome, only_action(b).outcome];
        if pipelines.len() == 1 {
            assert_eq!(
                account.executions(&pipelines[0]).await.len(),
                1,
                "{outcomes:?}"
            );
            assert!(outcomes.contains(&Outcome::Done), "{outcomes:?}");
            let held = [a, b]
                .into_iter()
                .find(|r| only_action(r).outcome == Outcome::Skipped)
                .unwrap_or_else(|| panic!("two starts: {outcomes:?}"));
            let detail = only_action(held).detail.as_deref().unwrap();
            assert!(detail.starts_with("cooldown: "), "{detail}");
        } else {
            // Control: on two endpoints, both start.
            assert_eq!(outcomes, [Outcome::Done, Outcome::Done]);
            for pipeline in pipelines {
                assert_eq!(account.executions(pipeline).await.len(), 1);
            }
        }
    }
}
