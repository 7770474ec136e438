//! Handles one scheduled event: finds the resources opted in to off-hours parking.

use sagekeeper_core::tagging::{self, TaggedResource};
use sagekeeper_core::{Aws, Report, Reporter, Severity, Trigger, TriggerKind};
use serde_json::Value;

use crate::config::Config;

pub const NAME: &str = "endpoint-scheduler";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Schedule];
pub const OPT_IN_TAG: &str = "AutoShutdown";
const RESOURCE_TYPES: &[&str] = &["sagemaker:endpoint", "sagemaker:notebook-instance"];

pub struct Deps {
    pub config: Config,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(aws: &Aws, config: Config) -> Self {
        Deps {
            tagging: aws.tagging(),
            reporter: Reporter::new(aws, &config.common),
            config,
        }
    }
}

pub async fn handle(deps: &Deps, event: Value) -> Report {
    let dry_run = deps.config.common.dry_run;
    deps.reporter
        .run(NAME, dry_run, ACCEPTS, event, async |trigger, report| {
            let Trigger::Schedule(schedule) = trigger else {
                return;
            };
            tracing::info!(now = %schedule.time, "reconciling opted-in resources");
            match tagging::resources_with_tag(&deps.tagging, RESOURCE_TYPES, OPT_IN_TAG, &["true"])
                .await
            {
                Ok(opted_in) => record_opted_in(&opted_in, report),
                Err(err) => report.error(None, &err),
            }
        })
        .await
}

fn record_opted_in(resources: &[TaggedResource], report: &mut Report) {
    for resource in resources {
        report.finding(
            &resource.arn,
            "opted-in",
            Severity::Info,
            format!("{OPT_IN_TAG}=true: parked outside its schedule"),
        );
    }
    report.add_metric("OptedInResources", resources.len() as f64);
}
