//! The retrainer's settings (see the README's configuration table).

use sagekeeper_core::{Arn, CommonConfig, ConfigError, Env};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: CommonConfig,
    /// The SageMaker execution role retraining jobs may run as; the only role this function
    /// may pass (template.yaml grants iam:PassRole for it alone).
    pub retrain_role_arn: Option<Arn>,
}

impl Config {
    pub fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_env(env, dry_run_flag)?,
            retrain_role_arn: env.optional_arn(
                "RETRAIN_ROLE_ARN",
                "an IAM role ARN like arn:aws:iam::123456789012:role/SageMakerExecutionRole",
                |arn| {
                    arn.service == "iam"
                        && arn.resource_type() == Some("role")
                        && !arn.account.is_empty()
                },
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrain_role_must_be_an_iam_role() {
        let ok = Env::from_pairs([(
            "RETRAIN_ROLE_ARN",
            "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        )]);
        assert_eq!(
            Config::from_env(&ok, false)
                .unwrap()
                .retrain_role_arn
                .unwrap()
                .resource_name(),
            "SageMakerExecutionRole"
        );
        for bad in [
            "arn:aws:iam::123456789012:user/alice",
            "SageMakerExecutionRole",
        ] {
            let err =
                Config::from_env(&Env::from_pairs([("RETRAIN_ROLE_ARN", bad)]), false).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        var: "RETRAIN_ROLE_ARN",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        assert_eq!(
            Config::from_env(&Env::default(), false)
                .unwrap()
                .retrain_role_arn,
            None
        );
    }
}
