//! The writing half of the shell: each planned write goes through `Report::perform`, which is
//! where `DRY_RUN` is enforced, so no write can bypass it.

use sagekeeper_core::Report;
use sagekeeper_core::aws::AwsError;
use sagekeeper_core::kms as kms_api;
use sagekeeper_core::run::apply as run_apply;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::run::report::{Outcome, ReportableError};
use sagekeeper_core::s3 as s3_api;
use sagekeeper_core::s3::PublicAccessBlock;
use sagekeeper_core::sagemaker::tags as sagemaker_tags;
use sagekeeper_core::sagemaker::{jobs, notebooks};

use crate::bucket_policy::{self, Merge};
use crate::clients::Clients;
use crate::plan::Remediation;

/// Records the plan, then makes its writes, `concurrency` resources at a time (a bucket's
/// own writes in order).
pub async fn apply(
    clients: &Clients,
    plan: Plan<Remediation>,
    concurrency: usize,
    report: &mut Report,
) {
    let writes = plan.record(report);
    run_apply::by_resource(
        report,
        writes,
        concurrency,
        |resource, remediations, mut report| async move {
            for remediation in remediations {
                remediate(clients, &resource, remediation, &mut report).await;
            }
            (report, ())
        },
    )
    .await;
}

async fn remediate(
    clients: &Clients,
    resource: &str,
    remediation: Remediation,
    report: &mut Report,
) {
    let (s3, sm, kms) = (&clients.s3, &clients.sagemaker, &clients.kms);
    let action = remediation.action();
    // Debug: the report lists every action, and at 5,000 buckets these lines were megabytes.
    tracing::debug!(resource, action, dry_run = report.dry_run, "remediating");
    match remediation {
        Remediation::PutBucketEncryption { bucket, kms_key_id } => {
            let write = s3_api::put_default_encryption_kms(s3, &bucket, &kms_key_id);
            report.perform(resource, action, write).await;
        }
        Remediation::PutBucketPolicy {
            bucket,
            read,
            policy,
        } => put_policy(report, s3, resource, &bucket, read, policy).await,
        Remediation::PutPublicAccessBlock { bucket } => {
            let write = s3_api::put_public_access_block(s3, &bucket, PublicAccessBlock::ALL_ON);
            report.perform(resource, action, write).await;
        }
        Remediation::EnableKeyRotation { key_arn } => {
            let write = kms_api::enable_rotation(kms, &key_arn);
            report.perform(resource, action, write).await;
        }
        Remediation::StopJob { kind, name } => {
            report
                .perform(resource, action, jobs::stop(sm, kind, &name))
                .await;
        }
        Remediation::StopNotebook { name } => {
            report
                .perform(resource, action, notebooks::stop(sm, &name))
                .await;
        }
        Remediation::TagEndpointConfig { arn, tags } => {
            let write = sagemaker_tags::add(sm, &arn, &tags);
            report.perform(resource, action, write).await;
        }
    }
}

/// Why a policy write did not leave the policy as intended.
#[derive(Debug, thiserror::Error)]
pub enum PolicyWriteError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "the policy read back after the write lacks {} statement(s) it had before ({}): another writer changed it at the same time; the next run evaluates it again",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    StatementsLost(Vec<serde_json::Value>),
    #[error(
        "the policy read back after the write does not deny requests without TLS: another writer replaced it at the same time; the next run evaluates it again"
    )]
    OursMissing,
}

impl ReportableError for PolicyWriteError {
    fn kind(&self) -> &'static str {
        match self {
            PolicyWriteError::Aws(err) => err.kind(),
            PolicyWriteError::StatementsLost(_) | PolicyWriteError::OursMissing => {
                "concurrent-change"
            }
        }
    }
    fn retryable(&self) -> bool {
        match self {
            PolicyWriteError::Aws(err) => err.retryable,
            PolicyWriteError::StatementsLost(_) | PolicyWriteError::OursMissing => true,
        }
    }
}

/// PutBucketPolicy replaces the whole policy, and it may have changed since this run read it
/// (an owner's edit, a deployment): it is read again right before the write, merged again if
/// it changed, and read back afterwards to check that every statement it had is still there.
async fn put_policy(
    report: &mut Report,
    s3: &aws_sdk_s3::Client,
    resource: &str,
    bucket: &str,
    read: Option<String>,
    planned: String,
) {
    let action = "put-bucket-policy";
    let current = match s3_api::get_policy(s3, bucket).await {
        Ok(current) => current,
        Err(err) => {
            report.action(resource, action, Outcome::Failed, Some(err.to_string()));
            return report.error(Some(resource), &err);
        }
    };
    let policy = if current == read {
        planned
    } else {
        match bucket_policy::merge_tls_only(current.as_deref(), bucket) {
            Ok(Merge::Updated(policy)) => policy,
            Ok(Merge::Unchanged) => {
                let why = "the policy changed since it was read and now denies requests without TLS: nothing to add";
                return report.skipped(resource, action, why);
            }
            Err(err) => {
                let why =
                    format!("the policy changed since it was read: {err}; it is left unchanged");
                return report.skipped(resource, action, why);
            }
        }
    };
    let write = write_verified(s3, bucket, current, policy);
    report.perform(resource, action, write).await;
}

async fn write_verified(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    before: Option<String>,
    policy: String,
) -> Result<(), PolicyWriteError> {
    s3_api::put_policy(s3, bucket, &policy).await?;
    let stored = s3_api::get_policy(s3, bucket).await?;
    let lost = bucket_policy::lost_statements(before.as_deref(), stored.as_deref());
    if !lost.is_empty() {
        return Err(PolicyWriteError::StatementsLost(lost));
    }
    let ours = stored.as_deref().is_some_and(|text| {
        bucket_policy::denies_insecure_transport(text, bucket).unwrap_or(false)
    });
    if !ours {
        return Err(PolicyWriteError::OursMissing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionOutput;
    use aws_sdk_sagemaker::operation::stop_training_job::StopTrainingJobOutput;
    use aws_smithy_mocks::{Rule, mock, mock_client};
    use chrono::Utc;
    use sagekeeper_core::Outcome;
    use sagekeeper_core::config::DEFAULT_APPLY_CONCURRENCY;

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
            target: None,
        };
        Mocks {
            stop,
            encrypt,
            clients,
        }
    }

    fn planned_steps() -> Plan<Remediation> {
        let mut plan = Plan::new();
        plan.write(
            BUCKET,
            Remediation::PutBucketEncryption {
                bucket: "acme-ml-training-data".to_owned(),
                kms_key_id: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
            },
        );
        plan.write(
            JOB,
            Remediation::StopJob {
                kind: JobKind::Training,
                name: "churn".to_owned(),
            },
        );
        plan.skip(
            JOB,
            "stop-notebook-instance",
            "STOP_NONCOMPLIANT_NOTEBOOKS is off",
        );
        plan
    }

    // Mocks, because the emulator does not implement StopTrainingJob (it answers HTTP 500) and
    // its jobs are never running, so the stop path cannot be exercised against it.
    #[tokio::test]
    async fn writes_run_and_are_recorded() {
        let mocks = mocks();
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(
            &mocks.clients,
            planned_steps(),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
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
                ("stop-notebook-instance", Outcome::Skipped),
                ("put-bucket-encryption", Outcome::Done),
                ("stop-training-job", Outcome::Done),
            ]
        );
        assert!(!report.failed());
    }

    #[tokio::test]
    async fn a_dry_run_makes_no_call() {
        let mocks = mocks();
        let mut report = Report::new("encryption-enforcer", true, Utc::now());
        apply(
            &mocks.clients,
            planned_steps(),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(mocks.encrypt.num_calls(), 0);
        assert_eq!(mocks.stop.num_calls(), 0);
        assert_eq!(report.actions[0].outcome, Outcome::Skipped);
        assert_eq!(report.actions[1].outcome, Outcome::Planned);
        assert_eq!(report.actions[2].outcome, Outcome::Planned);
    }

    /// A bucket policy as S3 keeps it, for mocks: GetBucketPolicy answers what is stored, and
    /// PutBucketPolicy stores what it is given, unless `racer` is set: then another writer's
    /// policy lands right after ours (what no emulator can be made to do on cue).
    struct PolicyStore {
        stored: Arc<Mutex<String>>,
        written: Arc<Mutex<Vec<String>>>,
        put: Rule,
        clients: Clients,
    }

    use std::sync::{Arc, Mutex};

    fn policy_store(now: &str, racer: Option<&str>) -> PolicyStore {
        use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
        use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
        use aws_smithy_mocks::RuleMode;
        let stored = Arc::new(Mutex::new(now.to_owned()));
        let written = Arc::new(Mutex::new(Vec::new()));
        let on_get = Arc::clone(&stored);
        let get = mock!(aws_sdk_s3::Client::get_bucket_policy).then_compute_output(move |_| {
            let text = on_get.lock().unwrap().clone();
            GetBucketPolicyOutput::builder().policy(text).build()
        });
        let (on_put, log, racer) = (
            Arc::clone(&stored),
            Arc::clone(&written),
            racer.map(str::to_owned),
        );
        let put = mock!(aws_sdk_s3::Client::put_bucket_policy)
            .match_requests(move |r| {
                let policy = r.policy().unwrap_or_default().to_owned();
                log.lock().unwrap().push(policy.clone());
                *on_put.lock().unwrap() = racer.clone().unwrap_or(policy);
                true
            })
            .then_output(|| PutBucketPolicyOutput::builder().build());
        let unused = mock!(aws_sdk_kms::Client::enable_key_rotation).then_error(|| {
            aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationError::unhandled(
                "not expected",
            )
        });
        let stop = mock!(aws_sdk_sagemaker::Client::stop_training_job)
            .then_output(|| StopTrainingJobOutput::builder().build());
        let clients = Clients {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get, &put]),
            sagemaker: mock_client!(aws_sdk_sagemaker, [&stop]),
            kms: mock_client!(aws_sdk_kms, [&unused]),
            region: Some("us-east-1".to_owned()),
            target: None,
        };
        PolicyStore {
            stored,
            written,
            put,
            clients,
        }
    }

    const NAME: &str = "acme-ml-training-data";

    fn statement(sid: &str) -> serde_json::Value {
        serde_json::json!({"Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/SageMakerExecutionRole"},
            "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{NAME}/*")})
    }

    fn policy_of(statements: &[serde_json::Value]) -> String {
        serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    fn statements_of(text: &str) -> Vec<serde_json::Value> {
        let policy: serde_json::Value = serde_json::from_str(text).unwrap();
        policy["Statement"].as_array().cloned().unwrap_or_default()
    }

    /// What the plan made of the policy as the sweep read it: one statement of the owner's.
    fn planned() -> (String, Remediation) {
        let read = policy_of(&[statement("Reads")]);
        let Ok(Merge::Updated(merged)) = bucket_policy::merge_tls_only(Some(&read), NAME) else {
            panic!("a merge")
        };
        let write = Remediation::PutBucketPolicy {
            bucket: NAME.to_owned(),
            read: Some(read.clone()),
            policy: merged,
        };
        (read, write)
    }

    fn only(write: Remediation) -> Plan<Remediation> {
        let mut plan = Plan::new();
        plan.write(BUCKET, write);
        plan
    }

    // GIVEN the owner added a statement after the sweep read the policy
    // THEN the write keeps it (merged again into what is there now), and the control (nothing
    // changed) writes exactly what was planned.
    #[tokio::test]
    async fn a_policy_changed_since_it_was_read_is_merged_again_not_overwritten() {
        let (read, step) = planned();
        let changed = policy_of(&[statement("Reads"), statement("AddedSinceTheSweep")]);
        let store = policy_store(&changed, None);
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(
            &store.clients,
            only(step.clone()),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(
            report.actions[0].outcome,
            Outcome::Done,
            "{:?}",
            report.actions
        );
        let now = statements_of(&store.stored.lock().unwrap());
        assert!(now.contains(&statement("AddedSinceTheSweep")), "{now:?}");
        assert!(now.contains(&statement("Reads")));
        assert!(now.iter().any(|s| s["Sid"] == bucket_policy::SID));

        let control = policy_store(&read, None);
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(
            &control.clients,
            only(step.clone()),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(report.actions[0].outcome, Outcome::Done);
        let Remediation::PutBucketPolicy { policy, .. } = step else {
            panic!()
        };
        assert_eq!(*control.written.lock().unwrap(), [policy]);
    }

    #[tokio::test]
    async fn a_policy_that_now_denies_plain_http_is_not_written() {
        let (_, step) = planned();
        let ours = policy_of(&[statement("Reads"), bucket_policy::tls_only_statement(NAME)]);
        let store = policy_store(&ours, None);
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(
            &store.clients,
            only(step),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(report.actions[0].outcome, Outcome::Skipped);
        assert_eq!(store.put.num_calls(), 0);
    }

    // GIVEN another writer replaces the policy right after ours is stored
    // THEN reading it back finds the lost statement and the action fails, saying so.
    #[tokio::test]
    async fn a_statement_lost_to_a_concurrent_writer_fails_the_action() {
        let (read, step) = planned();
        let racer = policy_of(&[statement("SomebodyElses")]);
        let store = policy_store(&read, Some(&racer));
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        apply(
            &store.clients,
            only(step),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(store.put.num_calls(), 1);
        assert_eq!(report.actions[0].outcome, Outcome::Failed);
        assert_eq!(report.errors[0].kind, "concurrent-change");
        let detail = report.actions[0].detail.as_deref().unwrap_or_default();
        assert!(detail.contains("\"Reads\""), "{detail}");
    }

    #[tokio::test]
    async fn a_dry_run_reads_the_policy_but_does_not_write_it() {
        let (read, step) = planned();
        let store = policy_store(&read, None);
        let mut report = Report::new("encryption-enforcer", true, Utc::now());
        apply(
            &store.clients,
            only(step),
            DEFAULT_APPLY_CONCURRENCY,
            &mut report,
        )
        .await;
        assert_eq!(report.actions[0].outcome, Outcome::Planned);
        assert_eq!(store.put.num_calls(), 0);
    }
}
