//! Gathering what the plan needs through the core adapters: for a create event, the one
//! resource; for the daily sweep, every SageMaker resource (Studio domains with their user
//! profiles, spaces and live apps included), the region's buckets, the SageMaker log groups,
//! the live endpoints with their traffic over the idle window and the recent training jobs'
//! runs.
//! Per-resource calls run with a bound on concurrency. A resource that cannot be read completely is an error in the report and is
//! left out of the run (a tag from a lower-precedence source must never stand in for one
//! that could not be read), the others go on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use sagekeeper_core::aws::{DEFAULT_CONCURRENCY, map_bounded};
use sagekeeper_core::cloudwatch::log_groups::{self, LogGroup};
use sagekeeper_core::cloudwatch::metric_data::{self, MetricQuery, Reading};
use sagekeeper_core::events::{ApiCall, ResourceRef};
use sagekeeper_core::model::lifecycle::LifecycleConfig;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::sagemaker::catalog::{self, Kind, Listed};
use sagekeeper_core::sagemaker::jobs::{self, JobFilter, JobKind, TrainingRun};
use sagekeeper_core::sagemaker::{endpoints, invocation_mode, lineage, studio, tags};
use sagekeeper_core::{AwsError, Report, iam, s3};

use crate::clients::Clients;
use crate::config::Config;
use crate::creator::{self, CREATED_BY, Creator};
use crate::data_class::{self, Classified};
use crate::idle::{self, Candidate, IdlePolicy, NotJudged, Signal};
use crate::inferred_tags::TagSources;
use crate::retention::SAGEMAKER_LOG_PREFIX;
use crate::studio::{Created, DomainContents, Placed};

/// The sweep looks at jobs running now or created in the last two days: the create events
/// tag jobs as they start, and a tag added after a job ended attributes no spend.
pub const JOB_LOOKBACK_DAYS: i64 = 2;

/// How a resource is tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagVia {
    /// The tagging API's TagResources, up to 20 resources with the same new tags per call.
    SageMaker,
    /// The tagging API on this bucket, sending only keys still missing when its tag set is read
    /// again right before writing (S3's PutBucketTagging would rewrite the whole set).
    Bucket(String),
}

/// What a create call made, as the plan's screening accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    Bucket(ResourceRef),
    SageMaker(ResourceRef, Kind),
    /// A Studio domain, user profile, space or app.
    Studio(ResourceRef),
}

/// A resource to tag and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub arn: String,
    pub via: TagVia,
    pub sources: TagSources,
    /// Who created it, for findings.
    pub creator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub arn: String,
    pub class: Classified,
    /// Read only for buckets with a data class.
    pub lifecycle: LifecycleConfig,
}

/// Everything a run looked at.
#[derive(Debug, Default)]
pub struct Gathered {
    /// True for the daily sweep of the region, false for the resource of a create call.
    pub sweep: bool,
    pub subjects: Vec<Subject>,
    pub buckets: Vec<Bucket>,
    pub log_groups: Vec<LogGroup>,
    pub endpoints: Vec<Watched>,
    /// Training jobs created in the last `TRAINING_LOOKBACK_DAYS`, for cost findings (sweep).
    pub training: Vec<TrainingRun>,
}

/// A live endpoint and its traffic over the idle window.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub candidate: Candidate,
    pub traffic: Traffic,
}

/// Each signal of an endpoint with its reading (`None`: CloudWatch could not answer
/// completely), or why the endpoint is not judged.
pub type Traffic = Result<Vec<(Signal, Option<Reading>)>, NotJudged>;

/// The resource a create call made. `None` when it could not be read (in the report).
pub async fn created(
    clients: &Clients,
    config: &Config,
    call: &ApiCall,
    made: &Made,
    report: &mut Report,
) -> Option<Gathered> {
    let resource = match made {
        Made::Bucket(resource) | Made::SageMaker(resource, _) | Made::Studio(resource) => resource,
    };
    let arn = Some(resource.arn.as_str());
    let creator = Creator::from_identity(&call.user_identity);
    let role = match creator.as_ref().and_then(|c| c.role_in(&call.account)) {
        Some(role) => report.keep(arn, iam::role_tags(&clients.iam, role).await)?,
        None => None,
    };
    let mut gathered = Gathered::default();
    let (via, own, parents) = match made {
        Made::Bucket(_) => {
            let own = report.keep(arn, s3::get_tags(&clients.s3, &resource.name).await)?;
            let bucket = bucket_state(clients, config, &resource.name, &own).await;
            let bucket = report.keep(arn, bucket)?;
            let untouched = matches!(bucket.class, Classified::Unknown(_));
            gathered.buckets.push(bucket);
            if untouched {
                return Some(gathered);
            }
            (TagVia::Bucket(resource.name.clone()), own, Vec::new())
        }
        Made::SageMaker(_, kind) => {
            let own = report.keep(arn, tags::list(&clients.sagemaker, &resource.arn).await)?;
            let parent_arns = lineage::parents(&clients.sagemaker, *kind, &resource.name, &own);
            let parent_arns = report.keep(arn, parent_arns.await)?;
            let mut parents = Vec::new();
            for parent in parent_arns {
                parents.push(report.keep(arn, tags::list(&clients.sagemaker, &parent).await)?);
            }
            (TagVia::SageMaker, own, parents)
        }
        Made::Studio(_) => {
            let own = report.keep(arn, tags::list(&clients.sagemaker, &resource.arn).await)?;
            let ancestors = match report.keep(arn, find_created(clients, &resource.arn).await)? {
                Created::Placed(ancestors) => ancestors,
                Created::Untaggable(why) => {
                    report.skipped(&resource.arn, "add-tags", format!("{why}: nothing to tag"));
                    return None;
                }
                Created::NotListed => {
                    report.error(arn, &not_listed_yet(&resource.arn));
                    return None;
                }
            };
            let mut parents = Vec::new();
            for ancestor in ancestors {
                parents.push(report.keep(arn, tags::list(&clients.sagemaker, &ancestor).await)?);
            }
            let own = crate::studio::without_copied_creator(&own, &parents);
            (TagVia::SageMaker, own, parents)
        }
    };
    let left_to_ancestors = match made {
        Made::Studio(_) if !parents.is_empty() => crate::studio::DECIDED_BY_ANCESTORS,
        _ => &[],
    };
    gathered.subjects.push(Subject {
        arn: resource.arn.clone(),
        via,
        sources: TagSources {
            own,
            parents,
            role,
            created_by: creator.as_ref().map(Creator::tag_value),
            created_at: Some(call.time),
            left_to_ancestors,
        },
        creator: creator.as_ref().map(Creator::tag_value),
    });
    Some(gathered)
}

/// The data class of a bucket and, when it has one, its lifecycle configuration.
async fn bucket_state(
    clients: &Clients,
    config: &Config,
    name: &str,
    tags: &Tags,
) -> Result<Bucket, AwsError> {
    let class = data_class::classify(name, tags, &config.data_class_prefixes);
    let lifecycle = match class {
        Classified::Class(_) => s3::lifecycle::get(&clients.s3, name).await?,
        _ => LifecycleConfig::default(),
    };
    Ok(Bucket {
        name: name.to_owned(),
        arn: s3::bucket_arn(name),
        class,
        lifecycle,
    })
}

/// Everything the daily sweep looks at.
pub async fn sweep(
    clients: &Clients,
    config: &Config,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Gathered {
    // Reads of different resources overlap: at ~50 ms a call, one after another they were
    // most of a sweep's time. Each records into its own part of the report, merged in a fixed
    // order, so the report does not depend on which read answered first.
    let mut parts: [Report; 5] = std::array::from_fn(|_| report.fragment());
    let [in_sagemaker, in_buckets, in_studio, in_logs, in_training] = &mut parts;
    let (tagged, buckets, (placed, studio_tags), groups, training) = tokio::join!(
        async {
            let listed = list_sagemaker(clients, now, in_sagemaker).await;
            read_tags(clients, listed, in_sagemaker).await
        },
        read_buckets(clients, config, in_buckets),
        read_studio(clients, in_studio),
        async {
            let groups = log_groups::list_with_prefix(&clients.logs, SAGEMAKER_LOG_PREFIX).await;
            in_logs.keep(None, groups).unwrap_or_default()
        },
        read_training(clients, config, now, in_training),
    );
    parts.into_iter().for_each(|part| report.absorb(part));

    // What needs the resources' tags: their creators' roles, their parents, idle endpoints.
    let mut parts: [Report; 3] = std::array::from_fn(|_| report.fragment());
    let [in_roles, in_parents, in_endpoints] = &mut parts;
    let idle_policy = config.idle_policy();
    let (roles, parents, endpoints) = tokio::join!(
        read_roles(
            clients,
            tagged
                .iter()
                .map(|(_, t)| t)
                .chain(buckets.iter().map(|(_, t)| t))
                .chain(studio_tags.values()),
            in_roles,
        ),
        read_parents(clients, &tagged, in_parents),
        async {
            let endpoints = read_endpoints(clients, &tagged, in_endpoints).await;
            read_traffic(clients, endpoints, &idle_policy, now, in_endpoints).await
        },
    );
    parts.into_iter().for_each(|part| report.absorb(part));

    let mut gathered = Gathered {
        sweep: true,
        log_groups: groups,
        endpoints,
        training,
        ..Gathered::default()
    };
    for (listed, own) in &tagged {
        let Some(parents) = parents.get(&listed.arn) else {
            continue;
        };
        if let Some(subject) =
            sweep_subject(&listed.arn, TagVia::SageMaker, own, parents.clone(), &roles)
        {
            gathered.subjects.push(subject);
        }
    }
    for Placed { arn, ancestors } in placed {
        // Left out when its own tags or an ancestor's could not be read (in the report).
        let (Some(own), Some(parents)) = (
            studio_tags.get(&arn),
            ancestors
                .iter()
                .map(|a| studio_tags.get(a).cloned())
                .collect::<Option<Vec<Tags>>>(),
        ) else {
            continue;
        };
        let below_domain = !parents.is_empty();
        if let Some(mut subject) = sweep_subject(&arn, TagVia::SageMaker, own, parents, &roles) {
            if below_domain {
                subject.sources.left_to_ancestors = crate::studio::DECIDED_BY_ANCESTORS;
            }
            gathered.subjects.push(subject);
        }
    }
    for (bucket, own) in buckets {
        if matches!(bucket.class, Classified::Class(_))
            && let Some(subject) = sweep_subject(
                &bucket.arn,
                TagVia::Bucket(bucket.name.clone()),
                &own,
                Vec::new(),
                &roles,
            )
        {
            gathered.subjects.push(subject);
        }
        gathered.buckets.push(bucket);
    }
    gathered
}

/// One Studio domain's user profiles, spaces and apps.
async fn read_domain(clients: &Clients, id: &str) -> Result<DomainContents, AwsError> {
    let sagemaker = &clients.sagemaker;
    Ok(DomainContents {
        arn: studio::describe_domain(sagemaker, id).await?.arn,
        profiles: studio::list_user_profiles(sagemaker, id).await?,
        spaces: studio::list_spaces(sagemaker, id).await?,
        apps: studio::list_apps(sagemaker, id).await?,
    })
}

/// Every Studio resource of the region with its ancestors, and the tags of those that could
/// be read; a domain or a resource that could not be read is an error in the report.
async fn read_studio(
    clients: &Clients,
    report: &mut Report,
) -> (Vec<Placed>, BTreeMap<String, Tags>) {
    let Some(ids) = report.keep(None, studio::list_domains(&clients.sagemaker).await) else {
        return Default::default();
    };
    let domains = map_bounded(ids, DEFAULT_CONCURRENCY, |id| async move {
        let read = read_domain(clients, &id).await;
        (id, read)
    })
    .await;
    let placed: Vec<Placed> = domains
        .into_iter()
        .filter_map(|(id, read)| report.keep(Some(&format!("domain/{id}")), read))
        .flat_map(|domain| crate::studio::place(&domain))
        .collect();
    let read = map_bounded(&placed, DEFAULT_CONCURRENCY, |p| async move {
        let tags = tags::list(&clients.sagemaker, &p.arn).await;
        (p.arn.clone(), tags)
    })
    .await;
    let tags = read
        .into_iter()
        .filter_map(|(arn, tags)| report.keep(Some(&arn), tags).map(|t| (arn, t)))
        .collect();
    (placed, tags)
}

/// Where the Studio resource a create call made stands in its domain, as listed now.
async fn find_created(clients: &Clients, arn: &str) -> Result<Created, AwsError> {
    // `<type>/<domain id>[/...]` after the ARN's fifth colon.
    let mut resource = arn.splitn(6, ':').nth(5).unwrap_or_default().split('/');
    let domain_id = resource.nth(1).unwrap_or_default();
    let domain = read_domain(clients, domain_id).await?;
    Ok(crate::studio::find_created(&domain, arn))
}

/// A resource the listing does not show yet is a retryable error: guessing its owner could
/// let the domain's value stand in for its space's or profile's.
fn not_listed_yet(arn: &str) -> AwsError {
    let resource_type = arn.splitn(6, ':').nth(5).and_then(|r| r.split('/').next());
    AwsError {
        operation: match resource_type {
            Some("user-profile") => "ListUserProfiles",
            Some("space") => "ListSpaces",
            _ => "ListApps",
        },
        code: "NotListedYet".to_owned(),
        message: format!("{arn} is not among its domain's user profiles, spaces and live apps yet"),
        retryable: true,
    }
}

/// The training jobs created in the last `TRAINING_LOOKBACK_DAYS`, described; a job that
/// cannot be described is an error in the report and left out, one gone since is left out.
async fn read_training(
    clients: &Clients,
    config: &Config,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Vec<TrainingRun> {
    let since = now - Duration::days(i64::from(config.training_lookback_days));
    let listed = jobs::list(
        &clients.sagemaker,
        JobKind::Training,
        JobFilter::CreatedAfter(since),
    );
    let Some(listed) = report.keep(None, listed.await) else {
        return Vec::new();
    };
    let described = map_bounded(listed, DEFAULT_CONCURRENCY, |job| async move {
        let run = jobs::describe_training_run(&clients.sagemaker, &job.name).await;
        (job.arn, run)
    })
    .await;
    described
        .into_iter()
        .filter_map(|(arn, run)| report.keep(Some(&arn), run).flatten())
        .collect()
}

/// A resource of the sweep: no creator event, but a `CreatedBy` tag written on create names
/// the role whose tags still apply. `None` when that role's tags could not be read.
fn sweep_subject(
    arn: &str,
    via: TagVia,
    own: &Tags,
    parents: Vec<Tags>,
    roles: &BTreeMap<String, Option<Option<Tags>>>,
) -> Option<Subject> {
    let created_by = own.get(CREATED_BY);
    let role = match created_by.and_then(|c| creator::role_from_tag(c)) {
        Some(role) => roles.get(role).cloned().flatten()?,
        None => None,
    };
    Some(Subject {
        arn: arn.to_owned(),
        via,
        sources: TagSources {
            own: own.clone(),
            parents,
            role,
            created_by: None,
            created_at: None,
            left_to_ancestors: &[],
        },
        creator: created_by.cloned(),
    })
}

async fn list_sagemaker(clients: &Clients, now: DateTime<Utc>, report: &mut Report) -> Vec<Listed> {
    let since = now - Duration::days(JOB_LOOKBACK_DAYS);
    let lists = map_bounded(Kind::ALL, DEFAULT_CONCURRENCY, |kind| {
        catalog::list(&clients.sagemaker, kind, since)
    })
    .await;
    lists
        .into_iter()
        .filter_map(|list| report.keep(None, list))
        .flatten()
        .collect()
}

async fn read_tags(
    clients: &Clients,
    listed: Vec<Listed>,
    report: &mut Report,
) -> Vec<(Listed, Tags)> {
    let read = map_bounded(listed, DEFAULT_CONCURRENCY, |l| async move {
        let tags = tags::list(&clients.sagemaker, &l.arn).await;
        (l, tags)
    })
    .await;
    read.into_iter()
        .filter_map(|(l, tags)| report.keep(Some(&l.arn), tags).map(|t| (l, t)))
        .collect()
}

/// Parent tags of every resource, by the resource's ARN; a resource whose parents could not
/// be read is absent.
async fn read_parents(
    clients: &Clients,
    tagged: &[(Listed, Tags)],
    report: &mut Report,
) -> BTreeMap<String, Vec<Tags>> {
    let lineages = map_bounded(tagged, DEFAULT_CONCURRENCY, |(l, own)| async move {
        let parents = lineage::parents(&clients.sagemaker, l.kind, &l.name, own).await;
        (l.arn.clone(), parents)
    })
    .await;
    let known: BTreeMap<&str, &Tags> = tagged.iter().map(|(l, t)| (l.arn.as_str(), t)).collect();
    let mut lineage_of = BTreeMap::new();
    for (arn, parents) in lineages {
        if let Some(parents) = report.keep(Some(&arn), parents) {
            lineage_of.insert(arn, parents);
        }
    }
    // Parents the sweep did not list (an old tuning job, say) are read once each.
    let unknown: BTreeSet<String> = lineage_of
        .values()
        .flatten()
        .filter(|p| !known.contains_key(p.as_str()))
        .cloned()
        .collect();
    let fetched: BTreeMap<String, Result<Tags, AwsError>> =
        map_bounded(unknown, DEFAULT_CONCURRENCY, |arn| async move {
            let tags = tags::list(&clients.sagemaker, &arn).await;
            (arn, tags)
        })
        .await
        .into_iter()
        .collect();
    let mut resolved = BTreeMap::new();
    'resources: for (arn, parents) in lineage_of {
        let mut tags = Vec::new();
        for parent in parents {
            let read = match (known.get(parent.as_str()), fetched.get(&parent)) {
                (Some(t), _) => Some((*t).clone()),
                (None, Some(read)) => report.keep(Some(&arn), read.clone()),
                (None, None) => None,
            };
            match read {
                Some(t) => tags.push(t),
                None => continue 'resources,
            }
        }
        resolved.insert(arn, tags);
    }
    resolved
}

/// Tags of the roles named by `CreatedBy` tags: role → `Some(tags)` (`Some(None)`: no such
/// role), and `None` when they could not be read.
async fn read_roles<'a>(
    clients: &Clients,
    tag_sets: impl Iterator<Item = &'a Tags>,
    report: &mut Report,
) -> BTreeMap<String, Option<Option<Tags>>> {
    let roles: BTreeSet<String> = tag_sets
        .filter_map(|t| t.get(CREATED_BY))
        .filter_map(|c| creator::role_from_tag(c))
        .map(str::to_owned)
        .collect();
    let read = map_bounded(roles, DEFAULT_CONCURRENCY, |role| async move {
        let tags = iam::role_tags(&clients.iam, &role).await;
        (role, tags)
    })
    .await;
    read.into_iter()
        .map(|(role, tags)| {
            let tags = report.keep(Some(&format!("role/{role}")), tags);
            (role, tags)
        })
        .collect()
}

/// The region's buckets with their tags, class and (for classified ones) lifecycle rules.
async fn read_buckets(
    clients: &Clients,
    config: &Config,
    report: &mut Report,
) -> Vec<(Bucket, Tags)> {
    let names = s3::list_buckets(&clients.s3, None, clients.region.as_deref()).await;
    let Some(names) = report.keep(None, names) else {
        return Vec::new();
    };
    let read = map_bounded(names, DEFAULT_CONCURRENCY, |name| async move {
        let state = async {
            let tags = s3::get_tags(&clients.s3, &name).await?;
            let bucket = bucket_state(clients, config, &name, &tags).await?;
            Ok::<_, AwsError>((bucket, tags))
        }
        .await;
        (name, state)
    })
    .await;
    read.into_iter()
        .filter_map(|(name, state)| match state {
            // Deleted since it was listed.
            Err(err) if err.is_code("NoSuchBucket") => None,
            state => report.keep(Some(&s3::bucket_arn(&name)), state),
        })
        .collect()
}

/// Live endpoints with their configuration, for idle detection.
async fn read_endpoints(
    clients: &Clients,
    tagged: &[(Listed, Tags)],
    report: &mut Report,
) -> Vec<Candidate> {
    let endpoints = tagged.iter().filter(|(l, _)| l.kind == Kind::Endpoint);
    let described = map_bounded(endpoints, DEFAULT_CONCURRENCY, |(l, tags)| async move {
        let read = async {
            let Some(endpoint) = endpoints::describe(&clients.sagemaker, &l.name).await? else {
                return Ok(None);
            };
            let Some(config) =
                endpoints::describe_config(&clients.sagemaker, &endpoint.config_name).await?
            else {
                return Ok(None);
            };
            // Real-time or asynchronous decides which metrics show its traffic.
            let Some(mode) =
                invocation_mode::of_config(&clients.sagemaker, &endpoint.config_name).await?
            else {
                return Ok(None);
            };
            Ok::<_, AwsError>(Some(Candidate {
                arn: l.arn.clone(),
                tags: tags.clone(),
                created: l.created,
                endpoint,
                config,
                mode,
            }))
        }
        .await;
        (l.arn.clone(), read)
    })
    .await;
    described
        .into_iter()
        .filter_map(|(arn, read)| report.keep(Some(&arn), read).flatten())
        .collect()
}

/// The traffic of every judged endpoint over the idle window, read in as few GetMetricData
/// calls as possible. When that read fails (an error in the report) the judged endpoints are
/// left out; those not judged stay, first, with why.
async fn read_traffic(
    clients: &Clients,
    candidates: Vec<Candidate>,
    policy: &IdlePolicy,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Vec<Watched> {
    let mut watched = Vec::new();
    let mut judged = Vec::new();
    for candidate in candidates {
        match candidate.signals(policy, now) {
            Ok(signals) => judged.push((candidate, signals)),
            Err(not_judged) => watched.push(Watched {
                candidate,
                traffic: Err(not_judged),
            }),
        }
    }
    if judged.is_empty() {
        return watched;
    }
    let queries: Vec<MetricQuery> = judged
        .iter()
        .flat_map(|(_, signals)| signals.iter().map(|s| s.query.clone()))
        .collect();
    let start = idle::window_start(policy, now);
    let read = metric_data::read(&clients.cloudwatch, &queries, start, now, idle::PERIOD_SECS);
    let Some(readings) = report.keep(None, read.await) else {
        return watched;
    };
    let mut readings = readings.into_iter();
    for (candidate, signals) in judged {
        let observed = signals
            .into_iter()
            .map(|signal| (signal, readings.next().flatten()))
            .collect();
        watched.push(Watched {
            candidate,
            traffic: Ok(observed),
        });
    }
    watched
}
