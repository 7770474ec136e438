//! What a function supplies to the core, and the frame of every run around it.
//!
//! A function is its name, the triggers it accepts, its typed `Config`, its `Clients` (SDK
//! clients and state store for one account and region: built once for its own account, again
//! for every other target) and one `run`. The core parses the trigger (a bad or unaccepted
//! one is a typed error in the report, with no AWS call), picks the account and region
//! (`dispatch`), runs the function, then reports: log line, EMF metrics, one SNS message.

use std::future::Future;

use chrono::Utc;
use serde_json::Value;

use crate::aws::sessions::Scope;
use crate::config::{CommonConfig, ConfigError, Env};
use crate::events::{Accepted, accept};
use crate::run::report::Report;
use crate::run::reporter::Reporter;

/// A function's settings, read once at start from environment variables: an invalid value
/// stops the start, naming the variable.
pub trait Settings: Clone + Send + Sync + Sized {
    fn from_env(env: &Env, dry_run_flag: bool) -> Result<Self, ConfigError>;
    /// The settings every function has (dry run, notification topic, KMS key).
    fn common(&self) -> &CommonConfig;
}

/// A function's SDK clients and state store for one account and region.
pub trait ClientsFor<C>: Send + Sync {
    fn new(scope: &Scope, config: &C) -> Self;
}

pub trait Function: 'static {
    /// The function's name in reports, logs, metrics and fan-out messages.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    type Trigger: Accepted;
    type Config: Settings;
    type Clients: ClientsFor<Self::Config>;

    fn run(
        clients: &Self::Clients,
        config: &Self::Config,
        trigger: Self::Trigger,
        report: &mut Report,
    ) -> impl Future<Output = ()>;
}

/// A function's clients for one scope, with the reporter that scope's runs finish with.
pub struct Bound<F: Function> {
    pub clients: F::Clients,
    pub config: F::Config,
    pub reporter: Reporter,
}

impl<F: Function> Bound<F> {
    pub fn new(scope: &Scope, config: &F::Config) -> Self {
        Bound {
            clients: F::Clients::new(scope, config),
            config: config.clone(),
            reporter: Reporter::new(scope, config.common()),
        }
    }

    pub async fn handle(&self, event: Value) -> Report {
        handle::<F>(&self.clients, &self.config, &self.reporter, event).await
    }
}

/// One event, start to finish, in the scope `clients` act in.
pub async fn handle<F: Function>(
    clients: &F::Clients,
    config: &F::Config,
    reporter: &Reporter,
    event: Value,
) -> Report {
    let mut report = Report::new(F::NAME, config.common().dry_run, Utc::now());
    report.target = reporter.target().map(str::to_owned);
    match accept::<F::Trigger>(F::NAME, &event) {
        Ok((label, trigger)) => {
            report.trigger = label;
            F::run(clients, config, trigger, &mut report).await;
        }
        Err(err) => {
            report.trigger = "invalid".to_owned();
            report.error(None, &err);
        }
    }
    reporter.finish(report).await
}
