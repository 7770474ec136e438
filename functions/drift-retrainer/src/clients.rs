//! The SDK clients and state store the retrainer works with, for one account and region.

use sagekeeper_core::Scope;
use sagekeeper_core::run::function::ClientsFor;
use sagekeeper_core::s3::state::StateStore;

use crate::config::Config;

pub struct Clients {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub s3: aws_sdk_s3::Client,
    /// Alarm tags only.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// The per-target retrain locks (STATE_BUCKET); without it nothing starts.
    pub state: Option<StateStore>,
}

impl ClientsFor<Config> for Clients {
    fn new(scope: &Scope, config: &Config) -> Self {
        let aws = &scope.resources;
        Clients {
            sagemaker: aws.sagemaker(),
            s3: aws.s3(),
            cloudwatch: aws.cloudwatch(),
            state: config.state_bucket.as_ref().map(|bucket| {
                let kms_key = config.common.kms_key_arn.as_ref().map(ToString::to_string);
                StateStore::new(scope.hub.s3(), bucket.clone(), kms_key)
                    .within(&scope.state_namespace)
            }),
        }
    }
}
