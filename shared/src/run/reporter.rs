//! Finishing a run: one summary log line, one EMF document, one SNS message.

use chrono::Utc;

use crate::aws::sessions::Scope;
use crate::config::CommonConfig;
use crate::run::notify::{self, Notifier};
use crate::run::report::Report;
use crate::run::security_hub::SecurityHubExport;
use crate::run::{emf, logging, ocsf};

#[derive(Debug, Clone)]
pub struct Reporter {
    notifier: Option<Notifier>,
    /// Stamped on every report, so people read which account and region it is about.
    target: Option<String>,
    log_findings: bool,
    security_hub: Option<SecurityHubExport>,
}

impl Reporter {
    /// Notifies through the deployment's own topic, whatever account the scope acts in.
    pub fn new(scope: &Scope, config: &CommonConfig) -> Self {
        let notifier = config
            .notify_topic_arn
            .as_ref()
            .map(|topic| Notifier::new(scope.hub.sns(), topic.to_string()));
        Reporter {
            notifier,
            target: scope.target.as_ref().map(ToString::to_string),
            log_findings: config.log_findings,
            security_hub: config
                .security_hub_export
                .then(|| SecurityHubExport::new(scope)),
        }
    }

    /// The same, without the Security Hub export: for reports about the dispatch itself (a
    /// target whose role cannot be assumed), which belong to no one account's findings.
    pub fn without_export(mut self) -> Self {
        self.security_hub = None;
        self
    }

    /// Logs and metrics only: no notification, no finding lines.
    pub fn log_only() -> Self {
        Reporter {
            notifier: None,
            target: None,
            log_findings: false,
            security_hub: None,
        }
    }

    /// The account and region reports are about, `account/region`; `None` at home.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Exports the findings to Security Hub when configured, emits the report's log line,
    /// metrics and notification, and returns it as the response.
    /// A dry run is notified too (marked as such): the message changes no resource, and it is
    /// how people read what a dry run would do.
    pub async fn finish(&self, mut report: Report) -> Report {
        if let Some(security_hub) = &self.security_hub {
            security_hub.send(&mut report).await;
        }
        if let Some(notifier) = &self.notifier
            && let Some(message) = notify::compose(&report, notify::MAX_MESSAGE_BYTES)
            && let Err(err) = notifier.publish(&message).await
        {
            tracing::error!(error = %err, "could not publish the run summary");
            report.error(None, &err);
        }
        self.record(report)
    }

    /// Emits the report's log line, its findings as OCSF lines, and its metrics, without a
    /// notification.
    pub fn record(&self, report: Report) -> Report {
        let summary = report.summary();
        let (done, planned, failed) = (
            summary.actions_done,
            summary.actions_planned,
            summary.actions_failed,
        );
        let (findings, errors) = (summary.findings, summary.errors);
        let target = report.target.as_deref().unwrap_or("home");
        if report.failed() {
            tracing::error!(function = %report.function, trigger = %report.trigger, target, done, planned, failed, findings, errors, "run failed");
        } else {
            tracing::info!(function = %report.function, trigger = %report.trigger, target, done, planned, failed, findings, errors, "run finished");
        }
        if self.log_findings {
            for event in ocsf::events(&report) {
                logging::write_line(&event.to_string());
            }
        }
        let emf = emf::emf_document(&report, Utc::now().timestamp_millis());
        logging::write_line(&emf.to_string());
        report
    }
}
