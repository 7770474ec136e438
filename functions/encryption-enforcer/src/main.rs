//! encryption-enforcer: finds and fixes unencrypted or exposed ML data (S3 buckets, SageMaker
//! jobs, endpoint configs, notebooks, KMS keys).

mod handler;

use std::process::ExitCode;

use sagekeeper_core::CommonConfig;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::entrypoint::run(
        handler::NAME,
        "finds and fixes unencrypted or exposed ML data",
        CommonConfig::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
