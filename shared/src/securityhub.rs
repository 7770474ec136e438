//! AWS Security Hub: our earlier findings in an account and region, and importing findings
//! (ASFF) in batches of 100, the most BatchImportFindings takes.

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Compliance,
    ComplianceStatus, MapFilter, MapFilterComparison, RecordState, Resource, Severity,
    SeverityLabel, StringFilter, StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};

use crate::aws::{AwsError, AwsResultExt};
use crate::run::asff::{self, AsffFinding, Destination, Existing};

pub const BATCH: usize = 100;

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// Which of a function's findings to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Every active one (a sweep with many ids).
    All,
    /// Those with these ids (at most [`asff::MAX_FILTER_VALUES`]), and every resolution whose
    /// workflow update failed, so it is retried whatever resource the run looked at.
    Ids(&'a [String]),
}

/// The active findings `function` imported earlier into `destination`'s own product.
pub async fn ours(
    client: &Client,
    destination: &Destination,
    function: &str,
    lookup: Lookup<'_>,
) -> Result<Vec<Existing>, AwsError> {
    let queries = match lookup {
        Lookup::All => vec![filters(destination, function, Query::All)],
        Lookup::Ids(ids) => vec![
            filters(destination, function, Query::Ids(ids)),
            filters(destination, function, Query::UnresolvedPasses),
        ],
    };
    let mut found: Vec<Existing> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for query in queries {
        let mut pages = client
            .get_findings()
            .filters(query)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for finding in page.aws("GetFindings")?.findings.unwrap_or_default() {
                let finding = existing(finding);
                if seen.insert(finding.id.clone()) {
                    found.push(finding);
                }
            }
        }
    }
    Ok(found)
}

#[derive(Debug, Clone, Copy)]
enum Query<'a> {
    All,
    Ids(&'a [String]),
    /// `PASSED` with the workflow still `NEW` or `NOTIFIED`.
    UnresolvedPasses,
}

fn filters(
    destination: &Destination,
    function: &str,
    query: Query<'_>,
) -> AwsSecurityFindingFilters {
    let mut filters = AwsSecurityFindingFilters::builder()
        .product_arn(equals(&destination.product_arn()))
        .aws_account_id(equals(&destination.account))
        .record_state(equals(RecordState::Active.as_str()))
        .product_fields(
            MapFilter::builder()
                .key(asff::FUNCTION_FIELD)
                .value(function)
                .comparison(MapFilterComparison::Equals)
                .build(),
        );
    match query {
        Query::All => {}
        Query::Ids(ids) => {
            filters = filters.set_id(Some(ids.iter().map(|id| equals(id)).collect()));
        }
        Query::UnresolvedPasses => {
            filters = filters
                .compliance_status(equals(ComplianceStatus::Passed.as_str()))
                .workflow_status(equals(WorkflowStatus::New.as_str()))
                .workflow_status(equals(WorkflowStatus::Notified.as_str()));
        }
    }
    filters.build()
}

fn existing(finding: AwsSecurityFinding) -> Existing {
    let failed = finding
        .compliance()
        .and_then(Compliance::status)
        .is_some_and(|status| *status == ComplianceStatus::Failed);
    let severity_label = finding
        .severity()
        .and_then(Severity::label)
        .map_or("INFORMATIONAL", SeverityLabel::as_str)
        .to_owned();
    let workflow_open = finding
        .workflow()
        .and_then(|w| w.status())
        .is_none_or(|status| matches!(status, WorkflowStatus::New | WorkflowStatus::Notified));
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    Existing {
        id: text(finding.id()),
        created_at: text(finding.created_at()),
        updated_at: text(finding.updated_at()),
        failed,
        workflow_open,
        rule: text(finding.generator_id()),
        resource: text(finding.resources().first().and_then(Resource::id)),
        title: text(finding.title()),
        severity_label,
    }
}

/// How an import went: findings Security Hub refused, with its reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Imported {
    pub imported: usize,
    pub refused: Vec<(String, String)>,
}

/// Imports `findings` into `destination`, 100 at a time. Throttling is retried by the SDK's
/// adaptive retry; a finding Security Hub refuses is named in the result, the others stand.
pub async fn import(
    client: &Client,
    destination: &Destination,
    findings: &[AsffFinding],
) -> Result<Imported, AwsError> {
    let mut outcome = Imported::default();
    for batch in findings.chunks(BATCH) {
        let asff = batch
            .iter()
            .map(|finding| to_asff(destination, finding))
            .collect();
        let answer = client
            .batch_import_findings()
            .set_findings(Some(asff))
            .send()
            .await
            .aws("BatchImportFindings")?;
        outcome.imported +=
            usize::try_from(answer.success_count().unwrap_or_default()).unwrap_or(0);
        for refused in answer.failed_findings() {
            outcome.refused.push((
                refused.id().unwrap_or_default().to_owned(),
                format!(
                    "{}: {}",
                    refused.error_code().unwrap_or_default(),
                    refused.error_message().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(outcome)
}

/// Sets the workflow of findings `ids` to RESOLVED, 100 at a time. Security Hub does that by
/// itself only for its own controls' findings; a custom integration's `PASSED` leaves the
/// workflow where it was. Returns the ids it refused, with its reason.
pub async fn resolve(
    client: &Client,
    destination: &Destination,
    ids: &[String],
) -> Result<Vec<(String, String)>, AwsError> {
    let mut refused = Vec::new();
    for batch in ids.chunks(BATCH) {
        let identifiers = batch
            .iter()
            .map(|id| {
                AwsSecurityFindingIdentifier::builder()
                    .id(id)
                    .product_arn(destination.product_arn())
                    .build()
            })
            .collect();
        let answer = client
            .batch_update_findings()
            .set_finding_identifiers(Some(identifiers))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .send()
            .await
            .aws("BatchUpdateFindings")?;
        for unprocessed in answer.unprocessed_findings() {
            refused.push((
                unprocessed
                    .finding_identifier()
                    .and_then(AwsSecurityFindingIdentifier::id)
                    .unwrap_or_default()
                    .to_owned(),
                format!(
                    "{}: {}",
                    unprocessed.error_code().unwrap_or_default(),
                    unprocessed.error_message().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(refused)
}

fn to_asff(destination: &Destination, finding: &AsffFinding) -> AwsSecurityFinding {
    let resource = Resource::builder()
        .r#type(finding.resource_type)
        .id(&finding.resource_id)
        .region(&destination.region)
        .build();
    let status = match finding.compliance {
        asff::Compliance::Failed => ComplianceStatus::Failed,
        asff::Compliance::Passed => ComplianceStatus::Passed,
    };
    AwsSecurityFinding::builder()
        .schema_version(asff::SCHEMA_VERSION)
        .id(&finding.id)
        .product_arn(destination.product_arn())
        .generator_id(&finding.generator_id)
        .aws_account_id(&destination.account)
        .set_types(Some(asff::types()))
        .created_at(&finding.created_at)
        .updated_at(&finding.updated_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(finding.severity_label.as_str()))
                .build(),
        )
        .title(&finding.title)
        .description(&finding.description)
        .resources(resource)
        .compliance(Compliance::builder().status(status).build())
        .product_fields(asff::FUNCTION_FIELD, &finding.function)
        .product_name("sagekeeper")
        .company_name("sagekeeper")
        .record_state(RecordState::Active)
        .build()
}

#[cfg(test)]
mod tests {
    use aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsOutput;
    use aws_sdk_securityhub::types::ImportFindingsError;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn finding(n: usize) -> AsffFinding {
        AsffFinding {
            id: format!("sagekeeper/encryption-enforcer/home/s3-tls/arn:aws:s3:::b{n}"),
            generator_id: "s3-tls".into(),
            title: "s3-tls".into(),
            description: "no TLS-only policy".into(),
            severity_label: "HIGH".into(),
            compliance: asff::Compliance::Failed,
            resource_id: format!("arn:aws:s3:::b{n}"),
            resource_type: "AwsS3Bucket",
            created_at: "2026-12-02T09:00:00.000Z".into(),
            updated_at: "2026-12-02T09:00:00.000Z".into(),
            function: "encryption-enforcer".into(),
        }
    }

    #[test]
    fn a_lookup_by_ids_filters_on_each_id_and_on_stuck_resolutions() {
        let destination = Destination {
            partition: "aws".into(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
        };
        let ids = ["a".to_owned(), "b".to_owned()];
        let by_ids = filters(&destination, "encryption-enforcer", Query::Ids(&ids));
        let values: Vec<_> = by_ids.id().iter().map(|f| f.value()).collect();
        assert_eq!(values, [Some("a"), Some("b")]);
        assert_eq!(by_ids.product_fields().len(), 1);
        let all = filters(&destination, "encryption-enforcer", Query::All);
        assert!(all.id().is_empty() && all.compliance_status().is_empty());
        assert_eq!(all.aws_account_id()[0].value(), Some("123456789012"));
        let stuck = filters(&destination, "encryption-enforcer", Query::UnresolvedPasses);
        assert_eq!(stuck.compliance_status()[0].value(), Some("PASSED"));
        let workflows: Vec<_> = stuck.workflow_status().iter().map(|f| f.value()).collect();
        assert_eq!(workflows, [Some("NEW"), Some("NOTIFIED")]);
    }

    fn found(id: &str, status: ComplianceStatus) -> AwsSecurityFinding {
        AwsSecurityFinding::builder()
            .id(id)
            .compliance(Compliance::builder().status(status).build())
            .workflow(
                aws_sdk_securityhub::types::Workflow::builder()
                    .status(WorkflowStatus::New)
                    .build(),
            )
            .build()
    }

    #[tokio::test]
    async fn a_lookup_by_ids_also_reads_the_resolutions_left_open_each_finding_once() {
        use aws_sdk_securityhub::operation::get_findings::GetFindingsOutput;
        let by_ids = mock!(Client::get_findings)
            .match_requests(|r| r.filters().is_some_and(|f| !f.id().is_empty()))
            .then_output(|| {
                GetFindingsOutput::builder()
                    .findings(found("a", ComplianceStatus::Failed))
                    .findings(found("b", ComplianceStatus::Passed))
                    .build()
            });
        let left_open = mock!(Client::get_findings)
            .match_requests(|r| r.filters().is_some_and(|f| !f.workflow_status().is_empty()))
            .then_output(|| {
                GetFindingsOutput::builder()
                    .findings(found("b", ComplianceStatus::Passed))
                    .findings(found("stuck", ComplianceStatus::Passed))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_securityhub,
            RuleMode::MatchAny,
            [&by_ids, &left_open]
        );
        let destination = Destination {
            partition: "aws".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let ids = ["a".to_owned(), "b".to_owned()];
        let lookup = Lookup::Ids(&ids);
        let existing = ours(&client, &destination, "lifecycle-tagger", lookup)
            .await
            .unwrap();
        let read: Vec<(&str, bool, bool)> = existing
            .iter()
            .map(|e| (e.id.as_str(), e.failed, e.workflow_open))
            .collect();
        assert_eq!(
            read,
            [
                ("a", true, true),
                ("b", false, true),
                ("stuck", false, true)
            ]
        );
        assert_eq!((by_ids.num_calls(), left_open.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn imports_a_hundred_at_a_time_and_names_what_security_hub_refused() {
        let full = mock!(Client::batch_import_findings)
            .match_requests(|r| r.findings().len() == BATCH)
            .then_output(|| {
                BatchImportFindingsOutput::builder()
                    .success_count(100)
                    .failed_count(0)
                    .build()
            });
        let rest = mock!(Client::batch_import_findings)
            .match_requests(|r| r.findings().len() == 50)
            .then_output(|| {
                BatchImportFindingsOutput::builder()
                    .success_count(49)
                    .failed_count(1)
                    .failed_findings(
                        ImportFindingsError::builder()
                            .id("b7")
                            .error_code("InvalidInput")
                            .error_message("Finding does not adhere to Amazon Finding Format")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&full, &rest]);
        let destination = Destination {
            partition: "aws".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let findings: Vec<AsffFinding> = (0..250).map(finding).collect();
        let outcome = import(&client, &destination, &findings).await.unwrap();
        assert_eq!(full.num_calls(), 2);
        assert_eq!(rest.num_calls(), 1);
        assert_eq!(outcome.imported, 249);
        assert_eq!(outcome.refused.len(), 1);
        assert!(outcome.refused[0].1.starts_with("InvalidInput"));
    }
}
