//! Seeding for tests/tagger.rs: SageMaker metrics at a given time, buckets created by a
//! CloudFormation stack, and training jobs with the spot, checkpoint and stopping settings
//! their cost findings look at.

use std::process::Command;

use aws_sdk_cloudwatch::primitives::DateTime as CwDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_sdk_sagemaker::types::{CheckpointConfig, StoppingCondition};

use super::{Sandbox, emulator_url, repo_root};

/// One datapoint of an AWS/SageMaker metric with `dimensions`, at `time` (RFC 3339), as
/// SageMaker would publish it.
pub async fn sagemaker_metric(
    sandbox: &Sandbox,
    metric: &str,
    dimensions: &[(&str, &str)],
    time: &str,
    value: f64,
) {
    let secs = chrono::DateTime::parse_from_rfc3339(time)
        .expect("an RFC 3339 time")
        .timestamp();
    sandbox
        .aws
        .cloudwatch()
        .put_metric_data()
        .namespace("AWS/SageMaker")
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .set_dimensions(Some(
                    dimensions
                        .iter()
                        .map(|(name, value)| Dimension::builder().name(*name).value(*value).build())
                        .collect(),
                ))
                .timestamp(CwDateTime::from_secs(secs))
                .value(value)
                .build(),
        )
        .send()
        .await
        .expect("put metric data");
}

/// A bucket named `bucket` created by a CloudFormation stack of its own (with a `Team=data`
/// tag from the template), in the sandbox's account and region. CloudFormation also gives it
/// the system tags `aws:cloudformation:stack-name`, `stack-id` and `logical-id`
/// (scripts/emulator/system_tags.py makes the emulator do so, as AWS does). The workspace has
/// no CloudFormation SDK, so the stack is created with the emulator's own boto3.
pub fn cloudformation_bucket(sandbox: &Sandbox, bucket: &str) {
    const CREATE_STACK: &str = r#"
import json, sys
import boto3
endpoint, region, stack, bucket = sys.argv[1:5]
template = {"Resources": {"Data": {"Type": "AWS::S3::Bucket", "Properties": {
    "BucketName": bucket, "Tags": [{"Key": "Team", "Value": "data"}]}}}}
cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name=region)
cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
assert status == "CREATE_COMPLETE", status
"#;
    let out = Command::new(repo_root().join(".venv/bin/python"))
        .arg("-c")
        .arg(CREATE_STACK)
        .arg(emulator_url())
        .arg(&sandbox.region)
        .arg(format!("{bucket}-stack"))
        .arg(bucket)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", &sandbox.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &sandbox.secret_access_key)
        .env("AWS_SESSION_TOKEN", &sandbox.session_token)
        .output()
        .expect("run the emulator's python");
    assert!(
        out.status.success(),
        "create the stack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a seeded training job runs: on `count` × ml.m5.xlarge, on managed spot or not, with an
/// optional checkpoint location and stopping limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainingSetup<'a> {
    pub count: i32,
    pub spot: bool,
    pub checkpoint: Option<&'a str>,
    pub max_runtime_seconds: Option<i32>,
    pub max_wait_seconds: Option<i32>,
}

/// A training job named `name` set up as `setup` (the emulator completes it at once, with
/// neither BillableTimeInSeconds nor TrainingTimeInSeconds and its start time as end time);
/// its ARN.
pub async fn seed_training_run(sandbox: &Sandbox, name: &str, setup: TrainingSetup<'_>) -> String {
    super::training_job_request(&sandbox.aws, &sandbox.account_id, name, setup.count)
        .stopping_condition(
            StoppingCondition::builder()
                .set_max_runtime_in_seconds(setup.max_runtime_seconds)
                .set_max_wait_time_in_seconds(setup.max_wait_seconds)
                .build(),
        )
        .enable_managed_spot_training(setup.spot)
        .set_checkpoint_config(
            setup
                .checkpoint
                .map(|uri| CheckpointConfig::builder().s3_uri(uri).build()),
        )
        .send()
        .await
        .expect("create the training job")
        .training_job_arn
        .expect("training job arn")
}
