//! Carrying out the decision: at most one write (the start), through `Report::perform`, so a
//! dry run starts nothing. Everything else here is what the report, and so the one SNS
//! message, says about it.

use sagekeeper_core::events::AlarmChange;
use sagekeeper_core::sagemaker::{pipelines, training};
use sagekeeper_core::{Outcome, Report, Severity};

use crate::clients::Clients;
use crate::plan::{self, Plan, Situation};

/// What CreateTrainingJob did with the deterministic name.
enum Created {
    New(String),
    /// A job of that name exists: another delivery of the same transition got there first.
    Existing,
}

pub async fn apply(
    clients: &Clients,
    alarm: &AlarmChange,
    situation: &Situation,
    plan: Plan,
    report: &mut Report,
) {
    let alarm_resource = plan::alarm_resource(alarm);
    let subject = situation
        .endpoint
        .clone()
        .unwrap_or_else(|| alarm.alarm_name.clone());
    let why = &situation.why;
    let (mut started, mut suppressed) = (0.0, 0.0);
    match plan {
        Plan::NoTarget { rule, message } => {
            report.finding(&alarm_resource, rule, Severity::Medium, message);
            report.headline = Some(format!("drift on {subject}: nothing to retrain"));
        }
        Plan::Refuse {
            resource,
            rule,
            severity,
            message,
        } => {
            report.finding(resource, rule, severity, message);
            report.headline = Some(format!("drift on {subject}: retrain refused ({rule})"));
        }
        Plan::Suppress { resource, reason } => {
            suppressed = 1.0;
            report.skipped(&resource, "start-retrain", reason.to_string());
            report.finding(
                &alarm_resource,
                "retrain-suppressed",
                reason.severity(),
                format!(
                    "drift on {subject}, retrain suppressed: {reason}. {}",
                    why.detail()
                ),
            );
            report.headline = Some(format!("retrain of {subject} suppressed: {reason}"));
        }
        Plan::StartPipeline { resource, start } => {
            drift_finding(report, &alarm_resource, &subject, why.detail());
            let write = pipelines::start(&clients.sagemaker, &start);
            let execution = report
                .perform(&resource, "start-pipeline-execution", write)
                .await;
            let what = format!("pipeline {}", start.pipeline);
            report.headline = Some(match execution {
                Some(arn) => {
                    started = 1.0;
                    format!(
                        "retrain started for {subject}: {what} execution {arn} ({})",
                        why.short()
                    )
                }
                None => not_started(report, &subject, &what, &why.short()),
            });
        }
        Plan::StartJob { resource, clone } => {
            drift_finding(report, &alarm_resource, &subject, why.detail());
            for note in &clone.notes {
                report.finding(
                    &resource,
                    "retrain-copy-differs",
                    Severity::Low,
                    note.clone(),
                );
            }
            let definition = &clone.definition;
            let write = async {
                match training::create(&clients.sagemaker, definition).await {
                    Ok(arn) => Ok(Created::New(arn)),
                    Err(err) if err.is_code("ResourceInUse") => Ok(Created::Existing),
                    Err(err) => Err(err),
                }
            };
            let created = report
                .perform(&resource, "create-training-job", write)
                .await;
            let what = format!("spot training job {}", definition.name);
            report.headline = Some(match created {
                Some(Created::New(arn)) => {
                    started = 1.0;
                    format!(
                        "retrain started for {subject}: {what} ({arn}) ({})",
                        why.short()
                    )
                }
                Some(Created::Existing) => {
                    suppressed = 1.0;
                    // `perform` recorded the call as done; what it did was find the job there.
                    if let Some(action) = report.actions.last_mut() {
                        action.outcome = Outcome::Skipped;
                        action.detail = Some(
                            "duplicate delivery: a job of this name was started for this alarm transition"
                                .to_owned(),
                        );
                    }
                    format!("retrain of {subject} suppressed: {what} already exists")
                }
                None => not_started(report, &subject, &what, &why.short()),
            });
        }
    }
    report.add_metric("RetrainsStarted", started);
    report.add_metric("RetrainsSuppressed", suppressed);
}

fn drift_finding(report: &mut Report, alarm_resource: &str, subject: &str, detail: String) {
    report.finding(
        alarm_resource,
        "drift",
        Severity::Info,
        format!("drift on {subject}: {detail}"),
    );
}

/// The headline when `perform` returned nothing: a dry run, or a failed start (its error is
/// in the report).
fn not_started(report: &Report, subject: &str, what: &str, why: &str) -> String {
    if report.dry_run {
        format!("retrain would start for {subject}: {what} ({why})")
    } else {
        format!("retrain of {subject} failed to start: {what}")
    }
}
