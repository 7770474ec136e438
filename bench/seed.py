"""Seeds the benchmark account: N endpoints (half opted in to parking, some with their own
schedule) and N buckets (half without default encryption, every fifth with a policy).

Usage: seed.py ENDPOINT_URL N
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def endpoint(sm, i):
    name = f"bench-ep-{i:05d}"
    tags = [{"Key": "AutoShutdown", "Value": "true" if i % 2 == 0 else "false"}, {"Key": "Team", "Value": f"team-{i % 7}"}]
    if i % 10 == 0:
        tags.append({"Key": "maid_offhours", "Value": "off=(M-F,19);on=(M-F,7);tz=cet"})
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-model",
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)


def bucket(s3, key_arn, i):
    name = f"bench-bucket-{i:05d}"
    s3.create_bucket(Bucket=name)
    if i % 2 == 0:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True}]})
    if i % 5 == 0:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*"}]}))


def main(url, n):
    kms, s3, sm = client("kms", url), client("s3", url), client("sagemaker", url)
    key_arn = kms.create_key(Description="bench")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/sagekeeper", TargetKeyId=key_arn)
    s3.create_bucket(Bucket="bench-state")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: endpoint(sm, i), range(n)))
        list(pool.map(lambda i: bucket(s3, key_arn, i), range(n)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
