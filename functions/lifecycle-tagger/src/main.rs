//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention, flags idle endpoints and training jobs that could have used spot.

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
mod studio;
mod training_cost;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::LifecycleTagger>().await
}
