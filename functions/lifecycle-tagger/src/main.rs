//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention and flags idle endpoints.

mod apply;
mod clients;
mod config;
mod creator;
mod gather;
mod idle;
mod lifecycle_plan;
mod retention;
mod run;
mod steps;
mod tags_plan;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::LifecycleTagger>().await
}
