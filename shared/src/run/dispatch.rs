//! Where an event is handled. A single-account deployment handles every event in its own
//! account and region. With targets configured (see [`crate::aws::targets`]):
//! - a scheduled sweep fans out: one SQS message per target when `FANOUT_QUEUE_URL` is set,
//!   else every target in this invocation, `TARGET_CONCURRENCY` at a time;
//! - an SQS-triggered invocation handles each message's target and names the failed messages
//!   in `batchItemFailures`, so only those are retried;
//! - an event forwarded from a member account (EventBridge `account`, or an alarm action's
//!   `accountId`) is handled in that account, through its member role.
//!
//! Each target's run is the function's own handler with that target's clients, and ends in
//! its own report and SNS message (the summary is per target, not aggregated per sweep).

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::aws::sessions::{Scope, Sessions};
use crate::aws::targets::{Accounts, Target, TargetsConfig};
use crate::aws::{Aws, AwsError, map_bounded};
use crate::run::budget::{Budget, Cursor};
use crate::run::fanout::{self, BatchItemFailure, Delivery, TargetMessage};
use crate::run::function::SWEEP_INCOMPLETE_RULE;
use crate::run::report::{Outcome, Report, ReportableError, Severity};
use crate::run::reporter::Reporter;
use crate::{Trigger, aws::organizations};

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// This account and region, as a single-account deployment.
    Home,
    /// A scheduled sweep over every target.
    Sweep,
    /// SQS messages, each naming one target.
    Batch(Vec<Delivery>),
    /// An event from an account (and region) other than, or not known to be, this one.
    Forwarded(Target),
}

/// Decides the route from the event's shape alone.
pub fn route(event: &Value, config: &TargetsConfig, home_region: &str) -> Route {
    if config.is_home_only() {
        return Route::Home;
    }
    if let Some(deliveries) = fanout::deliveries(event) {
        return Route::Batch(deliveries);
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Route::Sweep;
    }
    let account = ["account", "accountId"]
        .iter()
        .find_map(|field| event.get(*field).and_then(Value::as_str));
    match account {
        Some(account) => {
            let region = event
                .get("region")
                .and_then(Value::as_str)
                .unwrap_or(home_region);
            Route::Forwarded(Target::new(account, region))
        }
        None => Route::Home,
    }
}

/// A scheduled sweep's message handled later than this (a retry, a backlog) decides as of
/// when it is handled: deciding as of its old time could undo what a newer sweep did (e.g.
/// park endpoints again that the morning's sweep just restored).
const LATE_AFTER_MINUTES: i64 = 5;

/// `event` as it should be handled at `now`: a late scheduled event gets `now` as its time.
pub fn as_of_delivery(mut event: Value, now: DateTime<Utc>) -> Value {
    let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    let sent = event
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    if let (true, Some(sent)) = (scheduled, sent)
        && now - sent.with_timezone(&Utc) > Duration::minutes(LATE_AFTER_MINUTES)
    {
        tracing::info!(sent = %sent, "late delivery: deciding as of now");
        event["time"] = Value::String(now.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    event
}

/// What an invocation answers: one run's report, or the runs of several targets.
#[derive(Debug, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per invocation, moved once: boxing the report would save nothing"
)]
pub enum Response {
    Run(Report),
    Targets(TargetRuns),
}

#[derive(Debug, Serialize)]
pub struct TargetRuns {
    pub function: String,
    pub dry_run: bool,
    /// For an SQS-triggered invocation: the messages to be delivered again.
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
    pub runs: Vec<Report>,
}

impl Response {
    /// Whether the invocation should end in a function error so that Lambda retries it. An
    /// SQS batch never does: its failed messages are named in `batchItemFailures` and
    /// redelivered alone.
    pub fn retry_may_help(&self) -> bool {
        match self {
            Response::Run(report) => report.retry_may_help(),
            Response::Targets(runs) => {
                runs.batch_item_failures.is_none() && runs.runs.iter().any(Report::retry_may_help)
            }
        }
    }

    /// The reports the response carries.
    pub fn reports(&self) -> &[Report] {
        match self {
            Response::Run(report) => std::slice::from_ref(report),
            Response::Targets(runs) => &runs.runs,
        }
    }

    pub fn failed(&self) -> bool {
        match self {
            Response::Run(report) => report.failed(),
            Response::Targets(runs) => {
                runs.runs.iter().any(Report::failed)
                    || runs
                        .batch_item_failures
                        .as_ref()
                        .is_some_and(|f| !f.is_empty())
            }
        }
    }
}

/// A target this deployment does not govern, or a message meant for another function.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(
        "{0} is not a target of this deployment (TARGET_ACCOUNTS, TARGET_REGIONS); nothing done"
    )]
    NotATarget(Target),
    #[error("the message is for {0}, not this function; nothing done")]
    OtherFunction(String),
    #[error("{0}")]
    BadMessage(String),
}

impl ReportableError for Refused {
    fn kind(&self) -> &'static str {
        match self {
            Refused::NotATarget(_) => "not-a-target",
            Refused::OtherFunction(_) => "wrong-function",
            Refused::BadMessage(_) => "invalid-event",
        }
    }
}

/// Runs a function's handler in the right account and region for each event.
pub struct Dispatcher<C, D, B, H> {
    function: &'static str,
    dry_run: bool,
    config: C,
    build: B,
    handle: H,
    /// The function's dependencies for its own account and region, built once.
    home: D,
    sessions: Sessions,
    /// For runs that never reach the function: an unreachable target, a refused message.
    reporter: Reporter,
    sqs: aws_sdk_sqs::Client,
    organizations: aws_sdk_organizations::Client,
    org_accounts: Mutex<Option<BTreeSet<String>>>,
    sweep_in_place: bool,
}

pub struct Parts<C> {
    pub function: &'static str,
    pub dry_run: bool,
    /// Never enqueue: `--dry-run` from a shell, where the queue's consumers would not be dry.
    pub sweep_in_place: bool,
    pub config: C,
    pub targets: TargetsConfig,
    pub hub: Aws,
    pub reporter: Reporter,
}

impl<C, D, B, H> Dispatcher<C, D, B, H>
where
    B: Fn(&Scope, &C) -> D,
    H: AsyncFn(&D, Value, Budget) -> Report,
{
    pub fn new(parts: Parts<C>, build: B, handle: H) -> Self {
        let home = build(&Scope::home(&parts.hub), &parts.config);
        Dispatcher {
            function: parts.function,
            dry_run: parts.dry_run,
            sqs: aws_sdk_sqs::Client::new(parts.hub.sdk_config()),
            organizations: aws_sdk_organizations::Client::new(parts.hub.sdk_config()),
            sessions: Sessions::new(parts.hub, parts.targets, parts.function),
            config: parts.config,
            build,
            handle,
            home,
            reporter: parts.reporter,
            org_accounts: Mutex::new(None),
            sweep_in_place: parts.sweep_in_place,
        }
    }

    /// Handles `event` within `budget`: a sweep cut short by it goes on in a continuation
    /// message when it came from the fan-out queue, and reports itself incomplete otherwise.
    pub async fn dispatch(&self, event: Value, budget: Budget) -> Response {
        let home_region = self.sessions.home_region();
        match route(&event, self.sessions.config(), &home_region) {
            Route::Home => Response::Run((self.handle)(&self.home, event, budget).await),
            Route::Forwarded(target) => {
                Response::Run(self.run_in(&target, event, true, budget).await)
            }
            Route::Batch(deliveries) => self.batch(deliveries, budget).await,
            Route::Sweep => self.sweep(event, budget).await,
        }
    }

    async fn sweep(&self, event: Value, budget: Budget) -> Response {
        let targets = match self.targets().await {
            Ok(targets) => targets,
            Err(err) => return Response::Run(self.refused(None, &event, &err).await),
        };
        let queue = self.sessions.config().fanout_queue_url.as_deref();
        if let (Some(queue), false) = (queue, self.sweep_in_place) {
            return Response::Run(self.enqueue(queue, &targets, &event).await);
        }
        // Called as each target's turn comes: past the stop time a target is not started,
        // since its gather alone could run the invocation past its deadline.
        let runs = map_bounded(targets, self.sessions.config().concurrency, |target| {
            let (event, budget) = (event.clone(), budget.clone());
            let expired = budget.expired();
            async move {
                if expired {
                    return self.not_reached(&target, &event).await;
                }
                self.run_in(&target, event, false, budget).await
            }
        })
        .await;
        self.runs(runs, None)
    }

    /// The report of a target an in-place sweep had no time left for.
    async fn not_reached(&self, target: &Target, event: &Value) -> Report {
        let mut report = self.report_for(Some(target), event);
        report.finding(
            target.to_string(),
            SWEEP_INCOMPLETE_RULE,
            Severity::Medium,
            "not swept: the invocation neared its deadline (or RUN_TIME_LIMIT_MS) before this target's turn; the next scheduled sweep starts over. Configure FANOUT_QUEUE_URL to sweep each target in its own invocation",
        );
        report.add_metric(crate::run::metrics::RUNS_CUT_SHORT, 1.0);
        self.reporter.finish(report).await
    }

    async fn batch(&self, deliveries: Vec<Delivery>, budget: Budget) -> Response {
        let outcomes = map_bounded(deliveries, self.sessions.config().concurrency, |delivery| {
            self.deliver(delivery, budget.clone())
        })
        .await;
        let failures = outcomes
            .iter()
            .filter(|(_, _, redeliver)| *redeliver)
            .map(|(id, _, _)| BatchItemFailure {
                item_identifier: id.clone(),
            })
            .collect();
        self.runs(
            outcomes.into_iter().map(|(_, r, _)| r).collect(),
            Some(failures),
        )
    }

    /// One message's run: its id, its report, and whether it should be delivered again.
    async fn deliver(&self, delivery: Delivery, budget: Budget) -> (String, Report, bool) {
        let report = match delivery.message {
            Err(reason) => {
                self.refused(None, &Value::Null, &Refused::BadMessage(reason))
                    .await
            }
            Ok(message) if message.function != self.function => {
                let err = Refused::OtherFunction(message.function.clone());
                self.refused(Some(&message.target), &message.event, &err)
                    .await
            }
            // Our own queue's messages name targets the sweep resolved: listing the
            // organisation again for each would only add Organizations calls.
            Ok(message) => {
                let event = as_of_delivery(message.event, Utc::now());
                let queue = self.sessions.config().fanout_queue_url.as_deref();
                let budget = budget.resuming(message.resume).continuable(queue.is_some());
                let mut report = self
                    .run_in(&message.target, event.clone(), false, budget)
                    .await;
                let redeliver = match (queue, report.continuation.clone()) {
                    (Some(queue), Some(cursor)) => {
                        let target = &message.target;
                        !self
                            .continue_with(queue, target, event, cursor, &mut report)
                            .await
                    }
                    _ => report.failed(),
                };
                return (delivery.message_id, report, redeliver);
            }
        };
        let redeliver = report.failed();
        (delivery.message_id, report, redeliver)
    }

    /// Hands the rest of a run cut short to a new message; true when it was sent. The part's
    /// own message is then done even if some of its writes failed (they are in its report, and
    /// the next sweep retries them): delivering it again would also send its continuation
    /// again, and every later part would run twice. A continuation that cannot be sent fails
    /// the message, which is delivered again and resumes where it said.
    async fn continue_with(
        &self,
        queue: &str,
        target: &Target,
        event: Value,
        cursor: Cursor,
        report: &mut Report,
    ) -> bool {
        let message = TargetMessage {
            function: self.function.to_owned(),
            target: target.clone(),
            event,
            resume: Some(cursor),
        };
        match fanout::send(&self.sqs, queue, &message).await {
            Ok(()) => {
                tracing::info!(target = %target, "continuation enqueued");
                true
            }
            Err(err) => {
                tracing::error!(target = %target, error = %err, "the continuation could not be enqueued");
                report.error(None, &err);
                false
            }
        }
    }

    /// The function's run in `target`, after checking the deployment governs it (`check`),
    /// except in an organisation, whose messages name targets the sweep just listed.
    async fn run_in(&self, target: &Target, event: Value, check: bool, budget: Budget) -> Report {
        let listed = matches!(self.sessions.config().accounts, Accounts::Listed(_));
        if check || listed {
            match self.admits(target).await {
                Ok(true) => {}
                Ok(false) => {
                    let err = Refused::NotATarget(target.clone());
                    return self.refused(Some(target), &event, &err).await;
                }
                Err(err) => return self.refused(Some(target), &event, &err).await,
            }
        }
        match self.sessions.scope(target).await {
            Ok(scope) => {
                let deps = (self.build)(&scope, &self.config);
                (self.handle)(&deps, event, budget).await
            }
            Err(err) => {
                // An account without the member role is something for people to fix.
                let mut report = self.report_for(Some(target), &event);
                report.finding(
                    err.role_arn.clone(),
                    "member-role-unavailable",
                    Severity::High,
                    err.to_string(),
                );
                report.error(None, &err);
                self.reporter.finish(report).await
            }
        }
    }

    async fn enqueue(&self, queue: &str, targets: &[Target], event: &Value) -> Report {
        let mut report = self.report_for(None, event);
        let results = fanout::enqueue(&self.sqs, queue, self.function, targets, event).await;
        let mut enqueued = 0;
        for (target, result) in results {
            match result {
                Ok(()) => {
                    enqueued += 1;
                    report.action(target.to_string(), "enqueue", Outcome::Done, None);
                }
                Err(err) => {
                    report.action(
                        target.to_string(),
                        "enqueue",
                        Outcome::Failed,
                        Some(err.to_string()),
                    );
                    report.error(Some(&target.to_string()), &err);
                }
            }
        }
        report.add_metric(crate::run::metrics::TARGETS_ENQUEUED, enqueued as f64);
        report.headline = Some(format!(
            "fanned out to {enqueued} of {} target(s); each reports on its own",
            targets.len()
        ));
        // The per-target runs notify; this one only logs, unless targets were left out.
        if report.failed() {
            self.reporter.finish(report).await
        } else {
            self.reporter.record(report)
        }
    }

    async fn refused(
        &self,
        target: Option<&Target>,
        event: &Value,
        err: &dyn ReportableError,
    ) -> Report {
        tracing::warn!(error = %err, "refused");
        let mut report = self.report_for(target, event);
        report.error(None, err);
        self.reporter.finish(report).await
    }

    fn report_for(&self, target: Option<&Target>, event: &Value) -> Report {
        let mut report = Report::new(self.function, self.dry_run, Utc::now());
        report.trigger = Trigger::parse(event)
            .map(|t| t.label())
            .unwrap_or_else(|_| "invalid".to_owned());
        report.target = target.map(ToString::to_string);
        report
    }

    fn runs(&self, runs: Vec<Report>, failures: Option<Vec<BatchItemFailure>>) -> Response {
        Response::Targets(TargetRuns {
            function: self.function.to_owned(),
            dry_run: self.dry_run,
            batch_item_failures: failures,
            runs,
        })
    }

    /// Every configured (account, region).
    async fn targets(&self) -> Result<Vec<Target>, AwsError> {
        let accounts = self.accounts().await?;
        Ok(self
            .sessions
            .config()
            .expand(&accounts, &self.sessions.home_region()))
    }

    async fn admits(&self, target: &Target) -> Result<bool, AwsError> {
        let accounts = self.accounts().await?;
        Ok(self
            .sessions
            .config()
            .admits(target, &accounts, &self.sessions.home_region()))
    }

    /// The target accounts; an organisation's are listed once per cold start.
    async fn accounts(&self) -> Result<BTreeSet<String>, AwsError> {
        match &self.sessions.config().accounts {
            Accounts::Home => Ok(BTreeSet::from([self.sessions.home_account().await?])),
            Accounts::Listed(accounts) => Ok(accounts.clone()),
            Accounts::Organization { parents } => {
                if let Some(cached) = self.org_accounts.lock().unwrap().clone() {
                    return Ok(cached);
                }
                let accounts = organizations::active_accounts(&self.organizations, parents).await?;
                *self.org_accounts.lock().unwrap() = Some(accounts.clone());
                Ok(accounts)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use serde_json::json;

    fn targets(pairs: &[(&str, &str)]) -> TargetsConfig {
        TargetsConfig::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn scheduled() -> Value {
        json!({"detail-type": "Scheduled Event", "source": "aws.events", "account": "111111111111",
               "region": "us-east-1", "time": "2026-11-23T20:00:00Z"})
    }

    #[test]
    fn a_single_account_deployment_handles_everything_at_home() {
        let home = targets(&[]);
        assert_eq!(route(&scheduled(), &home, "us-east-1"), Route::Home);
        let forwarded =
            json!({"detail-type": "AWS API Call via CloudTrail", "account": "222222222222"});
        assert_eq!(route(&forwarded, &home, "us-east-1"), Route::Home);
    }

    #[test]
    fn with_targets_a_schedule_sweeps_and_other_events_go_to_their_account() {
        let org = targets(&[("TARGET_ACCOUNTS", "111111111111,222222222222")]);
        assert_eq!(route(&scheduled(), &org, "us-east-1"), Route::Sweep);
        let call = json!({"detail-type": "AWS API Call via CloudTrail", "account": "222222222222",
                          "region": "eu-west-1"});
        assert_eq!(
            route(&call, &org, "us-east-1"),
            Route::Forwarded(Target::new("222222222222", "eu-west-1"))
        );
        let alarm_action = json!({"source": "aws.cloudwatch", "accountId": "222222222222",
                                  "alarmData": {}});
        assert_eq!(
            route(&alarm_action, &org, "us-east-1"),
            Route::Forwarded(Target::new("222222222222", "us-east-1"))
        );
        let sns = json!({"Records": [{"EventSource": "aws:sns"}]});
        assert_eq!(route(&sns, &org, "us-east-1"), Route::Home);
    }

    #[test]
    fn sqs_batches_are_recognised() {
        let org = targets(&[("TARGET_REGIONS", "eu-west-1,us-east-1")]);
        let batch =
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}"}]});
        assert!(matches!(route(&batch, &org, "us-east-1"), Route::Batch(d) if d.len() == 1));
    }

    #[test]
    fn a_batch_fails_when_any_message_failed() {
        let mut failed = Report::new("f", false, Utc::now());
        failed.error(None, &Refused::BadMessage("x".into()));
        let runs = |failures: Vec<BatchItemFailure>, runs| {
            Response::Targets(TargetRuns {
                function: "f".into(),
                dry_run: false,
                batch_item_failures: Some(failures),
                runs,
            })
        };
        assert!(!runs(vec![], vec![Report::new("f", false, Utc::now())]).failed());
        let response = runs(
            vec![BatchItemFailure {
                item_identifier: "m-1".into(),
            }],
            vec![failed],
        );
        assert!(response.failed());
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(
            json["batchItemFailures"],
            json!([{"itemIdentifier": "m-1"}])
        );
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn a_late_scheduled_message_decides_as_of_its_delivery() {
        let event = json!({"detail-type": "Scheduled Event", "time": "2026-11-23T06:50:00Z"});
        let prompt = Utc.with_ymd_and_hms(2026, 11, 23, 6, 53, 0).unwrap();
        assert_eq!(as_of_delivery(event.clone(), prompt), event);
        let retried = Utc.with_ymd_and_hms(2026, 11, 23, 7, 20, 0).unwrap();
        assert_eq!(
            as_of_delivery(event, retried)["time"],
            "2026-11-23T07:20:00Z"
        );
        let call =
            json!({"detail-type": "AWS API Call via CloudTrail", "time": "2026-11-23T06:50:00Z"});
        assert_eq!(as_of_delivery(call.clone(), retried), call, "only sweeps");
    }
}
