//! Training jobs as definitions that can be created again: describe a job into a plain
//! [`TrainingJobDefinition`] holding everything CreateTrainingJob takes, create a job from one,
//! and list jobs by name. SDK types stop here.
//!
//! (`jobs.rs` describes jobs of every kind for their encryption settings only; this is the
//! complete definition of one kind, for copying it.)
//!
//! Fidelity comes first: whatever a definition cannot hold is listed by [`describe`], either as
//! `not_carried` (a copy runs without it but trains the same: debugger, profiler, experiment
//! tracking) or as `unsupported` (a copy would train differently, so it must not be made).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, Channel, CheckpointConfig, CompressionType, DataSource,
    FileSystemAccessMode, FileSystemDataSource, FileSystemType, HubAccessConfig, InstanceGroup,
    MetricDefinition, ModelAccessConfig, OutputCompressionType, OutputDataConfig, RecordWrapper,
    ResourceConfig, RetryStrategy, S3DataDistribution, S3DataSource, S3DataType, ShuffleConfig,
    SortBy, SortOrder, StoppingCondition, Tag, TrainingImageConfig, TrainingInputMode,
    TrainingInstanceType, TrainingJobStatus, TrainingRepositoryAccessMode,
    TrainingRepositoryAuthConfig, VpcConfig,
};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;
use crate::sagemaker::tags;

/// Everything CreateTrainingJob takes that this module carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrainingJobDefinition {
    pub name: String,
    pub role_arn: String,
    pub algorithm: Algorithm,
    pub inputs: Vec<InputChannel>,
    pub output: Output,
    pub resources: Resources,
    pub stopping: Stopping,
    pub vpc: Option<Vpc>,
    pub network_isolation: bool,
    pub inter_container_traffic_encryption: bool,
    pub managed_spot: bool,
    pub checkpoint: Option<Checkpoint>,
    pub hyper_parameters: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub retry_attempts: Option<i32>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Algorithm {
    pub training_image: Option<String>,
    pub algorithm_name: Option<String>,
    /// `File`, `Pipe` or `FastFile`.
    pub input_mode: Option<String>,
    /// (name, regex) pairs.
    pub metric_definitions: Vec<(String, String)>,
    pub metrics_time_series: Option<bool>,
    pub container_entrypoint: Vec<String>,
    pub container_arguments: Vec<String>,
    /// `Platform` or `Vpc` (a private registry).
    pub repository_access_mode: Option<String>,
    pub repository_credentials_provider_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputChannel {
    pub name: String,
    pub source: ChannelSource,
    pub content_type: Option<String>,
    pub compression: Option<String>,
    pub record_wrapper: Option<String>,
    pub input_mode: Option<String>,
    pub shuffle_seed: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSource {
    S3 {
        uri: String,
        /// `S3Prefix`, `ManifestFile`, `AugmentedManifestFile`, `Converse`.
        data_type: Option<String>,
        /// `FullyReplicated` or `ShardedByS3Key`.
        distribution: Option<String>,
        attribute_names: Vec<String>,
        instance_group_names: Vec<String>,
        accept_eula: Option<bool>,
        hub_content_arn: Option<String>,
    },
    FileSystem {
        id: String,
        access_mode: String,
        /// `EFS` or `FSxLustre`.
        kind: String,
        directory_path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub s3_output_path: String,
    /// Encrypts the model artifacts (and checkpoints) the job writes.
    pub kms_key_id: Option<String>,
    pub compression: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    pub instance_type: Option<String>,
    pub instance_count: Option<i32>,
    pub volume_size_gb: Option<i32>,
    /// Encrypts the ML storage volumes attached to the training instances.
    pub volume_kms_key_id: Option<String>,
    /// Warm pool: how long instances stay up after the job for the next one.
    pub keep_alive_seconds: Option<i32>,
    /// Heterogeneous clusters: (name, instance type, count).
    pub instance_groups: Vec<(String, String, i32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stopping {
    pub max_runtime_seconds: Option<i32>,
    /// Spot training only: the runtime plus the time spent waiting for spot capacity.
    pub max_wait_seconds: Option<i32>,
    pub max_pending_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub security_group_ids: Vec<String>,
    pub subnets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub s3_uri: String,
    pub local_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedTrainingJob {
    pub arn: String,
    pub status: String,
    pub definition: TrainingJobDefinition,
    /// Settings the job has that a definition does not carry but a copy can do without:
    /// debugger, profiler, TensorBoard output, experiment and MLflow tracking...
    pub not_carried: Vec<&'static str>,
    /// Settings without which a copy would train differently: a copy must not be made.
    pub unsupported: Vec<&'static str>,
}

/// SageMaker answers a missing training job with a ValidationException ("Requested resource
/// not found"; the emulator says "Could not find").
fn is_not_found(err: &AwsError) -> bool {
    err.is_code("ValidationException")
        && (err.message.contains("not found") || err.message.contains("Could not find"))
}

/// DescribeTrainingJob as SageMaker answers it; `None` when there is no such job.
pub(super) async fn describe_output(
    client: &Client,
    name: &str,
) -> Result<Option<DescribeTrainingJobOutput>, AwsError> {
    match client
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .aws("DescribeTrainingJob")
    {
        Ok(out) => Ok(Some(out)),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The job's complete definition with its tags; `None` when there is no such job.
pub async fn describe(
    client: &Client,
    name: &str,
) -> Result<Option<DescribedTrainingJob>, AwsError> {
    let Some(out) = describe_output(client, name).await? else {
        return Ok(None);
    };
    let arn = out.training_job_arn().unwrap_or_default().to_owned();
    // DescribeTrainingJob has no tags.
    let tags = tags::list(client, &arn).await?;

    let resource_config = out.resource_config();
    let unsupported = present([
        (out.serverless_job_config().is_some(), "ServerlessJobConfig"),
        (
            resource_config.is_some_and(|r| r.training_plan_arn().is_some()),
            "ResourceConfig.TrainingPlanArn",
        ),
        (
            resource_config.is_some_and(|r| r.instance_placement_config().is_some()),
            "ResourceConfig.InstancePlacementConfig",
        ),
        (
            resource_config.is_some_and(|r| !r.instance_preferences().is_empty()),
            "ResourceConfig.InstancePreferences",
        ),
        (
            out.input_data_config().iter().any(|c| {
                c.data_source()
                    .is_some_and(|d| d.dataset_source().is_some())
            }),
            "InputDataConfig.DataSource.DatasetSource",
        ),
    ]);
    let not_carried = present([
        (out.debug_hook_config().is_some(), "DebugHookConfig"),
        (
            !out.debug_rule_configurations().is_empty(),
            "DebugRuleConfigurations",
        ),
        (
            out.tensor_board_output_config().is_some(),
            "TensorBoardOutputConfig",
        ),
        (out.profiler_config().is_some(), "ProfilerConfig"),
        (
            !out.profiler_rule_configurations().is_empty(),
            "ProfilerRuleConfigurations",
        ),
        (out.experiment_config().is_some(), "ExperimentConfig"),
        (out.remote_debug_config().is_some(), "RemoteDebugConfig"),
        (out.infra_check_config().is_some(), "InfraCheckConfig"),
        (out.mlflow_config().is_some(), "MlflowConfig"),
        (out.model_package_config().is_some(), "ModelPackageConfig"),
    ]);

    let definition = TrainingJobDefinition {
        name: out.training_job_name().unwrap_or(name).to_owned(),
        role_arn: out.role_arn().unwrap_or_default().to_owned(),
        algorithm: out
            .algorithm_specification()
            .map(algorithm)
            .unwrap_or_default(),
        inputs: out.input_data_config().iter().filter_map(channel).collect(),
        output: out
            .output_data_config()
            .map(|o| Output {
                s3_output_path: o.s3_output_path().unwrap_or_default().to_owned(),
                kms_key_id: o.kms_key_id().map(str::to_owned),
                compression: o.compression_type().map(|c| c.as_str().to_owned()),
            })
            .unwrap_or_default(),
        resources: out.resource_config().map(resources).unwrap_or_default(),
        stopping: out
            .stopping_condition()
            .map(|s| Stopping {
                max_runtime_seconds: s.max_runtime_in_seconds(),
                max_wait_seconds: s.max_wait_time_in_seconds(),
                max_pending_seconds: s.max_pending_time_in_seconds(),
            })
            .unwrap_or_default(),
        vpc: out.vpc_config().map(|v| Vpc {
            security_group_ids: v.security_group_ids().to_vec(),
            subnets: v.subnets().to_vec(),
        }),
        network_isolation: out.enable_network_isolation().unwrap_or(false),
        inter_container_traffic_encryption: out
            .enable_inter_container_traffic_encryption()
            .unwrap_or(false),
        managed_spot: out.enable_managed_spot_training().unwrap_or(false),
        checkpoint: out.checkpoint_config().and_then(|c| {
            Some(Checkpoint {
                s3_uri: c.s3_uri()?.to_owned(),
                local_path: c.local_path().map(str::to_owned),
            })
        }),
        hyper_parameters: sorted(out.hyper_parameters()),
        environment: sorted(out.environment()),
        retry_attempts: out
            .retry_strategy()
            .and_then(|r| r.maximum_retry_attempts()),
        tags,
    };
    Ok(Some(DescribedTrainingJob {
        arn,
        status: out
            .training_job_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        definition,
        not_carried,
        unsupported,
    }))
}

/// The names of the settings that are present.
fn present<const N: usize>(settings: [(bool, &'static str); N]) -> Vec<&'static str> {
    settings
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect()
}

fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn algorithm(a: &AlgorithmSpecification) -> Algorithm {
    let image_config = a.training_image_config();
    Algorithm {
        training_image: a.training_image().map(str::to_owned),
        algorithm_name: a.algorithm_name().map(str::to_owned),
        input_mode: a.training_input_mode().map(|m| m.as_str().to_owned()),
        metric_definitions: a
            .metric_definitions()
            .iter()
            .filter_map(|m| Some((m.name()?.to_owned(), m.regex()?.to_owned())))
            .collect(),
        metrics_time_series: a.enable_sage_maker_metrics_time_series(),
        container_entrypoint: a.container_entrypoint().to_vec(),
        container_arguments: a.container_arguments().to_vec(),
        repository_access_mode: image_config
            .and_then(|c| c.training_repository_access_mode())
            .map(|m| m.as_str().to_owned()),
        repository_credentials_provider_arn: image_config
            .and_then(|c| c.training_repository_auth_config())
            .and_then(|a| a.training_repository_credentials_provider_arn())
            .map(str::to_owned),
    }
}

/// `None` for a channel from a dataset source, which `describe` reports as unsupported.
fn channel(c: &Channel) -> Option<InputChannel> {
    let data = c.data_source()?;
    let source = if let Some(s3) = data.s3_data_source() {
        ChannelSource::S3 {
            uri: s3.s3_uri().unwrap_or_default().to_owned(),
            data_type: s3.s3_data_type().map(|t| t.as_str().to_owned()),
            distribution: s3
                .s3_data_distribution_type()
                .map(|d| d.as_str().to_owned()),
            attribute_names: s3.attribute_names().to_vec(),
            instance_group_names: s3.instance_group_names().to_vec(),
            accept_eula: s3.model_access_config().and_then(|m| m.accept_eula()),
            hub_content_arn: s3
                .hub_access_config()
                .and_then(|h| h.hub_content_arn())
                .map(str::to_owned),
        }
    } else {
        let fs = data.file_system_data_source()?;
        ChannelSource::FileSystem {
            id: fs.file_system_id().unwrap_or_default().to_owned(),
            access_mode: fs
                .file_system_access_mode()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            kind: fs
                .file_system_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            directory_path: fs.directory_path().unwrap_or_default().to_owned(),
        }
    };
    Some(InputChannel {
        name: c.channel_name().unwrap_or_default().to_owned(),
        source,
        content_type: c.content_type().map(str::to_owned),
        compression: c.compression_type().map(|t| t.as_str().to_owned()),
        record_wrapper: c.record_wrapper_type().map(|t| t.as_str().to_owned()),
        input_mode: c.input_mode().map(|m| m.as_str().to_owned()),
        shuffle_seed: c.shuffle_config().and_then(|s| s.seed()),
    })
}

fn resources(r: &ResourceConfig) -> Resources {
    Resources {
        instance_type: r.instance_type().map(|t| t.as_str().to_owned()),
        instance_count: r.instance_count(),
        volume_size_gb: r.volume_size_in_gb(),
        volume_kms_key_id: r.volume_kms_key_id().map(str::to_owned),
        keep_alive_seconds: r.keep_alive_period_in_seconds(),
        instance_groups: r
            .instance_groups()
            .iter()
            .map(|g| {
                (
                    g.instance_group_name().unwrap_or_default().to_owned(),
                    g.instance_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    g.instance_count().unwrap_or(0),
                )
            })
            .collect(),
    }
}

/// Creates a job from `definition` and returns its ARN. Tags under the reserved `aws:` prefix
/// are AWS's own and cannot be set, so they are left out.
///
/// A job of a SageMaker built-in algorithm describes the algorithm's own metric definitions,
/// but CreateTrainingJob refuses metric definitions for built-in algorithms ("You can't
/// override the metric definitions for Amazon SageMaker algorithms"); such a refusal is
/// answered by creating the job without them, which gives it the same metrics.
pub async fn create(
    client: &Client,
    definition: &TrainingJobDefinition,
) -> Result<String, AwsError> {
    match create_once(client, definition).await {
        Err(err)
            if !definition.algorithm.metric_definitions.is_empty()
                && err.is_code("ValidationException")
                && err
                    .message
                    .to_ascii_lowercase()
                    .contains("metric definition") =>
        {
            tracing::warn!(job = %definition.name, error = %err, "creating the job again without metric definitions");
            let mut without = definition.clone();
            without.algorithm.metric_definitions.clear();
            create_once(client, &without).await
        }
        result => result,
    }
}

async fn create_once(
    client: &Client,
    definition: &TrainingJobDefinition,
) -> Result<String, AwsError> {
    let d = definition;
    let tags: Vec<Tag> = d
        .tags
        .iter()
        .filter(|(key, _)| !key.starts_with("aws:"))
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    let out = client
        .create_training_job()
        .training_job_name(&d.name)
        .role_arn(&d.role_arn)
        .algorithm_specification(to_algorithm(&d.algorithm))
        .set_input_data_config(
            (!d.inputs.is_empty()).then(|| d.inputs.iter().map(to_channel).collect()),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path(&d.output.s3_output_path)
                .set_kms_key_id(d.output.kms_key_id.clone())
                .set_compression_type(
                    d.output
                        .compression
                        .as_deref()
                        .map(OutputCompressionType::from),
                )
                .build(),
        )
        .resource_config(to_resources(&d.resources))
        .stopping_condition(
            StoppingCondition::builder()
                .set_max_runtime_in_seconds(d.stopping.max_runtime_seconds)
                .set_max_wait_time_in_seconds(d.stopping.max_wait_seconds)
                .set_max_pending_time_in_seconds(d.stopping.max_pending_seconds)
                .build(),
        )
        .set_vpc_config(d.vpc.as_ref().map(|v| {
            VpcConfig::builder()
                .set_security_group_ids(Some(v.security_group_ids.clone()))
                .set_subnets(Some(v.subnets.clone()))
                .build()
        }))
        .enable_network_isolation(d.network_isolation)
        .enable_inter_container_traffic_encryption(d.inter_container_traffic_encryption)
        .enable_managed_spot_training(d.managed_spot)
        .set_checkpoint_config(d.checkpoint.as_ref().map(|c| {
            CheckpointConfig::builder()
                .s3_uri(&c.s3_uri)
                .set_local_path(c.local_path.clone())
                .build()
        }))
        .set_hyper_parameters(
            (!d.hyper_parameters.is_empty())
                .then(|| d.hyper_parameters.clone().into_iter().collect()),
        )
        .set_environment(
            (!d.environment.is_empty()).then(|| d.environment.clone().into_iter().collect()),
        )
        .set_retry_strategy(d.retry_attempts.map(|attempts| {
            RetryStrategy::builder()
                .maximum_retry_attempts(attempts)
                .build()
        }))
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .aws("CreateTrainingJob")?;
    Ok(out.training_job_arn.unwrap_or_default())
}

fn to_algorithm(a: &Algorithm) -> AlgorithmSpecification {
    let image_config = (a.repository_access_mode.is_some()
        || a.repository_credentials_provider_arn.is_some())
    .then(|| {
        TrainingImageConfig::builder()
            .set_training_repository_access_mode(
                a.repository_access_mode
                    .as_deref()
                    .map(TrainingRepositoryAccessMode::from),
            )
            .set_training_repository_auth_config(
                a.repository_credentials_provider_arn.as_ref().map(|arn| {
                    TrainingRepositoryAuthConfig::builder()
                        .training_repository_credentials_provider_arn(arn)
                        .build()
                }),
            )
            .build()
    });
    AlgorithmSpecification::builder()
        .set_training_image(a.training_image.clone())
        .set_algorithm_name(a.algorithm_name.clone())
        .set_training_input_mode(a.input_mode.as_deref().map(TrainingInputMode::from))
        .set_metric_definitions((!a.metric_definitions.is_empty()).then(|| {
            a.metric_definitions
                .iter()
                .map(|(name, regex)| MetricDefinition::builder().name(name).regex(regex).build())
                .collect()
        }))
        .set_enable_sage_maker_metrics_time_series(a.metrics_time_series)
        .set_container_entrypoint(
            (!a.container_entrypoint.is_empty()).then(|| a.container_entrypoint.clone()),
        )
        .set_container_arguments(
            (!a.container_arguments.is_empty()).then(|| a.container_arguments.clone()),
        )
        .set_training_image_config(image_config)
        .build()
}

fn to_channel(c: &InputChannel) -> Channel {
    let source = match &c.source {
        ChannelSource::S3 {
            uri,
            data_type,
            distribution,
            attribute_names,
            instance_group_names,
            accept_eula,
            hub_content_arn,
        } => DataSource::builder()
            .s3_data_source(
                S3DataSource::builder()
                    .s3_uri(uri)
                    .set_s3_data_type(data_type.as_deref().map(S3DataType::from))
                    .set_s3_data_distribution_type(
                        distribution.as_deref().map(S3DataDistribution::from),
                    )
                    .set_attribute_names(
                        (!attribute_names.is_empty()).then(|| attribute_names.clone()),
                    )
                    .set_instance_group_names(
                        (!instance_group_names.is_empty()).then(|| instance_group_names.clone()),
                    )
                    .set_model_access_config(
                        accept_eula
                            .map(|accept| ModelAccessConfig::builder().accept_eula(accept).build()),
                    )
                    .set_hub_access_config(
                        hub_content_arn
                            .as_ref()
                            .map(|arn| HubAccessConfig::builder().hub_content_arn(arn).build()),
                    )
                    .build(),
            )
            .build(),
        ChannelSource::FileSystem {
            id,
            access_mode,
            kind,
            directory_path,
        } => DataSource::builder()
            .file_system_data_source(
                FileSystemDataSource::builder()
                    .file_system_id(id)
                    .file_system_access_mode(FileSystemAccessMode::from(access_mode.as_str()))
                    .file_system_type(FileSystemType::from(kind.as_str()))
                    .directory_path(directory_path)
                    .build(),
            )
            .build(),
    };
    Channel::builder()
        .channel_name(&c.name)
        .data_source(source)
        .set_content_type(c.content_type.clone())
        .set_compression_type(c.compression.as_deref().map(CompressionType::from))
        .set_record_wrapper_type(c.record_wrapper.as_deref().map(RecordWrapper::from))
        .set_input_mode(c.input_mode.as_deref().map(TrainingInputMode::from))
        .set_shuffle_config(
            c.shuffle_seed
                .map(|seed| ShuffleConfig::builder().seed(seed).build()),
        )
        .build()
}

fn to_resources(r: &Resources) -> ResourceConfig {
    ResourceConfig::builder()
        .set_instance_type(r.instance_type.as_deref().map(TrainingInstanceType::from))
        .set_instance_count(r.instance_count)
        .set_volume_size_in_gb(r.volume_size_gb)
        .set_volume_kms_key_id(r.volume_kms_key_id.clone())
        .set_keep_alive_period_in_seconds(r.keep_alive_seconds)
        .set_instance_groups((!r.instance_groups.is_empty()).then(|| {
            r.instance_groups
                .iter()
                .map(|(name, instance_type, count)| {
                    InstanceGroup::builder()
                        .instance_group_name(name)
                        .instance_type(TrainingInstanceType::from(instance_type.as_str()))
                        .instance_count(*count)
                        .build()
                })
                .collect()
        }))
        .build()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    pub name: String,
    pub arn: String,
    /// `InProgress`, `Completed`, `Failed`, `Stopping`, `Stopped`.
    pub status: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl JobSummary {
    /// Still using (and billing for) instances.
    pub fn is_running(&self) -> bool {
        self.status == TrainingJobStatus::InProgress.as_str()
            || self.status == TrainingJobStatus::Stopping.as_str()
    }
}

/// Pages read at most, 100 jobs each: a bound for accounts with very many matching jobs.
const MAX_PAGES: usize = 10;

/// Jobs whose name contains `name_contains`, created at or after `since`, newest first (sorted
/// here too, as emulators may ignore the requested order).
pub async fn list_named(
    client: &Client,
    name_contains: &str,
    since: DateTime<Utc>,
) -> Result<Vec<JobSummary>, AwsError> {
    let mut pages = client
        .list_training_jobs()
        .name_contains(name_contains)
        .creation_time_after(SmithyDateTime::from_millis(since.timestamp_millis()))
        .sort_by(SortBy::CreationTime)
        .sort_order(SortOrder::Descending)
        .max_results(100)
        .into_paginator()
        .send();
    let mut jobs = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.aws("ListTrainingJobs")?;
        jobs.extend(page.training_job_summaries().iter().map(|s| {
            JobSummary {
                name: s.training_job_name().unwrap_or_default().to_owned(),
                arn: s.training_job_arn().unwrap_or_default().to_owned(),
                status: s
                    .training_job_status()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                created_at: s
                    .creation_time()
                    .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
            }
        }));
        read += 1;
        if read >= MAX_PAGES {
            break;
        }
    }
    jobs.retain(|j| j.name.contains(name_contains) && j.created_at.is_none_or(|t| t >= since));
    jobs.sort_by_key(|j| std::cmp::Reverse(j.created_at));
    Ok(jobs)
}

/// Mocks for what the emulator does not return: real DescribeTrainingJob answers carry
/// debugger/profiler settings and a job can be running. Create/describe round trips of
/// KMS, VPC, isolation, spot and checkpoint settings run against the emulator in
/// tests/retrainer.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
    use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
    use aws_sdk_sagemaker::operation::list_training_jobs::ListTrainingJobsOutput;
    use aws_sdk_sagemaker::types::{ProfilerConfig, TrainingJobSummary};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn";

    #[tokio::test]
    async fn describes_a_job_fully_and_lists_what_a_copy_would_not_carry() {
        let describe = mock!(Client::describe_training_job).then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name("churn")
                .training_job_arn(ARN)
                .training_job_status(TrainingJobStatus::Completed)
                .role_arn("arn:aws:iam::123456789012:role/SageMakerExecutionRole")
                .algorithm_specification(
                    AlgorithmSpecification::builder()
                        .training_image("xgboost:1.7-1")
                        .training_input_mode(TrainingInputMode::File)
                        .build(),
                )
                .input_data_config(
                    Channel::builder()
                        .channel_name("train")
                        .data_source(
                            DataSource::builder()
                                .s3_data_source(
                                    S3DataSource::builder()
                                        .s3_uri("s3://data/train/")
                                        .s3_data_type(S3DataType::S3Prefix)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .output_data_config(
                    OutputDataConfig::builder()
                        .s3_output_path("s3://models/churn/")
                        .kms_key_id("key-out")
                        .build(),
                )
                .resource_config(
                    ResourceConfig::builder()
                        .instance_type(TrainingInstanceType::MlM5Xlarge)
                        .instance_count(1)
                        .volume_size_in_gb(30)
                        .volume_kms_key_id("key-volume")
                        .build(),
                )
                .stopping_condition(
                    StoppingCondition::builder()
                        .max_runtime_in_seconds(3600)
                        .build(),
                )
                .profiler_config(ProfilerConfig::builder().s3_output_path("s3://p/").build())
                .hyper_parameters("max_depth", "5")
                .build()
        });
        let tags = mock!(Client::list_tags)
            .match_requests(|r| r.resource_arn() == Some(ARN))
            .then_output(|| {
                ListTagsOutput::builder()
                    .tags(Tag::builder().key("Team").value("churn").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&describe, &tags]);

        let job = describe_job(&client).await;
        let d = &job.definition;
        assert_eq!(job.status, "Completed");
        assert_eq!(d.output.kms_key_id.as_deref(), Some("key-out"));
        assert_eq!(d.resources.volume_kms_key_id.as_deref(), Some("key-volume"));
        assert_eq!(d.hyper_parameters["max_depth"], "5");
        assert_eq!(d.tags["Team"], "churn");
        assert_eq!(
            d.inputs[0].source,
            ChannelSource::S3 {
                uri: "s3://data/train/".into(),
                data_type: Some("S3Prefix".into()),
                distribution: None,
                attribute_names: vec![],
                instance_group_names: vec![],
                accept_eula: None,
                hub_content_arn: None,
            }
        );
        assert_eq!(job.not_carried, ["ProfilerConfig"]);
        assert!(job.unsupported.is_empty());
    }

    #[tokio::test]
    async fn built_in_algorithm_metric_definitions_are_left_to_the_algorithm() {
        use aws_sdk_sagemaker::operation::create_training_job::{
            CreateTrainingJobError, CreateTrainingJobOutput,
        };
        let refused = mock!(Client::create_training_job)
            .match_requests(|r| {
                r.algorithm_specification()
                    .is_some_and(|a| !a.metric_definitions().is_empty())
            })
            .then_error(|| {
                CreateTrainingJobError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("You can't override the metric definitions for Amazon SageMaker algorithms. Please retry the request without specifying metric definitions.")
                        .build(),
                )
            });
        let created = mock!(Client::create_training_job)
            .match_requests(|r| {
                r.algorithm_specification()
                    .is_some_and(|a| a.metric_definitions().is_empty())
            })
            .then_output(|| {
                CreateTrainingJobOutput::builder()
                    .training_job_arn(ARN)
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&refused, &created]);
        let mut definition = TrainingJobDefinition {
            name: "churn".into(),
            ..TrainingJobDefinition::default()
        };
        definition.algorithm.metric_definitions =
            vec![("validation:auc".into(), ".*auc:(\\S+)".into())];

        assert_eq!(create(&client, &definition).await.unwrap(), ARN);
        assert_eq!((refused.num_calls(), created.num_calls()), (1, 1));
    }

    async fn describe_job(client: &Client) -> DescribedTrainingJob {
        describe(client, "churn").await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn lists_matching_jobs_newest_first_with_running_ones_marked() {
        let summary = |name: &str, status: TrainingJobStatus, secs: i64| {
            TrainingJobSummary::builder()
                .training_job_name(name)
                .training_job_arn(format!("{ARN}-{name}"))
                .training_job_status(status)
                .creation_time(SmithyDateTime::from_secs(secs))
                .build()
        };
        let list = mock!(Client::list_training_jobs)
            .match_requests(|r| r.name_contains() == Some("churn-rt-"))
            .then_output(move || {
                ListTrainingJobsOutput::builder()
                    .training_job_summaries(summary(
                        "churn-rt-a",
                        TrainingJobStatus::Completed,
                        2_000,
                    ))
                    .training_job_summaries(summary(
                        "churn-rt-b",
                        TrainingJobStatus::InProgress,
                        3_000,
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, [&list]);
        let jobs = list_named(
            &client,
            "churn-rt-",
            DateTime::from_timestamp(1_000, 0).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(jobs[0].name, "churn-rt-b");
        assert!(jobs[0].is_running());
        assert!(!jobs[1].is_running());
    }
}
