//! One alarm state change, in any of its three delivery shapes: gather plain data, decide with
//! a pure function, then start at most one retrain.

use sagekeeper_core::Report;
use sagekeeper_core::events::AlarmChange;
use sagekeeper_core::run::function::Function;

use crate::clients::Clients;
use crate::config::Config;
use crate::key::RetrainKey;
use crate::{apply, gather, lock, plan};

pub struct DriftRetrainer;

impl Function for DriftRetrainer {
    const NAME: &'static str = crate::config::NAME;
    const ABOUT: &'static str = "starts one retraining when a Model Monitor drift alarm fires";
    type Trigger = AlarmChange;
    type Config = Config;
    type Clients = Clients;

    async fn run(clients: &Clients, config: &Config, alarm: AlarmChange, report: &mut Report) {
        let alarm = &alarm;
        // Nothing to gather for a transition that can start nothing: no AWS call at all.
        if let Some(reason) = plan::ignored(alarm) {
            return report.skipped(plan::alarm_resource(alarm), "retrain", reason);
        }
        let key = RetrainKey::of(alarm);
        let Some(mut situation) = gather::situation(clients, config, alarm, report).await else {
            return;
        };
        let policy = config.policy();
        let mut plan = plan::plan(alarm, &situation, &key, &policy);
        let mut held = None;
        // Only a start needs the target's lock; a dry run takes it too, so that it answers what
        // a real run would do (its lease is given back at once and changes no resource).
        if plan::starts(&plan) {
            let resource = plan::alarm_resource(alarm);
            match (&clients.state, situation.lock_name()) {
                (Some(store), Some(name)) => {
                    let holder =
                        lock::holder(DriftRetrainer::NAME, &alarm.alarm_name, &key.marker());
                    let taken = lock::take(store, &name, &holder).await;
                    let Some(lease) = report.keep(Some(&resource), taken) else {
                        return;
                    };
                    // Decide again on the history read under the lock: a run that held it
                    // before us may have started a retrain our first read did not see.
                    let read = gather::refresh_history(clients, alarm, &mut situation.target).await;
                    if report.keep(Some(&resource), read).is_none() {
                        return lock::give_back(store, lease).await;
                    }
                    plan = plan::plan(alarm, &situation, &key, &policy);
                    held = Some((store, lease));
                }
                _ => plan = plan::unlocked(alarm, &situation),
            }
        }
        let decided = plan::summary(&plan);
        tracing::info!(alarm = %alarm.alarm_name, key = key.as_str(), plan = %decided, "decided");
        apply::apply(clients, plan, report).await;
        if let Some((store, lease)) = held {
            lock::give_back(store, lease).await;
        }
    }
}

/// Smithy mocks for what the emulator cannot produce: its pipeline executions finish at once
/// (never "still running"), its CreateTrainingJob overwrites a job of the same name instead of
/// refusing it, and it has no failing history reads. tests/retrainer.rs runs everything else
/// against the emulator.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_sdk_sagemaker::error::ErrorMetadata;
    use aws_sdk_sagemaker::operation::create_training_job::CreateTrainingJobError;
    use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
    use aws_sdk_sagemaker::operation::describe_pipeline::DescribePipelineOutput;
    use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
    use aws_sdk_sagemaker::operation::list_monitoring_executions::ListMonitoringExecutionsOutput;
    use aws_sdk_sagemaker::operation::list_pipeline_executions::{
        ListPipelineExecutionsError, ListPipelineExecutionsOutput,
    };
    use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
    use aws_sdk_sagemaker::operation::list_training_jobs::ListTrainingJobsOutput;
    use aws_sdk_sagemaker::operation::start_pipeline_execution::StartPipelineExecutionOutput;
    use aws_sdk_sagemaker::primitives::DateTime as SmithyDateTime;
    use aws_sdk_sagemaker::types::error::ResourceInUse;
    use aws_sdk_sagemaker::types::{
        OutputDataConfig, PipelineExecutionStatus, PipelineExecutionSummary, StoppingCondition, Tag,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use sagekeeper_core::run::function;
    use sagekeeper_core::run::function::Settings;
    use sagekeeper_core::s3::state::StateStore;
    use sagekeeper_core::{Env, Outcome, Reporter, Severity};
    use serde_json::Value;

    use crate::target::{JOB_TAG, PIPELINE_TAG};

    const ENDPOINT_ARN: &str =
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-detector-dev";
    const PIPELINE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-retrain";
    const JOB_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn";

    async fn handle(clients: &Clients, event: Value) -> Report {
        let config = Config::from_env(&Env::default(), false).unwrap();
        let budget = sagekeeper_core::run::budget::Budget::unlimited();
        function::handle::<DriftRetrainer>(clients, &config, &Reporter::log_only(), event, budget)
            .await
    }

    fn event() -> Value {
        serde_json::from_str(include_str!("../../../events/alarm-eventbridge.json")).unwrap()
    }

    /// An alarm untagged, no monitoring execution, no report; `sagemaker` for the rest.
    fn clients(sagemaker: &[&Rule]) -> Clients {
        let untagged_alarm = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource)
            .then_output(|| ListTagsForResourceOutput::builder().build());
        let no_report = mock!(aws_sdk_s3::Client::get_object)
            .then_error(|| GetObjectError::unhandled("no report is read in these tests"));
        Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker),
            s3: mock_client!(aws_sdk_s3, [&no_report]),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, [&untagged_alarm]),
            state: Some(free_locks()),
        }
    }

    /// A state bucket where every lock is free: no lease object, and every write succeeds.
    /// Contended locks are taken against the emulator in tests/retrainer.rs.
    fn free_locks() -> StateStore {
        let absent = mock!(aws_sdk_s3::Client::get_object).then_error(|| {
            GetObjectError::NoSuchKey(
                NoSuchKey::builder()
                    .meta(ErrorMetadata::builder().code("NoSuchKey").build())
                    .build(),
            )
        });
        let written = mock!(aws_sdk_s3::Client::put_object)
            .then_output(|| PutObjectOutput::builder().e_tag("\"1\"").build());
        StateStore::new(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&absent, &written]),
            "sagekeeper-state",
            None,
        )
    }

    /// The endpoint with one tag, and no monitoring executions.
    fn endpoint_tagged(key: &'static str, value: &'static str) -> Vec<Rule> {
        vec![
            mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_output(|| {
                DescribeEndpointOutput::builder()
                    .endpoint_name("fraud-detector-dev")
                    .endpoint_arn(ENDPOINT_ARN)
                    .build()
            }),
            mock!(aws_sdk_sagemaker::Client::list_tags)
                .match_requests(|r| r.resource_arn() == Some(ENDPOINT_ARN))
                .then_output(move || {
                    ListTagsOutput::builder()
                        .tags(Tag::builder().key(key).value(value).build())
                        .build()
                }),
            mock!(aws_sdk_sagemaker::Client::list_monitoring_executions)
                .then_output(|| ListMonitoringExecutionsOutput::builder().build()),
        ]
    }

    fn pipeline() -> Rule {
        mock!(aws_sdk_sagemaker::Client::describe_pipeline).then_output(|| {
            DescribePipelineOutput::builder()
                .pipeline_name("fraud-retrain")
                .pipeline_arn(PIPELINE_ARN)
                .pipeline_definition(r#"{"Parameters": [], "Steps": []}"#)
                .build()
        })
    }

    fn start() -> Rule {
        mock!(aws_sdk_sagemaker::Client::start_pipeline_execution).then_output(|| {
            StartPipelineExecutionOutput::builder()
                .pipeline_execution_arn(format!("{PIPELINE_ARN}/execution/new"))
                .build()
        })
    }

    fn with<'a>(rules: &'a [Rule], more: &[&'a Rule]) -> Vec<&'a Rule> {
        rules.iter().chain(more.iter().copied()).collect()
    }

    #[tokio::test]
    async fn a_running_execution_of_the_pipeline_suppresses_the_start() {
        let endpoint = endpoint_tagged(PIPELINE_TAG, "fraud-retrain");
        let (pipeline, start) = (pipeline(), start());
        // Started two days before the alarm, so neither cooldown nor cap applies: only that
        // it is still executing.
        let running =
            mock!(aws_sdk_sagemaker::Client::list_pipeline_executions).then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(
                        PipelineExecutionSummary::builder()
                            .pipeline_execution_arn(format!("{PIPELINE_ARN}/execution/slow"))
                            .pipeline_execution_status(PipelineExecutionStatus::Executing)
                            .start_time(SmithyDateTime::from_secs(1_795_197_852 - 2 * 86_400))
                            .build(),
                    )
                    .build()
            });
        let clients = clients(&with(&endpoint, &[&pipeline, &running, &start]));

        let report = handle(&clients, event()).await;

        assert_eq!(start.num_calls(), 0);
        assert_eq!(report.actions.len(), 1, "{:?}", report.actions);
        assert_eq!(report.actions[0].outcome, Outcome::Skipped);
        assert_eq!(
            report.actions[0].detail.as_deref(),
            Some(
                "still running: arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-retrain/execution/slow (started 2026-11-18T18:04:12.000Z) has not finished"
            )
        );
        assert_eq!(report.metrics["RetrainsSuppressed"], 1.0);
        assert!(report.errors.is_empty());
    }

    #[tokio::test]
    async fn without_the_targets_history_nothing_starts() {
        let endpoint = endpoint_tagged(PIPELINE_TAG, "fraud-retrain");
        let (pipeline, start) = (pipeline(), start());
        let denied = mock!(aws_sdk_sagemaker::Client::list_pipeline_executions).then_error(|| {
            ListPipelineExecutionsError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform sagemaker:ListPipelineExecutions")
                    .build(),
            )
        });
        let clients = clients(&with(&endpoint, &[&pipeline, &denied, &start]));

        let report = handle(&clients, event()).await;

        assert_eq!(start.num_calls(), 0);
        assert!(report.actions.is_empty());
        assert_eq!(report.errors.len(), 1);
        assert!(report.errors[0].message.contains("AccessDeniedException"));
        assert!(report.failed());
    }

    #[tokio::test]
    async fn a_job_name_taken_by_a_concurrent_delivery_counts_as_started_once() {
        let endpoint = endpoint_tagged(JOB_TAG, "churn");
        let source = mock!(aws_sdk_sagemaker::Client::describe_training_job).then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name("churn")
                .training_job_arn(JOB_ARN)
                .role_arn("arn:aws:iam::123456789012:role/SageMakerExecutionRole")
                .output_data_config(
                    OutputDataConfig::builder()
                        .s3_output_path("s3://models/churn/")
                        .build(),
                )
                .stopping_condition(
                    StoppingCondition::builder()
                        .max_runtime_in_seconds(3600)
                        .build(),
                )
                .build()
        });
        let source_tags = mock!(aws_sdk_sagemaker::Client::list_tags)
            .match_requests(|r| r.resource_arn() == Some(JOB_ARN))
            .then_output(|| ListTagsOutput::builder().build());
        let no_copies = mock!(aws_sdk_sagemaker::Client::list_training_jobs)
            .then_output(|| ListTrainingJobsOutput::builder().build());
        let taken = mock!(aws_sdk_sagemaker::Client::create_training_job).then_error(|| {
            CreateTrainingJobError::ResourceInUse(
                ResourceInUse::builder()
                    .message("Training job names must be unique")
                    .meta(ErrorMetadata::builder().code("ResourceInUse").build())
                    .build(),
            )
        });
        let clients = clients(&with(
            &endpoint,
            &[&source, &source_tags, &no_copies, &taken],
        ));

        let report = handle(&clients, event()).await;

        assert_eq!(taken.num_calls(), 1);
        assert_eq!(report.actions.len(), 1);
        assert_eq!(report.actions[0].action, "create-training-job");
        assert_eq!(report.actions[0].outcome, Outcome::Skipped);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.metrics["RetrainsStarted"], 0.0);
        assert_eq!(report.metrics["RetrainsSuppressed"], 1.0);
        assert!(
            report
                .headline
                .as_deref()
                .unwrap()
                .ends_with("already exists"),
            "{:?}",
            report.headline
        );
    }

    #[tokio::test]
    async fn without_a_state_bucket_nothing_starts() {
        let endpoint = endpoint_tagged(PIPELINE_TAG, "fraud-retrain");
        let no_history = mock!(aws_sdk_sagemaker::Client::list_pipeline_executions)
            .then_output(|| ListPipelineExecutionsOutput::builder().build());
        let (pipeline, start) = (pipeline(), start());
        let mut clients = clients(&with(&endpoint, &[&pipeline, &no_history, &start]));
        clients.state = None;

        let report = handle(&clients, event()).await;

        assert_eq!(start.num_calls(), 0);
        assert!(report.actions.is_empty(), "{:?}", report.actions);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(report.findings[0].rule, "retrain-lock-unavailable");
        assert_eq!(report.findings[0].severity, Severity::High);
        assert!(report.findings[0].message.contains("STATE_BUCKET"));

        // Control: the same alarm with the lock available starts the pipeline.
        let clients = self::clients(&with(&endpoint, &[&pipeline, &no_history, &start]));
        let report = handle(&clients, event()).await;
        assert_eq!(start.num_calls(), 1);
        assert_eq!(report.actions[0].outcome, Outcome::Done, "{report:?}");
    }
}
