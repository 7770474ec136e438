//! lifecycle-tagger: tags ML resources for cost allocation, applies S3 lifecycle rules by data
//! class, sets log retention, flags idle endpoints and training jobs that could have used spot.
// The layout of a run's whole future, computed here, is deeper than rustc's default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_tagger::main().await
}
