//! One run of a function, start to finish: the Lambda-or-shell entrypoint, where an event is
//! handled (this account, fan-out, SQS), the report and how it is delivered (log lines, EMF
//! metrics, one SNS message).

pub mod apply;
pub mod asff;
pub mod budget;
pub mod dashboard;
pub mod dispatch;
pub mod emf;
pub mod entrypoint;
pub mod fanout;
pub mod function;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod ocsf;
pub mod plan;
pub mod report;
pub mod reporter;
pub mod security_hub;
