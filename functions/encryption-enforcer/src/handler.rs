//! Handles a daily sweep or one CloudTrail API call: gather the resources in scope, evaluate
//! the rules, plan, apply, report.

use sagekeeper_core::{Report, Reporter, Severity, TriggerKind, aws::sessions};
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
    /// Why `KMS_KEY_ARN` is not required in this target, when it is not.
    pub key_not_required: Option<String>,
}

impl Deps {
    pub fn new(clients: &sessions::Scope, config: &Config) -> Self {
        let aws = &clients.resources;
        let mut config = config.clone();
        let key_not_required = foreign_key(&config, clients.target.as_ref());
        if key_not_required.is_some() {
            config.common.kms_key_arn = None;
        }
        Deps {
            clients: Clients {
                s3: aws.s3(),
                sagemaker: aws.sagemaker(),
                kms: aws.kms(),
                region: aws.region().map(str::to_owned),
            },
            reporter: Reporter::new(clients, &config.common),
            config,
            key_not_required,
        }
    }
}

/// S3 and SageMaker can only use a key of the resource's own region, and a key of another
/// account only if its policy says so: in such a target the required key is not imposed
/// (buckets keep their own customer-managed key, or get SSE-KMS with the AWS-managed key).
fn foreign_key(
    config: &Config,
    target: Option<&sagekeeper_core::aws::targets::Target>,
) -> Option<String> {
    let key = config.common.kms_key_arn.as_ref()?;
    let target = target?;
    (key.account != target.account || key.region != target.region).then(|| {
        format!(
            "KMS_KEY_ARN {key} is not in {target}, so it is not required here: buckets keep their own customer-managed key or get SSE-KMS with aws/s3"
        )
    })
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
                if let Some(why) = &deps.key_not_required {
                    report.finding("KMS_KEY_ARN", "kms-key-not-in-target", Severity::Info, why);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::Env;
    use sagekeeper_core::aws::targets::Target as AccountRegion;

    #[test]
    fn the_required_key_applies_only_in_its_own_account_and_region() {
        let key = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let config = Config::from_env(&Env::from_pairs([("KMS_KEY_ARN", key)]), false).unwrap();
        let home = AccountRegion::new("111111111111", "eu-west-1");
        assert_eq!(
            foreign_key(&config, None),
            None,
            "a single-account deployment"
        );
        assert_eq!(foreign_key(&config, Some(&home)), None);
        for elsewhere in [
            AccountRegion::new("222222222222", "eu-west-1"),
            AccountRegion::new("111111111111", "us-east-1"),
        ] {
            let why = foreign_key(&config, Some(&elsewhere)).unwrap();
            assert!(why.contains(&elsewhere.to_string()), "{why}");
        }
    }
}
