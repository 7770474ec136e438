//! The one place SDK clients are configured, AWS errors are classified, and per-resource calls
//! are fanned out with a bound.
//!
//! Submodules: `targets` (which accounts and regions a deployment governs), `sessions` (clients
//! per target) and `organizations` (the accounts of an organisation).

pub mod organizations;
pub mod sessions;
pub mod targets;

use std::future::Future;
use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;

use crate::config::{ConfigError, Env};
use crate::run::report::ReportableError;

/// The retry mode and attempts: `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` when set, else adaptive
/// with 5 attempts.
fn retry_settings(env: &Env) -> Result<(RetryMode, u32), ConfigError> {
    let mode = match env.get("AWS_RETRY_MODE") {
        None | Some("adaptive") => RetryMode::Adaptive,
        Some("standard") | Some("legacy") => RetryMode::Standard,
        Some(other) => {
            return Err(ConfigError::invalid(
                "AWS_RETRY_MODE",
                other,
                "standard or adaptive",
            ));
        }
    };
    Ok((mode, env.number_or("AWS_MAX_ATTEMPTS", 5u32, 1..=20)?))
}

/// How many per-resource calls run at once: enough to hide latency, few enough to stay well
/// under SageMaker's and S3's per-account request rates.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Shared SDK configuration, loaded once at cold start.
///
/// The standard AWS variables work as the SDK defines them: credentials, `AWS_REGION`, and
/// `AWS_ENDPOINT_URL` (so the same binary talks to the local emulator or to AWS). Retries are
/// adaptive with 5 attempts unless `AWS_RETRY_MODE` or `AWS_MAX_ATTEMPTS` say otherwise.
/// Retries are configured here once, for every client.
#[derive(Debug, Clone)]
pub struct Aws {
    sdk: SdkConfig,
}

impl Aws {
    /// `RETRY_INITIAL_BACKOFF_MS` shortens the first retry delay (the SDK's default is 1 s);
    /// only worth changing against an emulator, e.g. in the fault-injection tests.
    pub async fn load(env: &Env) -> Result<Self, ConfigError> {
        // The SDK reads it too, and panics on an empty one.
        if env.is_blank("AWS_ENDPOINT_URL") {
            return Err(ConfigError::invalid(
                "AWS_ENDPOINT_URL",
                "",
                "a URL such as http://127.0.0.1:5000, or unset",
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                // Bounds a whole call, retries, back-offs and the adaptive mode's waits included.
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
        let backoff_ms = env.number_or("RETRY_INITIAL_BACKOFF_MS", 1000u64, 1..=20_000)?;
        let retry_overridden =
            env.get("AWS_RETRY_MODE").is_some() || env.get("AWS_MAX_ATTEMPTS").is_some();
        if !retry_overridden || backoff_ms != 1000 {
            let (mode, attempts) = retry_settings(env)?;
            let retry = match mode {
                RetryMode::Adaptive => RetryConfig::adaptive(),
                _ => RetryConfig::standard(),
            };
            loader = loader.retry_config(
                retry
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(backoff_ms)),
            );
        }
        Ok(Aws {
            sdk: loader.load().await,
        })
    }

    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        Aws { sdk }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn region(&self) -> Option<&str> {
        self.sdk.region().map(|r| r.as_ref())
    }

    /// Emulators serve buckets by path, not by virtual host, so S3 needs path-style addressing
    /// whenever the endpoint is overridden.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.sdk.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn sagemaker(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.sdk)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk)
    }

    pub fn tagging(&self) -> aws_sdk_resourcegroupstagging::Client {
        aws_sdk_resourcegroupstagging::Client::new(&self.sdk)
    }

    pub fn autoscaling(&self) -> aws_sdk_applicationautoscaling::Client {
        aws_sdk_applicationautoscaling::Client::new(&self.sdk)
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk)
    }

    pub fn securityhub(&self) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.sdk)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }
}

/// A failed AWS call, reduced to what callers and the report need.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    /// The service's error code (`NoSuchBucket`, `ThrottlingException`, ...), or the kind of
    /// transport failure when the request got no answer.
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "InternalServerError",
];

impl AwsError {
    /// Classifies any SDK error. Errors without a service code (timeouts, dropped connections,
    /// unparseable bodies) are retryable: nothing says the request was refused.
    pub fn from_sdk<E>(operation: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        let code = err.code().map(str::to_owned);
        let message = err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| error_chain(&err));
        let retryable = code.as_deref().is_none_or(|c| RETRYABLE_CODES.contains(&c));
        AwsError {
            operation,
            code: code.unwrap_or_else(|| "NoResponse".to_owned()),
            message,
            retryable,
        }
    }

    pub fn is_code(&self, code: &str) -> bool {
        self.code == code
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl ReportableError for AwsError {
    fn kind(&self) -> &'static str {
        "aws"
    }
    fn retryable(&self) -> bool {
        self.retryable
    }
}

/// Extension to turn `Result<T, SdkError<..>>` into `Result<T, AwsError>` at adapter edges.
pub trait AwsResultExt<T> {
    fn aws(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E> AwsResultExt<T> for Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    fn aws(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::from_sdk(operation, e))
    }
}

/// Runs `call` for every item with at most `limit` in flight, and returns the results in the
/// input order. Calls complete in any order, so one slow call never idles the other slots.
pub async fn map_bounded<T, R, F, Fut>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    mut call: F,
) -> Vec<R>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = R>,
{
    let mut indexed: Vec<(usize, R)> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let pending = call(item);
            async move { (i, pending.await) }
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn map_bounded_keeps_order_and_bound() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = map_bounded(0..20u64, 3, |i| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn retry_settings_follow_the_standard_variables() {
        assert!(matches!(
            retry_settings(&Env::default()),
            Ok((RetryMode::Adaptive, 5))
        ));
        let env = Env::from_pairs([("AWS_RETRY_MODE", "standard"), ("AWS_MAX_ATTEMPTS", "3")]);
        assert!(matches!(retry_settings(&env), Ok((RetryMode::Standard, 3))));
        let env = Env::from_pairs([("AWS_RETRY_MODE", "eager")]);
        assert!(matches!(
            retry_settings(&env),
            Err(ConfigError::Invalid {
                var: "AWS_RETRY_MODE",
                ..
            })
        ));
    }

    #[test]
    fn classifies_codes() {
        let throttled = aws_smithy_types::error::ErrorMetadata::builder()
            .code("ThrottlingException")
            .message("Rate exceeded")
            .build();
        let err = AwsError::from_sdk("ListEndpoints", throttled);
        assert!(err.retryable);
        assert_eq!(
            err.to_string(),
            "ListEndpoints failed: ThrottlingException: Rate exceeded"
        );

        let denied = aws_smithy_types::error::ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("no")
            .build();
        assert!(!AwsError::from_sdk("DeleteEndpoint", denied).retryable);
    }
}
