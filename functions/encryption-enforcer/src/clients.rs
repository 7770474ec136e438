//! The SDK clients the enforcer reads and writes with, for one account and region.

use sagekeeper_core::Scope;
use sagekeeper_core::aws::targets::Target;
use sagekeeper_core::run::function::ClientsFor;

use crate::config::Config;

#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub kms: aws_sdk_kms::Client,
    /// Buckets in other regions cannot be configured through this region's S3 client.
    pub region: Option<String>,
    /// The account and region acted in; `None` in a single-account deployment.
    pub target: Option<Target>,
}

impl ClientsFor<Config> for Clients {
    fn new(scope: &Scope, _: &Config) -> Self {
        let aws = &scope.resources;
        Clients {
            s3: aws.s3(),
            sagemaker: aws.sagemaker(),
            kms: aws.kms(),
            region: aws.region().map(str::to_owned),
            target: scope.target.clone(),
        }
    }
}
