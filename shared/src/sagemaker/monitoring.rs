//! Model Monitor: the latest finished execution of a monitoring schedule and where it wrote
//! its reports. SDK types stop here.
//!
//! A monitoring execution is a processing job; its reports (`constraint_violations.json`,
//! `statistics.json`) are in the job's processing output, which is where the SageMaker Python
//! SDK reads them from too.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{ExecutionStatus, MonitoringExecutionSortKey, SortOrder};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::arn::Arn;

/// Which executions to look at: a schedule's, or (without one) any schedule's of an endpoint,
/// scheduled before `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionQuery<'a> {
    pub schedule: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub before: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringExecution {
    pub schedule: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// `Completed` or `CompletedWithViolations`.
    pub status: String,
    pub processing_job_arn: String,
    /// Where the execution wrote its reports, e.g. `s3://bucket/prefix/endpoint/schedule/2026/11/20/17`.
    pub output_uri: Option<String>,
}

impl MonitoringExecution {
    pub fn found_violations(&self) -> bool {
        self.status == ExecutionStatus::CompletedWithViolations.as_str()
    }
}

/// Executions looked at, newest first, to find a finished one; the newest few are enough, as
/// a schedule runs at most hourly and an alarm follows the execution that raised it.
const LOOK_AT: i32 = 10;

/// The newest execution matching `query` that finished (with or without violations) and its
/// output location; `None` when there is none, or the query names neither schedule nor endpoint.
pub async fn latest_finished(
    client: &Client,
    query: ExecutionQuery<'_>,
) -> Result<Option<MonitoringExecution>, AwsError> {
    if query.schedule.is_none() && query.endpoint.is_none() {
        return Ok(None);
    }
    let out = client
        .list_monitoring_executions()
        .set_monitoring_schedule_name(query.schedule.map(str::to_owned))
        .set_endpoint_name(query.endpoint.map(str::to_owned))
        .scheduled_time_before(SmithyDateTime::from_millis(query.before.timestamp_millis()))
        .sort_by(MonitoringExecutionSortKey::ScheduledTime)
        .sort_order(SortOrder::Descending)
        .max_results(LOOK_AT)
        .send()
        .await
        .aws("ListMonitoringExecutions")?;
    let finished = out.monitoring_execution_summaries().iter().find(|s| {
        matches!(
            s.monitoring_execution_status(),
            Some(ExecutionStatus::Completed | ExecutionStatus::CompletedWithViolations)
        ) && s.processing_job_arn().is_some()
    });
    let Some(summary) = finished else {
        return Ok(None);
    };
    let processing_job_arn = summary.processing_job_arn().unwrap_or_default().to_owned();
    let output_uri = processing_output(client, &processing_job_arn).await?;
    Ok(Some(MonitoringExecution {
        schedule: summary
            .monitoring_schedule_name()
            .unwrap_or_default()
            .to_owned(),
        scheduled_at: summary
            .scheduled_time()
            .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
        status: summary
            .monitoring_execution_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        processing_job_arn,
        output_uri,
    }))
}

/// The S3 URI of the processing job's (first) S3 output: Model Monitor jobs have exactly one.
async fn processing_output(client: &Client, job_arn: &str) -> Result<Option<String>, AwsError> {
    let name = Arn::parse(job_arn)
        .map(|arn| arn.resource_name().to_owned())
        .unwrap_or_else(|_| job_arn.to_owned());
    let out = client
        .describe_processing_job()
        .processing_job_name(name)
        .send()
        .await
        .aws("DescribeProcessingJob")?;
    Ok(out
        .processing_output_config()
        .map(|c| c.outputs())
        .unwrap_or_default()
        .iter()
        .find_map(|o| o.s3_output().and_then(|s| s.s3_uri()).map(str::to_owned)))
}

/// Mocks for the answers the emulator does not give (e.g. a summary without a processing
/// job); tests/retrainer.rs covers the rest against the emulator's monitoring executions.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_processing_job::DescribeProcessingJobOutput;
    use aws_sdk_sagemaker::operation::list_monitoring_executions::ListMonitoringExecutionsOutput;
    use aws_sdk_sagemaker::types::{
        MonitoringExecutionSummary, ProcessingOutput, ProcessingOutputConfig, ProcessingS3Output,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const ALARM_AT: i64 = 1_795_197_852; // 2026-11-20T18:04:12Z

    fn summary(job: &str, status: ExecutionStatus, hour_offset: i64) -> MonitoringExecutionSummary {
        MonitoringExecutionSummary::builder()
            .monitoring_schedule_name("fraud-dq")
            .scheduled_time(SmithyDateTime::from_secs(ALARM_AT - 3_600 * hour_offset))
            .creation_time(SmithyDateTime::from_secs(ALARM_AT - 3_600 * hour_offset))
            .last_modified_time(SmithyDateTime::from_secs(ALARM_AT))
            .monitoring_execution_status(status)
            .processing_job_arn(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:processing-job/{job}"
            ))
            .build()
    }

    fn query() -> ExecutionQuery<'static> {
        ExecutionQuery {
            schedule: Some("fraud-dq"),
            endpoint: Some("fraud"),
            before: DateTime::from_timestamp(ALARM_AT, 0).unwrap(),
        }
    }

    #[tokio::test]
    async fn finds_the_newest_finished_execution_and_its_output() {
        let list = mock!(Client::list_monitoring_executions)
            .match_requests(|r| {
                r.monitoring_schedule_name() == Some("fraud-dq")
                    && r.scheduled_time_before() == Some(&SmithyDateTime::from_secs(ALARM_AT))
                    && r.sort_by() == Some(&MonitoringExecutionSortKey::ScheduledTime)
                    && r.sort_order() == Some(&SortOrder::Descending)
            })
            .then_output(|| {
                ListMonitoringExecutionsOutput::builder()
                    .monitoring_execution_summaries(summary(
                        "running",
                        ExecutionStatus::InProgress,
                        0,
                    ))
                    .monitoring_execution_summaries(summary(
                        "with-violations",
                        ExecutionStatus::CompletedWithViolations,
                        1,
                    ))
                    .monitoring_execution_summaries(summary("older", ExecutionStatus::Completed, 2))
                    .build()
            });
        let describe = mock!(Client::describe_processing_job)
            .match_requests(|r| r.processing_job_name() == Some("with-violations"))
            .then_output(|| {
                DescribeProcessingJobOutput::builder()
                    .processing_output_config(
                        ProcessingOutputConfig::builder()
                            .outputs(
                                ProcessingOutput::builder()
                                    .output_name("result")
                                    .s3_output(
                                        ProcessingS3Output::builder()
                                            .s3_uri("s3://reports/fraud/fraud-dq/2026/11/20/17")
                                            .local_path("/opt/ml/processing/output")
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&list, &describe]);

        let found = latest_finished(&client, query()).await.unwrap().unwrap();
        assert_eq!(found.schedule, "fraud-dq");
        assert!(found.found_violations());
        assert_eq!(
            found.output_uri.as_deref(),
            Some("s3://reports/fraud/fraud-dq/2026/11/20/17")
        );
        assert_eq!(found.scheduled_at.unwrap().timestamp(), ALARM_AT - 3_600);
        assert_eq!(describe.num_calls(), 1);
    }

    #[tokio::test]
    async fn no_finished_execution_or_nothing_to_ask_for_is_none() {
        let list = mock!(Client::list_monitoring_executions).then_output(|| {
            ListMonitoringExecutionsOutput::builder()
                .monitoring_execution_summaries(summary("failed", ExecutionStatus::Failed, 0))
                .build()
        });
        let client = mock_client!(aws_sdk_sagemaker, [&list]);
        assert_eq!(latest_finished(&client, query()).await.unwrap(), None);

        let unasked = ExecutionQuery {
            schedule: None,
            endpoint: None,
            ..query()
        };
        assert_eq!(latest_finished(&client, unasked).await.unwrap(), None);
        assert_eq!(
            list.num_calls(),
            1,
            "no call without a schedule or endpoint"
        );
    }
}
