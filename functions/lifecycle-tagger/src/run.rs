//! One run: a CloudTrail create event (tag that one resource within seconds; a new bucket
//! also gets its lifecycle rules) or the daily sweep (every resource, bucket, SageMaker log
//! group and endpoint of the region). Gather, plan (pure), apply.

use sagekeeper_core::Report;
use sagekeeper_core::events::{ApiCall, SweepOrCall};
use sagekeeper_core::run::function::Function;

use crate::clients::Clients;
use crate::config::{self, Config};
use crate::{apply, gather, plan};

pub struct LifecycleTagger;

impl Function for LifecycleTagger {
    const NAME: &'static str = config::NAME;
    const ABOUT: &'static str = "tags ML resources for cost allocation and makes old data cheaper";
    type Trigger = SweepOrCall;
    type Config = Config;
    type Clients = Clients;

    async fn run(clients: &Clients, config: &Config, trigger: SweepOrCall, report: &mut Report) {
        match trigger {
            SweepOrCall::Call(call) => on_create(clients, config, &call, report).await,
            SweepOrCall::Sweep(schedule) => {
                let now = schedule.time;
                tracing::info!(%now, "sweeping the region");
                let gathered = gather::sweep(clients, config, now, report).await;
                let planned = plan::plan(&gathered, config, now);
                apply::apply(
                    clients,
                    planned,
                    now,
                    config.common.apply_concurrency,
                    report,
                )
                .await;
            }
        }
    }
}

async fn on_create(clients: &Clients, config: &Config, call: &ApiCall, report: &mut Report) {
    let Some(resource) = report.keep(None, call.resource()) else {
        return;
    };
    let (mut planned, made) = plan::screen(call, resource);
    if let Some(made) = made
        && let Some(gathered) = gather::created(clients, config, call, &made, report).await
    {
        planned = planned.then(plan::plan(&gathered, config, call.time));
    }
    apply::apply(
        clients,
        planned,
        call.time,
        config.common.apply_concurrency,
        report,
    )
    .await;
}
