"""Seeds the local AWS emulator with a small, realistic ML account for the demo.

Usage: seed.py ENDPOINT_URL  -> prints the settings the functions need as KEY=VALUE lines.
Names match events/ (see events/README.md).
"""
import datetime
import json
import pathlib
import sys

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def client(service, url):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def endpoint(sm, name, instance_type, count, endpoint_tags):
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://acme-ml-model-artifacts/{name}/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{
            "VariantName": "AllTraffic",
            "ModelName": f"{name}-model",
            "InstanceType": instance_type,
            "InitialInstanceCount": count,
        }],
    )
    return sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=endpoint_tags)["EndpointArn"]


def monitoring(sm, s3, key_arn):
    """The Model Monitor data-quality schedule behind the drift alarm, and its execution of
    17:00 on 20 November that raised it (the alarm changed at 18:04, see events/): a processing
    job that the emulator's reserved tags make an execution of the schedule
    (scripts/emulator/monitoring.py), whose output holds the constraint_violations.json the
    drift-retrainer names the drifted features from."""
    schedule = "fraud-detector-dev-data-quality"
    # SageMaker's default bucket, where the SageMaker Python SDK has Model Monitor write its
    # reports; exempt from the TLS-only rule like the state bucket, for the same reason: the
    # drift-retrainer reads the reports from it over the emulator's plain HTTP.
    bucket, prefix = f"sagemaker-{REGION}-{ACCOUNT}", f"monitoring/fraud-detector-dev/{schedule}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
        {"Key": "Team", "Value": "fraud"},
        {"Key": "sagekeeper:exempt", "Value": "s3-deny-insecure-transport"},
        {"Key": "sagekeeper:exempt-reason", "Value": "local emulator serves plain HTTP only"}]})
    reports = f"s3://{bucket}/{prefix}"
    cluster = {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20, "VolumeKmsKeyId": key_arn}
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinition": {
            "BaselineConfig": {
                "ConstraintsResource": {"S3Uri": f"s3://{bucket}/monitoring/fraud-detector-dev/baseline/constraints.json"},
                "StatisticsResource": {"S3Uri": f"s3://{bucket}/monitoring/fraud-detector-dev/baseline/statistics.json"}},
            "MonitoringInputs": [{"EndpointInput": {
                "EndpointName": "fraud-detector-dev", "LocalPath": "/opt/ml/processing/input/endpoint"}}],
            "MonitoringOutputConfig": {"KmsKeyId": key_arn, "MonitoringOutputs": [{"S3Output": {
                "S3Uri": reports, "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
            "MonitoringResources": {"ClusterConfig": cluster},
            "MonitoringAppSpecification": {"ImageUri": MONITOR_IMAGE},
            "RoleArn": ROLE}},
        Tags=[{"Key": "Team", "Value": "fraud"}])
    hour = datetime.datetime(2026, 11, 20, 17, 0, tzinfo=datetime.timezone.utc)
    output = f"{prefix}/{hour:%Y/%m/%d/%H}"
    s3.put_object(Bucket=bucket, Key=f"{output}/constraint_violations.json",
                  Body=(FIXTURES / "constraint_violations.json").read_bytes())
    sm.create_processing_job(
        ProcessingJobName=f"model-monitoring-{hour:%Y%m%d%H%M}-7f3c2a91",
        RoleArn=ROLE,
        AppSpecification={"ImageUri": MONITOR_IMAGE},
        ProcessingResources={"ClusterConfig": cluster},
        ProcessingOutputConfig={"KmsKeyId": key_arn, "Outputs": [{"OutputName": "result", "S3Output": {
            "S3Uri": f"s3://{bucket}/{output}", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": "Team", "Value": "fraud"},
              {"Key": "emulator:monitoring-schedule", "Value": schedule},
              {"Key": "emulator:execution-status", "Value": "CompletedWithViolations"},
              {"Key": "emulator:scheduled-time", "Value": str(int(hour.timestamp()))}],
    )


STUDIO_IMAGE = f"arn:aws:sagemaker:{REGION}:885854791233:image/sagemaker-distribution-cpu"
STUDIO_LCC = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:studio-lifecycle-config/install-team-packages"


def studio(sm):
    """A Studio domain opted in to off-hours parking (its spaces and users inherit the tag):
    a JupyterLab space and a Code Editor space with their apps running, a user in Canvas, and
    a shared space whose own tag opts it out. The scheduler parks the first three at night and
    pre-warms the two spaces in the morning; Canvas is closed and not reopened."""
    domain_id = sm.create_domain(
        DomainName="acme-ml", AuthMode="IAM", VpcId="vpc-0a1b2c3d4e5f60718",
        SubnetIds=["subnet-0a1b2c3d4e5f60718"],
        DefaultUserSettings={"ExecutionRole": ROLE}, DefaultSpaceSettings={"ExecutionRole": ROLE},
        Tags=[{"Key": "AutoShutdown", "Value": "true"}, {"Key": "Team", "Value": "ml-platform"}],
    )["DomainArn"].rsplit("/", 1)[1]
    spaces = [("fraud-lab", "JupyterLab", "ml.t3.large", []),
              ("recsys-code", "CodeEditor", "ml.m5.large", []),
              ("team-shared", "JupyterLab", "ml.t3.medium", [{"Key": "AutoShutdown", "Value": "false"}])]
    for space, app_type, instance, tags in spaces:
        sm.create_space(DomainId=domain_id, SpaceName=space, **({"Tags": tags} if tags else {}))
        sm.create_app(DomainId=domain_id, SpaceName=space, AppType=app_type, AppName="default",
                      ResourceSpec={"InstanceType": instance, "SageMakerImageArn": STUDIO_IMAGE,
                                    "LifecycleConfigArn": STUDIO_LCC})
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    sm.create_app(DomainId=domain_id, UserProfileName="alice", AppType="Canvas", AppName="default")


MEMBERS = {"210987654321": "ml-research", "345678901234": "ml-prod"}
MEMBER_REGIONS = ["us-east-1", "eu-west-1"]


def member_sagemaker(url, account, region):
    """SageMaker in a member account: the emulator keys resources by the credentials' account,
    and assumed-role credentials carry the role's account (it grants any role)."""
    sts = client("sts", url)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/sagekeeper-member",
                            RoleSessionName="demo-seed")["Credentials"]
    return boto3.client("sagemaker", endpoint_url=url, region_name=region,
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def seed_members(url):
    """Two member accounts of an organisation, each with an opted-in endpoint per region."""
    for account, team in MEMBERS.items():
        for region in MEMBER_REGIONS:
            sm = member_sagemaker(url, account, region)
            endpoint(sm, f"{team}-ranker", "ml.g4dn.xlarge", 1,
                     [{"Key": "AutoShutdown", "Value": "true"}, {"Key": "Team", "Value": team}])


def main(url):
    kms, s3, sm = client("kms", url), client("s3", url), client("sagemaker", url)
    sns, sqs, aas, cw = client("sns", url), client("sqs", url), client("application-autoscaling", url), client("cloudwatch", url)

    key_arn = kms.create_key(Description="sagekeeper demo key")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/sagekeeper", TargetKeyId=key_arn)

    # The scheduler's snapshot bucket, as template.yaml creates it.
    s3.create_bucket(Bucket="sagekeeper-state")
    s3.put_bucket_versioning(Bucket="sagekeeper-state", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="sagekeeper-state", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})

    # Data buckets: one done right, the others with the gaps the enforcer looks for.
    for bucket in ["acme-ml-training-data", "acme-ml-model-artifacts", "acme-ml-experiment-logs", "acme-ml-scratch"]:
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket="acme-ml-model-artifacts", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    s3.put_bucket_encryption(Bucket="acme-ml-training-data", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_policy(Bucket="acme-ml-experiment-logs", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SageMakerReads", "Effect": "Allow", "Principal": {"AWS": ROLE},
                       "Action": ["s3:GetObject", "s3:ListBucket"],
                       "Resource": ["arn:aws:s3:::acme-ml-experiment-logs", "arn:aws:s3:::acme-ml-experiment-logs/*"]}]}))
    s3.put_bucket_tagging(Bucket="acme-ml-training-data", Tagging={"TagSet": [{"Key": "sagekeeper:data-class", "Value": "training-data"}]})
    # The state bucket is exempt from the enforcer's TLS-only rule here, because the emulator
    # only speaks plain HTTP; template.yaml gives the real bucket its own TLS-only policy.
    s3.put_bucket_tagging(Bucket="sagekeeper-state", Tagging={"TagSet": [
        {"Key": "sagekeeper:exempt", "Value": "s3-deny-insecure-transport"},
        {"Key": "sagekeeper:exempt-reason", "Value": "local emulator serves plain HTTP only"}]})

    # Endpoints: two opted in to off-hours parking (one with autoscaling), one production.
    # CreatedAt (as the lifecycle-tagger writes it on create) dates fraud-detector-dev and
    # churn-predictor-prod back to October, so the tagger's idle check judges them (the tag
    # survives the scheduler's overnight delete and re-create): fraud-detector-dev gets no
    # traffic, churn-predictor-prod does (below).
    endpoint(sm, "fraud-detector-dev", "ml.m5.large", 1, [
        {"Key": "AutoShutdown", "Value": "true"}, {"Key": "Team", "Value": "fraud"},
        {"Key": "sagekeeper:retrain-pipeline", "Value": "fraud-detector-retrain"},
        {"Key": "CreatedAt", "Value": "2026-10-05T09:12:00Z"}])
    endpoint(sm, "recsys-staging", "ml.g4dn.xlarge", 2, [
        {"Key": "AutoShutdown", "Value": "true"}, {"Key": "Team", "Value": "recsys"},
        {"Key": "maid_offhours", "Value": "off=(M-F,19);on=(M-F,7);tz=et"}])
    endpoint(sm, "churn-predictor-prod", "ml.c5.2xlarge", 2, [
        {"Key": "AutoShutdown", "Value": "false"}, {"Key": "Team", "Value": "churn"},
        {"Key": "CostCenter", "Value": "cc-1042"}, {"Key": "CreatedAt", "Value": "2026-10-01T08:00:00Z"}])
    resource_id = "endpoint/fraud-detector-dev/variant/AllTraffic"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=4)
    aas.put_scaling_policy(PolicyName="fraud-detector-invocations", ServiceNamespace="sagemaker", ResourceId=resource_id,
                           ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "PredefinedMetricSpecification": {
                               "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})

    sm.create_notebook_instance(NotebookInstanceName="ds-sandbox-alice", InstanceType="ml.t3.medium", RoleArn=ROLE,
                                Tags=[{"Key": "AutoShutdown", "Value": "true"}, {"Key": "Owner", "Value": "alice"}])

    # A training job without any KMS key, as events/cloudtrail-sagemaker-create-training-job.json describes.
    sm.create_training_job(
        TrainingJobName="churn-xgb-2026-11-20",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://acme-ml-model-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": "Team", "Value": "churn"}],
    )
    # The encryption-enforcer's SageMaker fixtures: a training job done right, and a processing
    # job on confidential data without keys, isolation or a VPC, as
    # events/cloudtrail-sagemaker-create-processing-job.json describes.
    sm.create_training_job(
        TrainingJobName="fraud-xgb-2026-11-20",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://acme-ml-model-artifacts/fraud/", "KmsKeyId": key_arn},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30, "VolumeKmsKeyId": key_arn},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        EnableInterContainerTrafficEncryption=True,
        Tags=[{"Key": "Team", "Value": "fraud"}],
    )
    sm.create_processing_job(
        ProcessingJobName="churn-features-2026-11-20",
        RoleArn=ROLE,
        AppSpecification={"ImageUri": IMAGE},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        ProcessingOutputConfig={"Outputs": [{"OutputName": "features", "S3Output": {
            "S3Uri": "s3://acme-ml-training-data/churn/2026-11-20/", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": "Team", "Value": "churn"}, {"Key": "DataClassification", "Value": "Confidential"}],
    )
    sm.create_pipeline(PipelineName="fraud-detector-retrain", RoleArn=ROLE, PipelineDefinition=json.dumps({
        "Version": "2020-12-01", "Parameters": [
            {"Name": "TriggerReason", "Type": "String", "DefaultValue": "manual"},
            {"Name": "EndpointName", "Type": "String", "DefaultValue": "fraud-detector-dev"}],
        "Steps": []}))

    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
        "MetricName": "Invocations", "Value": 1840.0,
        "Timestamp": datetime.datetime(2026, 11, 19, 14, 0, tzinfo=datetime.timezone.utc),
        "Dimensions": [{"Name": "EndpointName", "Value": "churn-predictor-prod"},
                       {"Name": "VariantName", "Value": "AllTraffic"}]}])

    # For the lifecycle-tagger: the role behind the CloudTrail samples (its tags say who pays),
    # an owner's lifecycle rule to merge with, and SageMaker log groups with and without retention.
    client("iam", url).create_role(
        RoleName="DataScientist", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Tags=[{"Key": "Team", "Value": "data-science"}, {"Key": "CostCenter", "Value": "cc-4471"}])
    s3.put_bucket_lifecycle_configuration(Bucket="acme-ml-training-data", LifecycleConfiguration={"Rules": [{
        "ID": "expire-tmp-exports", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 3}}]})
    logs = client("logs", url)
    for group in ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/Endpoints/churn-predictor-prod"]:
        logs.create_log_group(logGroupName=group)
    logs.put_retention_policy(logGroupName="/aws/sagemaker/Endpoints/churn-predictor-prod", retentionInDays=30)

    cw.put_metric_alarm(
        AlarmName="sagekeeper-drift-fraud-detector-dev", Namespace="aws/sagemaker/Endpoints/data-metrics",
        MetricName="feature_baseline_drift_total_amount", Statistic="Maximum", Period=3600, EvaluationPeriods=1,
        Threshold=0.2, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "Endpoint", "Value": "fraud-detector-dev"},
                    {"Name": "MonitoringSchedule", "Value": "fraud-detector-dev-data-quality"}])
    monitoring(sm, s3, key_arn)
    studio(sm)

    # Notifications: the topic the functions publish to, read back through a subscribed queue.
    topic = sns.create_topic(Name="sagekeeper-notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="sagekeeper-demo-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    print(f"NOTIFY_TOPIC_ARN={topic}")
    print(f"KMS_KEY_ARN={key_arn}")
    print("STATE_BUCKET=sagekeeper-state")
    print(f"DEMO_INBOX_URL={queue_url}")

    seed_members(url)
    print(f"DEMO_MEMBER_ACCOUNTS={','.join(MEMBERS)}")


if __name__ == "__main__":
    main(sys.argv[1])
