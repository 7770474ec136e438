//! encryption-enforcer: finds and fixes unencrypted or exposed ML data (S3 buckets, SageMaker
//! jobs, endpoint configs, notebooks, KMS keys).

mod apply;
mod bucket_policy;
mod clients;
mod config;
mod decide;
mod exemptions;
mod gather;
mod model;
mod plan;
mod reliance;
mod rules;
mod run;

use std::process::ExitCode;

use sagekeeper_core::run::function::Function;

/// The name the function goes by: in reports, and for the multi-call binary.
pub const NAME: &str = <run::EncryptionEnforcer as Function>::NAME;

/// Serves Lambda events, or handles one event from the command line.
pub async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::EncryptionEnforcer>().await
}
