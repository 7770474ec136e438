//! One run: a CloudTrail create event (tag that one resource within seconds; a new bucket
//! also gets its lifecycle rules) or the daily sweep (every resource, bucket, SageMaker log
//! group and endpoint of the region). Gather, plan, apply: see `steps`.

use chrono::{DateTime, Utc};
use sagekeeper_core::events::ApiCall;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::s3::state::StateStore;
use sagekeeper_core::{Report, Reporter, Scope, Severity, Trigger, TriggerKind};
use serde_json::Value;

use crate::config::Config;
use crate::creator::Creator;
use crate::gather;
use crate::steps::{self, Tally};

pub const NAME: &str = "lifecycle-tagger";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Schedule, TriggerKind::ApiCall];

pub struct Deps {
    pub config: Config,
    pub prices: PriceTable,
    pub region: Option<String>,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    /// Snapshots of deleted idle endpoints; set when deletion is on.
    pub state: Option<StateStore>,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(scope: &Scope, config: &Config) -> Self {
        let aws = &scope.resources;
        let kms_key = config.common.kms_key_arn.as_ref().map(ToString::to_string);
        Deps {
            prices: PriceTable::default(),
            region: aws.region().map(str::to_owned),
            sagemaker: aws.sagemaker(),
            s3: aws.s3(),
            tagging: aws.tagging(),
            iam: aws.iam(),
            logs: aws.logs(),
            cloudwatch: aws.cloudwatch(),
            autoscaling: aws.autoscaling(),
            state: config.state_bucket.as_ref().map(|bucket| {
                StateStore::new(scope.hub.s3(), bucket.clone(), kms_key)
                    .within(&scope.state_namespace)
            }),
            reporter: Reporter::new(scope, &config.common),
            config: config.clone(),
        }
    }
}

pub async fn handle(deps: &Deps, event: Value) -> Report {
    deps.reporter
        .run(
            NAME,
            deps.config.common.dry_run,
            ACCEPTS,
            event,
            async |trigger, report| match trigger {
                Trigger::ApiCall(call) => on_create(deps, &call, report).await,
                Trigger::Schedule(schedule) => sweep(deps, schedule.time, report).await,
                Trigger::Alarm(_) => {}
            },
        )
        .await
}

async fn on_create(deps: &Deps, call: &ApiCall, report: &mut Report) {
    let resource = match call.resource() {
        Ok(Some(resource)) => resource,
        Ok(None) => {
            let reason = format!("{} creates nothing sagekeeper tags", call.event_name);
            return report.skipped("-", "tag", reason);
        }
        Err(err) => return report.error(None, &err),
    };
    if !call.event_name.starts_with("Create") {
        let reason = format!("{} is not a create call", call.event_name);
        return report.skipped(&resource.arn, "tag", reason);
    }
    if Creator::from_identity(&call.user_identity).is_none() {
        report.finding(
            &resource.arn,
            "creator-unknown",
            Severity::Low,
            format!(
                "CloudTrail's userIdentity (type {:?}) names nobody, so CreatedBy is not set",
                call.user_identity.r#type
            ),
        );
    }
    let Some(inventory) = gather::created(deps, call, &resource, report).await else {
        return;
    };
    let mut tally = Tally::default();
    steps::tags(deps, &inventory.subjects, report, &mut tally).await;
    steps::lifecycle(deps, &inventory.buckets, report, &mut tally).await;
    steps::summarize(&tally, false, report);
}

async fn sweep(deps: &Deps, now: DateTime<Utc>, report: &mut Report) {
    tracing::info!(%now, "sweeping the region");
    let inventory = gather::sweep(deps, now, report).await;
    let mut tally = Tally::default();
    steps::tags(deps, &inventory.subjects, report, &mut tally).await;
    steps::lifecycle(deps, &inventory.buckets, report, &mut tally).await;
    steps::retention(deps, &inventory.log_groups, report, &mut tally).await;
    steps::idle(deps, &inventory.endpoints, now, report, &mut tally).await;
    steps::summarize(&tally, true, report);
}
