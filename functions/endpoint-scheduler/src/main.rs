//! endpoint-scheduler: parks SageMaker endpoints and notebook instances outside business
//! hours and restores them exactly as they were.
// The layout of a run's whole future, computed here, is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    endpoint_scheduler::main().await
}
