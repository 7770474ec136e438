//! One run: a CloudTrail create event (tag that one resource within seconds; a new bucket
//! also gets its lifecycle rules) or the daily sweep (every resource, bucket, SageMaker log
//! group and endpoint of the region). Gather, plan, apply: see `steps`.

use chrono::{DateTime, Utc};
use sagekeeper_core::events::{ApiCall, SweepOrCall};
use sagekeeper_core::run::function::Function;
use sagekeeper_core::{CommonConfig, ConfigError, Env, Report, Scope, Severity};

use crate::clients::Clients;
use crate::config::Config;
use crate::creator::Creator;
use crate::gather;
use crate::steps::{self, Tally};

pub const NAME: &str = LifecycleTagger::NAME;

pub struct LifecycleTagger;

impl Function for LifecycleTagger {
    const NAME: &'static str = "lifecycle-tagger";
    const ABOUT: &'static str = "tags ML resources for cost allocation and makes old data cheaper";
    type Trigger = SweepOrCall;
    type Config = Config;
    type Clients = Clients;

    fn config(env: &Env, dry_run_flag: bool) -> Result<Config, ConfigError> {
        Config::from_env(env, dry_run_flag)
    }
    fn common(config: &Config) -> &CommonConfig {
        &config.common
    }
    fn clients(scope: &Scope, config: &Config) -> Clients {
        Clients::new(scope, config)
    }

    async fn run(clients: &Clients, config: &Config, trigger: SweepOrCall, report: &mut Report) {
        match trigger {
            SweepOrCall::Call(call) => on_create(clients, config, &call, report).await,
            SweepOrCall::Sweep(schedule) => sweep(clients, config, schedule.time, report).await,
        }
    }
}

async fn on_create(clients: &Clients, config: &Config, call: &ApiCall, report: &mut Report) {
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
    let Some(inventory) = gather::created(clients, config, call, &resource, report).await else {
        return;
    };
    let mut tally = Tally::default();
    steps::tags(clients, config, &inventory.subjects, report, &mut tally).await;
    steps::lifecycle(clients, config, &inventory.buckets, report, &mut tally).await;
    steps::summarize(&tally, false, report);
}

async fn sweep(clients: &Clients, config: &Config, now: DateTime<Utc>, report: &mut Report) {
    tracing::info!(%now, "sweeping the region");
    let inventory = gather::sweep(clients, config, now, report).await;
    let mut tally = Tally::default();
    steps::tags(clients, config, &inventory.subjects, report, &mut tally).await;
    steps::lifecycle(clients, config, &inventory.buckets, report, &mut tally).await;
    steps::retention(clients, config, &inventory.log_groups, report, &mut tally).await;
    steps::idle(
        clients,
        config,
        &inventory.endpoints,
        now,
        report,
        &mut tally,
    )
    .await;
    steps::summarize(&tally, true, report);
}
