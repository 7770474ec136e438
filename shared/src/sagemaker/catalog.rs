//! Every SageMaker resource sagekeeper tags, listed with its ARN and creation time: the
//! long-lived ones all, jobs only while they run or when recent (a tag added after a job
//! ended attributes no spend).

use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};
use crate::sagemaker::jobs::{self, JobFilter, JobKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Endpoint,
    EndpointConfig,
    Model,
    NotebookInstance,
    Pipeline,
    ModelPackageGroup,
    Job(JobKind),
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Endpoint,
        Kind::EndpointConfig,
        Kind::Model,
        Kind::NotebookInstance,
        Kind::Pipeline,
        Kind::ModelPackageGroup,
        Kind::Job(JobKind::Training),
        Kind::Job(JobKind::Processing),
        Kind::Job(JobKind::Transform),
        Kind::Job(JobKind::HyperParameterTuning),
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
            Kind::Job(job) => job.arn_type(),
        }
    }

    pub fn from_arn_type(arn_type: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.arn_type() == arn_type)
    }

    pub fn is_job(self) -> bool {
        matches!(self, Kind::Job(_))
    }
}

pub type Listed = super::Listed<Kind>;

/// Every resource of `kind`; for jobs, those running now or created after `jobs_since`.
pub async fn list(
    client: &Client,
    kind: Kind,
    jobs_since: DateTime<Utc>,
) -> Result<Vec<Listed>, AwsError> {
    let mut found = match kind {
        Kind::Endpoint => list_summaries!(
            kind,
            client.list_endpoints(),
            "ListEndpoints",
            endpoints,
            endpoint_name,
            endpoint_arn
        ),
        Kind::EndpointConfig => list_summaries!(
            kind,
            client.list_endpoint_configs(),
            "ListEndpointConfigs",
            endpoint_configs,
            endpoint_config_name,
            endpoint_config_arn
        ),
        Kind::Model => list_summaries!(
            kind,
            client.list_models(),
            "ListModels",
            models,
            model_name,
            model_arn
        ),
        Kind::NotebookInstance => list_summaries!(
            kind,
            client.list_notebook_instances(),
            "ListNotebookInstances",
            notebook_instances,
            notebook_instance_name,
            notebook_instance_arn
        ),
        Kind::Pipeline => list_summaries!(
            kind,
            client.list_pipelines(),
            "ListPipelines",
            pipeline_summaries,
            pipeline_name,
            pipeline_arn
        ),
        Kind::ModelPackageGroup => list_summaries!(
            kind,
            client.list_model_package_groups(),
            "ListModelPackageGroups",
            model_package_group_summary_list,
            model_package_group_name,
            model_package_group_arn
        ),
        Kind::Job(job) => {
            let mut found = Vec::new();
            for filter in [JobFilter::CreatedAfter(jobs_since), JobFilter::Running] {
                let listed = jobs::list(client, job, filter).await?;
                found.extend(listed.into_iter().map(|j| Listed {
                    kind,
                    name: j.name,
                    arn: j.arn,
                    created: j.created,
                }));
            }
            found
        }
    };
    found.sort_by(|a, b| a.arn.cmp(&b.arn));
    found.dedup_by(|a, b| a.arn == b.arn);
    Ok(found)
}
