//! Delivering a run's findings to AWS Security Hub (`SECURITY_HUB_EXPORT`): into the Security
//! Hub of the account and region the run acted in, as that account's own custom integration.
//! Findings are facts whether or not the run changed anything, so dry runs export too.

use crate::aws::sessions::Scope;
use crate::aws::{AwsError, AwsResultExt};
use crate::model::arn::partition_of;
use crate::run::asff::{self, Destination};
use crate::run::report::{Report, Severity};
use crate::securityhub::{self, Lookup};

#[derive(Debug, Clone)]
pub struct SecurityHubExport {
    client: aws_sdk_securityhub::Client,
    sts: aws_sdk_sts::Client,
    /// The target's account when the scope names one; else asked of STS.
    account: Option<String>,
    region: String,
}

/// Why findings did not reach Security Hub.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("Security Hub refused {count} finding(s), first {id}: {reason}")]
    Refused {
        count: usize,
        id: String,
        reason: String,
    },
}

/// The finding a failed export adds to the report.
pub const EXPORT_FAILED_RULE: &str = "security-hub-export-failed";

impl SecurityHubExport {
    pub fn new(scope: &Scope) -> Self {
        SecurityHubExport {
            client: scope.resources.securityhub(),
            sts: scope.resources.sts(),
            account: scope.target.as_ref().map(|t| t.account.clone()),
            region: scope.resources.region().unwrap_or_default().to_owned(),
        }
    }

    async fn destination(&self) -> Result<Destination, AwsError> {
        let account = match &self.account {
            Some(account) => account.clone(),
            None => self
                .sts
                .get_caller_identity()
                .send()
                .await
                .aws("GetCallerIdentity")?
                .account
                .unwrap_or_default(),
        };
        Ok(Destination {
            partition: partition_of(&self.region).to_owned(),
            account,
            region: self.region.clone(),
        })
    }

    /// Imports the run's failures and resolves what it saw pass. A failed export is a finding
    /// of the run, not a failure of it: the run's own work stands, and retrying the event (or
    /// redelivering a target's message) would repeat that work without fixing the export.
    pub async fn send(&self, report: &mut Report) {
        if report.findings.is_empty() && report.passes.is_empty() {
            return;
        }
        if let Err(err) = self.try_send(report).await {
            tracing::error!(error = %err, "could not export findings to Security Hub");
            let what = format!("findings not exported to Security Hub: {err}");
            report.finding(
                "SECURITY_HUB_EXPORT",
                EXPORT_FAILED_RULE,
                Severity::Medium,
                what,
            );
        }
    }

    async fn try_send(&self, report: &Report) -> Result<(), ExportError> {
        let destination = self.destination().await?;
        let ids = asff::lookup(report);
        let lookup = ids.as_deref().map_or(Lookup::All, Lookup::Ids);
        let existing =
            securityhub::ours(&self.client, &destination, &report.function, lookup).await?;
        let export = asff::plan(report, &existing);
        let mut outcome = securityhub::import(&self.client, &destination, &export.imports).await?;
        let resolved: Vec<String> = export
            .resolve
            .into_iter()
            .filter(|id| outcome.refused.iter().all(|(refused, _)| refused != id))
            .collect();
        if !resolved.is_empty() {
            let refused = securityhub::resolve(&self.client, &destination, &resolved).await?;
            outcome.refused.extend(refused);
        }
        tracing::info!(
            imported = outcome.imported,
            resolved = resolved.len(),
            refused = outcome.refused.len(),
            product = %destination.product_arn(),
            "findings exported to Security Hub"
        );
        match outcome.refused.first() {
            None => Ok(()),
            Some((id, reason)) => Err(ExportError::Refused {
                count: outcome.refused.len(),
                id: id.clone(),
                reason: reason.clone(),
            }),
        }
    }
}
