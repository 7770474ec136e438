//! CloudTrail API calls delivered by EventBridge, and the resource each call is about.

use aws_lambda_events::event::cloudwatch_events::cloudtrail::{AWSAPICall, UserIdentity};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{EventError, TriggerKind, typed};
use crate::model::arn::partition_of;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    pub event_name: String,
    /// e.g. `s3.amazonaws.com`, `sagemaker.amazonaws.com`.
    pub event_source: String,
    pub account: String,
    pub region: String,
    pub time: DateTime<Utc>,
    pub user_identity: UserIdentity,
    pub request_parameters: Value,
    pub response_elements: Option<Value>,
}

/// The resource an API call created or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// SageMaker's ARN resource type (`training-job`, `endpoint-config`, ...) or `bucket`.
    pub kind: &'static str,
    pub name: String,
    pub arn: String,
}

/// (event source, event name) → (resource type, request parameter naming it, response element
/// holding its ARN). One table, so the enforcer and the tagger agree on what an event is about.
const RESOURCE_EVENTS: &[(&str, &str, &str, &str, &str)] = &[
    ("s3", "CreateBucket", "bucket", "bucketName", ""),
    ("s3", "PutBucketEncryption", "bucket", "bucketName", ""),
    ("s3", "DeleteBucketEncryption", "bucket", "bucketName", ""),
    ("s3", "PutBucketPolicy", "bucket", "bucketName", ""),
    ("s3", "DeleteBucketPolicy", "bucket", "bucketName", ""),
    // CloudTrail names S3's PutPublicAccessBlock call PutBucketPublicAccessBlock.
    (
        "s3",
        "PutBucketPublicAccessBlock",
        "bucket",
        "bucketName",
        "",
    ),
    (
        "s3",
        "DeleteBucketPublicAccessBlock",
        "bucket",
        "bucketName",
        "",
    ),
    ("s3", "PutBucketTagging", "bucket", "bucketName", ""),
    ("s3", "PutBucketLifecycle", "bucket", "bucketName", ""),
    (
        "sagemaker",
        "CreateTrainingJob",
        "training-job",
        "trainingJobName",
        "trainingJobArn",
    ),
    (
        "sagemaker",
        "CreateProcessingJob",
        "processing-job",
        "processingJobName",
        "processingJobArn",
    ),
    (
        "sagemaker",
        "CreateTransformJob",
        "transform-job",
        "transformJobName",
        "transformJobArn",
    ),
    (
        "sagemaker",
        "CreateHyperParameterTuningJob",
        "hyper-parameter-tuning-job",
        "hyperParameterTuningJobName",
        "hyperParameterTuningJobArn",
    ),
    (
        "sagemaker",
        "CreateEndpointConfig",
        "endpoint-config",
        "endpointConfigName",
        "endpointConfigArn",
    ),
    (
        "sagemaker",
        "CreateEndpoint",
        "endpoint",
        "endpointName",
        "endpointArn",
    ),
    ("sagemaker", "CreateModel", "model", "modelName", "modelArn"),
    (
        "sagemaker",
        "CreateNotebookInstance",
        "notebook-instance",
        "notebookInstanceName",
        "notebookInstanceArn",
    ),
    (
        "sagemaker",
        "CreatePipeline",
        "pipeline",
        "pipelineName",
        "pipelineArn",
    ),
    (
        "sagemaker",
        "CreateDomain",
        "domain",
        "domainName",
        "domainArn",
    ),
    (
        "sagemaker",
        "CreateUserProfile",
        "user-profile",
        "userProfileName",
        "userProfileArn",
    ),
    ("sagemaker", "CreateSpace", "space", "spaceName", "spaceArn"),
    ("sagemaker", "CreateApp", "app", "appName", "appArn"),
    (
        "sagemaker",
        "CreateModelPackageGroup",
        "model-package-group",
        "modelPackageGroupName",
        "modelPackageGroupArn",
    ),
];

fn invalid(reason: String) -> EventError {
    EventError::Invalid {
        kind: TriggerKind::ApiCall,
        reason,
    }
}

pub(super) fn from_eventbridge(event: &Value) -> Result<ApiCall, EventError> {
    let parsed: EventBridgeEvent<AWSAPICall> = typed(event, TriggerKind::ApiCall)?;
    let detail = parsed.detail;
    let time = DateTime::parse_from_rfc3339(&detail.event_time)
        .map_err(|e| invalid(format!("eventTime {:?}: {e}", detail.event_time)))?
        .with_timezone(&Utc);
    let account = parsed
        .account
        .or_else(|| detail.user_identity.account_id.clone())
        .ok_or_else(|| invalid("missing field `account`".to_owned()))?;
    Ok(ApiCall {
        event_name: detail.event_name,
        event_source: detail.event_source,
        account,
        region: detail.aws_region,
        time,
        user_identity: detail.user_identity,
        request_parameters: detail.request_parameters,
        response_elements: detail.response_elements,
    })
}

impl ApiCall {
    /// `s3` for `s3.amazonaws.com`.
    pub fn service(&self) -> &str {
        self.event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&self.event_source)
    }

    /// The resource this call is about, or `None` for calls sagekeeper does not follow.
    /// A followed call whose request lacks the resource's name is malformed.
    pub fn resource(&self) -> Result<Option<ResourceRef>, EventError> {
        let Some(&(service, _, kind, name_param, arn_element)) = RESOURCE_EVENTS
            .iter()
            .find(|(service, name, ..)| *service == self.service() && *name == self.event_name)
        else {
            return Ok(None);
        };
        let name = self.request_parameters[name_param]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                invalid(format!(
                    "{} without requestParameters.{name_param}",
                    self.event_name
                ))
            })?
            .to_owned();
        let arn = match (service, self.response_elements.as_ref()) {
            ("s3", _) => format!("arn:{}:s3:::{name}", partition_of(&self.region)),
            (_, Some(response)) if response[arn_element].is_string() => response[arn_element]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            // A Studio ARN holds the domain id and owner the request alone does not give
            // reliably: without one in the response (a failed call) nothing was made.
            _ if matches!(kind, "domain" | "user-profile" | "space" | "app") => return Ok(None),
            // SageMaker ARNs use the lower-cased name.
            _ => format!(
                "arn:{}:sagemaker:{}:{}:{kind}/{}",
                partition_of(&self.region),
                self.region,
                self.account,
                name.to_ascii_lowercase()
            ),
        };
        Ok(Some(ResourceRef { kind, name, arn }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Trigger;
    use serde_json::json;

    fn call(source: &str, name: &str, params: Value, response: Value) -> Value {
        json!({
            "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail",
            "source": format!("aws.{}", source.split('.').next().unwrap()),
            "account": "123456789012", "time": "2026-11-20T18:05:00Z", "region": "us-east-1",
            "resources": [], "detail": {
                "eventVersion": "1.09",
                "userIdentity": {"type": "AssumedRole", "accountId": "123456789012",
                    "arn": "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"},
                "eventTime": "2026-11-20T18:04:59Z", "eventSource": source, "eventName": name,
                "awsRegion": "us-east-1", "sourceIPAddress": "10.0.0.1", "userAgent": "boto3",
                "requestParameters": params, "responseElements": response,
                "requestID": "r1", "eventID": "e1", "eventType": "AwsApiCall"
            }
        })
    }

    fn api_call(event: Value) -> ApiCall {
        match Trigger::parse(&event).unwrap() {
            Trigger::ApiCall(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bucket_calls_name_the_bucket() {
        let c = api_call(call(
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": "b1"}),
            Value::Null,
        ));
        let r = c.resource().unwrap().unwrap();
        assert_eq!(
            (r.kind, r.name.as_str(), r.arn.as_str()),
            ("bucket", "b1", "arn:aws:s3:::b1")
        );
    }

    #[test]
    fn sagemaker_calls_prefer_the_response_arn() {
        let c = api_call(call(
            "sagemaker.amazonaws.com",
            "CreateTrainingJob",
            json!({"trainingJobName": "Churn-1"}),
            json!({"trainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1"}),
        ));
        assert_eq!(
            c.resource().unwrap().unwrap().arn,
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1"
        );
        let c = api_call(call(
            "sagemaker.amazonaws.com",
            "CreateEndpoint",
            json!({"endpointName": "Fraud"}),
            Value::Null,
        ));
        let r = c.resource().unwrap().unwrap();
        assert_eq!(
            r.arn,
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud"
        );
        assert_eq!(r.name, "Fraud");
    }

    #[test]
    fn a_studio_call_without_an_arn_in_its_response_made_nothing_to_follow() {
        let space = |response: Value| {
            api_call(call(
                "sagemaker.amazonaws.com",
                "CreateSpace",
                json!({"domainId": "d-ml", "spaceName": "lab"}),
                response,
            ))
            .resource()
            .unwrap()
        };
        // A failed call (e.g. ResourceInUse) has no responseElements.
        assert_eq!(space(Value::Null), None);
        // Control: the ARN the response gives.
        let arn = "arn:aws:sagemaker:us-east-1:123456789012:space/d-ml/lab";
        assert_eq!(space(json!({"spaceArn": arn})).unwrap().arn, arn);
    }

    #[test]
    fn built_arns_use_the_partition_of_the_calls_region() {
        let in_region = |region: &str, source: &str, name: &str, params: Value| {
            let mut event = call(source, name, params, Value::Null);
            event["region"] = json!(region);
            event["detail"]["awsRegion"] = json!(region);
            api_call(event).resource().unwrap().unwrap().arn
        };
        let bucket = json!({"bucketName": "b1"});
        let endpoint = json!({"endpointName": "fraud"});
        assert_eq!(
            in_region(
                "cn-north-1",
                "s3.amazonaws.com",
                "CreateBucket",
                bucket.clone()
            ),
            "arn:aws-cn:s3:::b1"
        );
        assert_eq!(
            in_region(
                "us-gov-west-1",
                "sagemaker.amazonaws.com",
                "CreateEndpoint",
                endpoint.clone()
            ),
            "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:endpoint/fraud"
        );
        // Control: a commercial region keeps `aws`.
        assert_eq!(
            in_region("eu-west-1", "s3.amazonaws.com", "CreateBucket", bucket),
            "arn:aws:s3:::b1"
        );
    }

    #[test]
    fn unfollowed_calls_and_missing_names() {
        let c = api_call(call(
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "b"}),
            Value::Null,
        ));
        assert_eq!(c.resource().unwrap(), None);
        let c = api_call(call(
            "s3.amazonaws.com",
            "CreateBucket",
            json!({}),
            Value::Null,
        ));
        assert!(
            c.resource()
                .unwrap_err()
                .to_string()
                .contains("requestParameters.bucketName")
        );
    }

    #[test]
    fn missing_required_fields_are_malformed() {
        let mut event = call("s3.amazonaws.com", "CreateBucket", json!({}), Value::Null);
        event["detail"].as_object_mut().unwrap().remove("eventName");
        let err = Trigger::parse(&event).unwrap_err();
        assert!(
            err.to_string().starts_with("malformed CloudTrail API call"),
            "{err}"
        );
    }
}
