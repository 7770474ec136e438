//! encryption-enforcer: finds and fixes unencrypted or exposed ML data (S3 buckets, SageMaker
//! jobs, endpoint configs, notebooks, KMS keys).

mod apply;
mod config;
mod exemptions;
mod gather;
mod handler;
mod model;
mod plan;
mod policy;
mod reliance;
mod rules;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run(
        handler::NAME,
        "finds and fixes unencrypted or exposed ML data",
        config::Config::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
