//! From what was gathered to what to report and what to change: rules evaluated, exemptions
//! applied, modes and opt-ins honoured. Pure: the same resources and configuration always give
//! the same plan, and nothing here calls AWS.

use sagekeeper_core::Severity;
use sagekeeper_core::kms::KeyManager;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::metrics;
use sagekeeper_core::run::plan::Plan;
use sagekeeper_core::s3::{DSSE_KMS, SSE_KMS};

use crate::bucket_policy::{self, Merge};
use crate::config::Config;
use crate::decide::Subject;
use crate::model::{
    Bucket, Domain, EndpointConfig, Evaluable, Gathered, Job, JobKind, Key, Notebook,
};
use crate::reliance::{self, Refusal};
use crate::rules::{self, Context, Evaluation, Mode, Rule, RuleInfo, kms, s3, sagemaker, studio};

/// The tag an endpoint config gets when it breaks rules in remediate mode: it cannot be
/// changed, only replaced, so the tag is how its owners (and cost reports) find it.
pub const NONCOMPLIANT_TAG: &str = "sagekeeper:noncompliant";

/// One write. Each is safe to repeat and none deletes anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remediation {
    PutBucketEncryption {
        bucket: String,
        kms_key_id: String,
    },
    /// `read` is the policy as the run read it; `apply` reads it again before writing and
    /// merges again when it changed meanwhile.
    PutBucketPolicy {
        bucket: String,
        read: Option<String>,
        policy: String,
    },
    PutPublicAccessBlock {
        bucket: String,
    },
    EnableKeyRotation {
        key_arn: String,
    },
    StopJob {
        kind: JobKind,
        name: String,
    },
    StopNotebook {
        name: String,
    },
    TagEndpointConfig {
        arn: String,
        tags: Tags,
    },
}

impl Remediation {
    /// The action's name in the report.
    pub fn action(&self) -> &'static str {
        match self {
            Remediation::PutBucketEncryption { .. } => "put-bucket-encryption",
            Remediation::PutBucketPolicy { .. } => "put-bucket-policy",
            Remediation::PutPublicAccessBlock { .. } => "put-public-access-block",
            Remediation::EnableKeyRotation { .. } => "enable-key-rotation",
            Remediation::StopJob { kind, .. } => stop_action(*kind),
            Remediation::StopNotebook { .. } => "stop-notebook-instance",
            Remediation::TagEndpointConfig { .. } => "tag-noncompliant",
        }
    }
}

fn stop_action(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Training => "stop-training-job",
        JobKind::Processing => "stop-processing-job",
        JobKind::Transform => "stop-transform-job",
        JobKind::HyperParameterTuning => "stop-hyper-parameter-tuning-job",
    }
}

/// One rule's result for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Evaluated {
    resource: String,
    rule: &'static RuleInfo,
    evaluation: Evaluation,
}

/// How much of the evaluation a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Problems only: a sweep's report lists what needs attention, not every bucket that is fine.
    Problems,
    /// Every result, compliant and not applicable ones as info findings: the answer to an API
    /// call is the resource's full evaluation, like an AWS Config evaluation.
    Everything,
}

impl Detail {
    fn of(subject: &Subject) -> Detail {
        match subject {
            Subject::Sweep { .. } => Detail::Problems,
            _ => Detail::Everything,
        }
    }
}

/// The findings, skips, writes and metrics for what `subject` put in scope. Every result is
/// logged at debug level; a sweep's report shows the problems, an API call's every result.
pub fn plan(gathered: &Gathered, config: &Config, subject: &Subject) -> Plan<Remediation> {
    let required_key = config.common.kms_key_arn.as_ref().map(ToString::to_string);
    let mut planning = Planning {
        plan: Plan::new(),
        evaluations: Vec::new(),
        context: Context {
            required_kms_key: required_key.as_deref(),
            keys: &gathered.keys,
            sensitive_tag: &config.sensitive_tag,
        },
        config,
    };
    for bucket in &gathered.buckets {
        let failing = planning.evaluate(bucket);
        let refusals: Vec<Refusal> = reliance::refusals(bucket)
            .into_iter()
            .filter(|r| failing.contains(&r.rule))
            .collect();
        for refusal in &refusals {
            // Known reliance is how the bucket must be (info); unread evidence is a gap (low).
            let severity = if refusal.known {
                Severity::Info
            } else {
                Severity::Low
            };
            let message = format!("not remediated: {}", refusal.reason);
            planning
                .plan
                .finding(&bucket.arn, refusal.rule, severity, message);
        }
        let plan = &mut planning.plan;
        bucket_steps(plan, bucket, &failing, &planning.context, &refusals);
    }
    for job in &gathered.jobs {
        let failing = planning.evaluate(job);
        job_steps(&mut planning.plan, job, &failing, config);
    }
    for endpoint_config in &gathered.endpoint_configs {
        let failing = planning.evaluate(endpoint_config);
        endpoint_config_steps(&mut planning.plan, endpoint_config, &failing);
    }
    for notebook in &gathered.notebooks {
        let failing = planning.evaluate(notebook);
        notebook_steps(&mut planning.plan, notebook, &failing, config);
    }
    for domain in &gathered.domains {
        // Report only: `remediate` is refused for these rules when the configuration is read.
        let failing = planning.evaluate(domain);
        debug_assert!(failing.is_empty(), "{failing:?}");
    }
    for key in gathered.keys.keys() {
        if planning.evaluate(key).contains(&kms::ROTATION) {
            let key_arn = key.info.arn.clone();
            let write = Remediation::EnableKeyRotation {
                key_arn: key_arn.clone(),
            };
            planning.plan.write(key_arn, write);
        }
    }
    let Planning {
        mut plan,
        evaluations,
        ..
    } = planning;
    if matches!(subject, Subject::Sweep { .. } | Subject::Bucket(_)) {
        plan.add_metric(metrics::BUCKETS_IN_SCOPE, gathered.buckets.len() as f64);
    }
    for e in &evaluations {
        tracing::debug!(resource = %e.resource, rule = e.rule.id, result = ?e.evaluation, "evaluated");
    }
    if Detail::of(subject) == Detail::Everything {
        for e in evaluations {
            let message = match e.evaluation {
                Evaluation::Compliant => "compliant".to_owned(),
                Evaluation::NotApplicable(why) => format!("not applicable: {why}"),
                Evaluation::NonCompliant(_) | Evaluation::Exempt(_) | Evaluation::Excepted(_) => {
                    continue;
                }
            };
            plan.finding(e.resource, e.rule.id, Severity::Info, message);
        }
    }
    plan
}

/// A plan being made, with every result so far (compliant ones included).
struct Planning<'a> {
    plan: Plan<Remediation>,
    evaluations: Vec<Evaluated>,
    context: Context<'a>,
    config: &'a Config,
}

impl Planning<'_> {
    /// Evaluates one resource with the rules of its kind; adds the findings and metrics of the
    /// results, and returns the rules it breaks whose mode is remediate.
    fn evaluate<T: Evaluable + RulesFor>(&mut self, subject: &T) -> Vec<&'static str> {
        let config = self.config;
        let results = rules::evaluate(subject, T::rules(), &self.context, &config.exempt_resources);
        let resource = subject.arn();
        let plan = &mut self.plan;
        let mut to_remediate = Vec::new();
        let mut non_compliant = false;
        for (rule, evaluation) in &results {
            let broken = matches!(evaluation, Evaluation::NonCompliant(_));
            plan.add_metric(
                &metrics::non_compliant(rule.id),
                f64::from(u8::from(broken)),
            );
            match evaluation {
                Evaluation::NonCompliant(problem) => {
                    non_compliant = true;
                    let mode = config.mode(rule.id);
                    let message = match mode {
                        Mode::Remediate => problem.clone(),
                        Mode::Report => format!("{problem} (rule in report mode: not changed)"),
                    };
                    plan.finding(resource, rule.id, rule.severity, message);
                    if mode == Mode::Remediate {
                        to_remediate.push(rule.id);
                    }
                }
                Evaluation::Exempt(why) => {
                    plan.add_metric(metrics::EXEMPT, 1.0);
                    plan.finding(resource, rule.id, Severity::Info, why.clone());
                    plan.pass(resource, rule.id);
                }
                Evaluation::Excepted(what) => {
                    plan.finding(resource, rule.id, Severity::Low, what.clone());
                    plan.pass(resource, rule.id);
                }
                Evaluation::Compliant | Evaluation::NotApplicable(_) => {
                    plan.pass(resource, rule.id);
                }
            }
        }
        plan.add_metric(metrics::RESOURCES_EVALUATED, 1.0);
        plan.add_metric(
            metrics::NON_COMPLIANT_RESOURCES,
            f64::from(u8::from(non_compliant)),
        );
        self.evaluations
            .extend(results.into_iter().map(|(rule, evaluation)| Evaluated {
                resource: resource.to_owned(),
                rule,
                evaluation,
            }));
        to_remediate
    }
}

trait RulesFor: Sized + 'static {
    fn rules() -> &'static [Rule<Self>];
}

impl RulesFor for Bucket {
    fn rules() -> &'static [Rule<Self>] {
        s3::RULES
    }
}
impl RulesFor for Job {
    fn rules() -> &'static [Rule<Self>] {
        sagemaker::JOB_RULES
    }
}
impl RulesFor for EndpointConfig {
    fn rules() -> &'static [Rule<Self>] {
        sagemaker::ENDPOINT_CONFIG_RULES
    }
}
impl RulesFor for Notebook {
    fn rules() -> &'static [Rule<Self>] {
        sagemaker::NOTEBOOK_RULES
    }
}
impl RulesFor for Domain {
    fn rules() -> &'static [Rule<Self>] {
        studio::DOMAIN_RULES
    }
}
impl RulesFor for Key {
    fn rules() -> &'static [Rule<Self>] {
        kms::RULES
    }
}

/// Encryption, then the policy, then the public access block: with BlockPublicPolicy on, S3
/// refuses to store a policy that still grants public access, so merging our statement into
/// such a policy must come first. A remediation something relies on not happening (`refusals`)
/// is skipped, with the reasons.
fn bucket_steps(
    plan: &mut Plan<Remediation>,
    bucket: &Bucket,
    failing: &[&str],
    context: &Context,
    refusals: &[Refusal],
) {
    let arn = bucket.arn.as_str();
    let refused = |rule: &str| {
        let reasons: Vec<&str> = refusals
            .iter()
            .filter(|r| r.rule == rule)
            .map(|r| r.reason.as_str())
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    };
    if failing.contains(&s3::DEFAULT_ENCRYPTION) {
        let key = match refused(s3::DEFAULT_ENCRYPTION) {
            Some(why) => Err(why),
            None => encryption_key(bucket, context),
        };
        match key {
            Ok(kms_key_id) => plan.write(
                arn,
                Remediation::PutBucketEncryption {
                    bucket: bucket.name.clone(),
                    kms_key_id,
                },
            ),
            Err(why) => plan.skip(arn, "put-bucket-encryption", why),
        }
    }
    if failing.contains(&s3::DENY_INSECURE_TRANSPORT) {
        let action = "put-bucket-policy";
        match refused(s3::DENY_INSECURE_TRANSPORT) {
            Some(why) => plan.skip(arn, action, why),
            None => match bucket_policy::merge_tls_only(bucket.policy.as_deref(), &bucket.name) {
                Ok(Merge::Updated(policy)) => plan.write(
                    arn,
                    Remediation::PutBucketPolicy {
                        bucket: bucket.name.clone(),
                        read: bucket.policy.clone(),
                        policy,
                    },
                ),
                // Our statement is there but the rule still fails: nothing a merge could add.
                Ok(Merge::Unchanged) => {}
                Err(err) => plan.skip(arn, action, format!("{err}; the policy is left unchanged")),
            },
        }
    }
    if failing.contains(&s3::PUBLIC_ACCESS_BLOCK) {
        match refused(s3::PUBLIC_ACCESS_BLOCK) {
            Some(why) => plan.skip(arn, "put-public-access-block", why),
            None => plan.write(
                arn,
                Remediation::PutPublicAccessBlock {
                    bucket: bucket.name.clone(),
                },
            ),
        }
    }
}

/// The key to set as default encryption, or why none is set. Only a bucket without default
/// encryption or on SSE-S3 gets a new key (`KMS_KEY_ARN`): a bucket already on SSE-KMS keeps
/// its key, because changing it changes who can read new objects. A customer-managed key
/// without an S3 Bucket Key gets the bucket key, with the same key.
fn encryption_key(bucket: &Bucket, context: &Context) -> Result<String, String> {
    let current = bucket
        .encryption
        .as_ref()
        .filter(|e| e.algorithm == SSE_KMS || e.algorithm == DSSE_KMS);
    let Some(current) = current else {
        return context.required_kms_key.map(str::to_owned).ok_or_else(|| {
            "no KMS_KEY_ARN is configured and the bucket has no customer-managed key to keep"
                .to_owned()
        });
    };
    let key = current.kms_key_id.as_deref();
    let described = key.and_then(|k| context.keys.get(k));
    let aws_managed = match (key, described) {
        (None, _) => true,
        (_, Some(described)) => described.info.manager == KeyManager::Aws,
        (Some(key), None) => key.ends_with("alias/aws/s3"),
    };
    let kept = match described {
        Some(described) => described.info.arn.clone(),
        None => key.unwrap_or("aws/s3").to_owned(),
    };
    if aws_managed {
        return Err(format!(
            "the bucket already uses SSE-KMS with the AWS managed key {kept}, which is kept: switching keys changes who can read new objects, so only SSE-S3 or no default encryption is changed"
        ));
    }
    if current.algorithm == SSE_KMS && !current.bucket_key_enabled {
        return Ok(kept);
    }
    Err(format!(
        "the bucket's own customer-managed key {kept} is kept: only SSE-S3 or no default encryption is changed"
    ))
}

fn job_steps(plan: &mut Plan<Remediation>, job: &Job, failing: &[&str], config: &Config) {
    if failing.is_empty() {
        return;
    }
    let action = stop_action(job.kind);
    let skip = if job.kind == JobKind::HyperParameterTuning {
        "tuning jobs are not stopped: the training jobs they start are evaluated, and stopped, as training jobs"
            .to_owned()
    } else if !config.stop_noncompliant_jobs {
        "STOP_NONCOMPLIANT_JOBS is off".to_owned()
    } else if !job.is_running() {
        format!("the job is {}: nothing to stop", job.status)
    } else {
        let stop = Remediation::StopJob {
            kind: job.kind,
            name: job.name.clone(),
        };
        return plan.write(&job.arn, stop);
    };
    plan.skip(&job.arn, action, skip);
}

fn endpoint_config_steps(plan: &mut Plan<Remediation>, config: &EndpointConfig, failing: &[&str]) {
    if failing.is_empty() {
        return;
    }
    // Spaces, not commas: SageMaker tag values do not allow commas.
    let value = failing.join(" ");
    if config.tags.get(NONCOMPLIANT_TAG) == Some(&value) {
        return;
    }
    let tag = Remediation::TagEndpointConfig {
        arn: config.arn.clone(),
        tags: Tags::from([(NONCOMPLIANT_TAG.to_owned(), value)]),
    };
    plan.write(&config.arn, tag);
}

fn notebook_steps(
    plan: &mut Plan<Remediation>,
    notebook: &Notebook,
    failing: &[&str],
    config: &Config,
) {
    if failing.is_empty() {
        return;
    }
    let resource = &notebook.notebook.arn;
    let reason = if !config.stop_noncompliant_notebooks {
        "STOP_NONCOMPLIANT_NOTEBOOKS is off".to_owned()
    } else if !notebook.notebook.is_in_service() {
        format!(
            "the notebook is {}: nothing to stop",
            notebook.notebook.status
        )
    } else {
        let stop = Remediation::StopNotebook {
            name: notebook.notebook.name.clone(),
        };
        return plan.write(resource, stop);
    };
    plan.skip(resource, "stop-notebook-instance", reason);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exemptions::{EXEMPT_REASON_TAG, EXEMPT_TAG};
    use crate::model::KeyIndex;
    use crate::reliance::EvidenceNeeded;
    use crate::rules::s3::tests::{KEY_ARN, good_bucket, key, keys};
    use crate::rules::sagemaker::tests::{good_config, good_job, good_notebook};
    use sagekeeper_core::Env;
    use sagekeeper_core::run::function::Settings;
    use sagekeeper_core::run::report::Finding;
    use sagekeeper_core::s3::{DSSE_KMS, DefaultEncryption, SSE_KMS};

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut with_key = vec![("KMS_KEY_ARN", KEY_ARN)];
        with_key.extend_from_slice(pairs);
        Config::from_env(&Env::from_pairs(with_key), false).unwrap()
    }

    /// A bucket that breaks all three S3 rules: SSE-S3, a policy without the TLS statement,
    /// no public access block.
    fn open_bucket() -> Bucket {
        Bucket {
            encryption: Some(DefaultEncryption {
                algorithm: "AES256".to_owned(),
                kms_key_id: None,
                bucket_key_enabled: false,
            }),
            policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-ml-training-data/*"}]}"#.to_owned()),
            public_access_block: None,
            ..good_bucket()
        }
    }

    fn gathered() -> Gathered {
        Gathered {
            keys: keys(),
            ..Gathered::default()
        }
    }

    /// The plan of a sweep: the findings of problems only.
    fn plan(gathered: &Gathered, config: &Config) -> Plan<Remediation> {
        let sweep = Subject::Sweep {
            created_since: chrono::DateTime::UNIX_EPOCH,
        };
        super::plan(gathered, config, &sweep)
    }

    /// The actions in the order the report records them: skips, then writes.
    fn actions(plan: &Plan<Remediation>) -> Vec<(&str, &str)> {
        let skips = plan
            .skips
            .iter()
            .map(|skip| (skip.resource.as_str(), skip.action.as_str()));
        let writes = plan
            .writes
            .iter()
            .map(|(resource, write)| (resource.as_str(), write.action()));
        skips.chain(writes).collect()
    }

    fn writes(plan: &Plan<Remediation>) -> Vec<&Remediation> {
        plan.writes.iter().map(|(_, write)| write).collect()
    }

    fn skips(plan: &Plan<Remediation>) -> Vec<&str> {
        plan.skips.iter().map(|skip| skip.reason.as_str()).collect()
    }

    fn no_steps(plan: &Plan<Remediation>) -> bool {
        plan.skips.is_empty() && plan.writes.is_empty()
    }

    /// The gather reads no ACL, replication or log sources for a bucket already on SSE-KMS or
    /// DSSE-KMS (`EvidenceNeeded`). That is safe because such a bucket keeps its key: its one
    /// possible encryption write is the Bucket Key, with the same key. Control: a bucket on
    /// SSE-S3 needs that evidence and gets the required key.
    #[test]
    fn a_bucket_on_kms_keeps_its_key_so_what_relies_on_its_encryption_is_not_read() {
        let config = config(&[]);
        let owners = "arn:aws:kms:us-east-1:123456789012:key/owners";
        let on_kms = [
            (SSE_KMS, None, true),
            (SSE_KMS, Some("alias/aws/s3"), false),
            (SSE_KMS, Some(KEY_ARN), false),
            (SSE_KMS, Some(owners), false),
            (SSE_KMS, Some(owners), true),
            (DSSE_KMS, Some(owners), false),
        ];
        let bucket = |algorithm: &str, key: Option<&str>, bucket_key| Bucket {
            encryption: Some(DefaultEncryption {
                algorithm: algorithm.to_owned(),
                kms_key_id: key.map(str::to_owned),
                bucket_key_enabled: bucket_key,
            }),
            ..good_bucket()
        };
        let encryption_writes = |bucket: &Bucket| {
            let inventory = Gathered {
                buckets: vec![bucket.clone()],
                ..gathered()
            };
            let plan = plan(&inventory, &config);
            writes(&plan)
                .into_iter()
                .filter_map(|w| match w {
                    Remediation::PutBucketEncryption { kms_key_id, .. } => Some(kms_key_id.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let reads_reliance = |b: &Bucket| EvidenceNeeded::for_bucket(b).encryption_reliance;
        for (algorithm, key, bucket_key) in on_kms {
            let bucket = bucket(algorithm, key, bucket_key);
            assert!(!reads_reliance(&bucket), "{bucket:?}");
            for written in encryption_writes(&bucket) {
                assert_eq!(Some(written.as_str()), key, "{bucket:?}");
            }
        }
        // The bucket key is the one write, with the same key.
        assert_eq!(
            encryption_writes(&bucket(SSE_KMS, Some(KEY_ARN), false)),
            [KEY_ARN]
        );
        let sse_s3 = bucket("AES256", None, false);
        assert!(reads_reliance(&sse_s3));
        assert_eq!(encryption_writes(&sse_s3), [KEY_ARN]);
    }

    #[test]
    fn a_compliant_account_gets_no_findings_and_no_steps() {
        let inventory = Gathered {
            buckets: vec![good_bucket()],
            jobs: vec![good_job()],
            endpoint_configs: vec![good_config()],
            notebooks: vec![good_notebook()],
            ..gathered()
        };
        let plan = plan(&inventory, &config(&[]));
        assert_eq!(plan.findings, []);
        assert!(no_steps(&plan));
        // Buckets, job, config, notebook and two keys; every rule's counter is there, at zero.
        assert_eq!(plan.metrics["ResourcesEvaluated"], 6.0);
        assert_eq!(plan.metrics["NonCompliantResources"], 0.0);
        assert_eq!(plan.metrics["NonCompliant.s3-default-encryption-kms"], 0.0);
        assert_eq!(plan.metrics["NonCompliant.kms-key-rotation"], 0.0);
    }

    #[test]
    fn an_api_calls_report_shows_every_result_a_sweeps_only_the_problems() {
        let gathered = Gathered {
            buckets: vec![good_bucket()],
            ..Gathered::default()
        };
        let sweep = plan(&gathered, &config(&[]));
        assert!(sweep.findings.is_empty());
        assert_eq!(sweep.metrics["BucketsInScope"], 1.0);
        let call = Subject::Bucket("acme-ml-training-data".to_owned());
        let everything = super::plan(&gathered, &config(&[]), &call);
        assert_eq!(everything.findings.len(), 3);
        assert!(
            everything
                .findings
                .iter()
                .all(|f| f.severity == Severity::Info && f.message == "compliant")
        );
        assert_eq!(everything.metrics["ResourcesEvaluated"], 1.0);
        assert_eq!(everything.metrics["BucketsInScope"], 1.0);
        // A call about anything else reports no bucket count.
        let job = Subject::Job(JobKind::Training, "churn-xgb".to_owned());
        let about_a_job = super::plan(&Gathered::default(), &config(&[]), &job);
        assert!(!about_a_job.metrics.contains_key("BucketsInScope"));
    }

    #[test]
    fn s3_rules_remediate_by_default_in_a_safe_order() {
        let bucket = open_bucket();
        let plan = plan(
            &Gathered {
                buckets: vec![bucket.clone()],
                ..gathered()
            },
            &config(&[]),
        );
        assert_eq!(plan.findings.len(), 3);
        assert!(plan.findings.iter().all(|f| f.resource == bucket.arn));
        assert_eq!(
            actions(&plan),
            [
                (bucket.arn.as_str(), "put-bucket-encryption"),
                (bucket.arn.as_str(), "put-bucket-policy"),
                (bucket.arn.as_str(), "put-public-access-block"),
            ]
        );
        let Remediation::PutBucketEncryption { kms_key_id, .. } = writes(&plan)[0] else {
            panic!()
        };
        assert_eq!(kms_key_id, KEY_ARN);
        let Remediation::PutBucketPolicy { policy, .. } = writes(&plan)[1] else {
            panic!()
        };
        let merged: serde_json::Value = serde_json::from_str(policy).unwrap();
        let original: serde_json::Value =
            serde_json::from_str(bucket.policy.as_deref().unwrap()).unwrap();
        assert_eq!(merged["Statement"][0], original["Statement"][0]);
        assert_eq!(merged["Statement"][1]["Sid"], bucket_policy::SID);
        assert_eq!(plan.metrics["NonCompliantResources"], 1.0);
        assert_eq!(plan.metrics["NonCompliant.s3-public-access-block"], 1.0);
    }

    #[test]
    fn report_mode_gives_findings_and_no_writes() {
        let plan = plan(
            &Gathered {
                buckets: vec![open_bucket()],
                ..gathered()
            },
            &config(&[(
                "RULE_MODES",
                r#"{"s3-default-encryption-kms":"report","s3-deny-insecure-transport":"report","s3-public-access-block":"report"}"#,
            )]),
        );
        assert_eq!(plan.findings.len(), 3);
        assert!(
            plan.findings
                .iter()
                .all(|f| f.message.contains("report mode"))
        );
        assert!(no_steps(&plan));
    }

    #[test]
    fn exempt_resources_are_reported_as_exempt_and_left_alone() {
        let mut tagged = open_bucket();
        tagged.tags = Tags::from([
            (
                EXEMPT_TAG.to_owned(),
                "s3-public-access-block s3-deny-insecure-transport".to_owned(),
            ),
            (EXEMPT_REASON_TAG.to_owned(), "public dataset".to_owned()),
        ]);
        let mut listed = open_bucket();
        listed.name = "listed".to_owned();
        listed.arn = "arn:aws:s3:::listed".to_owned();
        let plan = plan(
            &Gathered {
                buckets: vec![tagged.clone(), listed],
                ..gathered()
            },
            &config(&[("EXEMPT_RESOURCES", "arn:aws:s3:::listed")]),
        );
        // The tagged bucket: encryption is fixed; the two exempt rules are info findings only.
        assert_eq!(
            actions(&plan),
            [(tagged.arn.as_str(), "put-bucket-encryption")]
        );
        let exempt: Vec<&Finding> = plan
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .collect();
        assert_eq!(exempt.len(), 5, "{:?}", plan.findings);
        assert!(exempt[0].message.contains("public dataset"));
        assert!(exempt[0].message.contains("otherwise:"));
        assert!(
            exempt
                .iter()
                .filter(|f| f.resource == "arn:aws:s3:::listed")
                .all(|f| f.message.contains("EXEMPT_RESOURCES"))
        );
        assert_eq!(plan.metrics["Exempt"], 5.0);
    }

    #[test]
    fn encryption_without_a_configured_key_keeps_the_buckets_own_key_or_skips() {
        let mut no_bucket_key = good_bucket();
        no_bucket_key.encryption = Some(DefaultEncryption {
            algorithm: SSE_KMS.to_owned(),
            kms_key_id: Some("alias/ml-data".to_owned()),
            bucket_key_enabled: false,
        });
        let plan = plan(
            &Gathered {
                buckets: vec![no_bucket_key, open_bucket()],
                ..gathered()
            },
            &Config::from_env(&Env::default(), false).unwrap(),
        );
        assert_eq!(
            writes(&plan)[0],
            &Remediation::PutBucketEncryption {
                bucket: "acme-ml-training-data".to_owned(),
                kms_key_id: KEY_ARN.to_owned()
            }
        );
        assert!(skips(&plan)[0].contains("no KMS_KEY_ARN"));
    }

    #[test]
    fn an_unparseable_policy_is_a_finding_and_a_skip() {
        let mut bucket = good_bucket();
        bucket.policy = Some("{not json".to_owned());
        let plan = plan(
            &Gathered {
                buckets: vec![bucket],
                ..gathered()
            },
            &config(&[]),
        );
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(plan.findings[0].rule, s3::DENY_INSECURE_TRANSPORT);
        assert!(plan.findings[0].message.contains("left unchanged"));
        assert_eq!(writes(&plan), Vec::<&Remediation>::new());
        assert!(skips(&plan)[0].contains("not valid JSON"));
    }

    #[test]
    fn jobs_are_stopped_only_when_running_opted_in_and_in_remediate_mode() {
        let mut bad = good_job();
        bad.volume_kms_key_id = None;
        let remediate = r#"{"sagemaker-job-volume-kms":"remediate"}"#;
        let run = |job: &Job, pairs: &[(&str, &str)]| {
            plan(
                &Gathered {
                    jobs: vec![job.clone()],
                    ..gathered()
                },
                &config(pairs),
            )
        };
        // Default: report mode, a finding and nothing else.
        let report_only = run(&bad, &[("STOP_NONCOMPLIANT_JOBS", "true")]);
        assert_eq!(report_only.findings.len(), 1);
        assert!(no_steps(&report_only));
        // Remediate mode without the opt-in: skipped, saying why.
        let not_opted_in = run(&bad, &[("RULE_MODES", remediate)]);
        assert_eq!(skips(&not_opted_in), ["STOP_NONCOMPLIANT_JOBS is off"]);
        // Both: stopped once, however many rules it breaks.
        bad.output_kms_key_id = None;
        let both =
            r#"{"sagemaker-job-volume-kms":"remediate","sagemaker-job-output-kms":"remediate"}"#;
        let stopped = run(
            &bad,
            &[("RULE_MODES", both), ("STOP_NONCOMPLIANT_JOBS", "true")],
        );
        assert_eq!(
            writes(&stopped),
            [&Remediation::StopJob {
                kind: JobKind::Training,
                name: "churn-xgb".to_owned()
            }]
        );
        // A finished job has nothing to stop; a tuning job is never stopped.
        bad.status = "Completed".to_owned();
        let finished = run(
            &bad,
            &[("RULE_MODES", both), ("STOP_NONCOMPLIANT_JOBS", "true")],
        );
        assert!(skips(&finished)[0].contains("Completed"));
        bad.kind = JobKind::HyperParameterTuning;
        bad.status = "InProgress".to_owned();
        let tuning = run(
            &bad,
            &[("RULE_MODES", both), ("STOP_NONCOMPLIANT_JOBS", "true")],
        );
        assert_eq!(actions(&tuning)[0].1, "stop-hyper-parameter-tuning-job");
        assert!(skips(&tuning)[0].contains("tuning jobs are not stopped"));
    }

    #[test]
    fn notebooks_are_stopped_only_when_in_service_and_opted_in() {
        let mut open = good_notebook();
        open.notebook.root_access = true;
        let modes = r#"{"sagemaker-notebook-no-root-access":"remediate"}"#;
        let run = |notebook: &Notebook, stop: &str| {
            plan(
                &Gathered {
                    notebooks: vec![notebook.clone()],
                    ..gathered()
                },
                &config(&[("RULE_MODES", modes), ("STOP_NONCOMPLIANT_NOTEBOOKS", stop)]),
            )
        };
        assert_eq!(
            writes(&run(&open, "true")),
            [&Remediation::StopNotebook {
                name: "ds-sandbox".to_owned()
            }]
        );
        assert_eq!(
            skips(&run(&open, "false")),
            ["STOP_NONCOMPLIANT_NOTEBOOKS is off"]
        );
        open.notebook.status = "Stopped".to_owned();
        assert!(skips(&run(&open, "true"))[0].contains("Stopped"));
    }

    #[test]
    fn endpoint_configs_are_tagged_once_with_the_rules_they_break() {
        let mut bare = good_config();
        bare.kms_key_id = None;
        bare.data_capture_kms_key_id = None;
        let modes = r#"{"sagemaker-endpoint-config-kms":"remediate","sagemaker-endpoint-config-data-capture-kms":"remediate"}"#;
        let run = |config_: &EndpointConfig| {
            plan(
                &Gathered {
                    endpoint_configs: vec![config_.clone()],
                    ..gathered()
                },
                &config(&[("RULE_MODES", modes)]),
            )
        };
        let expected = "sagemaker-endpoint-config-kms sagemaker-endpoint-config-data-capture-kms";
        assert_eq!(
            writes(&run(&bare)),
            [&Remediation::TagEndpointConfig {
                arn: bare.arn.clone(),
                tags: Tags::from([(NONCOMPLIANT_TAG.to_owned(), expected.to_owned())])
            }]
        );
        bare.tags
            .insert(NONCOMPLIANT_TAG.to_owned(), expected.to_owned());
        assert!(no_steps(&run(&bare)));
        assert_eq!(run(&bare).findings.len(), 2);
        // Report mode (the default): findings, no tag.
        bare.tags.clear();
        let defaults = plan(
            &Gathered {
                endpoint_configs: vec![bare],
                ..gathered()
            },
            &config(&[]),
        );
        assert_eq!(defaults.findings.len(), 2);
        assert!(no_steps(&defaults));
    }

    #[test]
    fn customer_keys_without_rotation_get_it_turned_on() {
        let mut index = KeyIndex::default();
        index.insert("alias/ml-data", key(KEY_ARN, KeyManager::Customer, false));
        index.insert(
            "alias/aws/s3",
            key(
                "arn:aws:kms:us-east-1:123456789012:key/aws",
                KeyManager::Aws,
                false,
            ),
        );
        let plan = plan(
            &Gathered {
                keys: index,
                ..Gathered::default()
            },
            &config(&[]),
        );
        assert_eq!(
            writes(&plan),
            [&Remediation::EnableKeyRotation {
                key_arn: KEY_ARN.to_owned()
            }]
        );
        assert_eq!(plan.findings.len(), 1);
    }

    const OTHER_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/owners-own";

    fn kms_bucket(name: &str, key: Option<&str>) -> Bucket {
        Bucket {
            name: name.to_owned(),
            arn: format!("arn:aws:s3:::{name}"),
            encryption: Some(DefaultEncryption {
                algorithm: SSE_KMS.to_owned(),
                kms_key_id: key.map(str::to_owned),
                bucket_key_enabled: true,
            }),
            policy: Some(
                serde_json::json!({"Statement": [bucket_policy::tls_only_statement(name)]})
                    .to_string(),
            ),
            ..good_bucket()
        }
    }

    /// The bucket's encryption step: the write, or the skip's reason.
    fn encryption_steps<'a>(
        plan: &'a Plan<Remediation>,
        arn: &str,
    ) -> Vec<Result<&'a Remediation, &'a str>> {
        let action = "put-bucket-encryption";
        let skips = plan
            .skips
            .iter()
            .filter(|skip| skip.resource == arn && skip.action == action)
            .map(|skip| Err(skip.reason.as_str()));
        let writes = plan
            .writes
            .iter()
            .filter(|(resource, write)| resource == arn && write.action() == action)
            .map(|(_, write)| Ok(write));
        skips.chain(writes).collect()
    }

    // GIVEN a bucket on its owner's customer-managed key, one on the AWS managed key, and (the
    // control) one on SSE-S3, with KMS_KEY_ARN set
    // THEN only the SSE-S3 bucket gets the required key; the others keep theirs, with a finding.
    #[test]
    fn a_buckets_own_kms_key_is_kept_and_only_sse_s3_is_changed() {
        let mut index = keys();
        index.insert(OTHER_KEY, key(OTHER_KEY, KeyManager::Customer, true));
        let own = kms_bucket("owners", Some(OTHER_KEY));
        let aws_managed = kms_bucket("aws-managed", Some("alias/aws/s3"));
        let sse_s3 = Bucket {
            name: "sse-s3".to_owned(),
            arn: "arn:aws:s3:::sse-s3".to_owned(),
            ..open_bucket()
        };
        let plan = plan(
            &Gathered {
                buckets: vec![own.clone(), aws_managed.clone(), sse_s3.clone()],
                keys: index,
                ..Gathered::default()
            },
            &config(&[]),
        );
        let own_finding = plan
            .findings
            .iter()
            .find(|f| f.resource == own.arn && f.rule == s3::DEFAULT_ENCRYPTION)
            .unwrap();
        assert!(own_finding.message.contains("not the required key"));
        assert_eq!(
            encryption_steps(&plan, &own.arn),
            [Err(format!(
                "the bucket's own customer-managed key {OTHER_KEY} is kept: only SSE-S3 or no default encryption is changed"
            )
            .as_str())]
        );
        let [Err(reason)] = encryption_steps(&plan, &aws_managed.arn)[..] else {
            panic!("the AWS managed key is kept too")
        };
        assert!(reason.contains("AWS managed key"), "{reason}");
        assert_eq!(
            encryption_steps(&plan, &sse_s3.arn),
            [Ok(&Remediation::PutBucketEncryption {
                bucket: "sse-s3".to_owned(),
                kms_key_id: KEY_ARN.to_owned(),
            })]
        );
        // The owner's key without a bucket key: the bucket key is added, the key stays.
        let mut no_bucket_key = own.clone();
        if let Some(e) = no_bucket_key.encryption.as_mut() {
            e.bucket_key_enabled = false;
        }
        let mut index = keys();
        index.insert(OTHER_KEY, key(OTHER_KEY, KeyManager::Customer, true));
        let plan = self::plan(
            &Gathered {
                buckets: vec![no_bucket_key],
                keys: index,
                ..Gathered::default()
            },
            &config(&[]),
        );
        assert_eq!(
            writes(&plan),
            [&Remediation::PutBucketEncryption {
                bucket: "owners".to_owned(),
                kms_key_id: OTHER_KEY.to_owned(),
            }]
        );
    }

    fn plan_one(bucket: Bucket) -> Plan<Remediation> {
        plan(
            &Gathered {
                buckets: vec![bucket],
                ..gathered()
            },
            &config(&[]),
        )
    }

    // GIVEN buckets that break all three S3 rules and that something relies on
    // THEN the remediation that would break it is skipped with the reason, an info finding says
    // so, and the safe ones are done; the control (nothing relies on it) gets all three.
    #[test]
    fn remediations_a_bucket_relies_on_not_happening_are_skipped_and_the_safe_ones_done() {
        use crate::model::BucketUses;
        use sagekeeper_core::s3::Website;
        let all_three = [
            "put-bucket-encryption",
            "put-bucket-policy",
            "put-public-access-block",
        ];
        let control = plan_one(open_bucket());
        assert_eq!(writes(&control).len(), 3);

        let log_target = Bucket {
            uses: BucketUses {
                log_sources: Ok(vec!["acme-app".to_owned()]),
                ..BucketUses::default()
            },
            ..open_bucket()
        };
        let plan = plan_one(log_target.clone());
        assert_eq!(
            actions(&plan).iter().map(|a| a.1).collect::<Vec<_>>(),
            all_three
        );
        assert_eq!(skips(&plan).len(), 1);
        assert!(skips(&plan)[0].contains("server access logs of acme-app"));
        assert!(matches!(
            writes(&plan)[..],
            [
                Remediation::PutBucketPolicy { .. },
                Remediation::PutPublicAccessBlock { .. }
            ]
        ));
        let note = plan
            .findings
            .iter()
            .find(|f| f.message.starts_with("not remediated"))
            .unwrap();
        assert_eq!(
            (note.rule.as_str(), note.severity),
            (s3::DEFAULT_ENCRYPTION, Severity::Info)
        );

        let website = Bucket {
            uses: BucketUses {
                website: Ok(Some(Website {
                    redirect_all_to: None,
                })),
                ..BucketUses::default()
            },
            ..open_bucket()
        };
        let plan = plan_one(website);
        assert_eq!(writes(&plan), Vec::<&Remediation>::new());
        assert_eq!(skips(&plan).len(), 3);

        let unread = Bucket {
            uses: BucketUses {
                replication: Err(sagekeeper_core::aws::AwsError {
                    operation: "GetBucketReplication",
                    code: "AccessDenied".to_owned(),
                    message: "Access Denied".to_owned(),
                    retryable: false,
                }),
                ..BucketUses::default()
            },
            ..open_bucket()
        };
        let plan = plan_one(unread);
        assert_eq!(writes(&plan).len(), 2);
        assert!(skips(&plan)[0].contains("could not be read"));
        let note = plan
            .findings
            .iter()
            .find(|f| f.message.starts_with("not remediated"))
            .unwrap();
        assert_eq!(note.severity, Severity::Low);
    }

    // GIVEN our statement as the owner edited it (a principal exception)
    // THEN no policy write, and a low finding naming the exception (not a non-compliance).
    #[test]
    fn an_owners_exception_in_our_tls_statement_is_kept_and_reported_low() {
        let mut edited = bucket_policy::tls_only_statement("acme-ml-training-data");
        edited["Condition"]["StringNotEquals"] = serde_json::json!({"aws:PrincipalArn": "arn:aws:iam::123456789012:role/LegacyUploader"});
        let bucket = Bucket {
            policy: Some(
                serde_json::json!({"Version": "2012-10-17", "Statement": [edited]}).to_string(),
            ),
            ..good_bucket()
        };
        let plan = plan_one(bucket);
        assert!(no_steps(&plan));
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(plan.findings[0].severity, Severity::Low);
        assert!(plan.findings[0].message.contains("LegacyUploader"));
        assert_eq!(plan.metrics["NonCompliantResources"], 0.0);
    }
}
