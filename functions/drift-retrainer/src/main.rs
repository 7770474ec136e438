//! drift-retrainer: a Model Monitor drift alarm starts exactly one retraining, and says why.

mod apply;
mod clone;
mod config;
mod gather;
mod handler;
mod key;
mod lock;
mod plan;
mod target;
mod trust;
mod violations;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sagekeeper_core::run::entrypoint::run(
        handler::NAME,
        "starts one retraining when a Model Monitor drift alarm fires",
        config::Config::from_env,
        handler::Deps::new,
        handler::handle,
    )
    .await
}
