//! One scheduled run of the endpoint scheduler: observe, plan (pure), apply, report.

use sagekeeper_core::Report;
use sagekeeper_core::events::Schedule;
use sagekeeper_core::run::function::Function;

use crate::clients::Clients;
use crate::config::{self, Config};
use crate::policy::Policy;
use crate::{apply, gather, plan, run_lease, studio};

pub struct EndpointScheduler;

impl Function for EndpointScheduler {
    const NAME: &'static str = config::NAME;
    const ABOUT: &'static str =
        "parks SageMaker endpoints, notebooks and Studio apps outside business hours";
    type Trigger = Schedule;
    type Config = Config;
    type Clients = Clients;

    /// A reconciler: every opted-in resource converges to what the schedule wants at the
    /// event's time, so missed, late and repeated runs are harmless. One run at a time.
    async fn run(clients: &Clients, config: &Config, schedule: Schedule, report: &mut Report) {
        let Some(turn) = run_lease::take(clients, report).await else {
            return;
        };
        tracing::info!(now = %schedule.time, "reconciling opted-in resources");
        let observed = gather::gather(clients, report).await;
        let policy = Policy::from(config);
        let (mut plan, mut parked) = plan::plan(&observed, &policy, &config.prices, schedule.time);
        let (idle, prices) = (config.studio_idle_minutes, &config.prices);
        studio::plan_studio(
            &observed.studio,
            &policy,
            idle,
            prices,
            schedule.time,
            &mut plan,
            &mut parked,
        );
        let writes = plan.record(report);
        let concurrency = config.common.apply_concurrency;
        let applied =
            apply::apply(clients, prices, writes, schedule.time, concurrency, report).await;
        parked.add(applied);
        parked.savings(report.dry_run).record(report);
        run_lease::give_back(clients, turn, report).await;
    }
}
