//! SageMaker Pipelines: a pipeline's declared parameters, its recent executions, and starting
//! one. SDK types stop here.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    Parameter, PipelineExecutionStatus, SortOrder, SortPipelineExecutionsBy,
};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::aws::{AwsError, AwsResultExt};
use crate::run::report::ReportableError;
use crate::sagemaker::to_chrono;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub name: String,
    pub arn: String,
    /// Names of the parameters its definition declares; an execution may set only these.
    pub parameters: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the definition of pipeline {pipeline} is not valid JSON: {source}")]
    Definition {
        pipeline: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ReportableError for PipelineError {
    fn kind(&self) -> &'static str {
        match self {
            PipelineError::Aws(_) => "aws",
            PipelineError::Definition { .. } => "pipeline-definition",
        }
    }
    fn retryable(&self) -> bool {
        matches!(self, PipelineError::Aws(e) if e.retryable)
    }
}

/// SageMaker answers a missing pipeline with ResourceNotFound; the emulator with a
/// ValidationException saying "Could not find".
fn is_not_found(err: &AwsError) -> bool {
    err.is_code("ResourceNotFound")
        || (err.is_code("ValidationException") && err.message.contains("Could not find"))
}

/// `None` when there is no such pipeline.
pub async fn describe(client: &Client, name: &str) -> Result<Option<Pipeline>, PipelineError> {
    let out = match client
        .describe_pipeline()
        .pipeline_name(name)
        .send()
        .await
        .aws("DescribePipeline")
    {
        Ok(out) => out,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let parameters =
        declared_parameters(out.pipeline_definition().unwrap_or("{}")).map_err(|source| {
            PipelineError::Definition {
                pipeline: name.to_owned(),
                source,
            }
        })?;
    Ok(Some(Pipeline {
        name: out.pipeline_name().unwrap_or(name).to_owned(),
        arn: out.pipeline_arn().unwrap_or_default().to_owned(),
        parameters,
    }))
}

/// The `Parameters[].Name` of a pipeline definition (the JSON the SageMaker Python SDK
/// generates: `{"Version": ..., "Parameters": [{"Name": ..., "Type": ...}], "Steps": [...]}`).
pub fn declared_parameters(definition: &str) -> Result<Vec<String>, serde_json::Error> {
    let definition: Value = serde_json::from_str(definition)?;
    Ok(definition["Parameters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["Name"].as_str().map(str::to_owned))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub arn: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `Executing`, `Stopping`, `Stopped`, `Failed`, `Succeeded`.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
}

impl Execution {
    /// Still using (and billing for) resources.
    pub fn is_running(&self) -> bool {
        self.status == PipelineExecutionStatus::Executing.as_str()
            || self.status == PipelineExecutionStatus::Stopping.as_str()
    }
}

/// Pages read at most: 100 executions each. Enough for any history a cost guard looks at;
/// a bound so a pipeline with an enormous history cannot make a run slow.
const MAX_PAGES: usize = 10;

/// Executions of `pipeline` started at or after `since`, newest first.
///
/// The newest-first order is also applied here, not only requested: SageMaker sorts, but
/// emulators may not, and callers rely on it.
pub async fn executions_since(
    client: &Client,
    pipeline: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Execution>, AwsError> {
    let mut pages = client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .created_after(SmithyDateTime::from_millis(since.timestamp_millis()))
        .sort_by(SortPipelineExecutionsBy::CreationTime)
        .sort_order(SortOrder::Descending)
        .max_results(100)
        .into_paginator()
        .send();
    let mut executions = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.aws("ListPipelineExecutions")?;
        executions.extend(page.pipeline_execution_summaries().iter().map(|summary| {
            Execution {
                arn: summary
                    .pipeline_execution_arn()
                    .unwrap_or_default()
                    .to_owned(),
                display_name: summary.pipeline_execution_display_name().map(str::to_owned),
                description: summary.pipeline_execution_description().map(str::to_owned),
                status: summary
                    .pipeline_execution_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                started_at: summary.start_time().and_then(to_chrono),
            }
        }));
        read += 1;
        if read >= MAX_PAGES {
            tracing::warn!(
                pipeline,
                read = executions.len(),
                "stopped reading pipeline executions"
            );
            break;
        }
    }
    // Without a start time an execution is kept (it may be running); with one it must be
    // recent enough.
    executions.retain(|e| e.started_at.is_none_or(|t| t >= since));
    executions.sort_by_key(|e| std::cmp::Reverse(e.started_at));
    Ok(executions)
}

/// What to start: every field is sent as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartExecution {
    pub pipeline: String,
    /// 1–82 letters, digits and hyphens.
    pub display_name: String,
    /// Up to 3072 characters.
    pub description: String,
    /// 32–128 characters; SageMaker starts one execution per token, so a retried start with the
    /// same token returns the execution the first one started.
    pub client_request_token: String,
    pub parameters: Vec<(String, String)>,
}

/// Starts the execution and returns its ARN.
pub async fn start(client: &Client, start: &StartExecution) -> Result<String, AwsError> {
    let parameters: Vec<Parameter> = start
        .parameters
        .iter()
        .map(|(name, value)| Parameter::builder().name(name).value(value).build())
        .collect();
    let out = client
        .start_pipeline_execution()
        .pipeline_name(&start.pipeline)
        .pipeline_execution_display_name(&start.display_name)
        .pipeline_execution_description(&start.description)
        .client_request_token(&start.client_request_token)
        .set_pipeline_parameters((!parameters.is_empty()).then_some(parameters))
        .send()
        .await
        .aws("StartPipelineExecution")?;
    Ok(out.pipeline_execution_arn.unwrap_or_default())
}

/// Mocks where the emulator cannot answer: its executions finish at once (never `Executing`),
/// and it ignores the sort order. Starting and listing for real is covered against the
/// emulator in tests/retrainer.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
    use aws_sdk_sagemaker::types::PipelineExecutionSummary;
    use aws_smithy_mocks::{mock, mock_client};

    fn summary(id: &str, status: PipelineExecutionStatus, secs: i64) -> PipelineExecutionSummary {
        PipelineExecutionSummary::builder()
            .pipeline_execution_arn(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/{id}"
            ))
            .pipeline_execution_status(status)
            .pipeline_execution_display_name(id)
            .start_time(SmithyDateTime::from_secs(secs))
            .build()
    }

    #[test]
    fn reads_declared_parameters() {
        let definition = r#"{"Version": "2020-12-01", "Parameters": [
            {"Name": "TriggerReason", "Type": "String", "DefaultValue": "manual"},
            {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1}], "Steps": []}"#;
        assert_eq!(
            declared_parameters(definition).unwrap(),
            ["TriggerReason", "InstanceCount"]
        );
        assert!(declared_parameters(r#"{"Steps": []}"#).unwrap().is_empty());
        assert!(declared_parameters("not json").is_err());
    }

    #[tokio::test]
    async fn lists_recent_executions_newest_first_with_running_ones_marked() {
        let list = mock!(Client::list_pipeline_executions)
            .match_requests(|r| {
                r.pipeline_name() == Some("p")
                    && r.sort_order() == Some(&SortOrder::Descending)
                    && r.created_after() == Some(&SmithyDateTime::from_secs(1_000))
            })
            .then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(summary(
                        "old",
                        PipelineExecutionStatus::Succeeded,
                        2_000,
                    ))
                    .pipeline_execution_summaries(summary(
                        "running",
                        PipelineExecutionStatus::Executing,
                        3_000,
                    ))
                    .pipeline_execution_summaries(summary(
                        "too-old",
                        PipelineExecutionStatus::Failed,
                        500,
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, [&list]);
        let since = DateTime::from_timestamp(1_000, 0).unwrap();
        let executions = executions_since(&client, "p", since).await.unwrap();
        let names: Vec<_> = executions
            .iter()
            .map(|e| e.display_name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["running", "old"]);
        assert!(executions[0].is_running());
        assert!(!executions[1].is_running());
        assert_eq!(executions[0].started_at.unwrap().timestamp(), 3_000);
    }
}
