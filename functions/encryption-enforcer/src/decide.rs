//! What a trigger asks the enforcer to evaluate. Pure: a malformed API call is an error
//! before any AWS call is made.

use chrono::{DateTime, Duration, Utc};
use sagekeeper_core::events::{EventError, SweepOrCall};

use crate::model::JobKind;

/// What one run evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Every bucket in scope, every running job and those created since `created_since`,
    /// every endpoint config in use or created since then, every notebook instance, every
    /// Studio domain with its user profiles, and the keys they use.
    Sweep {
        created_since: DateTime<Utc>,
    },
    Bucket(String),
    Job(JobKind, String),
    EndpointConfig(String),
    Notebook(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Evaluate(Subject),
    /// A well-formed trigger about nothing the enforcer checks.
    Ignore {
        resource: String,
        reason: String,
    },
}

/// What the trigger asks to evaluate. Pure: a malformed API call is an error before any AWS
/// call is made.
pub fn decide(trigger: &SweepOrCall, sweep_lookback: Duration) -> Result<Decision, EventError> {
    let call = match trigger {
        SweepOrCall::Sweep(schedule) => {
            return Ok(Decision::Evaluate(Subject::Sweep {
                created_since: schedule.time - sweep_lookback,
            }));
        }
        SweepOrCall::Call(call) => call,
    };
    let Some(resource) = call.resource()? else {
        return Ok(Decision::Ignore {
            resource: "-".to_owned(),
            reason: format!("{} is not a call sagekeeper follows", call.event_name),
        });
    };
    let scope = match resource.kind {
        "bucket" => Subject::Bucket(resource.name),
        "endpoint-config" => Subject::EndpointConfig(resource.name),
        "notebook-instance" => Subject::Notebook(resource.name),
        kind => match JobKind::from_arn_type(kind) {
            Some(job_kind) => Subject::Job(job_kind, resource.name),
            None => {
                return Ok(Decision::Ignore {
                    resource: resource.arn,
                    reason: format!("the encryption-enforcer does not evaluate {kind} resources"),
                });
            }
        },
    };
    Ok(Decision::Evaluate(scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::events::accept;
    use serde_json::json;

    fn parse(event: serde_json::Value) -> SweepOrCall {
        accept::<SweepOrCall>("encryption-enforcer", &event)
            .unwrap()
            .1
    }

    fn api_call(source: &str, name: &str, params: serde_json::Value) -> SweepOrCall {
        parse(json!({
            "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-20T18:05:00Z",
            "region": "us-east-1", "resources": [], "detail": {
                "eventVersion": "1.09", "userIdentity": {"type": "AssumedRole", "accountId": "123456789012"},
                "eventTime": "2026-11-20T18:04:59Z", "eventSource": source, "eventName": name,
                "awsRegion": "us-east-1", "sourceIPAddress": "10.0.0.1", "userAgent": "boto3",
                "requestParameters": params, "responseElements": null,
                "requestID": "r1", "eventID": "e1", "eventType": "AwsApiCall"
            }
        }))
    }

    #[test]
    fn a_schedule_sweeps_what_was_created_within_the_lookback() {
        let trigger = parse(json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-20T05:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {}
        }));
        let Decision::Evaluate(Subject::Sweep { created_since }) =
            decide(&trigger, Duration::hours(26)).unwrap()
        else {
            panic!()
        };
        assert_eq!(created_since.to_rfc3339(), "2026-11-19T03:00:00+00:00");
    }

    #[test]
    fn api_calls_name_the_one_resource_to_evaluate() {
        let lookback = Duration::hours(26);
        let cases = [
            (
                "s3.amazonaws.com",
                "DeleteBucketPublicAccessBlock",
                json!({"bucketName": "b1"}),
                Subject::Bucket("b1".into()),
            ),
            (
                "sagemaker.amazonaws.com",
                "CreateProcessingJob",
                json!({"processingJobName": "p1"}),
                Subject::Job(JobKind::Processing, "p1".into()),
            ),
            (
                "sagemaker.amazonaws.com",
                "CreateHyperParameterTuningJob",
                json!({"hyperParameterTuningJobName": "h1"}),
                Subject::Job(JobKind::HyperParameterTuning, "h1".into()),
            ),
            (
                "sagemaker.amazonaws.com",
                "CreateEndpointConfig",
                json!({"endpointConfigName": "c1"}),
                Subject::EndpointConfig("c1".into()),
            ),
            (
                "sagemaker.amazonaws.com",
                "CreateNotebookInstance",
                json!({"notebookInstanceName": "n1"}),
                Subject::Notebook("n1".into()),
            ),
        ];
        for (source, name, params, scope) in cases {
            assert_eq!(
                decide(&api_call(source, name, params), lookback).unwrap(),
                Decision::Evaluate(scope),
                "{name}"
            );
        }
    }

    #[test]
    fn unrelated_calls_are_ignored_and_malformed_ones_are_errors() {
        let lookback = Duration::hours(26);
        let Decision::Ignore { reason, .. } = decide(
            &api_call(
                "sagemaker.amazonaws.com",
                "CreateModel",
                json!({"modelName": "m"}),
            ),
            lookback,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            reason,
            "the encryption-enforcer does not evaluate model resources"
        );
        let Decision::Ignore { reason, .. } = decide(
            &api_call("sts.amazonaws.com", "AssumeRole", json!({})),
            lookback,
        )
        .unwrap() else {
            panic!()
        };
        assert!(reason.contains("AssumeRole"));
        let err = decide(
            &api_call("sagemaker.amazonaws.com", "CreateTrainingJob", json!({})),
            lookback,
        )
        .unwrap_err();
        assert!(err.to_string().contains("trainingJobName"), "{err}");
    }
}
