//! sagekeeper-core: what every sagekeeper function shares — typed configuration, trigger
//! parsing, AWS client construction and error classification, the run report, its
//! notification and metrics, logging, and the Lambda-or-shell entrypoint.

pub mod autoscaling;
pub mod aws;
pub mod cloudwatch;
pub mod config;
pub mod events;
pub mod iam;
pub mod kms;
pub mod model;
pub mod run;
pub mod s3;
pub mod sagemaker;
pub mod securityhub;
pub mod tagging;

pub use aws::sessions::Scope;
pub use aws::{Aws, AwsError, AwsResultExt};
pub use config::{CommonConfig, ConfigError, Env};
pub use events::{Trigger, TriggerKind};
pub use model::arn::Arn;
pub use run::entrypoint::Launch;
pub use run::report::{Outcome, Report, Severity};
pub use run::reporter::Reporter;
