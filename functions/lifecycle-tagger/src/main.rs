//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention and flags idle endpoints.

mod handler;

use std::process::ExitCode;

use sagekeeper_core::CommonConfig;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::entrypoint::run(
        handler::NAME,
        "tags ML resources for cost allocation and makes old data cheaper",
        CommonConfig::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
