//! encryption-enforcer: finds and fixes unencrypted or exposed ML data (S3 buckets, SageMaker
//! jobs, endpoint configs, notebooks, KMS keys).
// The layout of a run's whole future, computed here, is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    encryption_enforcer::main().await
}
