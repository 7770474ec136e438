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
use crate::run::budget::Budget;
use crate::run::report::{Pass, Report, Severity};
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

    pub async fn handle(&self, event: Value, budget: Budget) -> Report {
        handle::<F>(&self.clients, &self.config, &self.reporter, event, budget).await
    }
}

/// One event, start to finish, in the scope `clients` act in, within `budget`.
pub async fn handle<F: Function>(
    clients: &F::Clients,
    config: &F::Config,
    reporter: &Reporter,
    event: Value,
    budget: Budget,
) -> Report {
    let mut report = Report::new(F::NAME, config.common().dry_run, Utc::now());
    report.target = reporter.target().map(str::to_owned);
    report.budget = budget;
    match accept::<F::Trigger>(F::NAME, &event) {
        Ok((label, trigger)) => {
            report.trigger = label;
            F::run(clients, config, trigger, &mut report).await;
            note_cut_short(&mut report);
        }
        Err(err) => {
            report.trigger = "invalid".to_owned();
            report.error(None, &err);
        }
    }
    reporter.finish(report).await
}

/// Rule of the finding a run cut short by its deadline leaves when nothing continues it.
pub const SWEEP_INCOMPLETE_RULE: &str = "sweep-incomplete";

/// Says in the report whether the run stopped before its end. Cut short, the dispatcher
/// sends the rest on as a continuation where a fan-out queue exists; otherwise people should
/// know part of the account was not looked at. A scheduled run that got to the end is
/// evidence the sweep is complete, which resolves an earlier `sweep-incomplete` finding.
fn note_cut_short(report: &mut Report) {
    let scope = report
        .target
        .clone()
        .unwrap_or_else(|| "this account".to_owned());
    let Some(cursor) = report.continuation.clone() else {
        if report.trigger == "schedule" {
            report.passes.push(Pass {
                resource: scope,
                rule: SWEEP_INCOMPLETE_RULE.to_owned(),
            });
        }
        return;
    };
    report.add_metric(crate::run::metrics::RUNS_CUT_SHORT, 1.0);
    let resumes = cursor
        .after
        .as_deref()
        .unwrap_or("the start of its next pass");
    if report.budget.continuable {
        tracing::info!(
            pass = cursor.pass,
            after = resumes,
            "stopping near the deadline; a continuation takes the rest"
        );
        return;
    }
    let message = format!(
        "the run stopped starting resources near its Lambda deadline (or RUN_TIME_LIMIT_MS), after {resumes} (pass {}); what comes after it in {scope} was not handled. The next scheduled run starts over and skips what is already done (in a dry run, or where writes fail, it stops at the same place). Configure FANOUT_QUEUE_URL to continue at once, or raise the function's timeout",
        cursor.pass
    );
    report.finding(scope, SWEEP_INCOMPLETE_RULE, Severity::Medium, message);
}
