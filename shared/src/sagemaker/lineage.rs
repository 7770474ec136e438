//! Where a SageMaker resource came from, as far as the API says: an endpoint's configuration
//! and its models, a configuration's models, a training job's tuning job, and the pipeline
//! that started a job. Used to let resources inherit their parents' tags.

use aws_sdk_sagemaker::Client;

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;
use crate::sagemaker::catalog::Kind;
use crate::sagemaker::jobs::JobKind;
use crate::sagemaker::{describe_endpoint_config, is_not_found};

/// SageMaker tags every job a pipeline starts with the pipeline execution's ARN.
pub const PIPELINE_EXECUTION_TAG: &str = "sagemaker:pipeline-execution-arn";

/// The ARNs of the resource's parents, nearest first. A parent that no longer exists is left
/// out (there is nothing to inherit from it).
pub async fn parents(
    client: &Client,
    kind: Kind,
    name: &str,
    own_tags: &Tags,
) -> Result<Vec<String>, AwsError> {
    let mut parents = match kind {
        Kind::Endpoint => endpoint_parents(client, name).await?,
        Kind::EndpointConfig => match config_parents(client, name).await? {
            Some((_, models)) => models,
            None => Vec::new(),
        },
        Kind::Job(JobKind::Training) => tuning_job_of(client, name).await?.into_iter().collect(),
        _ => Vec::new(),
    };
    if kind.is_job() {
        parents.extend(pipeline_of(own_tags));
    }
    Ok(parents)
}

/// The pipeline whose execution started a job, from the tag SageMaker puts on it:
/// `arn:...:pipeline/NAME/execution/ID` → `arn:...:pipeline/NAME`.
pub fn pipeline_of(tags: &Tags) -> Option<String> {
    let execution = tags.get(PIPELINE_EXECUTION_TAG)?;
    let (pipeline, _) = execution.split_once("/execution/")?;
    pipeline.contains(":pipeline/").then(|| pipeline.to_owned())
}

async fn endpoint_parents(client: &Client, name: &str) -> Result<Vec<String>, AwsError> {
    let config_name = match client
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .aws("DescribeEndpoint")
    {
        Ok(out) => out.endpoint_config_name,
        Err(err) if is_not_found(&err) => None,
        Err(err) => return Err(err),
    };
    let Some(config_name) = config_name else {
        return Ok(Vec::new());
    };
    Ok(match config_parents(client, &config_name).await? {
        Some((config_arn, models)) => std::iter::once(config_arn).chain(models).collect(),
        None => Vec::new(),
    })
}

/// The configuration's ARN and its models' ARNs; `None` when it does not exist.
async fn config_parents(
    client: &Client,
    name: &str,
) -> Result<Option<(String, Vec<String>)>, AwsError> {
    let Some(out) = describe_endpoint_config(client, name).await? else {
        return Ok(None);
    };
    let mut models = Vec::new();
    for model in out
        .production_variants()
        .iter()
        .filter_map(|v| v.model_name())
    {
        if let Some(arn) = model_arn(client, model).await?
            && !models.contains(&arn)
        {
            models.push(arn);
        }
    }
    Ok(Some((
        out.endpoint_config_arn().unwrap_or_default().to_owned(),
        models,
    )))
}

async fn model_arn(client: &Client, name: &str) -> Result<Option<String>, AwsError> {
    match client
        .describe_model()
        .model_name(name)
        .send()
        .await
        .aws("DescribeModel")
    {
        Ok(out) => Ok(out.model_arn),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

async fn tuning_job_of(client: &Client, name: &str) -> Result<Option<String>, AwsError> {
    match client
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .aws("DescribeTrainingJob")
    {
        Ok(out) => Ok(out.tuning_job_arn),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn a_jobs_pipeline_comes_from_the_execution_tag() {
        let tags = Tags::from([(
            PIPELINE_EXECUTION_TAG.to_owned(),
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-train/execution/abc123"
                .to_owned(),
        )]);
        assert_eq!(
            pipeline_of(&tags).as_deref(),
            Some("arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-train")
        );
        assert_eq!(pipeline_of(&Tags::new()), None);
        let odd = Tags::from([(PIPELINE_EXECUTION_TAG.to_owned(), "not-an-arn".to_owned())]);
        assert_eq!(pipeline_of(&odd), None);
    }

    // The emulator does not record which tuning job started a training job, so the tuning
    // job parent is read from a mocked DescribeTrainingJob.
    #[tokio::test]
    async fn a_training_job_inherits_from_its_tuning_job_then_its_pipeline() {
        let describe = mock!(Client::describe_training_job).then_output(|| {
            DescribeTrainingJobOutput::builder()
                .tuning_job_arn(
                    "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/hpo-1",
                )
                .build()
        });
        let client = mock_client!(aws_sdk_sagemaker, [&describe]);
        let tags = Tags::from([(
            PIPELINE_EXECUTION_TAG.to_owned(),
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e".to_owned(),
        )]);
        assert_eq!(
            parents(&client, Kind::Job(JobKind::Training), "hpo-1-001", &tags)
                .await
                .unwrap(),
            [
                "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/hpo-1",
                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
            ]
        );
    }
}
