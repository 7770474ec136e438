//! Clients per target: the deployment's own credentials for its own account, and the member
//! role (STS AssumeRole, cached until shortly before it expires) for every other account.
//! A function is handed a [`Scope`] and never knows which of the two it got.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::aws::{Aws, AwsError, AwsResultExt};
use crate::targets::{Target, TargetsConfig};

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

impl crate::report::ReportableError for AssumeError {
    fn kind(&self) -> &'static str {
        "assume-role"
    }
    fn retryable(&self) -> bool {
        self.source.retryable
    }
}

pub struct Sessions {
    hub: Aws,
    config: TargetsConfig,
    session_name: String,
    home_account: Mutex<Option<String>>,
    assumed: Mutex<HashMap<String, Credentials>>,
}

impl Sessions {
    pub fn new(hub: Aws, config: TargetsConfig, function: &str) -> Self {
        Sessions {
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
            .hub
            .sts()
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
                        role_arn: self.config.role_arn(&target.account),
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
        let role_arn = self.config.role_arn(account);
        tracing::debug!(role = %role_arn, "assuming the member role");
        let answer = self
            .hub
            .sts()
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
