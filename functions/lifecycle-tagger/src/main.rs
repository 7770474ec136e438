//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention and flags idle endpoints.

mod apply;
mod config;
mod creator;
mod gather;
mod handler;
mod idle;
mod lifecycle_plan;
mod retention;
mod steps;
mod tags_plan;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run(
        handler::NAME,
        "tags ML resources for cost allocation and makes old data cheaper",
        config::Config::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
