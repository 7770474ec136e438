//! Training, processing, transform and hyperparameter tuning jobs: list the active and recent
//! ones, describe one into a plain [`Job`] (its encryption and network settings and its tags),
//! describe a training job's run for its cost ([`TrainingRun`]), stop one.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    HyperParameterTrainingJobDefinition, HyperParameterTuningJobStatus, ProcessingJobStatus,
    ResourceConfig, TrainingJobStatus, TransformJobStatus, VpcConfig,
};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;
use crate::sagemaker::tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    Training,
    Processing,
    Transform,
    HyperParameterTuning,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::Training,
        JobKind::Processing,
        JobKind::Transform,
        JobKind::HyperParameterTuning,
    ];

    /// The resource type in the job's ARN, e.g. `training-job`.
    pub fn arn_type(self) -> &'static str {
        match self {
            JobKind::Training => "training-job",
            JobKind::Processing => "processing-job",
            JobKind::Transform => "transform-job",
            JobKind::HyperParameterTuning => "hyper-parameter-tuning-job",
        }
    }

    pub fn from_arn_type(arn_type: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.arn_type() == arn_type)
    }

    /// The status every kind of job has while it runs.
    pub fn running_status(self) -> &'static str {
        match self {
            JobKind::Training => TrainingJobStatus::InProgress.as_str(),
            JobKind::Processing => ProcessingJobStatus::InProgress.as_str(),
            JobKind::Transform => TransformJobStatus::InProgress.as_str(),
            JobKind::HyperParameterTuning => HyperParameterTuningJobStatus::InProgress.as_str(),
        }
    }
}

/// A job's encryption-relevant settings, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kind: JobKind,
    pub name: String,
    pub arn: String,
    /// `InProgress`, `Completed`, `Failed`, `Stopping`, `Stopped`.
    pub status: String,
    /// Every instance type the job runs on (one per instance group for heterogeneous clusters).
    pub instance_types: Vec<String>,
    /// Instances working together; more than one exchange data over the network.
    pub instance_count: i32,
    /// The key for the ML storage volumes; for a tuning job, set only when every training job
    /// definition sets one.
    pub volume_kms_key_id: Option<String>,
    /// The key for what the job writes to S3; for a tuning job, set only when every training
    /// job definition sets one.
    pub output_kms_key_id: Option<String>,
    /// False for a processing job without outputs.
    pub writes_output: bool,
    pub inter_container_traffic_encryption: bool,
    /// `None` where the job itself has no such setting: a transform job takes network isolation
    /// and VPC from its model.
    pub network_isolation: Option<bool>,
    pub in_vpc: Option<bool>,
    pub tags: Tags,
}

impl Job {
    pub fn is_running(&self) -> bool {
        self.status == self.kind.running_status()
    }
}

/// A job as its kind's List call names it.
pub type JobSummary = super::Listed<JobKind>;

/// Which jobs a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFilter {
    /// Running now.
    Running,
    /// Created after this time, whatever their status.
    CreatedAfter(DateTime<Utc>),
}

impl JobFilter {
    fn created_after(self) -> Option<SmithyDateTime> {
        match self {
            JobFilter::CreatedAfter(t) => Some(SmithyDateTime::from_millis(t.timestamp_millis())),
            JobFilter::Running => None,
        }
    }
    fn running(self) -> bool {
        matches!(self, JobFilter::Running)
    }
}

/// The jobs of `kind` that `filter` selects: the one lister of the four `List*Jobs` calls.
pub async fn list(
    client: &Client,
    kind: JobKind,
    filter: JobFilter,
) -> Result<Vec<JobSummary>, AwsError> {
    let after = filter.created_after();
    let running = filter.running();
    // The four list calls share a shape but not a type, hence one arm each.
    Ok(match kind {
        JobKind::Training => list_summaries!(
            kind,
            client
                .list_training_jobs()
                .set_creation_time_after(after)
                .set_status_equals(running.then_some(TrainingJobStatus::InProgress)),
            "ListTrainingJobs",
            training_job_summaries,
            training_job_name,
            training_job_arn
        ),
        JobKind::Processing => list_summaries!(
            kind,
            client
                .list_processing_jobs()
                .set_creation_time_after(after)
                .set_status_equals(running.then_some(ProcessingJobStatus::InProgress)),
            "ListProcessingJobs",
            processing_job_summaries,
            processing_job_name,
            processing_job_arn
        ),
        JobKind::Transform => list_summaries!(
            kind,
            client
                .list_transform_jobs()
                .set_creation_time_after(after)
                .set_status_equals(running.then_some(TransformJobStatus::InProgress)),
            "ListTransformJobs",
            transform_job_summaries,
            transform_job_name,
            transform_job_arn
        ),
        JobKind::HyperParameterTuning => list_summaries!(
            kind,
            client
                .list_hyper_parameter_tuning_jobs()
                .set_creation_time_after(after)
                .set_status_equals(running.then_some(HyperParameterTuningJobStatus::InProgress)),
            "ListHyperParameterTuningJobs",
            hyper_parameter_tuning_job_summaries,
            hyper_parameter_tuning_job_name,
            hyper_parameter_tuning_job_arn
        ),
    })
}

/// Describes the job and reads its tags.
pub async fn describe(client: &Client, kind: JobKind, name: &str) -> Result<Job, AwsError> {
    let mut job = match kind {
        JobKind::Training => describe_training(client, name).await?,
        JobKind::Processing => describe_processing(client, name).await?,
        JobKind::Transform => describe_transform(client, name).await?,
        JobKind::HyperParameterTuning => describe_tuning(client, name).await?,
    };
    job.tags = tags::list(client, &job.arn).await?;
    Ok(job)
}

fn in_vpc(vpc: Option<&VpcConfig>) -> bool {
    vpc.is_some_and(|v| !v.subnets().is_empty())
}

/// (instance type, count): one entry, or one per group of a heterogeneous cluster (which
/// lists its instances in groups instead of type and count).
fn training_instances(resources: Option<&ResourceConfig>) -> Vec<(String, i32)> {
    let groups = resources.map(|r| r.instance_groups()).unwrap_or_default();
    if groups.is_empty() {
        let count = resources.and_then(|r| r.instance_count()).unwrap_or(1);
        resources
            .and_then(|r| r.instance_type())
            .map(|t| vec![(t.as_str().to_owned(), count)])
            .unwrap_or_default()
    } else {
        groups
            .iter()
            .filter_map(|g| Some((g.instance_type()?.as_str().to_owned(), g.instance_count()?)))
            .collect()
    }
}

async fn describe_training(client: &Client, name: &str) -> Result<Job, AwsError> {
    let out = client
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .aws("DescribeTrainingJob")?;
    let resources = out.resource_config();
    let instances = training_instances(resources);
    let instance_types = instances.iter().map(|(t, _)| t.clone()).collect();
    let instance_count = instances.iter().map(|(_, n)| n).sum();
    Ok(Job {
        kind: JobKind::Training,
        name: out.training_job_name().unwrap_or(name).to_owned(),
        arn: out.training_job_arn().unwrap_or_default().to_owned(),
        status: out
            .training_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_types,
        instance_count,
        volume_kms_key_id: resources
            .and_then(|r| r.volume_kms_key_id())
            .map(str::to_owned),
        output_kms_key_id: out
            .output_data_config()
            .and_then(|o| o.kms_key_id())
            .map(str::to_owned),
        writes_output: true,
        inter_container_traffic_encryption: out
            .enable_inter_container_traffic_encryption()
            .unwrap_or(false),
        network_isolation: Some(out.enable_network_isolation().unwrap_or(false)),
        in_vpc: Some(in_vpc(out.vpc_config())),
        tags: Tags::new(),
    })
}

async fn describe_processing(client: &Client, name: &str) -> Result<Job, AwsError> {
    let out = client
        .describe_processing_job()
        .processing_job_name(name)
        .send()
        .await
        .aws("DescribeProcessingJob")?;
    let cluster = out.processing_resources().and_then(|r| r.cluster_config());
    let network = out.network_config();
    let output = out.processing_output_config();
    Ok(Job {
        kind: JobKind::Processing,
        name: out.processing_job_name().unwrap_or(name).to_owned(),
        arn: out.processing_job_arn().unwrap_or_default().to_owned(),
        status: out
            .processing_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_types: cluster
            .and_then(|c| c.instance_type())
            .map(|t| vec![t.as_str().to_owned()])
            .unwrap_or_default(),
        instance_count: cluster.and_then(|c| c.instance_count()).unwrap_or(1),
        volume_kms_key_id: cluster
            .and_then(|c| c.volume_kms_key_id())
            .map(str::to_owned),
        output_kms_key_id: output.and_then(|o| o.kms_key_id()).map(str::to_owned),
        writes_output: output.is_some_and(|o| !o.outputs().is_empty()),
        inter_container_traffic_encryption: network
            .and_then(|n| n.enable_inter_container_traffic_encryption())
            .unwrap_or(false),
        network_isolation: Some(
            network
                .and_then(|n| n.enable_network_isolation())
                .unwrap_or(false),
        ),
        in_vpc: Some(in_vpc(network.and_then(|n| n.vpc_config()))),
        tags: Tags::new(),
    })
}

async fn describe_transform(client: &Client, name: &str) -> Result<Job, AwsError> {
    let out = client
        .describe_transform_job()
        .transform_job_name(name)
        .send()
        .await
        .aws("DescribeTransformJob")?;
    let resources = out.transform_resources();
    Ok(Job {
        kind: JobKind::Transform,
        name: out.transform_job_name().unwrap_or(name).to_owned(),
        arn: out.transform_job_arn().unwrap_or_default().to_owned(),
        status: out
            .transform_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_types: resources
            .and_then(|r| r.instance_type())
            .map(|t| vec![t.as_str().to_owned()])
            .unwrap_or_default(),
        instance_count: resources.and_then(|r| r.instance_count()).unwrap_or(1),
        volume_kms_key_id: resources
            .and_then(|r| r.volume_kms_key_id())
            .map(str::to_owned),
        output_kms_key_id: out
            .transform_output()
            .and_then(|o| o.kms_key_id())
            .map(str::to_owned),
        writes_output: true,
        // Transform instances each work on their own share of the input: nothing to encrypt
        // between them, so there is no such setting.
        inter_container_traffic_encryption: false,
        network_isolation: None,
        in_vpc: None,
        tags: Tags::new(),
    })
}

async fn describe_tuning(client: &Client, name: &str) -> Result<Job, AwsError> {
    let out = client
        .describe_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .send()
        .await
        .aws("DescribeHyperParameterTuningJob")?;
    let definitions: Vec<&HyperParameterTrainingJobDefinition> = out
        .training_job_definition()
        .into_iter()
        .chain(out.training_job_definitions())
        .collect();
    // One setting for all the definitions: the weakest of them, so a definition without a key
    // is never hidden by another with one.
    let all_set = |key: fn(&HyperParameterTrainingJobDefinition) -> Option<&str>| {
        let keys: Vec<Option<&str>> = definitions.iter().map(|d| key(d)).collect();
        if keys.is_empty() || keys.iter().any(Option::is_none) {
            None
        } else {
            keys.first().copied().flatten().map(str::to_owned)
        }
    };
    let all = |flag: fn(&HyperParameterTrainingJobDefinition) -> bool| {
        !definitions.is_empty() && definitions.iter().all(|d| flag(d))
    };
    Ok(Job {
        kind: JobKind::HyperParameterTuning,
        name: out
            .hyper_parameter_tuning_job_name()
            .unwrap_or(name)
            .to_owned(),
        arn: out
            .hyper_parameter_tuning_job_arn()
            .unwrap_or_default()
            .to_owned(),
        status: out
            .hyper_parameter_tuning_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instance_types: definitions
            .iter()
            .filter_map(|d| d.resource_config().and_then(|r| r.instance_type()))
            .map(|t| t.as_str().to_owned())
            .collect(),
        instance_count: definitions
            .iter()
            .filter_map(|d| d.resource_config().and_then(|r| r.instance_count()))
            .max()
            .unwrap_or(1),
        volume_kms_key_id: all_set(|d| {
            d.resource_config()
                .and_then(|r| r.volume_kms_key_id())
                .or_else(|| {
                    d.hyper_parameter_tuning_resource_config()
                        .and_then(|r| r.volume_kms_key_id())
                })
        }),
        output_kms_key_id: all_set(|d| d.output_data_config().and_then(|o| o.kms_key_id())),
        writes_output: true,
        inter_container_traffic_encryption: all(|d| {
            d.enable_inter_container_traffic_encryption()
                .unwrap_or(false)
        }),
        network_isolation: Some(all(|d| d.enable_network_isolation().unwrap_or(false))),
        in_vpc: Some(all(|d| in_vpc(d.vpc_config()))),
        tags: Tags::new(),
    })
}

/// What a training job's cost depends on: what it ran on, for how long, and its spot and
/// stopping settings. (No tags: what decides on cost needs none.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRun {
    pub name: String,
    pub arn: String,
    /// `InProgress`, `Completed`, `Failed`, `Stopping`, `Stopped`.
    pub status: String,
    /// (instance type, count): one entry, or one per instance group of a heterogeneous cluster.
    pub instances: Vec<(String, i32)>,
    pub managed_spot: bool,
    pub checkpoint_s3_uri: Option<String>,
    pub max_runtime_seconds: Option<i32>,
    pub max_wait_seconds: Option<i32>,
    /// Wall-clock seconds billed per instance (after spot savings); set once the job ended.
    pub billable_seconds: Option<i32>,
    /// Wall-clock seconds the job trained (spot interruptions included).
    pub training_seconds: Option<i32>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
}

/// DescribeTrainingJob into a [`TrainingRun`]; `None` when there is no such job.
pub async fn describe_training_run(
    client: &Client,
    name: &str,
) -> Result<Option<TrainingRun>, AwsError> {
    let Some(out) = super::training::describe_output(client, name).await? else {
        return Ok(None);
    };
    let instances = training_instances(out.resource_config());
    let stopping = out.stopping_condition();
    Ok(Some(TrainingRun {
        name: out.training_job_name().unwrap_or(name).to_owned(),
        arn: out.training_job_arn().unwrap_or_default().to_owned(),
        status: out
            .training_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        instances,
        managed_spot: out.enable_managed_spot_training().unwrap_or(false),
        checkpoint_s3_uri: out
            .checkpoint_config()
            .and_then(|c| c.s3_uri())
            .filter(|uri| !uri.is_empty())
            .map(str::to_owned),
        max_runtime_seconds: stopping.and_then(|s| s.max_runtime_in_seconds()),
        max_wait_seconds: stopping.and_then(|s| s.max_wait_time_in_seconds()),
        billable_seconds: out.billable_time_in_seconds(),
        training_seconds: out.training_time_in_seconds(),
        started: out.training_start_time().and_then(super::to_chrono),
        ended: out.training_end_time().and_then(super::to_chrono),
    }))
}

/// Stops a running job. SageMaker keeps what the job wrote so far; a stopped training job
/// keeps its checkpoints and can be retrained.
pub async fn stop(client: &Client, kind: JobKind, name: &str) -> Result<(), AwsError> {
    match kind {
        JobKind::Training => client
            .stop_training_job()
            .training_job_name(name)
            .send()
            .await
            .aws("StopTrainingJob")
            .map(drop),
        JobKind::Processing => client
            .stop_processing_job()
            .processing_job_name(name)
            .send()
            .await
            .aws("StopProcessingJob")
            .map(drop),
        JobKind::Transform => client
            .stop_transform_job()
            .transform_job_name(name)
            .send()
            .await
            .aws("StopTransformJob")
            .map(drop),
        JobKind::HyperParameterTuning => client
            .stop_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .send()
            .await
            .aws("StopHyperParameterTuningJob")
            .map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_processing_job::DescribeProcessingJobOutput;
    use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
    use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
    use aws_sdk_sagemaker::operation::stop_training_job::StopTrainingJobOutput;
    use aws_sdk_sagemaker::types::{
        CheckpointConfig, InstanceGroup, NetworkConfig, ProcessingClusterConfig,
        ProcessingInstanceType, ProcessingOutput, ProcessingOutputConfig, ProcessingResources,
        ResourceConfig, StoppingCondition, Tag, TrainingInstanceType,
    };
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn kinds_round_trip_through_arn_types() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::from_arn_type(kind.arn_type()), Some(kind));
        }
        assert_eq!(JobKind::from_arn_type("endpoint"), None);
    }

    // The emulator does not emulate StopTrainingJob (it answers HTTP 500), so the request this
    // adapter sends is checked against a mock.
    #[tokio::test]
    async fn stop_sends_the_stop_call_of_the_job_kind() {
        let stop_rule = mock!(Client::stop_training_job)
            .match_requests(|r| r.training_job_name() == Some("churn"))
            .then_output(|| StopTrainingJobOutput::builder().build());
        let client = mock_client!(aws_sdk_sagemaker, [&stop_rule]);
        stop(&client, JobKind::Training, "churn").await.unwrap();
        assert_eq!(stop_rule.num_calls(), 1);
    }

    // The emulator's DescribeProcessingJob leaves out ProcessingResources, so the volume key
    // and instance count of a processing job are read from a mocked answer.
    #[tokio::test]
    async fn describes_a_processing_job_with_its_cluster_and_tags() {
        let describe_rule = mock!(Client::describe_processing_job).then_output(|| {
            DescribeProcessingJobOutput::builder()
                .processing_job_name("features")
                .processing_job_arn(
                    "arn:aws:sagemaker:us-east-1:123456789012:processing-job/features",
                )
                .processing_job_status(ProcessingJobStatus::InProgress)
                .processing_resources(
                    ProcessingResources::builder()
                        .cluster_config(
                            ProcessingClusterConfig::builder()
                                .instance_count(2)
                                .instance_type(ProcessingInstanceType::MlM5Xlarge)
                                .volume_size_in_gb(30)
                                .volume_kms_key_id("alias/ml")
                                .build(),
                        )
                        .build(),
                )
                .processing_output_config(
                    ProcessingOutputConfig::builder()
                        .outputs(ProcessingOutput::builder().output_name("out").build())
                        .build(),
                )
                .network_config(
                    NetworkConfig::builder()
                        .enable_inter_container_traffic_encryption(true)
                        .build(),
                )
                .build()
        });
        let list_tags = mock!(Client::list_tags).then_output(|| {
            ListTagsOutput::builder()
                .tags(
                    Tag::builder()
                        .key("DataClassification")
                        .value("Restricted")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_sagemaker, [&describe_rule, &list_tags]);
        let job = describe(&client, JobKind::Processing, "features")
            .await
            .unwrap();
        assert!(job.is_running());
        assert_eq!(job.instance_count, 2);
        assert_eq!(job.instance_types, ["ml.m5.xlarge"]);
        assert_eq!(job.volume_kms_key_id.as_deref(), Some("alias/ml"));
        assert_eq!(job.output_kms_key_id, None);
        assert!(job.writes_output);
        assert!(job.inter_container_traffic_encryption);
        assert_eq!(job.network_isolation, Some(false));
        assert_eq!(job.in_vpc, Some(false));
        assert_eq!(job.tags["DataClassification"], "Restricted");
    }

    // The emulator returns neither BillableTimeInSeconds nor TrainingTimeInSeconds and no
    // instance groups, so a training run is also read from a mocked answer.
    #[tokio::test]
    async fn describes_a_training_run_with_its_groups_spot_settings_and_billed_time() {
        let describe_rule = mock!(Client::describe_training_job)
            .match_requests(|r| r.training_job_name() == Some("hetero"))
            .then_output(|| {
                DescribeTrainingJobOutput::builder()
                    .training_job_name("hetero")
                    .training_job_arn(
                        "arn:aws:sagemaker:us-east-1:123456789012:training-job/hetero",
                    )
                    .training_job_status(TrainingJobStatus::Completed)
                    .resource_config(
                        ResourceConfig::builder()
                            .instance_groups(
                                InstanceGroup::builder()
                                    .instance_group_name("gpu")
                                    .instance_type(TrainingInstanceType::MlG5Xlarge)
                                    .instance_count(2)
                                    .build(),
                            )
                            .instance_groups(
                                InstanceGroup::builder()
                                    .instance_group_name("cpu")
                                    .instance_type(TrainingInstanceType::MlC5Xlarge)
                                    .instance_count(1)
                                    .build(),
                            )
                            .build(),
                    )
                    .enable_managed_spot_training(true)
                    .checkpoint_config(CheckpointConfig::builder().s3_uri("s3://c/h").build())
                    .stopping_condition(
                        StoppingCondition::builder()
                            .max_runtime_in_seconds(3600)
                            .max_wait_time_in_seconds(7200)
                            .build(),
                    )
                    .billable_time_in_seconds(1200)
                    .training_time_in_seconds(3000)
                    .training_start_time(SmithyDateTime::from_secs(1_800_000_000))
                    .training_end_time(SmithyDateTime::from_secs(1_800_003_000))
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, [&describe_rule]);
        let run = describe_training_run(&client, "hetero")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            run.instances,
            [
                ("ml.g5.xlarge".to_owned(), 2),
                ("ml.c5.xlarge".to_owned(), 1)
            ]
        );
        assert!(run.managed_spot);
        assert_eq!(run.checkpoint_s3_uri.as_deref(), Some("s3://c/h"));
        assert_eq!(
            (run.max_runtime_seconds, run.max_wait_seconds),
            (Some(3600), Some(7200))
        );
        assert_eq!(
            (run.billable_seconds, run.training_seconds),
            (Some(1200), Some(3000))
        );
        assert_eq!(
            run.ended.unwrap() - run.started.unwrap(),
            chrono::Duration::seconds(3000)
        );
        assert_eq!(run.status, "Completed");
    }
}
