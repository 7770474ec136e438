//! endpoint-scheduler: parks SageMaker endpoints and notebook instances outside business
//! hours and restores them exactly as they were.

mod apply;
mod config;
mod custodian;
mod handler;
mod inventory;
mod plan;
mod policy;
mod run_lease;
mod schedule;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run(
        handler::NAME,
        "parks SageMaker endpoints and notebooks outside business hours",
        config::Config::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
