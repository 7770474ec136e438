//! Handles a daily sweep or one CloudTrail create event: works out which resources to tag.

use sagekeeper_core::tagging;
use sagekeeper_core::{Aws, CommonConfig, Report, Reporter, Severity, Trigger, TriggerKind};
use serde_json::Value;

pub const NAME: &str = "lifecycle-tagger";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Schedule, TriggerKind::ApiCall];
/// Cost allocation reads this tag; resources without it are unattributed spend.
const COST_TAG: &str = "CostCenter";

pub struct Deps {
    pub config: CommonConfig,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(aws: &Aws, config: CommonConfig) -> Self {
        Deps {
            tagging: aws.tagging(),
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
                Trigger::Schedule(_) => {
                    match tagging::resources_with_tag(&deps.tagging, &["sagemaker"], COST_TAG, &[])
                        .await
                    {
                        Ok(tagged) => {
                            report.add_metric("ResourcesWithCostCenter", tagged.len() as f64)
                        }
                        Err(err) => report.error(None, &err),
                    }
                }
                Trigger::ApiCall(call) => match call.resource() {
                    Ok(Some(resource)) => report.finding(
                        &resource.arn,
                        "created",
                        Severity::Info,
                        format!(
                            "{} created by {}",
                            resource.kind,
                            call.user_identity
                                .arn
                                .as_deref()
                                .unwrap_or("an unknown identity")
                        ),
                    ),
                    Ok(None) => report.skipped(
                        "-",
                        "tag",
                        format!("{} creates nothing sagekeeper tags", call.event_name),
                    ),
                    Err(err) => report.error(None, &err),
                },
                Trigger::Alarm(_) => {}
            },
        )
        .await
}
