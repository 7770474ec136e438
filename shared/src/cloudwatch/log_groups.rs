//! CloudWatch Logs: log groups under a prefix with their retention, and setting retention.

use aws_sdk_cloudwatchlogs::Client;

use crate::aws::{AwsError, AwsResultExt};

/// The retention periods (days) CloudWatch Logs accepts; anything else is refused.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    /// The log group's ARN (without the `:*` that `arn` carries).
    pub arn: String,
    /// `None`: events are kept forever.
    pub retention_days: Option<i32>,
}

/// Every log group whose name starts with `prefix`.
pub async fn list_with_prefix(client: &Client, prefix: &str) -> Result<Vec<LogGroup>, AwsError> {
    let mut pages = client
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .send();
    let mut groups = Vec::new();
    while let Some(page) = pages.next().await {
        for group in page
            .aws("DescribeLogGroups")?
            .log_groups
            .unwrap_or_default()
        {
            let Some(name) = group.log_group_name else {
                continue;
            };
            let arn = group
                .log_group_arn
                .or_else(|| group.arn.map(|a| a.trim_end_matches(":*").to_owned()))
                .unwrap_or_else(|| name.clone());
            groups.push(LogGroup {
                name,
                arn,
                retention_days: group.retention_in_days,
            });
        }
    }
    Ok(groups)
}

pub async fn put_retention(client: &Client, name: &str, days: i32) -> Result<(), AwsError> {
    client
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .aws("PutRetentionPolicy")?;
    Ok(())
}
