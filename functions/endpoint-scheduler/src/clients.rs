//! The SDK clients and state store the scheduler works with, for one account and region.

use sagekeeper_core::Scope;
use sagekeeper_core::autoscaling::ScalingClients;
use sagekeeper_core::run::function::ClientsFor;
use sagekeeper_core::s3::state::StateStore;

use crate::config::Config;

pub struct Clients {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// For the alarms of step-scaling policies.
    pub cloudwatch: sagekeeper_core::cloudwatch::metric_alarms::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub state: StateStore,
}

impl ClientsFor<Config> for Clients {
    fn new(scope: &Scope, config: &Config) -> Self {
        let aws = &scope.resources;
        let kms_key = config.common.kms_key_arn.as_ref().map(ToString::to_string);
        Clients {
            sagemaker: aws.sagemaker(),
            autoscaling: aws.autoscaling(),
            cloudwatch: aws.cloudwatch(),
            tagging: aws.tagging(),
            state: StateStore::new(scope.hub.s3(), config.state_bucket.clone(), kms_key)
                .within(&scope.state_namespace),
        }
    }
}

impl Clients {
    pub fn scaling(&self) -> ScalingClients<'_> {
        ScalingClients {
            autoscaling: &self.autoscaling,
            cloudwatch: &self.cloudwatch,
        }
    }
}
