//! Clients per target: the deployment's own credentials for its own account, and the member
//! role (STS AssumeRole, cached until shortly before it expires) for every other account.
//! A function is handed a [`Scope`] and never knows which of the two it got.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::aws::targets::{Target, TargetsConfig};
use crate::aws::{Aws, AwsError, AwsResultExt};

/// Assumed-role sessions last an hour; one is renewed when less than this is left, which is
/// more than a Lambda invocation can run.
const RENEW_BEFORE: Duration = Duration::from_secs(20 * 60);
const SESSION_SECONDS: i32 = 3600;

/// The clients one run of a function uses.
#[derive(Debug, Clone)]
pub struct Scope {
    /// For the governed resources: the target account and region.
    pub resources: Aws,
    /// The deployment's own account: state bucket, SNS topic, fan-out queue.
    pub hub: Aws,
    /// `None` in a single-account deployment.
    pub target: Option<Target>,
    /// Prepended to state keys, so one state bucket holds every target's snapshots apart.
    /// Empty for the deployment's own account and region, whose keys predate organisations.
    pub state_namespace: String,
}

impl Scope {
    /// A single-account deployment: everything through the function's own credentials.
    pub fn home(aws: &Aws) -> Scope {
        Scope {
            resources: aws.clone(),
            hub: aws.clone(),
            target: None,
            state_namespace: String::new(),
        }
    }
}

/// Why a target's clients could not be made.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("cannot act in {target}: assuming {role_arn} failed: {source}")]
pub struct AssumeError {
    pub target: Target,
    pub role_arn: String,
    #[source]
    pub source: AwsError,
}

impl crate::run::report::ReportableError for AssumeError {
    fn kind(&self) -> &'static str {
        "assume-role"
    }
    fn retryable(&self) -> bool {
        self.source.retryable
    }
}

pub struct Sessions {
    hub: Aws,
    sts: aws_sdk_sts::Client,
    config: TargetsConfig,
    session_name: String,
    home_account: Mutex<Option<String>>,
    assumed: Mutex<HashMap<String, Credentials>>,
}

impl Sessions {
    pub fn new(hub: Aws, config: TargetsConfig, function: &str) -> Self {
        Sessions {
            sts: hub.sts(),
            hub,
            config,
            session_name: format!("sagekeeper-{function}"),
            home_account: Mutex::new(None),
            assumed: Mutex::new(HashMap::new()),
        }
    }

    pub fn hub(&self) -> &Aws {
        &self.hub
    }

    pub fn config(&self) -> &TargetsConfig {
        &self.config
    }

    pub fn home_region(&self) -> String {
        self.hub.region().unwrap_or("us-east-1").to_owned()
    }

    /// The deployment's own account id, asked of STS once.
    pub async fn home_account(&self) -> Result<String, AwsError> {
        if let Some(account) = self.home_account.lock().unwrap().clone() {
            return Ok(account);
        }
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .aws("GetCallerIdentity")?;
        let account = identity.account.unwrap_or_default();
        *self.home_account.lock().unwrap() = Some(account.clone());
        Ok(account)
    }

    /// The clients for `target`: the deployment's own credentials in its own account, the
    /// member role everywhere else.
    pub async fn scope(&self, target: &Target) -> Result<Scope, AssumeError> {
        let home_account = self.home_account().await.map_err(|source| AssumeError {
            target: target.clone(),
            role_arn: "(the deployment's own identity)".to_owned(),
            source,
        })?;
        let (resources, state_namespace) = if target.account == home_account {
            let namespace = if target.region == self.home_region() {
                String::new()
            } else {
                namespace(target)
            };
            (self.hub.in_region(&target.region), namespace)
        } else {
            let credentials =
                self.credentials(&target.account)
                    .await
                    .map_err(|source| AssumeError {
                        target: target.clone(),
                        role_arn: self.config.role_arn(&target.account, &self.home_region()),
                        source,
                    })?;
            (
                self.hub.with_credentials(credentials, &target.region),
                namespace(target),
            )
        };
        Ok(Scope {
            resources,
            hub: self.hub.clone(),
            target: Some(target.clone()),
            state_namespace,
        })
    }

    async fn credentials(&self, account: &str) -> Result<Credentials, AwsError> {
        let fresh_until = SystemTime::now() + RENEW_BEFORE;
        if let Some(cached) = self.assumed.lock().unwrap().get(account)
            && cached.expiry().is_some_and(|expiry| expiry > fresh_until)
        {
            return Ok(cached.clone());
        }
        let role_arn = self.config.role_arn(account, &self.home_region());
        tracing::debug!(role = %role_arn, "assuming the member role");
        let answer = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.config.external_id.clone())
            .duration_seconds(SESSION_SECONDS)
            .send()
            .await
            .aws("AssumeRole")?;
        let issued = answer.credentials.ok_or_else(|| AwsError {
            operation: "AssumeRole",
            code: "NoCredentials".to_owned(),
            message: "STS answered without credentials".to_owned(),
            retryable: true,
        })?;
        let expiry = SystemTime::try_from(issued.expiration)
            .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(SESSION_SECONDS as u64));
        let credentials = Credentials::new(
            issued.access_key_id,
            issued.secret_access_key,
            Some(issued.session_token),
            Some(expiry),
            "sagekeeper-member-role",
        );
        self.assumed
            .lock()
            .unwrap()
            .insert(account.to_owned(), credentials.clone());
        Ok(credentials)
    }
}

fn namespace(target: &Target) -> String {
    format!("targets/{}/{}/", target.account, target.region)
}

impl Aws {
    /// The same configuration in another region.
    pub fn in_region(&self, region: &str) -> Aws {
        Aws::from_sdk_config(
            self.sdk_config()
                .to_builder()
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }

    /// The same configuration with other credentials, in `region`.
    pub fn with_credentials(&self, credentials: Credentials, region: &str) -> Aws {
        Aws::from_sdk_config(
            self.sdk_config()
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(credentials))
                .region(Region::new(region.to_owned()))
                .build(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_sdk_sts::types::error::MalformedPolicyDocumentException;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    const HUB: &str = "111111111111";
    const MEMBER: &str = "222222222222";

    fn identity() -> Rule {
        mock!(aws_sdk_sts::Client::get_caller_identity)
            .then_output(|| GetCallerIdentityOutput::builder().account(HUB).build())
    }

    /// AssumeRole answering credentials that expire `minutes` from now.
    fn assume(minutes: u64) -> Rule {
        mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|r| {
                r.role_arn() == Some("arn:aws:iam::222222222222:role/sagekeeper-member")
                    && r.external_id() == Some("ext-1")
            })
            .then_output(move || {
                let expiry = SystemTime::now() + Duration::from_secs(minutes * 60);
                AssumeRoleOutput::builder()
                    .credentials(
                        aws_sdk_sts::types::Credentials::builder()
                            .access_key_id("ASIAMEMBER")
                            .secret_access_key("secret")
                            .session_token("token")
                            .expiration(aws_smithy_types::DateTime::from(expiry))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
    }

    fn sessions(rules: &[&Rule]) -> Sessions {
        let hub = Aws::from_sdk_config(
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .build(),
        );
        let config = TargetsConfig::from_env(&Env::from_pairs([
            ("TARGET_ACCOUNTS", format!("{HUB},{MEMBER}")),
            ("MEMBER_EXTERNAL_ID", "ext-1".to_owned()),
        ]))
        .unwrap();
        let mut sessions = Sessions::new(hub, config, "endpoint-scheduler");
        sessions.sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, rules);
        sessions
    }

    #[tokio::test]
    async fn one_assume_role_per_account_while_the_credentials_last() {
        let (who, role) = (identity(), assume(60));
        let sessions = sessions(&[&who, &role]);
        let eu = sessions
            .scope(&Target::new(MEMBER, "eu-west-1"))
            .await
            .unwrap();
        let us = sessions
            .scope(&Target::new(MEMBER, "us-east-1"))
            .await
            .unwrap();
        assert_eq!(role.num_calls(), 1, "cached across regions");
        assert_eq!(who.num_calls(), 1, "the hub's identity is asked once");
        assert_eq!(eu.resources.region(), Some("eu-west-1"));
        assert_eq!(us.resources.region(), Some("us-east-1"));
        assert_eq!(us.state_namespace, "targets/222222222222/us-east-1/");
        assert_eq!(
            us.hub.region(),
            Some("eu-west-1"),
            "state and SNS stay in the hub"
        );
    }

    #[tokio::test]
    async fn credentials_close_to_expiry_are_renewed() {
        let (who, role) = (identity(), assume(10));
        let sessions = sessions(&[&who, &role]);
        for _ in 0..2 {
            sessions
                .scope(&Target::new(MEMBER, "eu-west-1"))
                .await
                .unwrap();
        }
        assert_eq!(role.num_calls(), 2);
    }

    #[tokio::test]
    async fn the_hub_account_uses_its_own_credentials() {
        let (who, role) = (identity(), assume(60));
        let sessions = sessions(&[&who, &role]);
        let home = sessions
            .scope(&Target::new(HUB, "eu-west-1"))
            .await
            .unwrap();
        let other_region = sessions
            .scope(&Target::new(HUB, "us-east-1"))
            .await
            .unwrap();
        assert_eq!(role.num_calls(), 0);
        assert_eq!(home.state_namespace, "", "the single-account layout");
        assert_eq!(
            other_region.state_namespace,
            "targets/111111111111/us-east-1/"
        );
    }

    #[tokio::test]
    async fn a_refused_assume_role_names_the_target_and_the_role() {
        let who = identity();
        let denied = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
            AssumeRoleError::MalformedPolicyDocumentException(
                MalformedPolicyDocumentException::builder()
                    .message("no such role")
                    .build(),
            )
        });
        let sessions = sessions(&[&who, &denied]);
        let err = sessions
            .scope(&Target::new(MEMBER, "eu-west-1"))
            .await
            .unwrap_err();
        assert_eq!(err.target, Target::new(MEMBER, "eu-west-1"));
        assert_eq!(
            err.role_arn,
            "arn:aws:iam::222222222222:role/sagekeeper-member"
        );
        assert!(
            err.to_string()
                .contains("cannot act in 222222222222/eu-west-1"),
            "{err}"
        );
    }
}
