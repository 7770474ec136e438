//! Handles a daily sweep or one CloudTrail API call: works out which resources are in scope.

use sagekeeper_core::aws::AwsResultExt;
use sagekeeper_core::{
    Aws, AwsError, CommonConfig, Report, Reporter, Severity, Trigger, TriggerKind,
};
use serde_json::Value;

pub const NAME: &str = "encryption-enforcer";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Schedule, TriggerKind::ApiCall];

pub struct Deps {
    pub config: CommonConfig,
    pub s3: aws_sdk_s3::Client,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(aws: &Aws, config: CommonConfig) -> Self {
        Deps {
            s3: aws.s3(),
            reporter: Reporter::new(aws, &config),
            config,
        }
    }
}

pub async fn handle(deps: &Deps, event: Value) -> Report {
    deps.reporter
        .run(
            NAME,
            deps.config.dry_run,
            ACCEPTS,
            event,
            async |trigger, report| match trigger {
                Trigger::Schedule(_) => match bucket_names(&deps.s3).await {
                    Ok(buckets) => report.add_metric("BucketsInScope", buckets.len() as f64),
                    Err(err) => report.error(None, &err),
                },
                Trigger::ApiCall(call) => match call.resource() {
                    Ok(Some(resource)) => report.finding(
                        &resource.arn,
                        "in-scope",
                        Severity::Info,
                        format!(
                            "{} {} by {}",
                            resource.kind, call.event_name, call.user_identity.r#type
                        ),
                    ),
                    Ok(None) => report.skipped(
                        "-",
                        "evaluate",
                        format!("{} is not a call sagekeeper follows", call.event_name),
                    ),
                    Err(err) => report.error(None, &err),
                },
                Trigger::Alarm(_) => {}
            },
        )
        .await
}

async fn bucket_names(s3: &aws_sdk_s3::Client) -> Result<Vec<String>, AwsError> {
    let mut pages = s3.list_buckets().into_paginator().send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws("ListBuckets")?;
        names.extend(
            page.buckets
                .unwrap_or_default()
                .into_iter()
                .filter_map(|b| b.name),
        );
    }
    Ok(names)
}
