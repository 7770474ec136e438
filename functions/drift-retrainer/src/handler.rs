//! Handles one alarm state change, in any of its three delivery shapes.

use sagekeeper_core::events::{AlarmChange, AlarmState};
use sagekeeper_core::{Aws, Report, Reporter, Severity, Trigger, TriggerKind};
use serde_json::Value;

use crate::config::Config;

pub const NAME: &str = "drift-retrainer";
const ACCEPTS: &[TriggerKind] = &[TriggerKind::Alarm];

pub struct Deps {
    pub config: Config,
    pub reporter: Reporter,
}

impl Deps {
    pub fn new(aws: &Aws, config: Config) -> Self {
        Deps {
            reporter: Reporter::new(aws, &config.common),
            config,
        }
    }
}

pub async fn handle(deps: &Deps, event: Value) -> Report {
    deps.reporter
        .run(
            NAME,
            deps.config.common.dry_run,
            ACCEPTS,
            event,
            async |trigger, report| {
                if let Trigger::Alarm(alarm) = trigger {
                    record_alarm(&alarm, report);
                }
            },
        )
        .await
}

/// Only transitions into ALARM can start a retrain; the others are reported as ignored.
fn record_alarm(alarm: &AlarmChange, report: &mut Report) {
    let resource = alarm
        .alarm_arn
        .clone()
        .unwrap_or_else(|| alarm.alarm_name.clone());
    if alarm.state != AlarmState::Alarm {
        report.skipped(
            &resource,
            "retrain",
            format!(
                "alarm is {}: only a change into ALARM starts a retrain",
                alarm.state
            ),
        );
        return;
    }
    match alarm.dimension("Endpoint") {
        Some(endpoint) => report.finding(
            &resource,
            "drift-alarm",
            Severity::Info,
            format!(
                "drift on endpoint {endpoint} at {}: {}",
                alarm.changed_at.to_rfc3339(),
                alarm.reason
            ),
        ),
        None => report.finding(
            &resource,
            "drift-alarm-without-endpoint",
            Severity::Medium,
            "the alarm's metrics have no Endpoint dimension, so no model can be retrained",
        ),
    }
}
