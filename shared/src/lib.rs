//! sagekeeper-core: what every sagekeeper function shares — typed configuration, trigger
//! parsing, AWS client construction and error classification, the run report, its
//! notification and metrics, logging, and the Lambda-or-shell entrypoint.

pub mod alarms;
pub mod arn;
pub mod autoscaling;
pub mod aws;
pub mod config;
pub mod dispatch;
pub mod entrypoint;
pub mod events;
pub mod fanout;
pub mod iam;
pub mod kms;
pub mod lease;
pub mod lifecycle;
pub mod logging;
pub mod logs;
pub mod metric_alarms;
pub mod metric_data;
pub mod metrics;
pub mod notify;
pub mod organizations;
pub mod pricing;
pub mod report;
pub mod reporter;
pub mod s3;
pub mod s3_objects;
pub mod s3_tags;
pub mod sagemaker;
pub mod sessions;
pub mod state;
pub mod tagging;
pub mod targets;

pub use arn::Arn;
pub use aws::{Aws, AwsError, AwsResultExt};
pub use config::{CommonConfig, ConfigError, Env};
pub use entrypoint::Launch;
pub use events::{Trigger, TriggerKind};
pub use report::{Outcome, Report, Severity};
pub use reporter::Reporter;
pub use sessions::Scope;
