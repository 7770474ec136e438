//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention and flags idle endpoints.

mod apply;
mod clients;
mod config;
mod creator;
mod data_class;
mod gather;
mod idle;
mod inferred_tags;
mod plan;
mod retention;
mod run;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::LifecycleTagger>().await
}
