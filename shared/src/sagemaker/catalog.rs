//! Every SageMaker resource sagekeeper tags, listed with its ARN and creation time: the
//! long-lived ones all, jobs only while they run or when recent (a tag added after a job
//! ended attributes no spend).

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    HyperParameterTuningJobStatus, ProcessingJobStatus, TrainingJobStatus, TransformJobStatus,
};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Endpoint,
    EndpointConfig,
    Model,
    NotebookInstance,
    Pipeline,
    ModelPackageGroup,
    TrainingJob,
    ProcessingJob,
    TransformJob,
    HyperParameterTuningJob,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Endpoint,
        Kind::EndpointConfig,
        Kind::Model,
        Kind::NotebookInstance,
        Kind::Pipeline,
        Kind::ModelPackageGroup,
        Kind::TrainingJob,
        Kind::ProcessingJob,
        Kind::TransformJob,
        Kind::HyperParameterTuningJob,
    ];

    /// The resource type in the ARN, e.g. `endpoint-config`.
    pub fn arn_type(self) -> &'static str {
        match self {
            Kind::Endpoint => "endpoint",
            Kind::EndpointConfig => "endpoint-config",
            Kind::Model => "model",
            Kind::NotebookInstance => "notebook-instance",
            Kind::Pipeline => "pipeline",
            Kind::ModelPackageGroup => "model-package-group",
            Kind::TrainingJob => "training-job",
            Kind::ProcessingJob => "processing-job",
            Kind::TransformJob => "transform-job",
            Kind::HyperParameterTuningJob => "hyper-parameter-tuning-job",
        }
    }

    pub fn from_arn_type(arn_type: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.arn_type() == arn_type)
    }

    pub fn is_job(self) -> bool {
        matches!(
            self,
            Kind::TrainingJob
                | Kind::ProcessingJob
                | Kind::TransformJob
                | Kind::HyperParameterTuningJob
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub kind: Kind,
    pub name: String,
    pub arn: String,
    pub created: Option<DateTime<Utc>>,
}

pub fn to_chrono(time: &SmithyDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Pages through a List call, mapping each summary that has a name and an ARN.
macro_rules! list_all {
    ($kind:expr, $request:expr, $op:literal, $items:ident, $name:ident, $arn:ident) => {{
        let mut pages = $request.into_paginator().send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.aws($op)?.$items.unwrap_or_default() {
                if let (Some(name), Some(arn)) = (item.$name, item.$arn) {
                    found.push(Listed {
                        kind: $kind,
                        name,
                        arn,
                        created: item.creation_time.as_ref().and_then(to_chrono),
                    });
                }
            }
        }
        found
    }};
}

/// Every resource of `kind`; for jobs, those running now or created after `jobs_since`.
pub async fn list(
    client: &Client,
    kind: Kind,
    jobs_since: DateTime<Utc>,
) -> Result<Vec<Listed>, AwsError> {
    let since = SmithyDateTime::from_millis(jobs_since.timestamp_millis());
    let mut found = match kind {
        Kind::Endpoint => list_all!(
            kind,
            client.list_endpoints(),
            "ListEndpoints",
            endpoints,
            endpoint_name,
            endpoint_arn
        ),
        Kind::EndpointConfig => list_all!(
            kind,
            client.list_endpoint_configs(),
            "ListEndpointConfigs",
            endpoint_configs,
            endpoint_config_name,
            endpoint_config_arn
        ),
        Kind::Model => list_all!(
            kind,
            client.list_models(),
            "ListModels",
            models,
            model_name,
            model_arn
        ),
        Kind::NotebookInstance => list_all!(
            kind,
            client.list_notebook_instances(),
            "ListNotebookInstances",
            notebook_instances,
            notebook_instance_name,
            notebook_instance_arn
        ),
        Kind::Pipeline => list_all!(
            kind,
            client.list_pipelines(),
            "ListPipelines",
            pipeline_summaries,
            pipeline_name,
            pipeline_arn
        ),
        Kind::ModelPackageGroup => list_all!(
            kind,
            client.list_model_package_groups(),
            "ListModelPackageGroups",
            model_package_group_summary_list,
            model_package_group_name,
            model_package_group_arn
        ),
        Kind::TrainingJob => {
            let mut jobs = list_all!(
                kind,
                client.list_training_jobs().creation_time_after(since),
                "ListTrainingJobs",
                training_job_summaries,
                training_job_name,
                training_job_arn
            );
            jobs.extend(list_all!(
                kind,
                client
                    .list_training_jobs()
                    .status_equals(TrainingJobStatus::InProgress),
                "ListTrainingJobs",
                training_job_summaries,
                training_job_name,
                training_job_arn
            ));
            jobs
        }
        Kind::ProcessingJob => {
            let mut jobs = list_all!(
                kind,
                client.list_processing_jobs().creation_time_after(since),
                "ListProcessingJobs",
                processing_job_summaries,
                processing_job_name,
                processing_job_arn
            );
            jobs.extend(list_all!(
                kind,
                client
                    .list_processing_jobs()
                    .status_equals(ProcessingJobStatus::InProgress),
                "ListProcessingJobs",
                processing_job_summaries,
                processing_job_name,
                processing_job_arn
            ));
            jobs
        }
        Kind::TransformJob => {
            let mut jobs = list_all!(
                kind,
                client.list_transform_jobs().creation_time_after(since),
                "ListTransformJobs",
                transform_job_summaries,
                transform_job_name,
                transform_job_arn
            );
            jobs.extend(list_all!(
                kind,
                client
                    .list_transform_jobs()
                    .status_equals(TransformJobStatus::InProgress),
                "ListTransformJobs",
                transform_job_summaries,
                transform_job_name,
                transform_job_arn
            ));
            jobs
        }
        Kind::HyperParameterTuningJob => {
            let mut jobs = list_all!(
                kind,
                client
                    .list_hyper_parameter_tuning_jobs()
                    .creation_time_after(since),
                "ListHyperParameterTuningJobs",
                hyper_parameter_tuning_job_summaries,
                hyper_parameter_tuning_job_name,
                hyper_parameter_tuning_job_arn
            );
            jobs.extend(list_all!(
                kind,
                client
                    .list_hyper_parameter_tuning_jobs()
                    .status_equals(HyperParameterTuningJobStatus::InProgress),
                "ListHyperParameterTuningJobs",
                hyper_parameter_tuning_job_summaries,
                hyper_parameter_tuning_job_name,
                hyper_parameter_tuning_job_arn
            ));
            jobs
        }
    };
    found.sort_by(|a, b| a.arn.cmp(&b.arn));
    found.dedup_by(|a, b| a.arn == b.arn);
    Ok(found)
}
