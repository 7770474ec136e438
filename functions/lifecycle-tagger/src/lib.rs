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

use sagekeeper_core::run::function::Function;

/// The name the function goes by: in reports, and for the multi-call binary.
pub const NAME: &str = <run::LifecycleTagger as Function>::NAME;

/// Serves Lambda events, or handles one event from the command line.
pub async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::LifecycleTagger>().await
}
