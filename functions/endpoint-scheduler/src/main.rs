//! endpoint-scheduler: parks SageMaker endpoints and notebook instances outside business
//! hours and restores them exactly as they were.

mod apply;
mod config;
#[cfg_attr(not(test), allow(dead_code))]
mod custodian;
mod handler;
mod inventory;
mod plan;
#[cfg_attr(not(test), allow(dead_code))]
mod policy;
#[cfg_attr(not(test), allow(dead_code))]
mod schedule;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::entrypoint::run(
        handler::NAME,
        "parks SageMaker endpoints and notebooks outside business hours",
        config::Config::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
