//! Handles a daily sweep or one CloudTrail API call: gather the resources in scope, evaluate
//! the rules, plan, apply, report.

use sagekeeper_core::{Report, Reporter, TriggerKind, sessions};
use serde_json::Value;

use crate::config::Config;
use crate::gather::{self, Clients, Scope, Target};
use crate::plan::Detail;
use crate::{apply, plan};

pub const NAME: &str = "encryption-enforcer";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Schedule, TriggerKind::ApiCall];

pub struct Deps {
    pub config: Config,
    pub clients: Clients,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(clients: &sessions::Scope, config: &Config) -> Self {
        let aws = &clients.resources;
        Deps {
            clients: Clients {
                s3: aws.s3(),
                sagemaker: aws.sagemaker(),
                kms: aws.kms(),
                region: aws.region().map(str::to_owned),
            },
            reporter: Reporter::new(clients, &config.common),
            config: config.clone(),
        }
    }
}

pub async fn handle(deps: &Deps, event: Value) -> Report {
    let config = &deps.config;
    deps.reporter
        .run(
            NAME,
            config.common.dry_run,
            ACCEPTS,
            event,
            async |trigger, report| {
                let scope = match gather::target(&trigger, config.sweep_lookback) {
                    Ok(Target::Evaluate(scope)) => scope,
                    Ok(Target::Ignore { resource, reason }) => {
                        return report.skipped(resource, "evaluate", reason);
                    }
                    Err(err) => return report.error(None, &err),
                };
                let gathered = gather::gather(&deps.clients, config, &scope).await;
                gathered.record(report);
                if matches!(scope, Scope::Sweep { .. } | Scope::Bucket(_)) {
                    let buckets = gathered.inventory.buckets.len();
                    report.add_metric("BucketsInScope", buckets as f64);
                }
                let plan = plan::plan(&gathered.inventory, config);
                let detail = match scope {
                    Scope::Sweep { .. } => Detail::Problems,
                    _ => Detail::Everything,
                };
                plan.record(report, detail);
                apply::apply(report, &deps.clients, plan.steps).await;
            },
        )
        .await
}
