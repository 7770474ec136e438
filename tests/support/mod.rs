//! What the integration tests share: the local emulator, SDK clients pointed at it, unique
//! names, and running the function binaries as an operator would.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sagemaker::types::{
    ContainerDefinition, DirectInternetAccess, InstanceType, ProductionVariant,
    ProductionVariantInstanceType, RootAccess, Tag,
};
use reports::TargetRuns;
use sagekeeper_core::{Aws, Report};
use serde_json::Value;

pub mod buckets;
pub mod faultproxy;
pub mod parking;
pub mod reports;
pub mod retrain;
pub mod studio;
pub mod tagger;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The emulator's URL; starts it (once per test binary) through the project's own script.
pub fn emulator_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/emulator.sh"))
            .arg("start")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/emulator.sh start");
        assert!(out.status.success(), "the emulator did not start");
        String::from_utf8(out.stdout)
            .expect("utf-8 URL")
            .trim()
            .to_owned()
    })
}

/// SDK configuration for the emulator. Retries are off: moto answers unsupported calls with
/// HTTP 500, which the default policy would retry with back-off for seconds.
pub async fn aws() -> Aws {
    aws_in(REGION).await
}

/// Clients for one region of the emulator. The emulator keeps each region's resources apart,
/// so a test that sweeps a whole "account" gets a region of its own.
pub async fn aws_in(region: &str) -> Aws {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Aws::from_sdk_config(sdk)
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}-{:x}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos % 0xffff
    )
}

/// A model, endpoint config and endpoint named `name`, with `tags` on the endpoint.
pub async fn seed_endpoint(aws: &Aws, name: &str, tags: &[(&str, &str)]) -> String {
    seed_endpoint_of_type(aws, name, ProductionVariantInstanceType::MlM5Large, 1, tags).await
}

/// An XGBoost model named `name`, run as the account's SageMaker execution role.
pub async fn seed_model(aws: &Aws, name: &str) {
    aws.sagemaker()
        .create_model()
        .model_name(name)
        .execution_role_arn(format!(
            "arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
        ))
        .primary_container(
            ContainerDefinition::builder()
                .image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
                .build(),
        )
        .send()
        .await
        .expect("create model");
}

/// A model, an asynchronous-inference endpoint config (one `AllTraffic` variant, 1 ×
/// ml.m5.large) and its endpoint named `name`, with `tags` on the endpoint; its ARN.
pub async fn seed_async_endpoint(aws: &Aws, name: &str, tags: &[(&str, &str)]) -> String {
    seed_model(aws, &format!("{name}-model")).await;
    aws.sagemaker()
        .create_endpoint_config()
        .endpoint_config_name(format!("{name}-config"))
        .production_variants(all_traffic(
            name,
            ProductionVariantInstanceType::MlM5Large,
            1,
        ))
        .async_inference_config(
            aws_sdk_sagemaker::types::AsyncInferenceConfig::builder()
                .output_config(
                    aws_sdk_sagemaker::types::AsyncInferenceOutputConfig::builder()
                        .s3_output_path(format!("s3://{name}-results/out/"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create async endpoint config");
    create_endpoint(aws, name, tags).await
}

pub async fn seed_endpoint_of_type(
    aws: &Aws,
    name: &str,
    instance_type: ProductionVariantInstanceType,
    count: i32,
    tags: &[(&str, &str)],
) -> String {
    seed_model(aws, &format!("{name}-model")).await;
    aws.sagemaker()
        .create_endpoint_config()
        .endpoint_config_name(format!("{name}-config"))
        .production_variants(all_traffic(name, instance_type, count))
        .send()
        .await
        .expect("create endpoint config");
    create_endpoint(aws, name, tags).await
}

/// The one `AllTraffic` variant of the endpoint `name`, serving the model `<name>-model`.
pub fn all_traffic(
    name: &str,
    instance_type: ProductionVariantInstanceType,
    count: i32,
) -> ProductionVariant {
    ProductionVariant::builder()
        .variant_name("AllTraffic")
        .model_name(format!("{name}-model"))
        .instance_type(instance_type)
        .initial_instance_count(count)
        .build()
}

/// The endpoint `name` of the endpoint config `<name>-config`, with `tags`; its ARN.
pub async fn create_endpoint(aws: &Aws, name: &str, tags: &[(&str, &str)]) -> String {
    aws.sagemaker()
        .create_endpoint()
        .endpoint_name(name)
        .endpoint_config_name(format!("{name}-config"))
        .set_tags(Some(sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create endpoint")
        .endpoint_arn
        .expect("endpoint arn")
}

/// `tags` as SageMaker takes them.
pub fn sagemaker_tags_of(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

/// The tags of a SageMaker resource.
pub async fn sagemaker_tags(aws: &Aws, arn: &str) -> BTreeMap<String, String> {
    aws.sagemaker()
        .list_tags()
        .resource_arn(arn)
        .send()
        .await
        .expect("list tags")
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The tags of a SageMaker resource as sorted `key=value` lines.
pub async fn sagemaker_tag_lines(aws: &Aws, arn: &str) -> Vec<String> {
    let mut lines: Vec<String> = sagemaker_tags(aws, arn)
        .await
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.sort();
    lines
}

/// A notebook instance (ml.t3.medium) run as the account's SageMaker execution role, with
/// `tags`. With `key`: encrypted with it, in a VPC, without direct internet or root access;
/// without: none of those. Its ARN.
pub async fn seed_notebook(
    aws: &Aws,
    name: &str,
    key: Option<&str>,
    tags: &[(&str, &str)],
) -> String {
    let mut create = aws
        .sagemaker()
        .create_notebook_instance()
        .notebook_instance_name(name)
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(format!(
            "arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
        ))
        .set_kms_key_id(key.map(str::to_owned))
        .set_tags((!tags.is_empty()).then(|| sagemaker_tags_of(tags)));
    if key.is_some() {
        create = create
            .direct_internet_access(DirectInternetAccess::Disabled)
            .root_access(RootAccess::Disabled)
            .subnet_id("subnet-0123456789abcdef0")
            .security_group_ids("sg-0123456789abcdef0");
    }
    create
        .send()
        .await
        .expect("create notebook instance")
        .notebook_instance_arn
        .expect("notebook instance arn")
}

/// The keys of the objects in `bucket` under `prefix` (all of them for "").
pub async fn object_keys(aws: &Aws, bucket: &str, prefix: &str) -> Vec<String> {
    aws.s3()
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix((!prefix.is_empty()).then(|| prefix.to_owned()))
        .send()
        .await
        .expect("list objects")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// The training job of events/cloudtrail-sagemaker-create-training-job.json, named `name`,
/// running as `account`'s SageMakerExecutionRole, with `tags`; its ARN.
pub async fn seed_training_job(
    aws: &Aws,
    account: &str,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    use aws_sdk_sagemaker::types::StoppingCondition;
    training_job_request(aws, account, name, 1)
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(86400)
                .build(),
        )
        .set_tags(Some(sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create the sample training job")
        .training_job_arn
        .expect("training job arn")
}

/// A CreateTrainingJob request for an XGBoost job named `name` on `count` × ml.m5.xlarge,
/// running as `account`'s SageMakerExecutionRole; the caller adds the rest and sends it.
pub fn training_job_request(
    aws: &Aws,
    account: &str,
    name: &str,
    count: i32,
) -> aws_sdk_sagemaker::operation::create_training_job::builders::CreateTrainingJobFluentBuilder {
    use aws_sdk_sagemaker::types::{
        AlgorithmSpecification, OutputDataConfig, ResourceConfig, TrainingInputMode,
        TrainingInstanceType,
    };
    aws.sagemaker()
        .create_training_job()
        .training_job_name(name)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(
                    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                )
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .role_arn(format!(
            "arn:aws:iam::{account}:role/SageMakerExecutionRole"
        ))
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path("s3://acme-ml-model-artifacts/churn/")
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::MlM5Xlarge)
                .instance_count(count)
                .volume_size_in_gb(30)
                .build(),
        )
}

/// A function binary built by `cargo build --workspace --all-targets` (scripts/test.sh does).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug/<name>
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(name))
        .expect("target directory");
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --all-targets; scripts/test.sh does)",
        path.display()
    );
    path
}

/// A function binary's run: its exit status, its logs, and the answer it printed.
pub struct Run {
    pub output: Output,
    /// What the run printed, as JSON (`Null` when it printed none): for messages, and for the
    /// few checks of the answer's raw shape. Read the answer with `report` or `target_runs`.
    pub json: Value,
    report: Option<Report>,
    target_runs: Option<TargetRuns>,
}

impl Run {
    fn new(output: Output) -> Run {
        let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        assert_metrics_listed(&json);
        Run {
            report: reports::report_of(&json),
            target_runs: reports::target_runs_of(&json),
            output,
            json,
        }
    }

    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The run's report; fails the test, showing what was printed, when there is none.
    #[track_caller]
    pub fn report(&self) -> &Report {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report printed: {:#}\n{}", self.json, self.stderr()))
    }

    /// The report, if the run printed one (a run that failed to start, or was cut short,
    /// prints none).
    pub fn try_report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// The answer of a run over several targets; fails the test, showing what was printed,
    /// when the answer is not one.
    #[track_caller]
    pub fn target_runs(&self) -> &TargetRuns {
        self.target_runs.as_ref().unwrap_or_else(|| {
            panic!(
                "a multi-target response: {:#}\n{}",
                self.json,
                self.stderr()
            )
        })
    }
}

/// Every metric a run reports is in the one list the dashboard is made from
/// (`sagekeeper_core::run::metrics`): checked on every run of every test.
#[track_caller]
fn assert_metrics_listed(json: &Value) {
    let runs = json["runs"].as_array().into_iter().flatten();
    for report in std::iter::once(json).chain(runs) {
        for name in report["metrics"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
        {
            assert!(
                sagekeeper_core::run::metrics::find(name).is_some(),
                "metric {name} is emitted but not listed in shared/src/run/metrics.rs (nor on the dashboard)"
            );
        }
    }
}

/// Runs a function from the shell on an events/ file, against the emulator, with `env` on top
/// of a clean environment (so the developer's own AWS settings never leak in).
pub fn run_function(name: &str, event_file: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_function_at(name, event_file, args, env, emulator_url())
}

pub fn run_function_at(
    name: &str,
    event_file: &str,
    args: &[&str],
    env: &[(&str, &str)],
    endpoint: &str,
) -> Run {
    run_function_in(REGION, name, event_file, args, env, endpoint)
}

/// Like `run_function_at`, in `region` (see `aws_in`).
pub fn run_function_in(
    region: &str,
    name: &str,
    event_file: &str,
    args: &[&str],
    env: &[(&str, &str)],
    endpoint: &str,
) -> Run {
    let output = Command::new(binary(name))
        .arg("--event")
        .arg(repo_root().join("events").join(event_file))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", region)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run the function binary");
    Run::new(output)
}

/// An AWS account of its own in the emulator (the emulator keys every resource by the account
/// of the credentials, and assumed-role credentials carry the role's account). Tests that
/// sweep "everything in the account" use one, so they never see each other's resources, nor
/// resources left by earlier runs against the same emulator.
pub struct Sandbox {
    pub account_id: String,
    pub region: String,
    pub aws: Aws,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
}

pub async fn sandbox(region: &str) -> Sandbox {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = (seed
        ^ (u128::from(std::process::id()) << 20)
        ^ u128::from(NEXT.fetch_add(1, Ordering::SeqCst)) << 40)
        % 900_000_000_000;
    sandbox_of(&format!("{}", 100_000_000_000 + mixed), region).await
}

/// Credentials of a given account (e.g. one an emulated organisation created), in `region`.
pub async fn sandbox_of(account_id: &str, region: &str) -> Sandbox {
    let account_id = account_id.to_owned();
    let sts = aws().await.sts();
    let credentials = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account_id}:role/sagekeeper-test"))
        .role_session_name("sagekeeper-test")
        .send()
        .await
        .expect("assume a role in a fresh account")
        .credentials
        .expect("credentials");
    let (access_key_id, secret_access_key, session_token) = (
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
        credentials.session_token().to_owned(),
    );
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &access_key_id,
            &secret_access_key,
            Some(session_token.clone()),
            None,
            "sandbox",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Sandbox {
        account_id,
        region: region.to_owned(),
        aws: Aws::from_sdk_config(sdk),
        access_key_id,
        secret_access_key,
        session_token,
    }
}

impl Sandbox {
    /// Runs a function binary in this account and region.
    pub fn run(&self, name: &str, event_file: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all = vec![
            ("AWS_ACCESS_KEY_ID", self.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.as_str()),
            ("AWS_SESSION_TOKEN", self.session_token.as_str()),
        ];
        all.extend_from_slice(env);
        run_function_in(&self.region, name, event_file, args, &all, emulator_url())
    }

    /// The ARN of a SageMaker resource in this account (`endpoint/name`, ...).
    pub fn sagemaker_arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:{resource}",
            self.region, self.account_id
        )
    }
}

/// A scalable target (1..=`max_capacity`) with a target-tracking policy on the endpoint's
/// `AllTraffic` variant.
pub async fn seed_autoscaling(aws: &Aws, endpoint: &str, max_capacity: i32, target_value: f64) {
    use aws_sdk_applicationautoscaling::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
        TargetTrackingScalingPolicyConfiguration,
    };
    let aas = aws.autoscaling();
    let resource = format!("endpoint/{endpoint}/variant/AllTraffic");
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(1)
        .max_capacity(max_capacity)
        .send()
        .await
        .unwrap();
    aas.put_scaling_policy()
        .policy_name("invocations")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(target_value)
                .scale_in_cooldown(300)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A bucket of its own in `aws`'s account (us-east-1, no location constraint), named from
/// `prefix`.
pub async fn new_bucket(aws: &Aws, prefix: &str) -> String {
    let bucket = unique(prefix);
    aws.s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    bucket
}

/// A queue named from `prefix` with `attributes`: its URL and ARN.
pub async fn new_queue(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    attributes: &[(aws_sdk_sqs::types::QueueAttributeName, String)],
) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let url = sqs
        .create_queue()
        .queue_name(unique(prefix))
        .set_attributes(Some(attributes.iter().cloned().collect()))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("queue arn");
    (url, arn)
}

/// An SNS topic with an SQS queue subscribed to it, so a test can read what was published.
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    pub async fn new(aws: &Aws) -> Inbox {
        let sqs = aws_sdk_sqs::Client::new(aws.sdk_config());
        let topic_arn = aws
            .sns()
            .create_topic()
            .name(unique("topic"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let (queue_url, queue_arn) = new_queue(&sqs, "queue", &[]).await;
        aws.sns()
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        Inbox {
            topic_arn,
            queue_url,
            sqs,
        }
    }

    /// The SNS envelopes delivered so far (Subject, Message, MessageAttributes, ...).
    pub async fn envelopes(&self) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    }
}
