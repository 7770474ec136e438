//! The writing half of the shell: each planned write goes through `Report::perform`, which is
//! where `DRY_RUN` is enforced, so no write can bypass it.

use sagekeeper_core::Report;
use sagekeeper_core::kms as kms_api;
use sagekeeper_core::s3 as s3_api;
use sagekeeper_core::s3::PublicAccessBlock;
use sagekeeper_core::sagemaker::{endpoint_configs, jobs, notebooks};

use crate::gather::Clients;
use crate::plan::{Remediation, Step};

pub async fn apply(report: &mut Report, clients: &Clients, steps: Vec<Step>) {
    for step in steps {
        match step {
            Step::Skip {
                resource,
                action,
                reason,
            } => report.skipped(resource, action, reason),
            Step::Write {
                resource,
                remediation,
            } => write(report, clients, &resource, remediation).await,
        }
    }
}

async fn write(report: &mut Report, clients: &Clients, resource: &str, remediation: Remediation) {
    let action = remediation.action();
    // Debug: the report lists every action, and at 5,000 buckets these lines were megabytes.
    tracing::debug!(resource, action, dry_run = report.dry_run, "remediating");
    let (s3, sm, kms) = (&clients.s3, &clients.sagemaker, &clients.kms);
    match remediation {
        Remediation::PutBucketEncryption { bucket, kms_key_id } => {
            let write = s3_api::put_default_encryption_kms(s3, &bucket, &kms_key_id);
            report.perform(resource, action, write).await
        }
        Remediation::PutBucketPolicy { bucket, policy } => {
            let write = s3_api::put_policy(s3, &bucket, &policy);
            report.perform(resource, action, write).await
        }
        Remediation::PutPublicAccessBlock { bucket } => {
            let write = s3_api::put_public_access_block(s3, &bucket, PublicAccessBlock::ALL_ON);
            report.perform(resource, action, write).await
        }
        Remediation::EnableKeyRotation { key_arn } => {
            let write = kms_api::enable_rotation(kms, &key_arn);
            report.perform(resource, action, write).await
        }
        Remediation::StopJob { kind, name } => {
            let write = jobs::stop(sm, kind, &name);
            report.perform(resource, action, write).await
        }
        Remediation::StopNotebook { name } => {
            let write = notebooks::stop(sm, &name);
            report.perform(resource, action, write).await
        }
        Remediation::TagEndpointConfig { arn, tags } => {
            let write = endpoint_configs::add_tags(sm, &arn, &tags);
            report.perform(resource, action, write).await
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionOutput;
    use aws_sdk_sagemaker::operation::stop_training_job::StopTrainingJobOutput;
    use aws_smithy_mocks::{Rule, mock, mock_client};
    use chrono::Utc;
    use sagekeeper_core::Outcome;

    use crate::model::JobKind;

    const JOB: &str = "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn";
    const BUCKET: &str = "arn:aws:s3:::acme-ml-training-data";

    struct Mocks {
        stop: Rule,
        encrypt: Rule,
        clients: Clients,
    }

    fn mocks() -> Mocks {
        let stop = mock!(aws_sdk_sagemaker::Client::stop_training_job)
            .match_requests(|r| r.training_job_name() == Some("churn"))
            .then_output(|| StopTrainingJobOutput::builder().build());
        let encrypt = mock!(aws_sdk_s3::Client::put_bucket_encryption)
            .then_output(|| PutBucketEncryptionOutput::builder().build());
        let rotate = mock!(aws_sdk_kms::Client::enable_key_rotation).then_error(|| {
            aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationError::unhandled(
                "not expected",
            )
        });
        let clients = Clients {
            s3: mock_client!(aws_sdk_s3, [&encrypt]),
            sagemaker: mock_client!(aws_sdk_sagemaker, [&stop]),
            kms: mock_client!(aws_sdk_kms, [&rotate]),
            region: Some("us-east-1".to_owned()),
        };
        Mocks {
            stop,
            encrypt,
            clients,
        }
    }

    fn steps() -> Vec<Step> {
        vec![
            Step::Write {
                resource: BUCKET.to_owned(),
                remediation: Remediation::PutBucketEncryption {
                    bucket: "acme-ml-training-data".to_owned(),
                    kms_key_id: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
                },
            },
            Step::Write {
                resource: JOB.to_owned(),
                remediation: Remediation::StopJob {
                    kind: JobKind::Training,
                    name: "churn".to_owned(),
                },
            },
            Step::Skip {
                resource: JOB.to_owned(),
                action: "stop-notebook-instance",
                reason: "STOP_NONCOMPLIANT_NOTEBOOKS is off".to_owned(),
            },
        ]
    }

    // Mocks, because the emulator does not implement StopTrainingJob (it answers HTTP 500) and
    // its jobs are never running, so the stop path cannot be exercised against it.
    #[tokio::test]
    async fn writes_run_and_are_recorded() {
        let mocks = mocks();
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(&mut report, &mocks.clients, steps()).await;
        assert_eq!(mocks.encrypt.num_calls(), 1);
        assert_eq!(mocks.stop.num_calls(), 1);
        let outcomes: Vec<(&str, Outcome)> = report
            .actions
            .iter()
            .map(|a| (a.action.as_str(), a.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("put-bucket-encryption", Outcome::Done),
                ("stop-training-job", Outcome::Done),
                ("stop-notebook-instance", Outcome::Skipped),
            ]
        );
        assert!(!report.failed());
    }

    #[tokio::test]
    async fn a_dry_run_makes_no_call() {
        let mocks = mocks();
        let mut report = Report::new("encryption-enforcer", true, Utc::now());
        apply(&mut report, &mocks.clients, steps()).await;
        assert_eq!(mocks.encrypt.num_calls(), 0);
        assert_eq!(mocks.stop.num_calls(), 0);
        assert_eq!(report.actions[0].outcome, Outcome::Planned);
        assert_eq!(report.actions[1].outcome, Outcome::Planned);
        assert_eq!(report.actions[2].outcome, Outcome::Skipped);
    }
}
