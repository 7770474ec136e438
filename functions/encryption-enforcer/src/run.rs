//! A daily sweep or one CloudTrail API call: decide what is in scope, gather it, evaluate the
//! rules (pure), apply the fixes, report.

use sagekeeper_core::events::SweepOrCall;
use sagekeeper_core::run::function::Function;
use sagekeeper_core::{Report, Severity};

use crate::clients::Clients;
use crate::config::Config;
use crate::decide::{self, Decision};
use crate::{apply, gather, plan};

pub struct EncryptionEnforcer;

impl Function for EncryptionEnforcer {
    const NAME: &'static str = "encryption-enforcer";
    const ABOUT: &'static str = "finds and fixes unencrypted or exposed ML data";
    type Trigger = SweepOrCall;
    type Config = Config;
    type Clients = Clients;

    async fn run(clients: &Clients, config: &Config, trigger: SweepOrCall, report: &mut Report) {
        let mut config = config.clone();
        if let Some(why) = foreign_key(&config, clients.target.as_ref()) {
            config.common.kms_key_arn = None;
            report.finding("KMS_KEY_ARN", "kms-key-not-in-target", Severity::Info, why);
        }
        let subject = match decide::decide(&trigger, config.sweep_lookback) {
            Ok(Decision::Evaluate(subject)) => subject,
            Ok(Decision::Ignore { resource, reason }) => {
                return report.skipped(resource, "evaluate", reason);
            }
            Err(err) => return report.error(None, &err),
        };
        let gathered = gather::gather(clients, &config, &subject, report).await;
        let plan = plan::plan(&gathered, &config, &subject);
        apply::apply(clients, plan, config.common.apply_concurrency, report).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::Env;
    use sagekeeper_core::aws::targets::Target as AccountRegion;
    use sagekeeper_core::run::function::Settings;

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
