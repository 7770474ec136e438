//! What kind of AWS resource a finding is about, named the way finding formats name it: one
//! table, so the OCSF lines and the Security Hub findings can never disagree.

use crate::model::arn::Arn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// The CloudFormation-style type (`AWS::S3::Bucket`), which OCSF's free-form `type` takes.
    pub type_name: &'static str,
    /// Security Hub's ASFF `Resources[].Type`: one of its listed types, else `Other`.
    pub asff: &'static str,
}

const OTHER: ResourceKind = ResourceKind {
    type_name: "Other",
    asff: "Other",
};

const fn kind(type_name: &'static str, asff: &'static str) -> ResourceKind {
    ResourceKind { type_name, asff }
}

/// The kind of the resource `resource` names (an ARN); anything that is not an ARN (a setting
/// such as `KMS_KEY_ARN`) or a type not listed here is `Other`.
pub fn of(resource: &str) -> ResourceKind {
    let Ok(arn) = Arn::parse(resource) else {
        return OTHER;
    };
    match (arn.service.as_str(), arn.resource_type()) {
        ("s3", None) => kind("AWS::S3::Bucket", "AwsS3Bucket"),
        ("kms", Some("key")) => kind("AWS::KMS::Key", "AwsKmsKey"),
        ("logs", Some("log-group")) => kind("AWS::Logs::LogGroup", "Other"),
        ("cloudwatch", Some("alarm")) => kind("AWS::CloudWatch::Alarm", "Other"),
        ("sagemaker", Some(sagemaker)) => match sagemaker {
            "notebook-instance" => kind(
                "AWS::SageMaker::NotebookInstance",
                "AwsSageMakerNotebookInstance",
            ),
            "endpoint" => kind("AWS::SageMaker::Endpoint", "Other"),
            "endpoint-config" => kind("AWS::SageMaker::EndpointConfig", "Other"),
            "model" => kind("AWS::SageMaker::Model", "Other"),
            "training-job" => kind("AWS::SageMaker::TrainingJob", "Other"),
            "processing-job" => kind("AWS::SageMaker::ProcessingJob", "Other"),
            "transform-job" => kind("AWS::SageMaker::TransformJob", "Other"),
            "pipeline" => kind("AWS::SageMaker::Pipeline", "Other"),
            "domain" => kind("AWS::SageMaker::Domain", "Other"),
            "user-profile" => kind("AWS::SageMaker::UserProfile", "Other"),
            "space" => kind("AWS::SageMaker::Space", "Other"),
            "app" => kind("AWS::SageMaker::App", "Other"),
            _ => OTHER,
        },
        _ => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_notebooks_and_keys_have_their_security_hub_types() {
        assert_eq!(of("arn:aws:s3:::ml-data").asff, "AwsS3Bucket");
        assert_eq!(
            of("arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/nb").asff,
            "AwsSageMakerNotebookInstance"
        );
        assert_eq!(
            of("arn:aws:kms:eu-west-1:123456789012:key/1234").type_name,
            "AWS::KMS::Key"
        );
    }

    #[test]
    fn types_security_hub_does_not_list_are_other_there_but_named_in_ocsf() {
        let endpoint = of("arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn");
        assert_eq!(endpoint.asff, "Other");
        assert_eq!(endpoint.type_name, "AWS::SageMaker::Endpoint");
    }

    #[test]
    fn what_is_not_an_arn_is_other() {
        assert_eq!(of("KMS_KEY_ARN"), OTHER);
        assert_eq!(of("arn:aws:sqs:eu-west-1:123456789012:queue"), OTHER);
    }
}
