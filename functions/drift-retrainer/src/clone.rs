//! The definition of a retraining job copied from a training job: the same algorithm, data,
//! role, encryption, network and tags, run on managed spot capacity with checkpoints. Pure.

use sagekeeper_core::s3::objects::S3Uri;
use sagekeeper_core::sagemaker::training::{
    Checkpoint, DescribedTrainingJob, TrainingJobDefinition,
};

/// The longest a training job may run (MaxRuntimeInSeconds ≤ 28 days); a spot job's wait
/// cannot usefully be longer either.
pub const MAX_SECONDS: i32 = 28 * 24 * 3600;

/// What configuration adds to a copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloneSettings {
    /// When set, the only role a copy may run as (the only one this function may pass).
    pub role: Option<String>,
    /// Checkpoints go under `<prefix>/<job name>/`; by default under the job's output path.
    pub checkpoint_prefix: Option<S3Uri>,
    pub max_wait_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClone {
    pub definition: TrainingJobDefinition,
    /// How the copy differs from its source beyond spot and checkpoints, for the report.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloneRefusal {
    #[error(
        "training job {job} runs as {role}, but retraining jobs may only run as {allowed} (RETRAIN_ROLE_ARN)"
    )]
    RoleNotAllowed {
        job: String,
        role: String,
        allowed: String,
    },
    #[error("training job {job} uses {} that a copy cannot carry", .settings.join(", "))]
    Unsupported {
        job: String,
        settings: Vec<&'static str>,
    },
    #[error("training job {job} has no S3 output path ({path:?}) to put checkpoints under")]
    NoCheckpointLocation { job: String, path: String },
}

/// SageMaker's MaxRuntimeInSeconds when a job sets none: one day.
const DEFAULT_MAX_RUNTIME: i32 = 24 * 3600;
/// Spot capacity may take a while; never wait less than an hour for it.
const MIN_MAX_WAIT: i32 = 3600;

/// The copy of `source` named `name`, with `tags` added to the source's.
pub fn retrain_clone(
    source: &DescribedTrainingJob,
    name: &str,
    tags: &[(&str, &str)],
    settings: &CloneSettings,
) -> Result<JobClone, CloneRefusal> {
    let job = source.definition.name.clone();
    if !source.unsupported.is_empty() {
        return Err(CloneRefusal::Unsupported {
            job,
            settings: source.unsupported.clone(),
        });
    }
    if let Some(allowed) = &settings.role
        && source.definition.role_arn != *allowed
    {
        return Err(CloneRefusal::RoleNotAllowed {
            job,
            role: source.definition.role_arn.clone(),
            allowed: allowed.clone(),
        });
    }

    let mut definition = source.definition.clone();
    let mut notes = Vec::new();
    definition.name = name.to_owned();

    // A job that already ran on spot keeps its wait; otherwise twice the runtime gives spot
    // capacity as long again to appear. SageMaker requires the wait to cover the runtime.
    let runtime = definition
        .stopping
        .max_runtime_seconds
        .unwrap_or(DEFAULT_MAX_RUNTIME);
    let kept_wait = definition
        .stopping
        .max_wait_seconds
        .filter(|_| definition.managed_spot);
    let wait = kept_wait
        .or(settings.max_wait_seconds)
        .unwrap_or_else(|| runtime.saturating_mul(2).clamp(MIN_MAX_WAIT, MAX_SECONDS));
    definition.managed_spot = true;
    definition.stopping.max_runtime_seconds = Some(runtime);
    definition.stopping.max_wait_seconds = Some(wait.max(runtime));

    // A job configured for checkpoints keeps its settings. Otherwise each copy gets a prefix of
    // its own: SageMaker copies a checkpoint location into a new job at start, so a shared one
    // would make a retrain resume from another job instead of training afresh.
    if definition.checkpoint.is_none() {
        let prefix = match &settings.checkpoint_prefix {
            Some(prefix) => prefix.join(&format!("{name}/")),
            None => S3Uri::parse(&definition.output.s3_output_path)
                .map_err(|_| CloneRefusal::NoCheckpointLocation {
                    job: job.clone(),
                    path: definition.output.s3_output_path.clone(),
                })?
                .join(&format!("{name}/checkpoints/")),
        };
        definition.checkpoint = Some(Checkpoint {
            s3_uri: prefix.to_string(),
            local_path: None,
        });
    }

    if definition
        .resources
        .keep_alive_seconds
        .take()
        .is_some_and(|s| s > 0)
    {
        notes.push(
            "KeepAlivePeriodInSeconds dropped: warm pools cannot be used with managed spot training"
                .to_owned(),
        );
    }
    if !source.not_carried.is_empty() {
        notes.push(format!(
            "not carried over to the copy: {}",
            source.not_carried.join(", ")
        ));
    }
    for (key, value) in tags {
        definition
            .tags
            .insert((*key).to_owned(), (*value).to_owned());
    }
    Ok(JobClone { definition, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::sagemaker::training::{
        Algorithm, ChannelSource, InputChannel, Output, Resources, Stopping, Vpc,
    };

    const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";

    fn source() -> DescribedTrainingJob {
        DescribedTrainingJob {
            arn: "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn".into(),
            status: "Completed".into(),
            definition: TrainingJobDefinition {
                name: "churn".into(),
                role_arn: ROLE.into(),
                algorithm: Algorithm {
                    training_image: Some("xgboost:1.7-1".into()),
                    input_mode: Some("File".into()),
                    ..Algorithm::default()
                },
                inputs: vec![InputChannel {
                    name: "train".into(),
                    source: ChannelSource::S3 {
                        uri: "s3://data/train/".into(),
                        data_type: Some("S3Prefix".into()),
                        distribution: None,
                        attribute_names: vec![],
                        instance_group_names: vec![],
                        accept_eula: None,
                        hub_content_arn: None,
                    },
                    content_type: Some("text/csv".into()),
                    compression: None,
                    record_wrapper: None,
                    input_mode: None,
                    shuffle_seed: None,
                }],
                output: Output {
                    s3_output_path: "s3://models/churn/".into(),
                    kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/out".into()),
                    compression: None,
                },
                resources: Resources {
                    instance_type: Some("ml.m5.xlarge".into()),
                    instance_count: Some(2),
                    volume_size_gb: Some(30),
                    volume_kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/vol".into()),
                    keep_alive_seconds: None,
                    instance_groups: vec![],
                },
                stopping: Stopping {
                    max_runtime_seconds: Some(7200),
                    ..Stopping::default()
                },
                vpc: Some(Vpc {
                    security_group_ids: vec!["sg-1".into()],
                    subnets: vec!["subnet-1".into()],
                }),
                network_isolation: true,
                inter_container_traffic_encryption: true,
                managed_spot: false,
                checkpoint: None,
                hyper_parameters: [("max_depth".to_owned(), "5".to_owned())].into(),
                environment: Default::default(),
                retry_attempts: None,
                tags: [("Team".to_owned(), "churn".to_owned())].into(),
            },
            not_carried: vec![],
            unsupported: vec![],
        }
    }

    const TAGS: &[(&str, &str)] = &[("sagekeeper:retrain-key", "abc")];

    #[test]
    fn keeps_encryption_network_and_tags_and_adds_spot_and_checkpoints() {
        let source = source();
        let copy = retrain_clone(&source, "churn-rt-abc", TAGS, &CloneSettings::default()).unwrap();
        let (before, after) = (&source.definition, &copy.definition);
        assert_eq!(after.name, "churn-rt-abc");
        // Everything but name, spot, stopping, checkpoint and tags is the source's.
        assert_eq!(after.output, before.output);
        assert_eq!(after.resources, before.resources);
        assert_eq!(after.vpc, before.vpc);
        assert_eq!(after.inputs, before.inputs);
        assert_eq!(after.algorithm, before.algorithm);
        assert_eq!(after.hyper_parameters, before.hyper_parameters);
        assert_eq!(after.role_arn, before.role_arn);
        assert!(after.network_isolation && after.inter_container_traffic_encryption);

        assert!(after.managed_spot);
        assert_eq!(after.stopping.max_runtime_seconds, Some(7200));
        assert_eq!(after.stopping.max_wait_seconds, Some(14_400));
        assert_eq!(
            after.checkpoint,
            Some(Checkpoint {
                s3_uri: "s3://models/churn/churn-rt-abc/checkpoints/".into(),
                local_path: None
            })
        );
        assert_eq!(after.tags["Team"], "churn");
        assert_eq!(after.tags["sagekeeper:retrain-key"], "abc");
        assert!(copy.notes.is_empty());
    }

    #[test]
    fn existing_spot_and_checkpoint_settings_are_kept() {
        let mut source = source();
        source.definition.managed_spot = true;
        source.definition.stopping.max_wait_seconds = Some(9000);
        let checkpoint = Checkpoint {
            s3_uri: "s3://ckpt/churn/".into(),
            local_path: Some("/opt/ml/ckpt".into()),
        };
        source.definition.checkpoint = Some(checkpoint.clone());
        let prefix = S3Uri::parse("s3://elsewhere/").unwrap();
        let settings = CloneSettings {
            checkpoint_prefix: Some(prefix),
            max_wait_seconds: Some(100_000),
            ..CloneSettings::default()
        };
        let copy = retrain_clone(&source, "n", TAGS, &settings)
            .unwrap()
            .definition;
        assert_eq!(copy.checkpoint, Some(checkpoint));
        assert_eq!(copy.stopping.max_wait_seconds, Some(9000));
    }

    #[test]
    fn configured_checkpoint_prefix_and_wait_and_the_wait_covers_the_runtime() {
        let mut source = source();
        let prefix = S3Uri::parse("s3://ml-checkpoints/retrain").unwrap();
        let settings = CloneSettings {
            checkpoint_prefix: Some(prefix),
            max_wait_seconds: Some(3600),
            ..CloneSettings::default()
        };
        let copy = retrain_clone(&source, "n", TAGS, &settings)
            .unwrap()
            .definition;
        assert_eq!(
            copy.checkpoint.unwrap().s3_uri,
            "s3://ml-checkpoints/retrain/n/"
        );
        assert_eq!(
            copy.stopping.max_wait_seconds,
            Some(7200),
            "raised to the runtime"
        );

        source.definition.stopping.max_runtime_seconds = Some(600);
        let short = retrain_clone(&source, "n", TAGS, &CloneSettings::default()).unwrap();
        assert_eq!(short.definition.stopping.max_wait_seconds, Some(3600));
        source.definition.stopping.max_runtime_seconds = None;
        let unset = retrain_clone(&source, "n", TAGS, &CloneSettings::default()).unwrap();
        assert_eq!(
            unset.definition.stopping.max_runtime_seconds,
            Some(DEFAULT_MAX_RUNTIME)
        );
        assert_eq!(
            unset.definition.stopping.max_wait_seconds,
            Some(2 * DEFAULT_MAX_RUNTIME)
        );
    }

    #[test]
    fn refuses_other_roles_and_unsupported_settings() {
        let settings = CloneSettings {
            role: Some("arn:aws:iam::123456789012:role/RetrainOnly".into()),
            ..CloneSettings::default()
        };
        let err = retrain_clone(&source(), "n", TAGS, &settings).unwrap_err();
        assert!(matches!(err, CloneRefusal::RoleNotAllowed { .. }));
        assert!(err.to_string().contains("RETRAIN_ROLE_ARN"), "{err}");
        let same = CloneSettings {
            role: Some(ROLE.into()),
            ..CloneSettings::default()
        };
        assert!(retrain_clone(&source(), "n", TAGS, &same).is_ok());

        let mut odd = source();
        odd.unsupported = vec!["ServerlessJobConfig"];
        let err = retrain_clone(&odd, "n", TAGS, &CloneSettings::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training job churn uses ServerlessJobConfig that a copy cannot carry"
        );
    }

    #[test]
    fn warm_pools_and_settings_not_carried_are_noted() {
        let mut source = source();
        source.definition.resources.keep_alive_seconds = Some(1800);
        source.not_carried = vec!["ProfilerConfig", "DebugHookConfig"];
        let copy = retrain_clone(&source, "n", TAGS, &CloneSettings::default()).unwrap();
        assert_eq!(copy.definition.resources.keep_alive_seconds, None);
        assert_eq!(copy.notes.len(), 2);
        assert!(copy.notes[1].contains("ProfilerConfig, DebugHookConfig"));
    }
}
