//! What the drift-retrainer tests share: alarm transitions written as any of the three
//! delivery shapes of the sample events in events/ (EventBridge, Lambda alarm action, SNS),
//! and the retrain targets they name (pipelines, training jobs to copy).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, Channel, DataSource, OutputDataConfig, ResourceConfig, S3DataSource,
    S3DataType, StoppingCondition, Tag, TrainingInputMode, TrainingInstanceType, VpcConfig,
};
use sagekeeper_core::Aws;

use super::{ACCOUNT, Run, repo_root, run_function_in, seed_endpoint, unique};

/// The region the drift-retrainer tests use (no other tests use it).
pub const REGION: &str = "sa-east-1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";
pub const IMAGE: &str = "683313688378.dkr.ecr.sa-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";
/// The state bucket of the per-target retrain locks, made by `state_bucket`; every run of the
/// retrainer in these tests gets it as STATE_BUCKET unless the test sets that itself.
pub const STATE_BUCKET: &str = "sagekeeper-retrain-state";
/// The Model Monitor data-quality namespace of the sample alarms.
pub const DATA_METRICS: &str = "aws/sagemaker/Endpoints/data-metrics";

#[derive(Debug, Clone, Copy)]
pub enum Shape {
    EventBridge,
    LambdaAction,
    Sns,
}

/// One alarm transition, written as any of the three sample shapes.
#[derive(Debug, Clone)]
pub struct Alarm {
    pub name: String,
    pub endpoint: String,
    pub schedule: String,
    pub state: &'static str,
    pub at: DateTime<Utc>,
    /// The namespace and name of the metric the alarm watches.
    pub metric: (&'static str, &'static str),
}

impl Alarm {
    pub fn new(endpoint: &str) -> Alarm {
        Alarm {
            name: format!("sagekeeper-drift-{endpoint}"),
            endpoint: endpoint.to_owned(),
            schedule: format!("{endpoint}-dq"),
            state: "ALARM",
            at: Utc::now().trunc_subsecs(3),
            metric: (DATA_METRICS, "feature_baseline_drift_total_amount"),
        }
    }

    /// The same alarm changing state again, `minutes` later: another transition.
    pub fn later(&self, minutes: i64) -> Alarm {
        Alarm {
            at: self.at + Duration::minutes(minutes),
            ..self.clone()
        }
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{}", self.name)
    }

    /// A copy of the sample event of `shape` in events/ with this alarm's names, state and time.
    pub fn write(&self, shape: Shape) -> PathBuf {
        let stamp = self.at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        let dimensions = json!({"Endpoint": self.endpoint, "MonitoringSchedule": self.schedule});
        let mut event = sample(match shape {
            Shape::EventBridge => "alarm-eventbridge.json",
            Shape::LambdaAction => "alarm-lambda-action.json",
            Shape::Sns => "alarm-sns.json",
        });
        let data = match shape {
            Shape::EventBridge => {
                event["resources"] = json!([self.arn()]);
                event["time"] = json!(self.at.to_rfc3339());
                &mut event["detail"]
            }
            Shape::LambdaAction => {
                event["alarmArn"] = json!(self.arn());
                &mut event["alarmData"]
            }
            Shape::Sns => {
                let sns = &mut event["Records"][0]["Sns"];
                let mut message: Value =
                    serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
                message["AlarmName"] = json!(self.name);
                message["AlarmArn"] = json!(self.arn());
                message["NewStateValue"] = json!(self.state);
                message["StateChangeTime"] = json!(stamp);
                message["Trigger"]["Dimensions"] = json!([
                    {"value": self.endpoint, "name": "Endpoint"},
                    {"value": self.schedule, "name": "MonitoringSchedule"}
                ]);
                message["Trigger"]["Namespace"] = json!(self.metric.0);
                message["Trigger"]["MetricName"] = json!(self.metric.1);
                sns["Message"] = json!(message.to_string());
                return write_event(&event);
            }
        };
        data["alarmName"] = json!(self.name);
        data["state"]["value"] = json!(self.state);
        data["state"]["timestamp"] = json!(stamp);
        let metric = &mut data["configuration"]["metrics"][0]["metricStat"]["metric"];
        metric["dimensions"] = dimensions;
        metric["namespace"] = json!(self.metric.0);
        metric["name"] = json!(self.metric.1);
        write_event(&event)
    }

    /// The SNS shape as CloudWatch sends it for an alarm created without a description:
    /// `"AlarmDescription": null`, and `"Unit": null` in the trigger.
    pub fn write_sns_without_description(&self) -> PathBuf {
        let path = self.write(Shape::Sns);
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let sns = &mut event["Records"][0]["Sns"];
        let mut message: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
        message["AlarmDescription"] = Value::Null;
        message["Trigger"]["Unit"] = Value::Null;
        sns["Message"] = json!(message.to_string());
        let _ = std::fs::remove_file(&path);
        write_event(&event)
    }
}

/// Makes the locks' state bucket in the tests' region (once per emulator; later calls find it).
pub async fn state_bucket(aws: &Aws) {
    let s3 = aws.s3();
    if s3.head_bucket().bucket(STATE_BUCKET).send().await.is_ok() {
        return;
    }
    let created = s3
        .create_bucket()
        .bucket(STATE_BUCKET)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await;
    // Another test binary may have made it in the meantime.
    if let Err(err) = created {
        assert!(
            s3.head_bucket().bucket(STATE_BUCKET).send().await.is_ok(),
            "state bucket: {err:?}"
        );
    }
}

/// Runs the drift-retrainer against `endpoint` on an event file written for this one run,
/// then removes the file.
pub fn run_at(endpoint: &str, event: &Path, env: &[(&str, &str)]) -> Run {
    let mut env = env.to_vec();
    if !env.iter().any(|(var, _)| *var == "STATE_BUCKET") {
        env.push(("STATE_BUCKET", STATE_BUCKET));
    }
    let run = run_function_in(
        REGION,
        "drift-retrainer",
        event.to_str().unwrap(),
        &[],
        &env,
        endpoint,
    );
    let _ = std::fs::remove_file(event);
    run
}

pub fn sample(file: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn write_event(event: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", unique("alarm")));
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

/// A pipeline declaring `parameters` (strings defaulting to "unset").
pub async fn pipeline(aws: &Aws, name: &str, parameters: &[&str]) {
    let parameters: Vec<Value> = parameters
        .iter()
        .map(|p| json!({"Name": p, "Type": "String", "DefaultValue": "unset"}))
        .collect();
    aws.sagemaker()
        .create_pipeline()
        .pipeline_name(name)
        .role_arn(ROLE)
        .pipeline_definition(
            json!({"Version": "2020-12-01", "Parameters": parameters, "Steps": []}).to_string(),
        )
        .send()
        .await
        .unwrap();
}

/// An endpoint whose tag names a new pipeline declaring `parameters`; returns the pipeline.
pub async fn endpoint_retrained_by_pipeline(
    aws: &Aws,
    endpoint: &str,
    parameters: &[&str],
) -> String {
    let pipeline = unique("retrain");
    self::pipeline(aws, &pipeline, parameters).await;
    seed_endpoint(aws, endpoint, &[("sagekeeper:retrain-pipeline", &pipeline)]).await;
    pipeline
}

/// A completed training job with KMS keys, a VPC, network isolation, inter-container
/// encryption, hyper-parameters and tags, run as `role`.
pub async fn source_job(aws: &Aws, name: &str, role: &str) {
    aws.sagemaker()
        .create_training_job()
        .training_job_name(name)
        .role_arn(role)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(IMAGE)
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .input_data_config(
            Channel::builder()
                .channel_name("train")
                .content_type("text/csv")
                .data_source(
                    DataSource::builder()
                        .s3_data_source(
                            S3DataSource::builder()
                                .s3_data_type(S3DataType::S3Prefix)
                                .s3_uri("s3://acme-ml-training-data/churn/train/")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path("s3://acme-ml-model-artifacts/churn/")
                .kms_key_id("arn:aws:kms:sa-east-1:123456789012:key/output-key")
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::MlM5Xlarge)
                .instance_count(1)
                .volume_size_in_gb(30)
                .volume_kms_key_id("arn:aws:kms:sa-east-1:123456789012:key/volume-key")
                .build(),
        )
        .vpc_config(
            VpcConfig::builder()
                .security_group_ids("sg-0123456789abcdef0")
                .subnets("subnet-0123456789abcdef0")
                .build(),
        )
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(3600)
                .build(),
        )
        .enable_network_isolation(true)
        .enable_inter_container_traffic_encryption(true)
        .hyper_parameters("max_depth", "5")
        .tags(Tag::builder().key("Team").value("churn").build())
        .send()
        .await
        .unwrap();
}
