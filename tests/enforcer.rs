//! encryption-enforcer against the local emulator, run as an operator runs it: every rule with a
//! compliant and a non-compliant fixture, evaluated by the daily sweep and by the CloudTrail
//! event that announces the resource; remediations checked on the emulator's state.
//!
//! The emulator is shared by every test (and every test binary), so each test makes its own
//! uniquely named resources, sweeps only buckets under its own BUCKET_PREFIX, and keeps the
//! sweep in report mode: a sweep in remediate mode would change other tests' buckets and keys.
//! Where the emulator cannot help (StopTrainingJob, running jobs, a processing job's cluster),
//! the paths are covered with aws-smithy-mocks in the crates' unit tests.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, AppNetworkAccessType, AppSpecification, AuthMode, CaptureMode,
    CaptureOption, CustomPosixUserConfig, DataCaptureConfig, DefaultSpaceSettings, DockerSettings,
    DomainSettings, FeatureStatus, HyperParameterTrainingJobDefinition,
    HyperParameterTuningJobConfig, HyperParameterTuningJobStrategyType, NetworkConfig,
    NotebookOutputOption, OutputDataConfig, ProcessingClusterConfig, ProcessingInstanceType,
    ProcessingOutput, ProcessingOutputConfig, ProcessingResources, ProcessingS3Output,
    ProcessingS3UploadMode, ProductionVariantInstanceType, ResourceConfig, ResourceLimits,
    S3DataType, SharingSettings, StoppingCondition, TrainingInputMode, TrainingInstanceType,
    TransformDataSource, TransformInput, TransformInstanceType, TransformOutput,
    TransformResources, TransformS3DataSource, UserSettings, VpcConfig,
};
use sagekeeper_core::{Aws, Outcome, Report, Severity};
use serde_json::{Value, json};

mod support;
use support::reports::{Finding, ReportExt};
use support::{
    aws, buckets, run_function, run_function_at, sagemaker_tags, sagemaker_tags_of, seed_notebook,
    unique,
};

const ENFORCER: &str = "encryption-enforcer";
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";
const IMAGE: &str = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";
/// Nothing listens here: a run that tried any AWS call would report a failed call.
const CLOSED_ENDPOINT: &str = "http://127.0.0.1:9";

const S3_RULES: [&str; 3] = [
    "s3-default-encryption-kms",
    "s3-deny-insecure-transport",
    "s3-public-access-block",
];
const JOB_RULES: [&str; 4] = [
    "sagemaker-job-volume-kms",
    "sagemaker-job-output-kms",
    "sagemaker-job-inter-container-encryption",
    "sagemaker-sensitive-job-isolation",
];
const CONFIG_RULES: [&str; 2] = [
    "sagemaker-endpoint-config-kms",
    "sagemaker-endpoint-config-data-capture-kms",
];
const NOTEBOOK_RULES: [&str; 3] = [
    "sagemaker-notebook-kms",
    "sagemaker-notebook-no-direct-internet",
    "sagemaker-notebook-no-root-access",
];
const DOMAIN_RULES: [&str; 6] = [
    "sagemaker-domain-kms",
    "sagemaker-domain-vpc-only",
    "sagemaker-domain-root-posix-uid",
    "sagemaker-domain-docker-access",
    "sagemaker-domain-shared-execution-role",
    "sagemaker-domain-sharing-kms",
];
const ROTATION: &str = "kms-key-rotation";

/// Every rule in report mode: the sweep tests read, they never write.
fn all_report() -> String {
    let rules = S3_RULES
        .iter()
        .chain(&JOB_RULES)
        .chain(&CONFIG_RULES)
        .chain(&NOTEBOOK_RULES)
        .chain(&DOMAIN_RULES)
        .chain(&[ROTATION]);
    let modes: serde_json::Map<String, Value> =
        rules.map(|r| (r.to_string(), json!("report"))).collect();
    Value::Object(modes).to_string()
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

async fn key(aws: &Aws, rotation: bool) -> String {
    let kms = aws.kms();
    let arn = kms
        .create_key()
        .description("sagekeeper enforcer test")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    if rotation {
        kms.enable_key_rotation().key_id(&arn).send().await.unwrap();
    }
    arn
}

async fn rotation_enabled(aws: &Aws, key: &str) -> bool {
    aws.kms()
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

fn tls_only(bucket: &str) -> Value {
    json!({"Sid": "OurOwnTlsRule", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [buckets::arn(bucket), format!("{}/*", buckets::arn(bucket))],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
}

/// What a bucket gets, rule by rule.
#[derive(Clone, Copy)]
struct BucketSpec<'a> {
    kms_key: Option<&'a str>,
    tls_only: bool,
    public_access_block: bool,
}

const ALL_GOOD: BucketSpec = BucketSpec {
    kms_key: None,
    tls_only: true,
    public_access_block: true,
};

async fn bucket(aws: &Aws, name: &str, spec: BucketSpec<'_>, tags: &[(&str, &str)]) -> String {
    buckets::create(aws, name, spec.kms_key).await;
    if spec.tls_only {
        buckets::put_policy(aws, name, vec![tls_only(name)]).await;
    }
    if spec.public_access_block {
        buckets::block_public_access(aws, name).await;
    }
    if !tags.is_empty() {
        buckets::put_tags(aws, name, tags).await;
    }
    buckets::arn(name)
}

async fn put_policy(aws: &Aws, bucket: &str, policy: &str) {
    aws.s3()
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .unwrap();
}

async fn policy(aws: &Aws, bucket: &str) -> Option<String> {
    aws.s3()
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.policy)
}

/// (algorithm, key, bucket key) of the bucket's default encryption.
async fn encryption(aws: &Aws, bucket: &str) -> (String, Option<String>, bool) {
    let out = aws
        .s3()
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &out.server_side_encryption_configuration.unwrap().rules[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    (
        default.sse_algorithm().as_str().to_owned(),
        default.kms_master_key_id().map(str::to_owned),
        rule.bucket_key_enabled().unwrap_or(false),
    )
}

async fn public_access_block_on(aws: &Aws, bucket: &str) -> bool {
    aws.s3()
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|out| out.public_access_block_configuration)
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        })
}

fn vpc() -> VpcConfig {
    VpcConfig::builder()
        .security_group_ids("sg-0123456789abcdef0")
        .subnets("subnet-0123456789abcdef0")
        .build()
}

/// A two-instance training job tagged Confidential: with `key` it passes every job rule,
/// without one it breaks them all.
async fn training_job(aws: &Aws, name: &str, key: Option<&str>) -> String {
    let good = key.is_some();
    let mut output = OutputDataConfig::builder().s3_output_path("s3://acme-ml-model-artifacts/t/");
    let mut resources = ResourceConfig::builder()
        .instance_type(TrainingInstanceType::MlM5Xlarge)
        .instance_count(2)
        .volume_size_in_gb(30);
    if let Some(key) = key {
        output = output.kms_key_id(key);
        resources = resources.volume_kms_key_id(key);
    }
    aws.sagemaker()
        .create_training_job()
        .training_job_name(name)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(IMAGE)
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .role_arn(ROLE)
        .output_data_config(output.build())
        .resource_config(resources.build())
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(3600)
                .build(),
        )
        .enable_inter_container_traffic_encryption(good)
        .enable_network_isolation(good)
        .set_vpc_config(good.then(vpc))
        .set_tags(Some(support::sagemaker_tags_of(&[(
            "DataClassification",
            "Confidential",
        )])))
        .send()
        .await
        .unwrap()
        .training_job_arn
        .unwrap()
}

async fn transform_job(aws: &Aws, name: &str, key: Option<&str>) -> String {
    support::seed_model(aws, &format!("{name}-model")).await;
    let mut output =
        TransformOutput::builder().s3_output_path("s3://acme-ml-model-artifacts/scores/");
    let mut resources = TransformResources::builder()
        .instance_type(TransformInstanceType::MlM5Xlarge)
        .instance_count(1);
    if let Some(key) = key {
        output = output.kms_key_id(key);
        resources = resources.volume_kms_key_id(key);
    }
    aws.sagemaker()
        .create_transform_job()
        .transform_job_name(name)
        .model_name(format!("{name}-model"))
        .transform_input(
            TransformInput::builder()
                .data_source(
                    TransformDataSource::builder()
                        .s3_data_source(
                            TransformS3DataSource::builder()
                                .s3_data_type(S3DataType::S3Prefix)
                                .s3_uri("s3://acme-ml-training-data/score/")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .transform_output(output.build())
        .transform_resources(resources.build())
        // The emulator's ListTags fails (HTTP 500) for a transform job created without tags.
        .set_tags(Some(support::sagemaker_tags_of(&[("Team", "churn")])))
        .send()
        .await
        .unwrap()
        .transform_job_arn
        .unwrap()
}

/// A two-instance processing job tagged Confidential without keys, isolation or a VPC.
async fn processing_job(aws: &Aws, name: &str) -> String {
    aws.sagemaker()
        .create_processing_job()
        .processing_job_name(name)
        .role_arn(ROLE)
        .processing_resources(
            ProcessingResources::builder()
                .cluster_config(
                    ProcessingClusterConfig::builder()
                        .instance_count(2)
                        .instance_type(ProcessingInstanceType::MlM5Xlarge)
                        .volume_size_in_gb(30)
                        .build(),
                )
                .build(),
        )
        .app_specification(AppSpecification::builder().image_uri(IMAGE).build())
        .processing_output_config(
            ProcessingOutputConfig::builder()
                .outputs(
                    ProcessingOutput::builder()
                        .output_name("features")
                        .s3_output(
                            ProcessingS3Output::builder()
                                .s3_uri("s3://acme-ml-training-data/features/")
                                .local_path("/opt/ml/processing/output")
                                .s3_upload_mode(ProcessingS3UploadMode::EndOfJob)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .network_config(
            NetworkConfig::builder()
                .enable_network_isolation(false)
                .build(),
        )
        .stopping_condition(
            aws_sdk_sagemaker::types::ProcessingStoppingCondition::builder()
                .max_runtime_in_seconds(3600)
                .build(),
        )
        .set_tags(Some(support::sagemaker_tags_of(&[(
            "DataClassification",
            "Confidential",
        )])))
        .send()
        .await
        .unwrap()
        .processing_job_arn
        .unwrap()
}

async fn tuning_job(aws: &Aws, name: &str, key: Option<&str>) -> String {
    let good = key.is_some();
    let mut output =
        OutputDataConfig::builder().s3_output_path("s3://acme-ml-model-artifacts/hpo/");
    let mut resources = ResourceConfig::builder()
        .instance_type(TrainingInstanceType::MlM5Xlarge)
        .instance_count(2)
        .volume_size_in_gb(30);
    if let Some(key) = key {
        output = output.kms_key_id(key);
        resources = resources.volume_kms_key_id(key);
    }
    aws.sagemaker()
        .create_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .hyper_parameter_tuning_job_config(
            HyperParameterTuningJobConfig::builder()
                .strategy(HyperParameterTuningJobStrategyType::Bayesian)
                .resource_limits(
                    ResourceLimits::builder()
                        .max_number_of_training_jobs(2)
                        .max_parallel_training_jobs(1)
                        .build(),
                )
                .build(),
        )
        .training_job_definition(
            HyperParameterTrainingJobDefinition::builder()
                .algorithm_specification(
                    aws_sdk_sagemaker::types::HyperParameterAlgorithmSpecification::builder()
                        .training_image(IMAGE)
                        .training_input_mode(TrainingInputMode::File)
                        .build(),
                )
                .role_arn(ROLE)
                .output_data_config(output.build())
                .resource_config(resources.build())
                .stopping_condition(
                    StoppingCondition::builder()
                        .max_runtime_in_seconds(3600)
                        .build(),
                )
                .enable_inter_container_traffic_encryption(good)
                .enable_network_isolation(good)
                .set_vpc_config(good.then(vpc))
                .build(),
        )
        // The emulator's ListTags fails (HTTP 500) for a tuning job created without tags.
        .set_tags(Some(support::sagemaker_tags_of(&[("Team", "churn")])))
        .send()
        .await
        .unwrap()
        .hyper_parameter_tuning_job_arn
        .unwrap()
}

/// With `key`: encrypted volumes and data capture; without: data capture without a key.
async fn endpoint_config(aws: &Aws, name: &str, key: Option<&str>) -> String {
    support::seed_model(aws, &format!("{name}-model")).await;
    let mut capture = DataCaptureConfig::builder()
        .enable_capture(true)
        .initial_sampling_percentage(100)
        .destination_s3_uri("s3://acme-ml-experiment-logs/data-capture/")
        .capture_options(
            CaptureOption::builder()
                .capture_mode(CaptureMode::Input)
                .build(),
        );
    if let Some(key) = key {
        capture = capture.kms_key_id(key);
    }
    aws.sagemaker()
        .create_endpoint_config()
        .endpoint_config_name(name)
        .production_variants(support::all_traffic(
            name,
            ProductionVariantInstanceType::MlM5Large,
            1,
        ))
        .data_capture_config(capture.build())
        .set_kms_key_id(key.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .endpoint_config_arn
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Running the enforcer
// ---------------------------------------------------------------------------------------------

/// A copy of events/`file` about the resource `name` (in request parameter `param`), written
/// to a temporary file; the response's ARN is dropped so the resource is named by `name` alone.
/// A Studio domain with two user profiles (the emulator keeps names lowercase in ids). With
/// `key`: encrypted with it, VpcOnly, apps as a non-root user, no Docker, each user with their
/// own execution role, shared notebooks encrypted; without: none of those, and both users on
/// the domain's role. Its ARN.
async fn studio_domain(aws: &Aws, name: &str, key: Option<&str>) -> String {
    let good = key.is_some();
    let uid = if good { 200001 } else { 0 };
    let posix = CustomPosixUserConfig::builder().uid(uid).gid(1001).build();
    let sharing = SharingSettings::builder()
        .notebook_output_option(NotebookOutputOption::Allowed)
        .s3_output_path(format!("s3://{name}-shared/notebooks"))
        .set_s3_kms_key_id(key.map(str::to_owned))
        .build();
    let docker = if good {
        FeatureStatus::Disabled
    } else {
        FeatureStatus::Enabled
    };
    let network = if good {
        AppNetworkAccessType::VpcOnly
    } else {
        AppNetworkAccessType::PublicInternetOnly
    };
    let sm = aws.sagemaker();
    let created = sm
        .create_domain()
        .domain_name(name)
        .auth_mode(AuthMode::Iam)
        .vpc_id("vpc-0123456789abcdef0")
        .subnet_ids("subnet-0123456789abcdef0")
        .app_network_access_type(network)
        .set_kms_key_id(key.map(str::to_owned))
        .default_user_settings(
            UserSettings::builder()
                .execution_role(ROLE)
                .custom_posix_user_config(posix.clone())
                .sharing_settings(sharing)
                .build(),
        )
        .default_space_settings(
            DefaultSpaceSettings::builder()
                .execution_role(ROLE)
                .custom_posix_user_config(posix)
                .build(),
        )
        .domain_settings(
            DomainSettings::builder()
                .docker_settings(
                    DockerSettings::builder()
                        .enable_docker_access(docker)
                        .build(),
                )
                .build(),
        )
        .set_tags(Some(sagemaker_tags_of(&[("Team", "ml")])))
        .send()
        .await
        .expect("create domain");
    // CreateDomain answers the ARN (and a URL), not the id: the id is the ARN's last part.
    let arn = created.domain_arn.expect("domain arn");
    let domain_id = arn.rsplit('/').next().expect("domain id").to_owned();
    for user in ["ana", "bo"] {
        let own_role = format!("arn:aws:iam::123456789012:role/Studio-{user}");
        let settings = UserSettings::builder()
            .set_execution_role(good.then_some(own_role))
            .build();
        sm.create_user_profile()
            .domain_id(&domain_id)
            .user_profile_name(user)
            .user_settings(settings)
            .send()
            .await
            .expect("create user profile");
    }
    arn
}

fn event_about(file: &str, param: &str, name: &str) -> String {
    let path = support::repo_root().join("events").join(file);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["detail"]["requestParameters"][param] = json!(name);
    event["detail"]["responseElements"] = Value::Null;
    write_event(&event)
}

fn write_event(event: &Value) -> String {
    let path = std::env::temp_dir().join(format!("{}.json", unique("enforcer-event")));
    std::fs::write(&path, event.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn enforce(event: &str, env: &[(&str, &str)]) -> support::Run {
    run_function(ENFORCER, event, &[], env)
}

/// Asserts `arn` breaks `rule`, at the given severity, with a message saying `says`.
#[track_caller]
fn assert_breaks(report: &Report, arn: &str, rule: &str, severity: Severity, says: &str) {
    let found = report
        .finding(arn, rule)
        .unwrap_or_else(|| panic!("no {rule} finding for {arn}: {:#?}", report.findings));
    assert_eq!(found.severity, severity, "{found:?}");
    assert!(found.message.contains(says), "{rule}: {found:?}");
}

/// An API call's report shows every rule's result: compliant ones as info findings.
#[track_caller]
fn assert_compliant(report: &Report, arn: &str, rule: &str) {
    let found = report
        .finding(arn, rule)
        .unwrap_or_else(|| panic!("no {rule} result for {arn}: {:#?}", report.findings));
    assert_eq!(found.severity, Severity::Info, "{found:?}");
    assert_eq!(found.message, "compliant", "{found:?}");
}

/// A sweep reports problems only; the result of every rule is in its debug log.
#[track_caller]
fn assert_logged_compliant(run: &support::Run, arn: &str, rule: &str) {
    let logged = run.stderr().lines().any(|line| {
        serde_json::from_str::<Value>(line).is_ok_and(|l| {
            l["message"] == "evaluated"
                && l["resource"] == arn
                && l["rule"] == rule
                && l["result"] == "Compliant"
        })
    });
    assert!(logged, "{rule} not logged as compliant for {arn}");
    assert!(run.report().finding(arn, rule).is_none(), "{rule} {arn}");
}

/// Errors the run reported about `arns`: the emulator is shared, so a sweep may meet other
/// tests' half-made resources, but never fails on these.
#[track_caller]
fn assert_no_errors_about(report: &Report, arns: &[&str]) {
    let errors = &report.errors;
    for arn in arns {
        assert!(
            !errors.iter().any(|e| e.message.contains(arn)
                || e.resource.as_deref().is_some_and(|r| r.contains(arn))),
            "{arn}: {errors:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The daily sweep
// ---------------------------------------------------------------------------------------------

/// A resource the sweep test makes (or, for a key, has made) before the sweep.
enum Seed<'a> {
    Bucket(String, BucketSpec<'a>),
    Key(&'a str),
    /// With the key: compliant; without one: breaking every rule of its kind.
    TrainingJob(Option<&'a str>),
    EndpointConfig(Option<&'a str>),
    Notebook(Option<&'a str>),
    StudioDomain(Option<&'a str>),
}

impl Seed<'_> {
    /// Makes the resource; its ARN.
    async fn make(&self, aws: &Aws) -> String {
        let name = |kind: &str, key: &Option<&str>| {
            let good = if key.is_some() { "good" } else { "bad" };
            unique(&format!("enf-sweep-{kind}-{good}"))
        };
        match self {
            Seed::Bucket(name, spec) => bucket(aws, name, *spec, &[]).await,
            Seed::Key(arn) => (*arn).to_owned(),
            Seed::TrainingJob(key) => training_job(aws, &name("tj", key), *key).await,
            Seed::EndpointConfig(key) => endpoint_config(aws, &name("cfg", key), *key).await,
            Seed::Notebook(key) => seed_notebook(aws, &name("nb", key), *key, &[]).await,
            Seed::StudioDomain(key) => studio_domain(aws, &name("dom", key), *key).await,
        }
    }
}

/// What the sweep says of a resource.
enum Expect {
    /// Compliant with the rule: logged, not reported.
    Compliant(&'static str),
    /// Breaks the rule: a finding of this severity whose message says this.
    Breaks(&'static str, Severity, &'static str),
    /// No finding at all, for the reason given.
    NoFindings(&'static str),
    /// No error of the run is about it.
    NoErrors,
}

impl Expect {
    #[track_caller]
    fn check(&self, run: &support::Run, arn: &str) {
        let report = run.report();
        match *self {
            Expect::Compliant(rule) => assert_logged_compliant(run, arn, rule),
            Expect::Breaks(rule, severity, says) => {
                assert_breaks(report, arn, rule, severity, says);
            }
            Expect::NoFindings(why) => assert!(report.findings_for(arn).is_empty(), "{why}"),
            Expect::NoErrors => assert_no_errors_about(report, &[arn]),
        }
    }
}

#[tokio::test]
async fn the_sweep_evaluates_every_rule_on_compliant_and_non_compliant_fixtures() {
    use Expect::{Breaks, Compliant, NoErrors, NoFindings};
    use Severity::{High, Low, Medium};
    let aws = aws().await;
    let prefix = unique("enf-sweep");
    let (good_key, bad_key) = (key(&aws, true).await, key(&aws, false).await);
    let bad_bucket_name = format!("{prefix}-bad");
    let open = BucketSpec {
        kms_key: None,
        tls_only: false,
        public_access_block: false,
    };
    let compliant_with = |rules: &[&'static str]| -> Vec<Expect> {
        let mut expected: Vec<Expect> = rules.iter().map(|rule| Compliant(rule)).collect();
        expected.push(NoErrors);
        expected
    };
    // (the resource, what the sweep says of it)
    let table: Vec<(Seed, Vec<Expect>)> = vec![
        (
            Seed::Bucket(
                format!("{prefix}-good"),
                BucketSpec {
                    kms_key: Some(&good_key),
                    ..ALL_GOOD
                },
            ),
            compliant_with(&S3_RULES),
        ),
        (
            Seed::Bucket(bad_bucket_name.clone(), open),
            vec![
                NoErrors,
                Breaks(S3_RULES[0], High, "AES256 (SSE-S3)"),
                Breaks(S3_RULES[1], Medium, "no bucket policy"),
                Breaks(S3_RULES[2], High, "no public access block"),
            ],
        ),
        (
            Seed::Bucket(unique("enf-outside"), open),
            vec![NoFindings("outside BUCKET_PREFIX")],
        ),
        // A bucket with the other key: not the required one, and that key does not rotate.
        (
            Seed::Bucket(
                format!("{prefix}-rot"),
                BucketSpec {
                    kms_key: Some(&bad_key),
                    ..ALL_GOOD
                },
            ),
            vec![
                Breaks(S3_RULES[0], High, "not the required key"),
                Compliant(S3_RULES[1]),
            ],
        ),
        (
            Seed::Key(&bad_key),
            vec![Breaks(ROTATION, Medium, "rotation is off")],
        ),
        (Seed::Key(&good_key), vec![Compliant(ROTATION)]),
        (
            Seed::TrainingJob(Some(&good_key)),
            compliant_with(&JOB_RULES),
        ),
        (
            Seed::TrainingJob(None),
            vec![
                NoErrors,
                Breaks(JOB_RULES[0], High, "no VolumeKmsKeyId"),
                Breaks(JOB_RULES[1], High, "no output KmsKeyId"),
                Breaks(JOB_RULES[2], Medium, "2 instances"),
                Breaks(JOB_RULES[3], High, "network isolation and a VPC"),
            ],
        ),
        (
            Seed::EndpointConfig(Some(&good_key)),
            compliant_with(&CONFIG_RULES),
        ),
        (
            Seed::EndpointConfig(None),
            vec![
                NoErrors,
                Breaks(CONFIG_RULES[0], Medium, "no KmsKeyId"),
                Breaks(CONFIG_RULES[1], High, "data capture"),
            ],
        ),
        (
            Seed::Notebook(Some(&good_key)),
            compliant_with(&NOTEBOOK_RULES),
        ),
        (
            Seed::Notebook(None),
            vec![
                NoErrors,
                Breaks(NOTEBOOK_RULES[0], Medium, "no KmsKeyId"),
                Breaks(NOTEBOOK_RULES[1], High, "internet"),
                Breaks(NOTEBOOK_RULES[2], Medium, "root access"),
            ],
        ),
        (
            Seed::StudioDomain(Some(&good_key)),
            compliant_with(&DOMAIN_RULES),
        ),
        (
            Seed::StudioDomain(None),
            vec![
                NoErrors,
                Breaks(DOMAIN_RULES[0], High, "no KmsKeyId"),
                Breaks(DOMAIN_RULES[1], High, "PublicInternetOnly"),
                Breaks(
                    DOMAIN_RULES[2],
                    High,
                    "DefaultUserSettings runs apps as root",
                ),
                Breaks(
                    DOMAIN_RULES[2],
                    High,
                    "DefaultSpaceSettings runs apps as root",
                ),
                Breaks(DOMAIN_RULES[3], Medium, "EnableDockerAccess is ENABLED"),
                Breaks(DOMAIN_RULES[4], Low, "all 2 user profiles run as"),
                Breaks(DOMAIN_RULES[5], Medium, "without S3KmsKeyId"),
            ],
        ),
    ];
    let mut arns = Vec::new();
    for (seed, _) in &table {
        arns.push(seed.make(&aws).await);
    }

    let modes = all_report();
    let run = enforce(
        "scheduled.json",
        &[
            ("BUCKET_PREFIX", prefix.as_str()),
            ("RULE_MODES", modes.as_str()),
            ("KMS_KEY_ARN", good_key.as_str()),
            ("LOG_LEVEL", "debug"),
        ],
    );
    let report = run.report();
    assert_eq!(report.trigger, "schedule", "{}", run.stderr());
    assert!(
        report.actions.is_empty(),
        "report mode writes nothing: {:#?}",
        report.actions
    );
    for ((_, expected), arn) in table.iter().zip(&arns) {
        for expect in expected {
            expect.check(&run, arn);
        }
    }

    let metric = |name: &str| report.metric(name);
    assert!(metric("NonCompliant.s3-public-access-block").unwrap() >= 1.0);
    assert!(metric("NonCompliantResources").unwrap() >= 5.0);
    assert_eq!(metric("BucketsInScope"), Some(3.0));

    // Report mode changed nothing.
    assert_eq!(encryption(&aws, &bad_bucket_name).await.0, "AES256");
    assert_eq!(policy(&aws, &bad_bucket_name).await, None);
    assert!(!rotation_enabled(&aws, &bad_key).await);
}

/// A bucket's settings are read at once, not one after another: at AWS latency (~50 ms a call)
/// its reads in a row were most of a sweep's time (#16). Not a timed test: the proxy counts
/// the calls it holds at the same moment, each delayed long enough for them to meet. In an
/// account of its own, so other tests' resources add no calls of their own.
#[tokio::test]
async fn the_sweep_reads_a_buckets_settings_at_once() {
    let account = support::sandbox("us-east-1").await;
    let open = BucketSpec {
        kms_key: None,
        tls_only: false,
        public_access_block: false,
    };
    let mut arns = Vec::new();
    for i in 0..8 {
        arns.push(bucket(&account.aws, &unique(&format!("enf-atonce-{i}")), open, &[]).await);
    }
    let proxy = support::faultproxy::Proxy::start("0", 3, &["--fixed-latency-ms", "150"]);
    let modes = all_report();
    let mut env = vec![("RULE_MODES", modes.as_str())];
    env.extend(proxy.function_env("3"));
    let run = account.run(ENFORCER, "scheduled.json", &[], &env);
    let report = run.report();

    // Control: every bucket was read through the proxy and evaluated.
    for arn in &arns {
        assert_breaks(
            report,
            arn,
            S3_RULES[1],
            Severity::Medium,
            "no bucket policy",
        );
    }
    let arns: Vec<&str> = arns.iter().map(String::as_str).collect();
    assert_no_errors_about(report, &arns);
    // The eight buckets are read at once: after its tags, each bucket's three settings at once,
    // then (it needs every fix) the three reads of what relies on it at once: 24 calls. One
    // read at a time per bucket would hold 8, with the empty account's few SageMaker listings
    // alongside (each sweep lists one page at a time): well short of 20.
    let counts = proxy.counts().all;
    let held = counts["in-flight"]["max"].as_u64().unwrap();
    assert!(held >= 20, "at most {held} calls in flight: {counts}");
}

/// `BUCKET_TAG` narrows the sweep to tagged buckets, and a bucket outside it costs one read, its
/// tags: with a scope to decide, the tags are read before the settings, not with them.
#[tokio::test]
async fn bucket_tag_narrows_the_sweep_and_a_bucket_outside_costs_one_read() {
    let aws = aws().await;
    let prefix = unique("enf-scope");
    let open = BucketSpec {
        kms_key: None,
        tls_only: false,
        public_access_block: false,
    };
    let inside = bucket(&aws, &format!("{prefix}-in"), open, &[("Team", "ml")]).await;
    let outside = bucket(&aws, &format!("{prefix}-out"), open, &[("Team", "web")]).await;
    let proxy = support::faultproxy::Proxy::start("0", 4, &[]);
    let modes = all_report();
    let mut env = vec![
        ("BUCKET_PREFIX", prefix.as_str()),
        ("RULE_MODES", modes.as_str()),
        ("BUCKET_TAG", "Team=ml"),
    ];
    env.extend(proxy.function_env("3"));
    let run = enforce("scheduled.json", &env);
    let report = run.report();

    // Control: the bucket in scope is evaluated, through the proxy.
    assert_breaks(
        report,
        &inside,
        S3_RULES[1],
        Severity::Medium,
        "no bucket policy",
    );
    assert!(
        report.findings_for(&outside).is_empty(),
        "{:#?}",
        report.findings_for(&outside)
    );
    assert_eq!(report.metric("BucketsInScope"), Some(1.0));
    let counts = proxy.counts().all;
    let operations = &counts["operations"];
    assert_eq!(operations["s3:GetBucketTagging"], 2, "{counts}");
    for settings in [
        "s3:GetBucketEncryption",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
    ] {
        assert_eq!(operations[settings], 1, "{settings}: {counts}");
    }
}

/// What relies on a bucket (its website, ACL, replication, and the buckets logging to it) is
/// read only for the fixes it could hold back: a bucket already on SSE-KMS with a TLS-only
/// policy and a public access block costs its four settings, one that lacks only the TLS deny
/// also its website, which still holds that fix back. Control: with a bucket on SSE-S3 in the
/// sweep, everything is read, the account's log sources included, and it gets SSE-KMS. Each
/// sweep runs in an account of its own: it remediates, and log sources are every bucket's.
#[tokio::test]
async fn what_relies_on_a_bucket_is_read_only_for_the_fixes_it_needs() {
    async fn seed(account: &support::Sandbox) -> (String, String, String) {
        let aws = &account.aws;
        let key = key(aws, true).await;
        let settled = BucketSpec {
            kms_key: Some(&key),
            ..ALL_GOOD
        };
        let compliant = bucket(aws, &unique("enf-reads-ok"), settled, &[]).await;
        let site_name = unique("enf-reads-site");
        let no_tls = BucketSpec {
            tls_only: false,
            ..settled
        };
        let site = bucket(aws, &site_name, no_tls, &[]).await;
        buckets::host_website(aws, &site_name).await;
        (key, compliant, site)
    }
    fn sweep(account: &support::Sandbox, key: &str) -> (support::Run, Value) {
        let proxy = support::faultproxy::Proxy::start("0", 5, &[]);
        let mut env = vec![("KMS_KEY_ARN", key)];
        env.extend(proxy.function_env("1"));
        let run = account.run(ENFORCER, "scheduled.json", &[], &env);
        assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
        (run, proxy.counts().all["operations"].clone())
    }
    let count = |operations: &Value, operation: &str| operations[operation].as_u64().unwrap_or(0);

    let account = support::sandbox("us-east-1").await;
    let (key, compliant, site) = seed(&account).await;
    let (run, operations) = sweep(&account, &key);
    let report = run.report();
    assert_eq!(report.metric("BucketsInScope"), Some(2.0));
    assert!(
        report.outcomes_for(&compliant).is_empty(),
        "{:#?}",
        report.actions
    );
    assert_eq!(
        report.outcomes_for(&site),
        [("put-bucket-policy", Outcome::Skipped)]
    );
    let refused = report
        .findings_for(&site)
        .into_iter()
        .find(|f| f.message.starts_with("not remediated"))
        .unwrap_or_else(|| panic!("{:#?}", report.findings));
    assert!(refused.message.contains("static website"), "{refused:?}");
    assert_eq!(count(&operations, "s3:GetBucketEncryption"), 2);
    assert_eq!(count(&operations, "s3:GetBucketWebsite"), 1, "{operations}");
    for unneeded in [
        "s3:GetBucketAcl",
        "s3:GetBucketReplication",
        "s3:GetBucketLogging",
    ] {
        assert_eq!(count(&operations, unneeded), 0, "{unneeded}: {operations}");
    }

    // Control: the same two, and a bucket on SSE-S3.
    let account = support::sandbox("us-east-1").await;
    let (key, _, _) = seed(&account).await;
    let plain_name = unique("enf-reads-plain");
    let plain = bucket(&account.aws, &plain_name, ALL_GOOD, &[]).await;
    let (run, operations) = sweep(&account, &key);
    assert_eq!(
        run.report().outcomes_for(&plain),
        [("put-bucket-encryption", Outcome::Done)]
    );
    assert_eq!(
        buckets::encryption(&account.aws, &plain_name)
            .await
            .1
            .as_deref(),
        Some(key.as_str())
    );
    assert_eq!(count(&operations, "s3:GetBucketWebsite"), 2, "{operations}");
    assert_eq!(count(&operations, "s3:GetBucketAcl"), 1, "{operations}");
    assert_eq!(
        count(&operations, "s3:GetBucketReplication"),
        1,
        "{operations}"
    );
    // Every bucket of the account, since any may log to the one on SSE-S3.
    assert_eq!(count(&operations, "s3:GetBucketLogging"), 3, "{operations}");
}

// ---------------------------------------------------------------------------------------------
// S3, by CloudTrail event
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_s3_event_evaluates_its_bucket_and_remediates_what_it_breaks() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let good_name = unique("enf-s3-good");
    let good = bucket(
        &aws,
        &good_name,
        BucketSpec {
            kms_key: Some(&key),
            ..ALL_GOOD
        },
        &[],
    )
    .await;
    let env = [("KMS_KEY_ARN", key.as_str())];
    // (event file, the one rule its bucket breaks, the bucket, the remediation)
    let cases = [
        (
            "cloudtrail-s3-put-bucket-encryption.json",
            S3_RULES[0],
            BucketSpec {
                kms_key: None,
                ..ALL_GOOD
            },
            "put-bucket-encryption",
        ),
        (
            "cloudtrail-s3-delete-bucket-encryption.json",
            S3_RULES[0],
            BucketSpec {
                kms_key: None,
                ..ALL_GOOD
            },
            "put-bucket-encryption",
        ),
        (
            "cloudtrail-s3-put-bucket-policy.json",
            S3_RULES[1],
            BucketSpec {
                kms_key: Some(&key),
                tls_only: false,
                ..ALL_GOOD
            },
            "put-bucket-policy",
        ),
        (
            "cloudtrail-s3-delete-bucket-public-access-block.json",
            S3_RULES[2],
            BucketSpec {
                kms_key: Some(&key),
                public_access_block: false,
                ..ALL_GOOD
            },
            "put-public-access-block",
        ),
        (
            "cloudtrail-s3-create-bucket.json",
            S3_RULES[2],
            BucketSpec {
                kms_key: Some(&key),
                public_access_block: false,
                ..ALL_GOOD
            },
            "put-public-access-block",
        ),
    ];
    for (file, rule, spec, remediation) in cases {
        let compliant = enforce(&event_about(file, "bucketName", &good_name), &env);
        assert_eq!(compliant.code(), 0, "{file}: {}", compliant.stderr());
        for rule in S3_RULES {
            assert_compliant(compliant.report(), &good, rule);
        }
        assert!(compliant.report().outcomes_for(&good).is_empty(), "{file}");

        let name = unique("enf-s3-bad");
        let bad = bucket(&aws, &name, spec, &[]).await;
        let event = event_about(file, "bucketName", &name);
        let run = enforce(&event, &env);
        assert_eq!(run.code(), 0, "{file}: {}", run.stderr());
        assert_eq!(
            run.report().trigger,
            format!("api-call {}", file_event_name(file))
        );
        let broken: Vec<&Finding> = run
            .report()
            .findings_for(&bad)
            .into_iter()
            .filter(|f| f.severity != Severity::Info)
            .collect();
        assert_eq!(broken.len(), 1, "{file}: {broken:?}");
        assert_eq!(broken[0].rule, rule);
        assert_eq!(
            run.report().outcomes_for(&bad),
            [(remediation, Outcome::Done)],
            "{file}"
        );

        // Fixed in the emulator, so the same event now finds nothing to do.
        let again = enforce(&event, &env);
        for rule in S3_RULES {
            assert_compliant(again.report(), &bad, rule);
        }
        assert!(again.report().outcomes_for(&bad).is_empty(), "{file}");
        if remediation == "put-bucket-encryption" {
            assert_eq!(
                encryption(&aws, &name).await,
                ("aws:kms".to_owned(), Some(key.clone()), true)
            );
        }
        if remediation == "put-public-access-block" {
            assert!(public_access_block_on(&aws, &name).await);
        }
    }
}

fn file_event_name(file: &str) -> String {
    let path = support::repo_root().join("events").join(file);
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["detail"]["eventName"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_tls_statement_joins_other_statements_which_stay_as_they_were() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let name = unique("enf-policy");
    bucket(
        &aws,
        &name,
        BucketSpec {
            kms_key: Some(&key),
            tls_only: false,
            ..ALL_GOOD
        },
        &[],
    )
    .await;
    let others = json!([
        {"Sid": "SageMakerReads", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [buckets::arn(&name), format!("{}/*", buckets::arn(&name))]},
        {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": format!("{}/*", buckets::arn(&name)),
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}
    ]);
    put_policy(
        &aws,
        &name,
        &json!({"Version": "2012-10-17", "Id": "acme", "Statement": others}).to_string(),
    )
    .await;

    let event = event_about("cloudtrail-s3-put-bucket-policy.json", "bucketName", &name);
    let env = [("KMS_KEY_ARN", key.as_str())];
    let first = enforce(&event, &env);
    assert_eq!(
        first.report().outcomes_for(&buckets::arn(&name)),
        [("put-bucket-policy", Outcome::Done)],
        "{}",
        first.stderr()
    );
    let merged_text = policy(&aws, &name).await.unwrap();
    let merged: Value = serde_json::from_str(&merged_text).unwrap();
    assert_eq!(merged["Id"], "acme");
    let statements = merged["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(statements[0], others[0]);
    assert_eq!(statements[1], others[1]);
    assert_eq!(statements[2]["Sid"], "SagekeeperDenyInsecureTransport");

    // A second run: nothing to do, the policy is exactly the first result.
    let second = enforce(&event, &env);
    assert!(
        second
            .report()
            .outcomes_for(&buckets::arn(&name))
            .is_empty()
    );
    assert_eq!(policy(&aws, &name).await.unwrap(), merged_text);

    // The emulator enforces it: object calls over plain HTTP are refused now.
    let put = aws
        .s3()
        .put_object()
        .bucket(&name)
        .key("after-tls-only.txt")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert!(put.is_err(), "a plain HTTP upload should be denied");
}

#[tokio::test]
async fn an_unparseable_policy_is_left_alone_with_a_finding() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let name = unique("enf-badpolicy");
    let arn = bucket(
        &aws,
        &name,
        BucketSpec {
            kms_key: Some(&key),
            tls_only: false,
            ..ALL_GOOD
        },
        &[],
    )
    .await;
    // Real S3 would refuse it; the emulator stores it, which is how this path is reachable.
    put_policy(&aws, &name, "{not json").await;
    let run = enforce(
        &event_about("cloudtrail-s3-put-bucket-policy.json", "bucketName", &name),
        &[("KMS_KEY_ARN", key.as_str())],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_breaks(
        run.report(),
        &arn,
        S3_RULES[1],
        Severity::Medium,
        "not valid JSON",
    );
    assert_eq!(
        run.report().outcomes_for(&arn),
        [("put-bucket-policy", Outcome::Skipped)]
    );
    assert_eq!(policy(&aws, &name).await.as_deref(), Some("{not json"));
}

#[tokio::test]
async fn dry_run_report_mode_and_exemptions_change_nothing() {
    let aws = aws().await;
    let key = key(&aws, false).await;
    let open = BucketSpec {
        kms_key: None,
        tls_only: false,
        public_access_block: false,
    };
    let names: Vec<String> = (0..4).map(|i| unique(&format!("enf-nowrite{i}"))).collect();
    let arns = [
        bucket(&aws, &names[0], open, &[]).await,
        bucket(&aws, &names[1], open, &[]).await,
        bucket(
            &aws,
            &names[2],
            open,
            &[
                (
                    "sagekeeper:exempt",
                    "s3-default-encryption-kms s3-deny-insecure-transport+s3-public-access-block",
                ),
                ("sagekeeper:exempt-reason", "public dataset CISO-123"),
            ],
        )
        .await,
        bucket(&aws, &names[3], open, &[]).await,
    ];
    let modes = all_report();
    let runs = [
        run_function(
            ENFORCER,
            &event_about("cloudtrail-s3-create-bucket.json", "bucketName", &names[0]),
            &["--dry-run"],
            &[("KMS_KEY_ARN", key.as_str())],
        ),
        enforce(
            &event_about("cloudtrail-s3-create-bucket.json", "bucketName", &names[1]),
            &[
                ("KMS_KEY_ARN", key.as_str()),
                ("RULE_MODES", modes.as_str()),
            ],
        ),
        enforce(
            &event_about("cloudtrail-s3-create-bucket.json", "bucketName", &names[2]),
            &[("KMS_KEY_ARN", key.as_str())],
        ),
        enforce(
            &event_about("cloudtrail-s3-create-bucket.json", "bucketName", &names[3]),
            &[
                ("KMS_KEY_ARN", key.as_str()),
                ("EXEMPT_RESOURCES", arns[3].as_str()),
            ],
        ),
    ];
    for run in &runs {
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    // Dry run: the same three writes, planned.
    assert_eq!(
        runs[0].report().outcomes_for(&arns[0]),
        [
            ("put-bucket-encryption", Outcome::Planned),
            ("put-bucket-policy", Outcome::Planned),
            ("put-public-access-block", Outcome::Planned)
        ]
    );
    assert!(runs[0].report().dry_run);
    // Report mode: findings, no actions.
    assert_breaks(
        runs[1].report(),
        &arns[1],
        S3_RULES[0],
        Severity::High,
        "report mode",
    );
    assert!(runs[1].report().outcomes_for(&arns[1]).is_empty());
    // Exempt by tag and by configuration: info findings saying why, no actions.
    for (run, arn, why) in [
        (&runs[2], &arns[2], "public dataset CISO-123"),
        (&runs[3], &arns[3], "EXEMPT_RESOURCES"),
    ] {
        for rule in S3_RULES {
            let exempt = run.report().finding(arn, rule).unwrap();
            assert_eq!(exempt.severity, Severity::Info);
            assert!(exempt.message.contains(why), "{exempt:?}");
        }
        assert!(run.report().outcomes_for(arn).is_empty());
        assert_eq!(run.report().metric("Exempt"), Some(3.0));
    }
    // KMS_KEY_ARN's key is only checked by sweeps; these runs left it alone too.
    assert!(!rotation_enabled(&aws, &key).await);
    for name in &names {
        assert_eq!(encryption(&aws, name).await.0, "AES256", "{name}");
        assert_eq!(policy(&aws, name).await, None, "{name}");
        assert!(!public_access_block_on(&aws, name).await, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// KMS, through the resources that use a key
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn keys_used_by_a_resource_get_rotation_turned_on() {
    let aws = aws().await;
    let (rotating, still) = (key(&aws, true).await, key(&aws, false).await);
    let good = unique("enf-key-good");
    bucket(
        &aws,
        &good,
        BucketSpec {
            kms_key: Some(&rotating),
            ..ALL_GOOD
        },
        &[],
    )
    .await;
    let bad = unique("enf-key-bad");
    bucket(
        &aws,
        &bad,
        BucketSpec {
            kms_key: Some(&still),
            ..ALL_GOOD
        },
        &[],
    )
    .await;

    let run = enforce(
        &event_about(
            "cloudtrail-s3-put-bucket-encryption.json",
            "bucketName",
            &good,
        ),
        &[],
    );
    assert_compliant(run.report(), &rotating, ROTATION);

    let run = enforce(
        &event_about(
            "cloudtrail-s3-put-bucket-encryption.json",
            "bucketName",
            &bad,
        ),
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_breaks(
        run.report(),
        &still,
        ROTATION,
        Severity::Medium,
        "rotation is off",
    );
    assert_eq!(
        run.report().outcomes_for(&still),
        [("enable-key-rotation", Outcome::Done)]
    );
    assert!(rotation_enabled(&aws, &still).await);
    // Without KMS_KEY_ARN any customer-managed key will do for the bucket.
    assert_compliant(run.report(), &buckets::arn(&bad), S3_RULES[0]);
}

// ---------------------------------------------------------------------------------------------
// SageMaker, by CloudTrail event
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn training_jobs_are_evaluated_by_their_create_event_and_never_stopped_when_finished() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let (good_name, bad_name) = (unique("enf-tj-good"), unique("enf-tj-bad"));
    let good = training_job(&aws, &good_name, Some(&key)).await;
    let bad = training_job(&aws, &bad_name, None).await;
    let file = "cloudtrail-sagemaker-create-training-job.json";

    let run = enforce(&event_about(file, "trainingJobName", &good_name), &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for rule in JOB_RULES {
        assert_compliant(run.report(), &good, rule);
    }
    assert_compliant(run.report(), &key, ROTATION);

    // Report mode by default: findings, no action.
    let run = enforce(&event_about(file, "trainingJobName", &bad_name), &[]);
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[0],
        Severity::High,
        "report mode",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[1],
        Severity::High,
        "output KmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[2],
        Severity::Medium,
        "2 instances",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[3],
        Severity::High,
        "DataClassification=Confidential|Restricted",
    );
    assert!(run.report().outcomes_for(&bad).is_empty());

    // Remediate mode and opted in: the emulator's jobs are already Completed, so the stop is
    // skipped with the reason (StopTrainingJob itself is covered with smithy mocks).
    let modes = json!({"sagemaker-job-volume-kms": "remediate"}).to_string();
    let run = enforce(
        &event_about(file, "trainingJobName", &bad_name),
        &[
            ("RULE_MODES", modes.as_str()),
            ("STOP_NONCOMPLIANT_JOBS", "true"),
        ],
    );
    assert_eq!(
        run.report().outcomes_for(&bad),
        [("stop-training-job", Outcome::Skipped)]
    );
    let detail = run.report().actions_for(&bad)[0].detail.as_deref().unwrap();
    assert!(detail.contains("Completed"), "{detail}");
}

#[tokio::test]
async fn processing_transform_and_tuning_jobs_are_evaluated_by_their_create_events() {
    let aws = aws().await;
    let key = key(&aws, true).await;

    // Processing: the emulator does not return a processing job's cluster, so only the
    // non-compliant side is checked here (the compliant side is a mocked describe in the core
    // crate's jobs tests).
    let name = unique("enf-pj-bad");
    let arn = processing_job(&aws, &name).await;
    let run = enforce(
        &event_about(
            "cloudtrail-sagemaker-create-processing-job.json",
            "processingJobName",
            &name,
        ),
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_breaks(
        run.report(),
        &arn,
        JOB_RULES[0],
        Severity::High,
        "VolumeKmsKeyId",
    );
    assert_breaks(
        run.report(),
        &arn,
        JOB_RULES[1],
        Severity::High,
        "output KmsKeyId",
    );
    assert_breaks(
        run.report(),
        &arn,
        JOB_RULES[3],
        Severity::High,
        "network isolation and a VPC",
    );

    let file = "cloudtrail-sagemaker-create-transform-job.json";
    let (good_name, bad_name) = (unique("enf-tf-good"), unique("enf-tf-bad"));
    let good = transform_job(&aws, &good_name, Some(&key)).await;
    let bad = transform_job(&aws, &bad_name, None).await;
    let run = enforce(&event_about(file, "transformJobName", &good_name), &[]);
    assert_compliant(run.report(), &good, JOB_RULES[0]);
    assert_compliant(run.report(), &good, JOB_RULES[1]);
    let run = enforce(&event_about(file, "transformJobName", &bad_name), &[]);
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[0],
        Severity::High,
        "VolumeKmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[1],
        Severity::High,
        "output KmsKeyId",
    );

    let file = "cloudtrail-sagemaker-create-hyper-parameter-tuning-job.json";
    let param = "hyperParameterTuningJobName";
    let (good_name, bad_name) = (unique("enf-hpo-good"), unique("enf-hpo-bad"));
    let good = tuning_job(&aws, &good_name, Some(&key)).await;
    let bad = tuning_job(&aws, &bad_name, None).await;
    let run = enforce(&event_about(file, param, &good_name), &[]);
    for rule in &JOB_RULES[..3] {
        assert_compliant(run.report(), &good, rule);
    }
    let modes = json!({"sagemaker-job-volume-kms": "remediate"}).to_string();
    let run = enforce(
        &event_about(file, param, &bad_name),
        &[
            ("RULE_MODES", modes.as_str()),
            ("STOP_NONCOMPLIANT_JOBS", "true"),
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[0],
        Severity::High,
        "VolumeKmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[1],
        Severity::High,
        "output KmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        JOB_RULES[2],
        Severity::Medium,
        "2 instances",
    );
    assert_eq!(
        run.report().outcomes_for(&bad),
        [("stop-hyper-parameter-tuning-job", Outcome::Skipped)]
    );
}

#[tokio::test]
async fn endpoint_configs_are_tagged_not_changed_and_only_once() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let (good_name, bad_name) = (unique("enf-cfg-good"), unique("enf-cfg-bad"));
    let good = endpoint_config(&aws, &good_name, Some(&key)).await;
    let bad = endpoint_config(&aws, &bad_name, None).await;
    let file = "cloudtrail-sagemaker-create-endpoint-config.json";

    let run = enforce(&event_about(file, "endpointConfigName", &good_name), &[]);
    for rule in CONFIG_RULES {
        assert_compliant(run.report(), &good, rule);
    }
    // Report mode by default: findings only, no tag.
    let event = event_about(file, "endpointConfigName", &bad_name);
    let run = enforce(&event, &[]);
    assert_breaks(
        run.report(),
        &bad,
        CONFIG_RULES[0],
        Severity::Medium,
        "no KmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        CONFIG_RULES[1],
        Severity::High,
        "data capture",
    );
    assert_eq!(
        sagemaker_tags(&aws, &bad)
            .await
            .remove("sagekeeper:noncompliant"),
        None
    );

    let modes = json!({"sagemaker-endpoint-config-kms": "remediate", "sagemaker-endpoint-config-data-capture-kms": "remediate"}).to_string();
    let env = [("RULE_MODES", modes.as_str())];
    let run = enforce(&event, &env);
    assert_eq!(
        run.report().outcomes_for(&bad),
        [("tag-noncompliant", Outcome::Done)],
        "{}",
        run.stderr()
    );
    assert_eq!(
        sagemaker_tags(&aws, &bad)
            .await
            .remove("sagekeeper:noncompliant")
            .as_deref(),
        Some("sagemaker-endpoint-config-kms sagemaker-endpoint-config-data-capture-kms")
    );
    let again = enforce(&event, &env);
    assert!(
        again.report().outcomes_for(&bad).is_empty(),
        "already tagged"
    );
    assert_eq!(
        again
            .report()
            .findings_for(&bad)
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .count(),
        2
    );
}

#[tokio::test]
async fn notebooks_are_stopped_only_when_opted_in() {
    let aws = aws().await;
    let key = key(&aws, true).await;
    let (good_name, bad_name) = (unique("enf-nb-good"), unique("enf-nb-bad"));
    let good = seed_notebook(&aws, &good_name, Some(&key), &[]).await;
    let bad = seed_notebook(&aws, &bad_name, None, &[]).await;
    let file = "cloudtrail-sagemaker-create-notebook-instance.json";

    let run = enforce(&event_about(file, "notebookInstanceName", &good_name), &[]);
    for rule in NOTEBOOK_RULES {
        assert_compliant(run.report(), &good, rule);
    }
    let event = event_about(file, "notebookInstanceName", &bad_name);
    let modes = json!({"sagemaker-notebook-no-root-access": "remediate"}).to_string();
    let run = enforce(&event, &[("RULE_MODES", modes.as_str())]);
    assert_breaks(
        run.report(),
        &bad,
        NOTEBOOK_RULES[0],
        Severity::Medium,
        "no KmsKeyId",
    );
    assert_breaks(
        run.report(),
        &bad,
        NOTEBOOK_RULES[1],
        Severity::High,
        "internet",
    );
    assert_breaks(
        run.report(),
        &bad,
        NOTEBOOK_RULES[2],
        Severity::Medium,
        "root access",
    );
    assert_eq!(
        run.report().outcomes_for(&bad),
        [("stop-notebook-instance", Outcome::Skipped)]
    );
    let status = |aws: Aws, name: String| async move {
        aws.sagemaker()
            .describe_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .unwrap()
            .notebook_instance_status
            .unwrap()
            .as_str()
            .to_owned()
    };
    assert_eq!(status(aws.clone(), bad_name.clone()).await, "InService");

    let run = enforce(
        &event,
        &[
            ("RULE_MODES", modes.as_str()),
            ("STOP_NONCOMPLIANT_NOTEBOOKS", "true"),
        ],
    );
    assert_eq!(
        run.report().outcomes_for(&bad),
        [("stop-notebook-instance", Outcome::Done)],
        "{}",
        run.stderr()
    );
    assert_eq!(status(aws.clone(), bad_name.clone()).await, "Stopped");
}

// ---------------------------------------------------------------------------------------------
// Events that are not about anything to evaluate
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_and_unrelated_events_make_no_call() {
    // A followed call without its resource's name: a typed event error, before any AWS call.
    let path = support::repo_root().join("events/cloudtrail-sagemaker-create-training-job.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("trainingJobName");
    let run = run_function_at(ENFORCER, &write_event(&event), &[], &[], CLOSED_ENDPOINT);
    assert_eq!(run.code(), 1);
    let errors = &run.report().errors;
    assert_eq!(
        errors.len(),
        1,
        "only the event error, no failed AWS call: {errors:?}"
    );
    assert_eq!(errors[0].kind, "invalid-event");
    assert!(errors[0].message.contains("trainingJobName"));
    assert!(run.report().actions.is_empty());

    // A call about a resource the enforcer does not check, and a call nobody follows: ignored.
    event["detail"]["eventName"] = json!("GetObject");
    for file in [
        "cloudtrail-sagemaker-create-endpoint.json".to_owned(),
        write_event(&event),
    ] {
        let run = run_function_at(ENFORCER, &file, &[], &[], CLOSED_ENDPOINT);
        assert_eq!(run.code(), 0, "{file}: {}", run.stderr());
        assert!(run.report().errors.is_empty(), "{file}");
        assert!(run.report().findings.is_empty(), "{file}");
        let actions = &run.report().actions;
        assert_eq!(actions.len(), 1, "{file}");
        assert_eq!(actions[0].action, "evaluate");
        assert_eq!(actions[0].outcome, Outcome::Skipped);
    }
}

#[test]
fn remediate_for_a_studio_domain_rule_is_refused_at_start() {
    let refused = json!({DOMAIN_RULES[1]: "remediate"}).to_string();
    let run = run_function_at(
        ENFORCER,
        "scheduled.json",
        &[],
        &[("RULE_MODES", refused.as_str())],
        CLOSED_ENDPOINT,
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert_eq!(run.json, Value::Null, "no report is printed");
    assert!(
        run.stderr().contains("invalid configuration: RULE_MODES=")
            && run.stderr().contains("report only"),
        "{}",
        run.stderr()
    );
    // The control: the same rule in report mode starts (an event it ignores, so no AWS call).
    let report = json!({DOMAIN_RULES[1]: "report"}).to_string();
    let run = run_function_at(
        ENFORCER,
        "cloudtrail-sagemaker-create-endpoint.json",
        &[],
        &[("RULE_MODES", report.as_str())],
        CLOSED_ENDPOINT,
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn a_resource_deleted_before_the_run_is_noted_not_failed() {
    let name = unique("enf-gone");
    let run = enforce(
        &event_about("cloudtrail-s3-create-bucket.json", "bucketName", &name),
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.report().outcomes_for(&buckets::arn(&name)),
        [("evaluate", Outcome::Skipped)]
    );
}

// ---------------------------------------------------------------------------------------------
// What relies on a bucket, and owners' choices
// ---------------------------------------------------------------------------------------------

/// A sweep in remediate mode, in an account of its own, over buckets that something relies on
/// and their controls: the same bucket without the dangerous detail.
#[tokio::test]
async fn the_sweep_keeps_what_a_bucket_relies_on_and_remediates_the_rest() {
    use support::buckets::arn;
    let account = support::sandbox("us-east-1").await;
    let aws = &account.aws;
    let kms = aws.kms();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
        let key = key.arn.unwrap();
        kms.enable_key_rotation().key_id(&key).send().await.unwrap();
        keys.push(key);
    }
    let (required, owners) = (keys[0].clone(), keys[1].clone());
    let name = |what: &str| format!("{}-{what}", unique("enf-rel"));
    let [
        plain,
        app,
        access_logs,
        acl_logs,
        alb_logs,
        site,
        replicated,
        kms_replicated,
        dr,
        owned,
        edited,
        stale,
    ] = [
        "plain",
        "app",
        "access-logs",
        "acl-logs",
        "alb-logs",
        "site",
        "repl",
        "repl-kms",
        "dr",
        "owned",
        "edited",
        "stale",
    ]
    .map(name);
    for bucket in [
        &plain,
        &app,
        &access_logs,
        &acl_logs,
        &alb_logs,
        &site,
        &replicated,
        &kms_replicated,
        &dr,
    ] {
        buckets::create(aws, bucket, None).await;
    }
    buckets::deliver_access_logs(aws, &app, &access_logs).await;
    buckets::grant_log_delivery(aws, &acl_logs).await;
    buckets::put_policy(aws, &alb_logs, vec![buckets::elb_log_delivery(&alb_logs)]).await;
    buckets::host_website(aws, &site).await;
    buckets::replicate(aws, &replicated, &dr, false, &required).await;
    buckets::replicate(aws, &kms_replicated, &dr, true, &required).await;
    // The owner's own key, and our TLS statement as two owners edited it: one made an exception
    // for a role (kept), one narrowed it to reads (no longer TLS-only: put right).
    buckets::create(aws, &owned, Some(&owners)).await;
    buckets::create(aws, &edited, Some(&required)).await;
    buckets::create(aws, &stale, Some(&required)).await;
    let ours = |bucket: &str| {
        let mut statement = tls_only(bucket);
        statement["Sid"] = json!("SagekeeperDenyInsecureTransport");
        statement
    };
    let mut excepted = ours(&edited);
    excepted["Condition"]["ArnNotEquals"] =
        json!({"aws:PrincipalArn": "arn:aws:iam::123456789012:role/LegacyUploader"});
    buckets::put_policy(aws, &edited, vec![excepted.clone()]).await;
    let mut narrowed = ours(&stale);
    narrowed["Action"] = json!("s3:GetObject");
    buckets::put_policy(aws, &stale, vec![narrowed]).await;
    buckets::put_policy(aws, &owned, vec![ours(&owned)]).await;
    for bucket in [&owned, &edited, &stale] {
        buckets::block_public_access(aws, bucket).await;
    }

    let run = account.run(
        ENFORCER,
        "scheduled.json",
        &[],
        &[("KMS_KEY_ARN", required.as_str())],
    );
    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
    let report = run.report();
    let (enc, pol, pab) = (
        "put-bucket-encryption",
        "put-bucket-policy",
        "put-public-access-block",
    );
    let all_done = [
        (enc, Outcome::Done),
        (pol, Outcome::Done),
        (pab, Outcome::Done),
    ];
    let safe_done = [
        (enc, Outcome::Skipped),
        (pol, Outcome::Done),
        (pab, Outcome::Done),
    ];
    // THEN the controls get all three remediations
    for bucket in [&plain, &app, &kms_replicated, &dr] {
        assert_eq!(report.outcomes_for(&arn(bucket)), all_done, "{bucket}");
        assert_eq!(
            buckets::encryption(aws, bucket).await.1.as_deref(),
            Some(required.as_str())
        );
    }
    // AND log targets and a replication source without KMS-aware replication keep SSE-S3, each
    // with the reason, and get the TLS-only deny and the public access block
    for (bucket, says) in [
        (&access_logs, format!("server access logs of {app}")),
        (&acl_logs, "S3 Log Delivery group".to_owned()),
        (&alb_logs, "Elastic Load Balancing".to_owned()),
        (&replicated, "to-dr".to_owned()),
    ] {
        let bucket_arn = arn(bucket);
        assert_eq!(report.outcomes_for(&bucket_arn), safe_done, "{bucket}");
        let refused = report
            .findings_for(&bucket_arn)
            .into_iter()
            .find(|f| f.message.starts_with("not remediated"))
            .unwrap_or_else(|| panic!("{bucket}: {:#?}", report.findings));
        assert_eq!(refused.severity, Severity::Info);
        assert!(refused.message.contains(&says), "{refused:?}");
        assert_eq!(
            buckets::encryption(aws, bucket).await.0,
            "AES256",
            "{bucket}"
        );
        assert!(
            buckets::public_access_blocked(aws, bucket).await,
            "{bucket}"
        );
    }
    assert!(
        buckets::statements(aws, &alb_logs)
            .await
            .contains(&buckets::elb_log_delivery(&alb_logs))
    );
    // AND a static website is left as it is
    assert_eq!(
        report.outcomes_for(&arn(&site)),
        [
            (enc, Outcome::Skipped),
            (pol, Outcome::Skipped),
            (pab, Outcome::Skipped)
        ]
    );
    assert_eq!(buckets::statements(aws, &site).await, Vec::<Value>::new());
    assert!(!buckets::public_access_blocked(aws, &site).await);
    // AND the owner's key is kept, with a finding
    assert_eq!(report.outcomes_for(&arn(&owned)), [(enc, Outcome::Skipped)]);
    assert_breaks(
        report,
        &arn(&owned),
        S3_RULES[0],
        Severity::High,
        "not the required key",
    );
    assert_eq!(
        buckets::encryption(aws, &owned).await.1.as_deref(),
        Some(owners.as_str())
    );
    // AND the owner's exception is kept and reported low; the narrowed copy is put right
    assert!(
        report.outcomes_for(&arn(&edited)).is_empty(),
        "{:#?}",
        report.actions
    );
    assert_breaks(
        report,
        &arn(&edited),
        S3_RULES[1],
        Severity::Low,
        "LegacyUploader",
    );
    assert_eq!(buckets::statements(aws, &edited).await, [excepted]);
    assert_eq!(report.outcomes_for(&arn(&stale)), [(pol, Outcome::Done)]);
    assert_eq!(buckets::statements(aws, &stale).await, [ours(&stale)]);
}
