//! endpoint-scheduler: parks SageMaker endpoints and notebook instances outside business
//! hours and restores them exactly as they were.

mod apply;
mod clients;
mod config;
mod custodian;
mod gather;
mod gather_studio;
mod model;
mod plan;
mod policy;
mod run;
mod run_lease;
mod schedule;
mod studio;

use std::process::ExitCode;

use sagekeeper_core::run::function::Function;

/// The name the function goes by: in reports, and for the multi-call binary.
pub const NAME: &str = <run::EndpointScheduler as Function>::NAME;

/// Serves Lambda events, or handles one event from the command line.
pub async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run::<run::EndpointScheduler>().await
}
