//! The reading half of the shell: what a trigger puts in scope, and those resources described
//! through the core adapters. One resource that cannot be read is recorded in the report
//! (`Report::keep`), never the end of the run.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sagekeeper_core::Report;
use sagekeeper_core::aws::{self, AwsError};
use sagekeeper_core::kms::{self as kms_api, KeyManager};
use sagekeeper_core::s3 as s3_api;
use sagekeeper_core::sagemaker::jobs::JobFilter;
use sagekeeper_core::sagemaker::{endpoint_configs, jobs, notebooks, studio, tags};

use crate::clients::Clients;
use crate::config::Config;
use crate::decide::Subject;
use crate::model::{Bucket, BucketUses, Domain, Gathered, Job, JobKind, Key, Notebook};
use crate::reliance::EvidenceNeeded;

/// A described resource. One deleted since the trigger is a skipped evaluation, not an error;
/// any other error is recorded and the run goes on without the resource.
fn described<T>(
    report: &mut Report,
    resource: &str,
    result: Result<Option<T>, AwsError>,
) -> Option<T> {
    match result {
        Err(error) if is_gone(&error) => {
            report.skipped(resource, "evaluate", "it no longer exists");
            None
        }
        result => report.keep(Some(resource), result).flatten(),
    }
}

/// Keeps a bucket, with an error for each piece of its evidence that could not be read (the
/// plan refuses what that evidence could have ruled out).
fn keep_bucket(found: &mut Gathered, report: &mut Report, bucket: Bucket) {
    let uses = &bucket.uses;
    let errors = [
        uses.website.as_ref().err(),
        uses.replication.as_ref().err(),
        uses.acl.as_ref().err(),
    ];
    for error in errors.into_iter().flatten() {
        report.error(Some(&bucket.arn), error);
    }
    found.buckets.push(bucket);
}

/// How S3, SageMaker and KMS say a resource does not exist.
fn is_gone(error: &AwsError) -> bool {
    ["NoSuchBucket", "ResourceNotFound", "NotFoundException"].contains(&error.code.as_str())
        || (error.is_code("ValidationException")
            && ["Could not find", "RecordNotFound", "does not exist"]
                .iter()
                .any(|m| error.message.contains(m)))
}

/// What `subject` puts in scope, described. What cannot be read is in the report: a resource
/// out of scope or gone as a skipped evaluation, a failed read as an error.
pub async fn gather(
    clients: &Clients,
    config: &Config,
    subject: &Subject,
    report: &mut Report,
) -> Gathered {
    let mut found = Gathered::default();
    let sm = &clients.sagemaker;
    match subject {
        Subject::Sweep { created_since } => {
            // The sweeps read different resources, so they overlap: at ~50 ms a call the
            // SageMaker reads would otherwise wait for every bucket. Each records into its
            // own part, merged in this order, so the report reads as a serial run's would.
            let since = *created_since;
            let mut parts: [(Gathered, Report); 5] =
                std::array::from_fn(|_| (Gathered::default(), report.fragment()));
            let [buckets, jobs, configs, notebooks, domains] = &mut parts;
            tokio::join!(
                sweep_buckets(clients, config, &mut buckets.0, &mut buckets.1),
                sweep_jobs(sm, since, &mut jobs.0, &mut jobs.1),
                sweep_endpoint_configs(sm, since, &mut configs.0, &mut configs.1),
                sweep_notebooks(sm, &mut notebooks.0, &mut notebooks.1),
                sweep_domains(sm, &mut domains.0, &mut domains.1),
            );
            for (part, fragment) in parts {
                found.absorb(part);
                report.absorb(fragment);
            }
        }
        Subject::Bucket(name) => {
            gather_bucket(&clients.s3, config, name, &mut found, report).await;
            attach_log_sources(clients, None, &mut found, report).await;
        }
        Subject::Job(kind, name) => {
            let result = jobs::describe(sm, *kind, name).await.map(Some);
            let resource = format!("{} {name}", kind.arn_type());
            found.jobs.extend(described(report, &resource, result));
        }
        Subject::EndpointConfig(name) => {
            let result = endpoint_configs::describe(sm, name).await.map(Some);
            let resource = format!("endpoint-config {name}");
            found
                .endpoint_configs
                .extend(described(report, &resource, result));
        }
        Subject::Notebook(name) => {
            let result = describe_notebook(sm, name).await.map(Some);
            let resource = format!("notebook-instance {name}");
            found.notebooks.extend(described(report, &resource, result));
        }
    }
    let mut references = found.key_references();
    // The sweep also checks the key everything should use, even before anything uses it.
    if let (Subject::Sweep { .. }, Some(required)) = (subject, &config.common.kms_key_arn) {
        references.insert(required.to_string());
    }
    gather_keys(&clients.kms, references, &mut found, report).await;
    found
}

/// The one bucket an API call is about, unless `BUCKET_PREFIX` or `BUCKET_TAG` leave it out.
async fn gather_bucket(
    s3: &aws_sdk_s3::Client,
    config: &Config,
    name: &str,
    found: &mut Gathered,
    report: &mut Report,
) {
    let arn = s3_api::bucket_arn(name);
    if let Some(prefix) = config.bucket_prefix.as_deref()
        && !name.starts_with(prefix)
    {
        return report.skipped(arn, "evaluate", format!("outside BUCKET_PREFIX {prefix}"));
    }
    match describe_bucket(s3, config, name).await {
        Ok(None) => {
            let tag = config.bucket_tag.as_ref().map(ToString::to_string);
            let reason = format!("not tagged {} (BUCKET_TAG)", tag.unwrap_or_default());
            report.skipped(arn, "evaluate", reason);
        }
        result => {
            if let Some(bucket) = described(report, &arn, result) {
                keep_bucket(found, report, bucket);
            }
        }
    }
}

/// The bucket's settings, or `None` when its tags put it outside `BUCKET_TAG`. The tags are
/// read first, so buckets out of scope cost one call.
async fn describe_bucket(
    s3: &aws_sdk_s3::Client,
    config: &Config,
    name: &str,
) -> Result<Option<Bucket>, AwsError> {
    let tags = s3_api::get_tags(s3, name).await?;
    if config
        .bucket_tag
        .as_ref()
        .is_some_and(|t| !t.matches(&tags))
    {
        return Ok(None);
    }
    // Independent reads, made at once. The settings decide which fixes could be planned, and
    // so which evidence of what relies on the bucket is worth a call.
    let (encryption, policy, public_access_block) = tokio::join!(
        s3_api::get_default_encryption(s3, name),
        s3_api::get_policy(s3, name),
        s3_api::get_public_access_block(s3, name),
    );
    let (encryption, policy, public_access_block) = (encryption?, policy?, public_access_block?);
    let needed = EvidenceNeeded::for_settings(
        name,
        encryption.as_ref(),
        policy.as_deref(),
        public_access_block.as_ref(),
    );
    let (website, replication, acl) = tokio::join!(
        read_if(needed.website, s3_api::get_website(s3, name)),
        read_if(
            needed.encryption_reliance,
            s3_api::get_replication(s3, name)
        ),
        read_if(needed.encryption_reliance, s3_api::get_acl_grants(s3, name)),
    );
    Ok(Some(Bucket {
        name: name.to_owned(),
        arn: s3_api::bucket_arn(name),
        encryption,
        policy,
        public_access_block,
        tags,
        uses: BucketUses {
            // Filled in by `attach_log_sources`, from the other buckets' configurations.
            log_sources: Ok(Vec::new()),
            website,
            replication,
            acl,
        },
    }))
}

/// The evidence `read` gives, or none when no fix it could refuse will be planned.
async fn read_if<T: Default>(
    needed: bool,
    read: impl Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    if needed { read.await } else { Ok(T::default()) }
}

/// Which buckets send their server access logs to the gathered buckets. Only the source
/// bucket's configuration says so, so every bucket of the region is read (sources and targets
/// share a region), not only those in scope. `all`: the region's buckets, when already listed.
async fn attach_log_sources(
    clients: &Clients,
    all: Option<Vec<String>>,
    found: &mut Gathered,
    report: &mut Report,
) {
    // Every bucket of the region is read for this, so only when a bucket could need it.
    let needed = |b: &Bucket| EvidenceNeeded::for_bucket(b).encryption_reliance;
    if !found.buckets.iter().any(needed) {
        return;
    }
    let names = match all {
        Some(names) => Ok(names),
        None => s3_api::list_buckets(&clients.s3, None, clients.region.as_deref()).await,
    };
    let names = match names {
        Ok(names) => names,
        Err(error) => {
            for bucket in &mut found.buckets {
                bucket.uses.log_sources = Err(error.clone());
            }
            return report.error(None, &error);
        }
    };
    let read = aws::map_bounded(names, BUCKETS_AT_ONCE, |name| async move {
        let result = s3_api::get_logging_target(&clients.s3, &name).await;
        (name, result)
    })
    .await;
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown: Option<AwsError> = None;
    for (source, result) in read {
        match result {
            Ok(Some(target)) => sources.entry(target).or_default().push(source),
            Ok(None) => {}
            // Deleted since it was listed: it logs nowhere any more.
            Err(error) if is_gone(&error) => {}
            Err(error) => {
                let error = AwsError {
                    message: format!("{} (bucket {source})", error.message),
                    ..error
                };
                report.error(Some(&s3_api::bucket_arn(&source)), &error);
                unknown.get_or_insert(error);
            }
        }
    }
    for bucket in &mut found.buckets {
        bucket.uses.log_sources = match &unknown {
            Some(error) => Err(error.clone()),
            None => Ok(sources.remove(&bucket.name).unwrap_or_default()),
        };
    }
}

async fn describe_notebook(
    sm: &aws_sdk_sagemaker::Client,
    name: &str,
) -> Result<Notebook, AwsError> {
    let notebook = notebooks::describe(sm, name).await?;
    let tags = tags::list(sm, &notebook.arn).await?;
    Ok(Notebook { notebook, tags })
}

/// Buckets read at once. A bucket's reads come in rounds (tags; three settings; what relies on
/// it) of at most three calls, so this keeps about as many calls in flight (at most 48) as
/// reading six settings of 8 buckets at once did, with a round trip more per bucket.
const BUCKETS_AT_ONCE: usize = 2 * aws::DEFAULT_CONCURRENCY;

async fn sweep_buckets(
    clients: &Clients,
    config: &Config,
    found: &mut Gathered,
    report: &mut Report,
) {
    let prefix = config.bucket_prefix.as_deref();
    let listed = s3_api::list_buckets(&clients.s3, prefix, clients.region.as_deref()).await;
    let Some(names) = report.keep(None, listed) else {
        return;
    };
    // Without a prefix the listing is every bucket of the region, which log sources need.
    let all = config.bucket_prefix.is_none().then(|| names.clone());
    let read = aws::map_bounded(names, BUCKETS_AT_ONCE, |name| async move {
        let result = describe_bucket(&clients.s3, config, &name).await;
        (name, result)
    })
    .await;
    for (name, result) in read {
        if let Some(bucket) = described(report, &s3_api::bucket_arn(&name), result) {
            keep_bucket(found, report, bucket);
        }
    }
    attach_log_sources(clients, all, found, report).await;
}

async fn sweep_jobs(
    sm: &aws_sdk_sagemaker::Client,
    created_since: DateTime<Utc>,
    found: &mut Gathered,
    report: &mut Report,
) {
    let mut wanted = BTreeSet::new();
    for kind in JobKind::ALL {
        // Running jobs whatever their age, and recent ones even if they have finished: their
        // output is in S3 now, encrypted or not.
        for filter in [JobFilter::Running, JobFilter::CreatedAfter(created_since)] {
            if let Some(listed) = report.keep(None, jobs::list(sm, kind, filter).await) {
                wanted.extend(listed.into_iter().map(|job| (kind, job.name)));
            }
        }
    }
    let read = aws::map_bounded(
        wanted,
        aws::DEFAULT_CONCURRENCY,
        |(kind, name)| async move {
            let result = jobs::describe(sm, kind, &name).await.map(Some);
            (format!("{} {name}", kind.arn_type()), result)
        },
    )
    .await;
    for (resource, result) in read {
        found
            .jobs
            .extend(described::<Job>(report, &resource, result));
    }
}

async fn sweep_endpoint_configs(
    sm: &aws_sdk_sagemaker::Client,
    created_since: DateTime<Utc>,
    found: &mut Gathered,
    report: &mut Report,
) {
    let mut wanted = BTreeSet::new();
    for listed in [
        endpoint_configs::in_use(sm).await,
        endpoint_configs::created_since(sm, created_since).await,
    ] {
        wanted.extend(report.keep(None, listed).into_iter().flatten());
    }
    let read = aws::map_bounded(wanted, aws::DEFAULT_CONCURRENCY, |name| async move {
        let result = endpoint_configs::describe(sm, &name).await.map(Some);
        (format!("endpoint-config {name}"), result)
    })
    .await;
    for (resource, result) in read {
        found
            .endpoint_configs
            .extend(described(report, &resource, result));
    }
}

async fn sweep_notebooks(
    sm: &aws_sdk_sagemaker::Client,
    found: &mut Gathered,
    report: &mut Report,
) {
    let Some(names) = report.keep(None, notebooks::list(sm).await) else {
        return;
    };
    let read = aws::map_bounded(names, aws::DEFAULT_CONCURRENCY, |name| async move {
        let result = describe_notebook(sm, &name).await.map(Some);
        (format!("notebook-instance {name}"), result)
    })
    .await;
    for (resource, result) in read {
        found.notebooks.extend(described(report, &resource, result));
    }
}

/// Every Studio domain, with its tags and user profiles. Profiles that cannot be read (an API
/// the account or the emulator does not answer) are an error in the report, and the domain is
/// still evaluated on its own settings.
async fn sweep_domains(sm: &aws_sdk_sagemaker::Client, found: &mut Gathered, report: &mut Report) {
    let Some(ids) = report.keep(None, studio::list_domains(sm).await) else {
        return;
    };
    let read = aws::map_bounded(ids, aws::DEFAULT_CONCURRENCY, |id| async move {
        let result = describe_domain(sm, &id).await.map(Some);
        (format!("domain {id}"), result)
    })
    .await;
    for (resource, result) in read {
        if let Some(domain) = described(report, &resource, result) {
            if let Err(error) = &domain.profiles {
                report.error(Some(&domain.domain.arn), error);
            }
            found.domains.push(domain);
        }
    }
}

async fn describe_domain(sm: &aws_sdk_sagemaker::Client, id: &str) -> Result<Domain, AwsError> {
    let domain = studio::describe_domain(sm, id).await?;
    let tags = tags::list(sm, &domain.arn).await?;
    let profiles = studio::user_profiles(sm, &domain.id).await;
    Ok(Domain {
        domain,
        profiles,
        tags,
    })
}

async fn gather_keys(
    kms: &aws_sdk_kms::Client,
    references: BTreeSet<String>,
    found: &mut Gathered,
    report: &mut Report,
) {
    let read = aws::map_bounded(
        references,
        aws::DEFAULT_CONCURRENCY,
        |reference| async move {
            let result = describe_key(kms, &reference).await.map(Some);
            (reference, result)
        },
    )
    .await;
    for (reference, result) in read {
        if let Some(key) = described(report, &reference, result) {
            found.keys.insert(&reference, key);
        }
    }
}

/// The key, its rotation status when KMS can rotate it, and its tags (for exemptions) when it
/// is the account's own.
async fn describe_key(kms: &aws_sdk_kms::Client, reference: &str) -> Result<Key, AwsError> {
    let info = kms_api::describe_key(kms, reference).await?;
    let rotation_enabled = match info.rotation_unsupported_because() {
        None => Some(kms_api::rotation_enabled(kms, &info.arn).await?),
        Some(_) => None,
    };
    let tags = match info.manager {
        KeyManager::Customer => kms_api::tags(kms, &info.arn).await?,
        KeyManager::Aws => Default::default(),
    };
    Ok(Key {
        info,
        rotation_enabled,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::Client;
    use aws_sdk_sagemaker::operation::describe_domain::DescribeDomainOutput;
    use aws_sdk_sagemaker::operation::list_domains::ListDomainsOutput;
    use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
    use aws_sdk_sagemaker::operation::list_user_profiles::{
        ListUserProfilesError, ListUserProfilesOutput,
    };
    use aws_sdk_sagemaker::types::{AppNetworkAccessType, DomainDetails};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    const DOMAIN_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml";

    /// A region with one domain (no key, public internet), whose ListUserProfiles answers with
    /// `profiles`.
    fn one_domain(profiles: Rule) -> Client {
        let list = mock!(Client::list_domains).then_output(|| {
            ListDomainsOutput::builder()
                .domains(
                    DomainDetails::builder()
                        .domain_id("d-ml")
                        .domain_arn(DOMAIN_ARN)
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_domain)
            .match_requests(|r| r.domain_id() == Some("d-ml"))
            .then_output(|| {
                DescribeDomainOutput::builder()
                    .domain_id("d-ml")
                    .domain_arn(DOMAIN_ARN)
                    .app_network_access_type(AppNetworkAccessType::PublicInternetOnly)
                    .build()
            });
        let tags = mock!(Client::list_tags).then_output(|| ListTagsOutput::builder().build());
        mock_client!(
            aws_sdk_sagemaker,
            RuleMode::MatchAny,
            [&list, &describe, &tags, &profiles]
        )
    }

    async fn sweep(client: &Client) -> (Gathered, Report) {
        let mut report = Report::new("encryption-enforcer", false, Utc::now());
        let mut found = Gathered::default();
        sweep_domains(client, &mut found, &mut report).await;
        (found, report)
    }

    // GIVEN a service that does not answer ListUserProfiles
    // THEN the error is in the report against the domain, and the domain is still evaluated on
    // its own settings; the control (profiles answered) has no error.
    #[tokio::test]
    async fn unreadable_user_profiles_are_an_error_that_keeps_the_domain() {
        let failing = mock!(Client::list_user_profiles)
            .then_error(|| ListUserProfilesError::unhandled("ListUserProfiles is not implemented"));
        let (found, report) = sweep(&one_domain(failing)).await;
        assert_eq!(found.domains.len(), 1);
        assert!(found.domains[0].profiles.is_err());
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(report.errors[0].resource.as_deref(), Some(DOMAIN_ARN));
        let config = <crate::config::Config as sagekeeper_core::run::function::Settings>::from_env(
            &sagekeeper_core::Env::from_pairs::<&str, &str>([]),
            false,
        )
        .unwrap();
        let subject = Subject::Sweep {
            created_since: chrono::DateTime::UNIX_EPOCH,
        };
        let plan = crate::plan::plan(&found, &config, &subject);
        let rules: Vec<&str> = plan.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["sagemaker-domain-kms", "sagemaker-domain-vpc-only"]);
        assert!(plan.writes.is_empty() && plan.skips.is_empty());

        let answered = mock!(Client::list_user_profiles)
            .then_output(|| ListUserProfilesOutput::builder().build());
        let (found, report) = sweep(&one_domain(answered)).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(found.domains[0].profiles, Ok(Vec::new()));
    }

    #[test]
    fn gone_resources_are_recognised_by_each_services_answer() {
        let error = |code: &str, message: &str| AwsError {
            operation: "Describe",
            code: code.to_owned(),
            message: message.to_owned(),
            retryable: false,
        };
        assert!(is_gone(&error("NoSuchBucket", "")));
        assert!(is_gone(&error(
            "ValidationException",
            "Could not find training job 'x'"
        )));
        assert!(is_gone(&error("ValidationException", "RecordNotFound")));
        assert!(!is_gone(&error(
            "ValidationException",
            "1 validation error detected"
        )));
        assert!(!is_gone(&error("AccessDenied", "Could not find")));
    }
}
