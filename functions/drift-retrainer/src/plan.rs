//! The decision, as a pure function of the alarm, what was gathered about its target, and the
//! policy: start one retrain, or say why not. Time is the alarm's state-change time, never the
//! clock, so a late or repeated delivery decides as the first one would have. The plan is the
//! decision as the report tells it (findings, skip, metrics, headline) with its one write; the
//! headline of a start, known only once it was tried, comes from `RetrainWrite::headline`.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use sagekeeper_core::Severity;
use sagekeeper_core::events::{AlarmChange, AlarmState};
use sagekeeper_core::run::metrics;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::sagemaker::pipelines::{Pipeline, StartExecution};
use sagekeeper_core::sagemaker::training::{DescribedTrainingJob, TrainingJobDefinition};

use crate::clone::{self, CloneRefusal, CloneSettings, JobClone};
use crate::key::RetrainKey;
use crate::target::{JOB_TAG, PIPELINE_TAG, Resolved, Source};
use crate::trust::{self, TrustedAlarms};
use crate::violations::Why;

/// Tags on every copied job: which transition it was started for, and from which job.
pub const RETRAIN_KEY_TAG: &str = "sagekeeper:retrain-key";
pub const RETRAINED_FROM_TAG: &str = "sagekeeper:retrained-from";

/// How far back a run looks for earlier retrains: the longest cooldown allowed
/// (RETRAIN_COOLDOWN_HOURS ≤ 720) and longer than any training job may run (28 days), so a
/// retrain still running is always seen.
pub fn history_start(changed_at: DateTime<Utc>) -> DateTime<Utc> {
    changed_at - Duration::days(30)
}

/// An earlier retrain of the same target: a pipeline execution or a cloned training job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastRun {
    pub arn: String,
    /// The execution's display name, or the job's name.
    pub name: String,
    pub description: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub running: bool,
    /// The `sagekeeper:retrain-key` tag of a copied job (executions carry theirs in the
    /// display name and description).
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TargetState {
    NotNamed,
    Invalid {
        source: Source,
        message: String,
    },
    /// The named pipeline or training job does not exist.
    Missing(Resolved),
    Pipeline {
        pipeline: Pipeline,
        history: Vec<PastRun>,
    },
    Job {
        source: Box<DescribedTrainingJob>,
        history: Vec<PastRun>,
    },
}

/// Everything the decision needs, gathered by gather.rs.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    pub endpoint: Option<String>,
    pub schedule: Option<String>,
    pub target: TargetState,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetrainPolicy {
    pub cooldown: Duration,
    pub daily_cap: u32,
    pub clone: CloneSettings,
    /// Alarms that may start a retrain whatever metrics they watch (RETRAIN_ALARMS).
    pub trusted_alarms: TrustedAlarms,
}

impl Situation {
    /// The name of the per-target lock a start is made under: one per pipeline, one per
    /// copied job, whichever alarm names it.
    pub fn lock_name(&self) -> Option<String> {
        match &self.target {
            TargetState::Pipeline { pipeline, .. } => {
                Some(format!("retrain/pipeline/{}", pipeline.name))
            }
            TargetState::Job { source, .. } => {
                Some(format!("retrain/training-job/{}", source.definition.name))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Suppression {
    /// This transition's retrain exists: a retried or repeated delivery.
    Duplicate { run: String },
    StillRunning {
        run: String,
        since: Option<DateTime<Utc>>,
    },
    Cooldown {
        last: String,
        started_at: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    DailyCap {
        day: NaiveDate,
        started: usize,
        cap: u32,
    },
}

impl Suppression {
    /// A duplicate delivery is routine (retries, two delivery paths): it is recorded, not
    /// notified. The others mean drift that goes untreated for now, which people should know.
    pub fn severity(&self) -> Severity {
        match self {
            Suppression::Duplicate { .. } => Severity::Info,
            _ => Severity::Low,
        }
    }
}

impl fmt::Display for Suppression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suppression::Duplicate { run } => write!(
                f,
                "duplicate delivery: {run} was already started for this alarm transition"
            ),
            Suppression::StillRunning { run, since } => {
                write!(f, "still running: {run}")?;
                if let Some(since) = since {
                    write!(f, " (started {})", stamp(*since))?;
                }
                f.write_str(" has not finished")
            }
            Suppression::Cooldown {
                last,
                started_at,
                until,
            } => write!(
                f,
                "cooldown: {last} started {}, the next retrain may start from {}",
                stamp(*started_at),
                stamp(*until)
            ),
            Suppression::DailyCap { day, started, cap } => write!(
                f,
                "daily cap: {started} retrain(s) of this target started on {day} (UTC), at most {cap} per day"
            ),
        }
    }
}

/// What to do about one alarm transition, before anything is said about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    NoTarget {
        rule: &'static str,
        message: String,
    },
    Refuse {
        resource: String,
        rule: &'static str,
        severity: Severity,
        message: String,
    },
    Suppress {
        resource: String,
        reason: Suppression,
    },
    StartPipeline {
        resource: String,
        start: StartExecution,
    },
    StartJob {
        resource: String,
        clone: Box<JobClone>,
    },
}

/// The one write a run may make: the start of a retrain, with what the headline calls it.
#[derive(Debug, Clone, PartialEq)]
pub enum RetrainWrite {
    StartPipeline(Retrain<StartExecution>),
    CreateTrainingJob(Retrain<Box<TrainingJobDefinition>>),
}

/// A start, and what the headline says about it whatever becomes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrain<S> {
    pub start: S,
    /// The endpoint, or the alarm when the alarm names no endpoint.
    pub subject: String,
    /// Why, in a few words: "drift in 6 features: a, b and 4 more".
    pub why: String,
}

/// What became of a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Started: the execution's or the job's ARN.
    New(String),
    /// A job of the copy's name exists: another delivery of the transition got there first.
    Existing,
    /// A dry run: nothing was started.
    Planned,
    /// The start failed; its error is in the report.
    Failed,
}

/// The skipped action's detail when a job of the copy's name already exists.
pub const JOB_EXISTS: &str =
    "duplicate delivery: a job of this name was started for this alarm transition";

impl RetrainWrite {
    /// The action's id in the report.
    pub fn action(&self) -> &'static str {
        match self {
            RetrainWrite::StartPipeline(_) => "start-pipeline-execution",
            RetrainWrite::CreateTrainingJob(_) => "create-training-job",
        }
    }

    /// The headline once the start's outcome is known.
    pub fn headline(&self, started: &Started) -> String {
        let (subject, why, what) = match self {
            RetrainWrite::StartPipeline(r) => {
                (&r.subject, &r.why, format!("pipeline {}", r.start.pipeline))
            }
            RetrainWrite::CreateTrainingJob(r) => (
                &r.subject,
                &r.why,
                format!("spot training job {}", r.start.name),
            ),
        };
        match (started, self) {
            (Started::New(arn), RetrainWrite::StartPipeline(_)) => {
                format!("retrain started for {subject}: {what} execution {arn} ({why})")
            }
            (Started::New(arn), RetrainWrite::CreateTrainingJob(_)) => {
                format!("retrain started for {subject}: {what} ({arn}) ({why})")
            }
            (Started::Existing, _) => {
                format!("retrain of {subject} suppressed: {what} already exists")
            }
            (Started::Planned, _) => format!("retrain would start for {subject}: {what} ({why})"),
            (Started::Failed, _) => format!("retrain of {subject} failed to start: {what}"),
        }
    }
}

impl Started {
    /// From what the report handed back for the write: its ARN, its skip (the name was taken),
    /// or nothing (a dry run, or a failure whose error is in the report).
    pub fn of(performed: Option<Result<String, String>>, dry_run: bool) -> Started {
        match performed {
            Some(Ok(arn)) => Started::New(arn),
            Some(Err(_)) => Started::Existing,
            None if dry_run => Started::Planned,
            None => Started::Failed,
        }
    }

    /// The metric the outcome adds one to; the plan has put both at zero.
    pub fn counted_in(&self) -> Option<&'static str> {
        match self {
            Started::New(_) => Some(STARTED),
            Started::Existing => Some(SUPPRESSED),
            Started::Planned | Started::Failed => None,
        }
    }
}

const STARTED: &str = metrics::RETRAINS_STARTED;
const SUPPRESSED: &str = metrics::RETRAINS_SUPPRESSED;

/// Whether the plan starts a retrain (outside a dry run): only then is the target's lock taken.
pub fn starts(plan: &Plan<RetrainWrite>) -> bool {
    !plan.writes.is_empty()
}

/// For the log: what was decided, without the job definition (its environment variables may
/// hold values that do not belong in logs).
pub fn summary(plan: &Plan<RetrainWrite>) -> String {
    if let Some((resource, write)) = plan.writes.first() {
        return match write {
            RetrainWrite::StartPipeline(_) => format!("start an execution of {resource}"),
            RetrainWrite::CreateTrainingJob(_) => format!("create {resource}"),
        };
    }
    if let Some(skip) = plan.skips.first() {
        return format!("suppress {}: {}", skip.resource, skip.reason);
    }
    let rules: Vec<&str> = plan.findings.iter().map(|f| f.rule.as_str()).collect();
    format!("start nothing ({})", rules.join(", "))
}

/// The plan for an alarm transition: the decision, with the findings, skip, metrics and
/// headline that say what it is and why.
pub fn plan(
    alarm: &AlarmChange,
    situation: &Situation,
    key: &RetrainKey,
    policy: &RetrainPolicy,
) -> Plan<RetrainWrite> {
    told(alarm, situation, decide(alarm, situation, key, policy))
}

/// Without a state bucket there is no lock, and two alarms at once could start two retrains:
/// nothing starts, and the report says what to set.
pub fn unlocked(alarm: &AlarmChange, situation: &Situation) -> Plan<RetrainWrite> {
    let refusal = Decision::Refuse {
        resource: alarm_resource(alarm),
        rule: "retrain-lock-unavailable",
        severity: Severity::High,
        message: format!(
            "drift on {}, but STATE_BUCKET is not set: without the per-target retrain lock two \
             alarms at once could start two retrains, so nothing was started",
            situation.endpoint.as_deref().unwrap_or(&alarm.alarm_name)
        ),
    };
    told(alarm, situation, refusal)
}

/// What the report says about a decision, and the write it makes.
fn told(alarm: &AlarmChange, situation: &Situation, decision: Decision) -> Plan<RetrainWrite> {
    let alarm_resource = alarm_resource(alarm);
    let subject = situation
        .endpoint
        .clone()
        .unwrap_or_else(|| alarm.alarm_name.clone());
    let why = &situation.why;
    let drift = format!("drift on {subject}: {}", why.detail());
    let mut plan = Plan::new();
    let mut suppressed = 0.0;
    match decision {
        Decision::NoTarget { rule, message } => {
            plan.finding(&alarm_resource, rule, Severity::Medium, message);
            plan.headline = Some(format!("drift on {subject}: nothing to retrain"));
        }
        Decision::Refuse {
            resource,
            rule,
            severity,
            message,
        } => {
            plan.finding(resource, rule, severity, message);
            plan.headline = Some(format!("drift on {subject}: retrain refused ({rule})"));
        }
        Decision::Suppress { resource, reason } => {
            suppressed = 1.0;
            plan.skip(resource, "start-retrain", reason.to_string());
            plan.finding(
                &alarm_resource,
                "retrain-suppressed",
                reason.severity(),
                format!(
                    "drift on {subject}, retrain suppressed: {reason}. {}",
                    why.detail()
                ),
            );
            plan.headline = Some(format!("retrain of {subject} suppressed: {reason}"));
        }
        Decision::StartPipeline { resource, start } => {
            plan.finding(&alarm_resource, "drift", Severity::Info, drift);
            let why = why.short();
            let write = Retrain {
                start,
                subject,
                why,
            };
            plan.write(resource, RetrainWrite::StartPipeline(write));
        }
        Decision::StartJob { resource, clone } => {
            plan.finding(&alarm_resource, "drift", Severity::Info, drift);
            let JobClone { definition, notes } = *clone;
            for note in notes {
                plan.finding(&resource, "retrain-copy-differs", Severity::Low, note);
            }
            let write = Retrain {
                start: Box::new(definition),
                subject,
                why: why.short(),
            };
            plan.write(resource, RetrainWrite::CreateTrainingJob(write));
        }
    }
    plan.add_metric(STARTED, 0.0);
    plan.add_metric(SUPPRESSED, suppressed);
    plan
}

/// Only a transition into ALARM can start a retrain; for any other, the reason to ignore it.
pub fn ignored(alarm: &AlarmChange) -> Option<String> {
    (alarm.state != AlarmState::Alarm).then(|| {
        format!(
            "alarm is {}: only a change into ALARM starts a retrain",
            alarm.state
        )
    })
}

/// Pipeline parameters this function can fill; an execution gets those its pipeline declares.
pub const PARAMETERS: [&str; 7] = [
    "TriggerReason",
    "AlarmName",
    "EndpointName",
    "MonitoringScheduleName",
    "ViolationReportUri",
    "ViolatedFeatures",
    "RetrainKey",
];

/// The decision, as a pure function of the alarm, its target's state and the policy.
pub fn decide(
    alarm: &AlarmChange,
    situation: &Situation,
    key: &RetrainKey,
    policy: &RetrainPolicy,
) -> Decision {
    let alarm_resource = alarm_resource(alarm);
    // An alarm that names nothing to retrain is reported as such whatever it watches.
    if !matches!(situation.target, TargetState::NotNamed)
        && let Err(reason) = trust::check(alarm, &policy.trusted_alarms)
    {
        return Decision::Refuse {
            resource: alarm_resource,
            rule: "alarm-not-monitoring",
            severity: Severity::Medium,
            message: format!(
                "alarm {} may not start a retrain: {reason}. Only alarms over Model Monitor or \
                 Clarify metrics, or listed in RETRAIN_ALARMS, do; nothing was started",
                alarm.alarm_name
            ),
        };
    }
    match &situation.target {
        TargetState::NotNamed => Decision::NoTarget {
            rule: match situation.endpoint {
                Some(_) => "no-retrain-target",
                None => "drift-alarm-without-endpoint",
            },
            message: no_target_message(situation.endpoint.as_deref()),
        },
        TargetState::Invalid { source, message } => Decision::Refuse {
            resource: alarm_resource,
            rule: "retrain-target-invalid",
            severity: Severity::Medium,
            message: format!("{source} name no usable retrain target: {message}"),
        },
        TargetState::Missing(resolved) => Decision::Refuse {
            resource: alarm_resource,
            rule: "retrain-target-not-found",
            severity: Severity::High,
            message: format!(
                "{} (named by {}) does not exist, so drift on {} is not retrained",
                resolved.target,
                resolved.source,
                situation.endpoint.as_deref().unwrap_or("the model")
            ),
        },
        TargetState::Pipeline { pipeline, history } => {
            let carries_key = |run: &PastRun| {
                run.name == key.display_name()
                    || run
                        .description
                        .as_deref()
                        .is_some_and(|d| d.contains(&key.marker()))
            };
            match suppression(alarm.changed_at, history, carries_key, policy) {
                Some(reason) => Decision::Suppress {
                    resource: pipeline.arn.clone(),
                    reason,
                },
                None => Decision::StartPipeline {
                    resource: pipeline.arn.clone(),
                    start: pipeline_start(alarm, situation, pipeline, key),
                },
            }
        }
        TargetState::Job { source, history } => {
            let name = key.job_name(&source.definition.name);
            // The history holds only copies tagged as retrains of this job (gather.rs); the
            // key tag says which transition each was for.
            let carries_key = |run: &PastRun| run.key.as_deref() == Some(key.as_str());
            if let Some(reason) = suppression(alarm.changed_at, history, carries_key, policy) {
                return Decision::Suppress {
                    resource: source.arn.clone(),
                    reason,
                };
            }
            let tags = [
                (RETRAIN_KEY_TAG, key.as_str()),
                (RETRAINED_FROM_TAG, source.definition.name.as_str()),
                (
                    "sagekeeper:trigger-alarm",
                    truncated(&alarm.alarm_name, 256),
                ),
            ];
            match clone::retrain_clone(source, &name, &tags, &policy.clone) {
                Ok(clone) => Decision::StartJob {
                    resource: sibling_arn(&source.arn, &name),
                    clone: Box::new(clone),
                },
                Err(refusal) => {
                    // Another role is what least privilege is about: high. A job a copy
                    // cannot reproduce needs a pipeline instead: medium.
                    let (rule, severity) = match refusal {
                        CloneRefusal::RoleNotAllowed { .. } => {
                            ("retrain-role-not-allowed", Severity::High)
                        }
                        _ => ("retrain-clone-unsupported", Severity::Medium),
                    };
                    Decision::Refuse {
                        resource: source.arn.clone(),
                        rule,
                        severity,
                        message: format!("{refusal}; nothing was started"),
                    }
                }
            }
        }
    }
}

/// The first reason not to start, checked in this order: the transition's own retrain exists;
/// one is running; the last one is too recent; the day's cap is reached.
fn suppression(
    changed_at: DateTime<Utc>,
    history: &[PastRun],
    carries_key: impl Fn(&PastRun) -> bool,
    policy: &RetrainPolicy,
) -> Option<Suppression> {
    if let Some(run) = history.iter().find(|r| carries_key(r)) {
        return Some(Suppression::Duplicate {
            run: run.arn.clone(),
        });
    }
    if let Some(run) = history.iter().find(|r| r.running) {
        return Some(Suppression::StillRunning {
            run: run.arn.clone(),
            since: run.started_at,
        });
    }
    let last = history
        .iter()
        .filter_map(|r| Some((r, r.started_at?)))
        .max_by_key(|(_, started_at)| *started_at);
    if let Some((run, started_at)) = last
        && policy.cooldown > Duration::zero()
        && changed_at < started_at + policy.cooldown
    {
        return Some(Suppression::Cooldown {
            last: run.arn.clone(),
            started_at,
            until: started_at + policy.cooldown,
        });
    }
    let day = changed_at.date_naive();
    let started = history
        .iter()
        .filter(|r| r.started_at.is_some_and(|t| t.date_naive() == day))
        .count();
    (started >= policy.daily_cap as usize).then_some(Suppression::DailyCap {
        day,
        started,
        cap: policy.daily_cap,
    })
}

fn pipeline_start(
    alarm: &AlarmChange,
    situation: &Situation,
    pipeline: &Pipeline,
    key: &RetrainKey,
) -> StartExecution {
    let why = &situation.why;
    let reason = format!(
        "drift alarm {} went into ALARM at {}: {}",
        alarm.alarm_name,
        stamp(alarm.changed_at),
        why.short()
    );
    let available = [
        Some(reason),
        Some(alarm.alarm_name.clone()),
        situation.endpoint.clone(),
        situation.schedule.clone(),
        why.report_uri().map(str::to_owned),
        why.features_csv(),
        Some(key.as_str().to_owned()),
    ];
    let parameters = PARAMETERS
        .iter()
        .zip(available)
        .filter(|(name, _)| pipeline.parameters.iter().any(|p| p == *name))
        .filter_map(|(name, value)| Some(((*name).to_owned(), truncated(&value?, 1000).to_owned())))
        .collect();
    let description = format!(
        "{} Drift alarm {} went into ALARM at {} for endpoint {} ({}). {}",
        key.marker(),
        alarm.alarm_name,
        stamp(alarm.changed_at),
        situation.endpoint.as_deref().unwrap_or("?"),
        alarm.reason,
        why.detail()
    );
    StartExecution {
        pipeline: pipeline.name.clone(),
        display_name: key.display_name(),
        description: truncated(&description, 3072).to_owned(),
        client_request_token: key.as_str().to_owned(),
        parameters,
    }
}

fn no_target_message(endpoint: Option<&str>) -> String {
    let tags = format!("{PIPELINE_TAG}=<pipeline name> or {JOB_TAG}=<training job name>");
    match endpoint {
        Some(endpoint) => format!(
            "drift on endpoint {endpoint}, but nothing names what to retrain: tag the endpoint \
             or the alarm with {tags}, or map the endpoint in RETRAIN_TARGETS"
        ),
        None => format!(
            "the alarm's metrics have no Endpoint dimension and its tags name nothing to \
             retrain: tag the alarm with {tags}"
        ),
    }
}

/// The alarm's ARN, or its name when the delivery carried no ARN.
pub fn alarm_resource(alarm: &AlarmChange) -> String {
    alarm
        .alarm_arn
        .clone()
        .unwrap_or_else(|| alarm.alarm_name.clone())
}

/// `arn:…:training-job/source` → `arn:…:training-job/name`.
fn sibling_arn(arn: &str, name: &str) -> String {
    match arn.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => name.to_owned(),
    }
}

/// At most `max` characters, cut at a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(cut, _)| &text[..cut])
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clone::CloneSettings;
    use crate::target::RetrainTarget;
    use crate::violations::{ViolationReport, summarize};
    use sagekeeper_core::Trigger;
    use sagekeeper_core::sagemaker::training::{Output, TrainingJobDefinition};

    const PIPELINE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-retrain";

    fn alarm(file: &str) -> AlarmChange {
        let event = match file {
            "ok" => include_str!("../../../events/alarm-eventbridge-ok.json"),
            _ => include_str!("../../../events/alarm-eventbridge.json"),
        };
        match Trigger::parse(&serde_json::from_str(event).unwrap()).unwrap() {
            Trigger::Alarm(alarm) => *alarm,
            other => panic!("{other:?}"),
        }
    }

    fn policy() -> RetrainPolicy {
        RetrainPolicy {
            cooldown: Duration::hours(24),
            daily_cap: 3,
            clone: CloneSettings::default(),
            trusted_alarms: TrustedAlarms::default(),
        }
    }

    fn why() -> Why {
        let report: ViolationReport = serde_json::from_str(include_str!(
            "../../../tests/fixtures/constraint_violations.json"
        ))
        .unwrap();
        Why::Report {
            uri: "s3://reports/fraud/constraint_violations.json".into(),
            summary: summarize(&report, 3),
        }
    }

    fn pipeline_situation(declared: &[&str], history: Vec<PastRun>) -> Situation {
        Situation {
            endpoint: Some("fraud-detector-dev".into()),
            schedule: Some("fraud-detector-dev-data-quality".into()),
            target: TargetState::Pipeline {
                pipeline: Pipeline {
                    name: "fraud-retrain".into(),
                    arn: PIPELINE_ARN.into(),
                    parameters: declared.iter().map(|p| p.to_string()).collect(),
                },
                history,
            },
            why: why(),
        }
    }

    /// A finished run that started `hours` before the sample alarm (18:04:12Z).
    fn run_before(id: &str, hours: f64) -> PastRun {
        PastRun {
            arn: format!("{PIPELINE_ARN}/execution/{id}"),
            name: id.into(),
            description: None,
            started_at: Some(
                alarm("alarm").changed_at - Duration::seconds((hours * 3600.0) as i64),
            ),
            running: false,
            key: None,
        }
    }

    fn decide(situation: &Situation, policy: &RetrainPolicy) -> Decision {
        let alarm = alarm("alarm");
        super::decide(&alarm, situation, &RetrainKey::of(&alarm), policy)
    }

    fn starts_one(decision: Decision) -> bool {
        matches!(
            decision,
            Decision::StartPipeline { .. } | Decision::StartJob { .. }
        )
    }

    fn suppressed(decision: Decision) -> Suppression {
        match decision {
            Decision::Suppress { reason, .. } => reason,
            other => panic!("expected a suppression, got {other:?}"),
        }
    }

    #[test]
    fn only_transitions_into_alarm_are_considered() {
        assert_eq!(ignored(&alarm("alarm")), None);
        assert_eq!(
            ignored(&alarm("ok")).as_deref(),
            Some("alarm is OK: only a change into ALARM starts a retrain")
        );
        let mut insufficient = alarm("alarm");
        insufficient.state = AlarmState::InsufficientData;
        assert!(
            ignored(&insufficient)
                .unwrap()
                .contains("INSUFFICIENT_DATA")
        );
    }

    #[test]
    fn starts_a_pipeline_with_only_the_parameters_it_declares() {
        let situation = pipeline_situation(
            &[
                "TriggerReason",
                "ViolatedFeatures",
                "InstanceType",
                "EndpointName",
            ],
            vec![run_before("yesterday", 30.0)],
        );
        let Decision::StartPipeline { resource, start } = decide(&situation, &policy()) else {
            panic!("expected a start")
        };
        let key = RetrainKey::of(&alarm("alarm"));
        assert_eq!(resource, PIPELINE_ARN);
        assert_eq!(start.pipeline, "fraud-retrain");
        assert_eq!(start.client_request_token, key.as_str());
        assert_eq!(start.display_name, key.display_name());
        assert!(start.description.starts_with(&key.marker()));
        assert!(start.description.contains("merchant_category"));
        let names: Vec<&str> = start.parameters.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["TriggerReason", "EndpointName", "ViolatedFeatures"]);
        assert_eq!(
            start.parameters[0].1,
            "drift alarm sagekeeper-drift-fraud-detector-dev went into ALARM at 2026-11-20T18:04:12.345Z: violations in 6 features: merchant_category, total_amount, card_age_days and 3 more"
        );
        assert_eq!(start.parameters[1].1, "fraud-detector-dev");
        assert_eq!(
            start.parameters[2].1,
            "merchant_category,total_amount,card_age_days"
        );
    }

    #[test]
    fn parameters_without_a_value_are_left_to_their_defaults() {
        let mut situation = pipeline_situation(&PARAMETERS, vec![]);
        situation.why = Why::Unavailable("no report".into());
        situation.schedule = None;
        let Decision::StartPipeline { start, .. } = decide(&situation, &policy()) else {
            panic!("expected a start")
        };
        let names: Vec<&str> = start.parameters.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["TriggerReason", "AlarmName", "EndpointName", "RetrainKey"]
        );
        assert!(
            start.parameters[0]
                .1
                .ends_with("violation report unavailable")
        );
    }

    #[test]
    fn a_duplicate_delivery_finds_its_own_retrain_first() {
        let key = RetrainKey::of(&alarm("alarm"));
        let by_display_name = PastRun {
            name: key.display_name(),
            running: true,
            ..run_before("mine", -0.01)
        };
        let by_description = PastRun {
            description: Some(format!("{} whatever", key.marker())),
            ..run_before("renamed", 0.5)
        };
        for run in [by_display_name, by_description] {
            let situation = pipeline_situation(&[], vec![run.clone()]);
            assert_eq!(
                suppressed(decide(&situation, &policy())),
                Suppression::Duplicate { run: run.arn }
            );
        }
    }

    #[test]
    fn a_running_retrain_suppresses_whatever_its_age() {
        let running = PastRun {
            running: true,
            ..run_before("long", 26.0 * 24.0)
        };
        let situation = pipeline_situation(&[], vec![run_before("recent", 1.0), running.clone()]);
        let reason = suppressed(decide(&situation, &policy()));
        assert!(matches!(&reason, Suppression::StillRunning { run, .. } if *run == running.arn));
        assert!(reason.to_string().starts_with("still running: "));
        assert_eq!(reason.severity(), Severity::Low);
    }

    #[test]
    fn cooldown_counts_from_the_last_start_to_the_alarm() {
        let within =
            pipeline_situation(&[], vec![run_before("old", 30.0), run_before("last", 23.0)]);
        let reason = suppressed(decide(&within, &policy()));
        let Suppression::Cooldown { last, until, .. } = &reason else {
            panic!("{reason:?}")
        };
        assert!(last.ends_with("/last"));
        assert_eq!(*until - alarm("alarm").changed_at, Duration::hours(1));
        assert!(reason.to_string().starts_with("cooldown: "), "{reason}");

        // A run started after the alarm (another transition handled first) counts too.
        let after = pipeline_situation(&[], vec![run_before("later", -2.0)]);
        assert!(matches!(
            suppressed(decide(&after, &policy())),
            Suppression::Cooldown { .. }
        ));

        let outside = pipeline_situation(&[], vec![run_before("last", 25.0)]);
        assert!(matches!(
            decide(&outside, &policy()),
            Decision::StartPipeline { .. }
        ));
        let off = RetrainPolicy {
            cooldown: Duration::zero(),
            ..policy()
        };
        assert!(matches!(
            decide(&within, &off),
            Decision::StartPipeline { .. }
        ));
    }

    #[test]
    fn the_daily_cap_counts_starts_on_the_alarms_utc_day() {
        let no_cooldown = RetrainPolicy {
            cooldown: Duration::zero(),
            daily_cap: 2,
            ..policy()
        };
        // The alarm is at 18:04 UTC: 10 h before is the same day, 19 h before the day before.
        let two_today = pipeline_situation(&[], vec![run_before("a", 1.0), run_before("b", 10.0)]);
        let reason = suppressed(decide(&two_today, &no_cooldown));
        assert_eq!(
            reason,
            Suppression::DailyCap {
                day: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                started: 2,
                cap: 2
            }
        );
        assert!(reason.to_string().contains("at most 2 per day"));
        let one_yesterday =
            pipeline_situation(&[], vec![run_before("a", 1.0), run_before("b", 19.0)]);
        assert!(matches!(
            decide(&one_yesterday, &no_cooldown),
            Decision::StartPipeline { .. }
        ));
    }

    #[test]
    fn no_target_invalid_target_and_missing_target() {
        let mut situation = pipeline_situation(&[], vec![]);
        situation.target = TargetState::NotNamed;
        let Decision::NoTarget { rule, message } = decide(&situation, &policy()) else {
            panic!()
        };
        assert_eq!(rule, "no-retrain-target");
        assert!(
            message.contains("drift on endpoint fraud-detector-dev"),
            "{message}"
        );
        assert!(message.contains(PIPELINE_TAG) && message.contains("RETRAIN_TARGETS"));
        situation.endpoint = None;
        let Decision::NoTarget { rule, message } = decide(&situation, &policy()) else {
            panic!()
        };
        assert_eq!(rule, "drift-alarm-without-endpoint");
        assert!(message.starts_with("the alarm's metrics have no Endpoint dimension"));

        situation.target = TargetState::Invalid {
            source: Source::EndpointTag,
            message: "tag x: bad".into(),
        };
        assert!(matches!(
            decide(&situation, &policy()),
            Decision::Refuse {
                rule: "retrain-target-invalid",
                ..
            }
        ));
        situation.target = TargetState::Missing(Resolved {
            target: RetrainTarget::Pipeline("gone".into()),
            source: Source::Config,
        });
        let Decision::Refuse {
            rule,
            severity,
            message,
            ..
        } = decide(&situation, &policy())
        else {
            panic!()
        };
        assert_eq!(
            (rule, severity),
            ("retrain-target-not-found", Severity::High)
        );
        assert!(message.starts_with("pipeline gone (named by RETRAIN_TARGETS) does not exist"));
    }

    fn job_situation(history: Vec<PastRun>) -> Situation {
        Situation {
            target: TargetState::Job {
                source: Box::new(DescribedTrainingJob {
                    arn: "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn".into(),
                    status: "Completed".into(),
                    definition: TrainingJobDefinition {
                        name: "churn".into(),
                        role_arn: "arn:aws:iam::123456789012:role/Train".into(),
                        output: Output {
                            s3_output_path: "s3://models/churn".into(),
                            ..Output::default()
                        },
                        ..TrainingJobDefinition::default()
                    },
                    not_carried: vec![],
                    unsupported: vec![],
                }),
                history,
            },
            ..pipeline_situation(&[], vec![])
        }
    }

    #[test]
    fn a_job_target_starts_a_tagged_spot_copy_named_by_the_key() {
        let key = RetrainKey::of(&alarm("alarm"));
        let Decision::StartJob { resource, clone } = decide(&job_situation(vec![]), &policy())
        else {
            panic!()
        };
        let name = key.job_name("churn");
        assert_eq!(
            resource,
            format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}")
        );
        let d = &clone.definition;
        assert_eq!(d.name, name);
        assert!(d.managed_spot);
        assert_eq!(d.tags["sagekeeper:retrain-key"], key.as_str());
        assert_eq!(d.tags["sagekeeper:retrained-from"], "churn");
        assert_eq!(
            d.tags["sagekeeper:trigger-alarm"],
            "sagekeeper-drift-fraud-detector-dev"
        );

        let mine = PastRun {
            arn: resource.clone(),
            name,
            description: None,
            started_at: None,
            running: true,
            key: Some(key.as_str().to_owned()),
        };
        assert_eq!(
            suppressed(decide(&job_situation(vec![mine]), &policy())),
            Suppression::Duplicate { run: resource }
        );

        let strict = RetrainPolicy {
            clone: CloneSettings {
                role: Some("arn:aws:iam::123456789012:role/RetrainOnly".into()),
                ..CloneSettings::default()
            },
            ..policy()
        };
        assert!(matches!(
            decide(&job_situation(vec![]), &strict),
            Decision::Refuse {
                rule: "retrain-role-not-allowed",
                severity: Severity::High,
                ..
            }
        ));
    }

    #[test]
    fn an_alarm_over_other_metrics_starts_nothing_unless_listed() {
        let situation = pipeline_situation(&[], vec![]);
        let mut latency = alarm("alarm");
        latency.metrics[0].namespace = Some("AWS/SageMaker".into());
        latency.metrics[0].name = "ModelLatency".into();
        let key = RetrainKey::of(&latency);
        let Decision::Refuse {
            resource,
            rule,
            severity,
            message,
        } = super::decide(&latency, &situation, &key, &policy())
        else {
            panic!("expected a refusal")
        };
        assert_eq!(resource, alarm_resource(&latency));
        assert_eq!((rule, severity), ("alarm-not-monitoring", Severity::Medium));
        assert!(message.contains("AWS/SageMaker/ModelLatency"), "{message}");
        // Control: the Model Monitor alarm, and the same alarm once listed, start.
        assert!(starts_one(decide(&situation, &policy())));
        let listed = RetrainPolicy {
            trusted_alarms: TrustedAlarms::new([latency.alarm_name.clone()]),
            ..policy()
        };
        assert!(starts_one(super::decide(
            &latency, &situation, &key, &listed
        )));
        // Nothing named: the usual finding, whatever the alarm watches.
        let mut unnamed = situation.clone();
        unnamed.target = TargetState::NotNamed;
        assert!(matches!(
            super::decide(&latency, &unnamed, &key, &policy()),
            Decision::NoTarget { .. }
        ));
    }

    #[test]
    fn a_job_copy_is_this_transitions_only_by_its_key_tag() {
        let key = RetrainKey::of(&alarm("alarm"));
        let copy = |tag: Option<&str>| PastRun {
            arn: "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-rt-x".into(),
            name: key.job_name("churn"),
            description: None,
            started_at: Some(alarm("alarm").changed_at - Duration::hours(48)),
            running: false,
            key: tag.map(str::to_owned),
        };
        assert!(matches!(
            suppressed(decide(
                &job_situation(vec![copy(Some(key.as_str()))]),
                &policy()
            )),
            Suppression::Duplicate { .. }
        ));
        // Another transition's copy, two days old: no duplicate, no cooldown.
        assert!(starts_one(decide(
            &job_situation(vec![copy(Some("other"))]),
            &policy()
        )));
    }

    fn planned(situation: &Situation) -> Plan<RetrainWrite> {
        let alarm = alarm("alarm");
        plan(&alarm, situation, &RetrainKey::of(&alarm), &policy())
    }

    #[test]
    fn a_start_is_one_write_with_the_drift_finding_and_no_headline_yet() {
        let plan = planned(&pipeline_situation(&[], vec![]));
        assert_eq!(plan.writes.len(), 1);
        let (resource, write) = &plan.writes[0];
        assert_eq!(resource, PIPELINE_ARN);
        assert_eq!(write.action(), "start-pipeline-execution");
        let RetrainWrite::StartPipeline(retrain) = write else {
            panic!("{write:?}")
        };
        assert_eq!(retrain.subject, "fraud-detector-dev");
        assert_eq!(retrain.why, why().short());
        assert!(plan.skips.is_empty());
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(plan.findings[0].rule, "drift");
        assert_eq!(plan.findings[0].severity, Severity::Info);
        assert!(
            plan.findings[0]
                .message
                .starts_with("drift on fraud-detector-dev: ")
        );
        assert_eq!(plan.headline, None);
        assert_eq!(plan.metrics["RetrainsStarted"], 0.0);
        assert_eq!(plan.metrics["RetrainsSuppressed"], 0.0);
        assert!(starts(&plan));
        assert_eq!(
            summary(&plan),
            format!("start an execution of {PIPELINE_ARN}")
        );
    }

    #[test]
    fn a_suppression_is_a_skip_a_finding_a_metric_and_the_headline() {
        let plan = planned(&pipeline_situation(&[], vec![run_before("last", 1.0)]));
        assert!(!starts(&plan));
        assert_eq!(plan.skips.len(), 1);
        assert_eq!(plan.skips[0].resource, PIPELINE_ARN);
        assert_eq!(plan.skips[0].action, "start-retrain");
        assert!(plan.skips[0].reason.starts_with("cooldown: "));
        assert_eq!(plan.findings[0].rule, "retrain-suppressed");
        assert_eq!(plan.findings[0].severity, Severity::Low);
        assert_eq!(plan.metrics["RetrainsStarted"], 0.0);
        assert_eq!(plan.metrics["RetrainsSuppressed"], 1.0);
        let headline = plan.headline.as_deref().unwrap();
        assert!(
            headline.starts_with("retrain of fraud-detector-dev suppressed: cooldown: "),
            "{headline}"
        );
        assert!(summary(&plan).starts_with(&format!("suppress {PIPELINE_ARN}: cooldown")));
    }

    #[test]
    fn nothing_named_and_no_lock_are_findings_with_their_headlines() {
        let mut nothing = pipeline_situation(&[], vec![]);
        nothing.target = TargetState::NotNamed;
        let plan = planned(&nothing);
        assert!(plan.writes.is_empty() && plan.skips.is_empty());
        assert_eq!(plan.findings[0].rule, "no-retrain-target");
        assert_eq!(plan.findings[0].severity, Severity::Medium);
        assert_eq!(
            plan.headline.as_deref(),
            Some("drift on fraud-detector-dev: nothing to retrain")
        );
        assert_eq!(summary(&plan), "start nothing (no-retrain-target)");

        let alarm = alarm("alarm");
        let unlocked = unlocked(&alarm, &pipeline_situation(&[], vec![]));
        assert!(!starts(&unlocked));
        assert_eq!(unlocked.findings[0].resource, alarm_resource(&alarm));
        assert_eq!(unlocked.findings[0].rule, "retrain-lock-unavailable");
        assert_eq!(unlocked.findings[0].severity, Severity::High);
        assert!(unlocked.findings[0].message.contains("STATE_BUCKET"));
        assert_eq!(
            unlocked.headline.as_deref(),
            Some("drift on fraud-detector-dev: retrain refused (retrain-lock-unavailable)")
        );
        assert_eq!(unlocked.metrics["RetrainsStarted"], 0.0);
    }

    #[test]
    fn a_job_copy_says_how_it_differs_and_is_named_in_the_headline() {
        let mut situation = job_situation(vec![]);
        let TargetState::Job { source, .. } = &mut situation.target else {
            panic!()
        };
        source.not_carried = vec!["ProfilerConfig"];
        let plan = planned(&situation);
        let (resource, write) = &plan.writes[0];
        assert_eq!(write.action(), "create-training-job");
        let copies: Vec<_> = plan
            .findings
            .iter()
            .filter(|f| f.rule == "retrain-copy-differs")
            .collect();
        assert_eq!(copies.len(), 1, "{:?}", plan.findings);
        assert_eq!(&copies[0].resource, resource);
        assert_eq!(copies[0].severity, Severity::Low);
        assert!(copies[0].message.contains("ProfilerConfig"));
        assert_eq!(summary(&plan), format!("create {resource}"));
        let RetrainWrite::CreateTrainingJob(retrain) = write else {
            panic!()
        };
        let name = &retrain.start.name;
        let why = why().short();
        assert_eq!(
            write.headline(&Started::New("arn:job".into())),
            format!(
                "retrain started for fraud-detector-dev: spot training job {name} (arn:job) ({why})"
            )
        );
        assert_eq!(
            write.headline(&Started::Existing),
            format!(
                "retrain of fraud-detector-dev suppressed: spot training job {name} already exists"
            )
        );
    }

    #[test]
    fn the_headline_and_the_count_follow_what_became_of_the_start() {
        let plan = planned(&pipeline_situation(&[], vec![]));
        let write = &plan.writes[0].1;
        let why = why().short();
        let cases = [
            (
                Started::New("arn:exec".into()),
                format!(
                    "retrain started for fraud-detector-dev: pipeline fraud-retrain execution arn:exec ({why})"
                ),
                Some("RetrainsStarted"),
            ),
            (
                Started::Planned,
                format!(
                    "retrain would start for fraud-detector-dev: pipeline fraud-retrain ({why})"
                ),
                None,
            ),
            (
                Started::Failed,
                "retrain of fraud-detector-dev failed to start: pipeline fraud-retrain".to_owned(),
                None,
            ),
            (
                Started::Existing,
                "retrain of fraud-detector-dev suppressed: pipeline fraud-retrain already exists"
                    .to_owned(),
                Some("RetrainsSuppressed"),
            ),
        ];
        for (started, headline, counted) in cases {
            assert_eq!(write.headline(&started), headline);
            assert_eq!(started.counted_in(), counted, "{started:?}");
        }
    }

    #[test]
    fn what_the_report_handed_back_says_what_became_of_the_start() {
        assert_eq!(
            Started::of(Some(Ok("arn".into())), false),
            Started::New("arn".into())
        );
        assert_eq!(
            Started::of(Some(Err(JOB_EXISTS.into())), false),
            Started::Existing
        );
        assert_eq!(Started::of(None, true), Started::Planned);
        assert_eq!(Started::of(None, false), Started::Failed);
    }
}
