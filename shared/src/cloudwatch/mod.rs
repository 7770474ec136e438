//! Thin CloudWatch adapters: alarm tags, the metric alarms of step-scaling policies, metric
//! reads in bulk, and log groups (CloudWatch Logs).

pub mod alarm_tags;
pub mod log_groups;
pub mod metric_alarms;
pub mod metric_data;
