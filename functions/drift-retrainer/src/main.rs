//! drift-retrainer: a Model Monitor drift alarm starts exactly one retraining, and says why.

mod apply;
mod clients;
mod clone;
mod config;
mod gather;
mod key;
mod lock;
mod plan;
mod run;
mod target;
mod trust;
mod violations;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::DriftRetrainer>().await
}
