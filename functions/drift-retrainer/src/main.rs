//! drift-retrainer: a Model Monitor drift alarm starts exactly one retraining, and says why.
// The layout of a run's whole future, computed here, is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    drift_retrainer::main().await
}
