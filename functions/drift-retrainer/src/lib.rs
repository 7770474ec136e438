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

use sagekeeper_core::run::function::Function;

/// The name the function goes by: in reports, and for the multi-call binary.
pub const NAME: &str = <run::DriftRetrainer as Function>::NAME;

/// Serves Lambda events, or handles one event from the command line.
pub async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::DriftRetrainer>().await
}
