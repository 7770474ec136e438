//! The SDK clients and state store the tagger works with, for one account and region.

use sagekeeper_core::Scope;
use sagekeeper_core::run::function::ClientsFor;
use sagekeeper_core::s3::state::StateStore;

use crate::config::Config;

pub struct Clients {
    pub region: Option<String>,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// Snapshots of deleted idle endpoints; set when deletion is on.
    pub state: Option<StateStore>,
}

impl ClientsFor<Config> for Clients {
    fn new(scope: &Scope, config: &Config) -> Self {
        let aws = &scope.resources;
        let kms_key = config.common.kms_key_arn.as_ref().map(ToString::to_string);
        Clients {
            region: aws.region().map(str::to_owned),
            sagemaker: aws.sagemaker(),
            s3: aws.s3(),
            tagging: aws.tagging(),
            iam: aws.iam(),
            logs: aws.logs(),
            cloudwatch: aws.cloudwatch(),
            autoscaling: aws.autoscaling(),
            state: config.state_bucket.as_ref().map(|bucket| {
                StateStore::new(scope.hub.s3(), bucket.clone(), kms_key)
                    .within(&scope.state_namespace)
            }),
        }
    }
}
