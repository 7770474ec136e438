//! Gathering what the planners need through the core adapters: for a create event, the one
//! resource; for the daily sweep, every SageMaker resource, the region's buckets, the
//! SageMaker log groups and the live endpoints. Per-resource calls run with a bound on
//! concurrency. A resource that cannot be read completely is an error in the report and is
//! left out of the run (a tag from a lower-precedence source must never stand in for one
//! that could not be read), the others go on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use sagekeeper_core::aws::{DEFAULT_CONCURRENCY, map_bounded};
use sagekeeper_core::cloudwatch::log_groups::{self, LogGroup};
use sagekeeper_core::events::{ApiCall, ResourceRef};
use sagekeeper_core::model::lifecycle::LifecycleConfig;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::report::ReportableError;
use sagekeeper_core::sagemaker::catalog::{self, Kind, Listed};
use sagekeeper_core::sagemaker::{endpoints, invocation_mode, lineage, tags};
use sagekeeper_core::{AwsError, Report, iam, s3};

use crate::clients::Clients;
use crate::config::Config;
use crate::creator::{self, CREATED_BY, Creator};
use crate::idle::Candidate;
use crate::lifecycle_plan::{self, Classified};
use crate::retention::SAGEMAKER_LOG_PREFIX;
use crate::tags_plan::TagSources;

/// The sweep looks at jobs running now or created in the last two days: the create events
/// tag jobs as they start, and a tag added after a job ended attributes no spend.
pub const JOB_LOOKBACK_DAYS: i64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    SageMaker,
    Bucket(String),
}

/// A resource to tag and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub arn: String,
    pub target: Target,
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

#[derive(Debug, Default)]
pub struct Inventory {
    pub subjects: Vec<Subject>,
    pub buckets: Vec<Bucket>,
    pub log_groups: Vec<LogGroup>,
    pub endpoints: Vec<Candidate>,
}

/// `Some` value, or the error in the report (for `resource`) and `None`.
fn reported<T, E: ReportableError>(
    result: Result<T, E>,
    resource: Option<&str>,
    report: &mut Report,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            report.error(resource, &err);
            None
        }
    }
}

/// The resource a create call made. `None` when it could not be read (in the report).
pub async fn created(
    clients: &Clients,
    config: &Config,
    call: &ApiCall,
    resource: &ResourceRef,
    report: &mut Report,
) -> Option<Inventory> {
    let creator = Creator::from_identity(&call.user_identity);
    let role = match creator.as_ref().and_then(|c| c.role_in(&call.account)) {
        Some(role) => reported(
            iam::role_tags(&clients.iam, role).await,
            Some(&resource.arn),
            report,
        )?,
        None => None,
    };
    let mut inventory = Inventory::default();
    let (target, own, parents) = if resource.kind == "bucket" {
        let own = reported(
            s3::get_tags(&clients.s3, &resource.name).await,
            Some(&resource.arn),
            report,
        )?;
        let bucket = reported(
            bucket_state(clients, config, &resource.name, &own).await,
            Some(&resource.arn),
            report,
        )?;
        let untouched = matches!(bucket.class, Classified::Unknown(_));
        inventory.buckets.push(bucket);
        if untouched {
            return Some(inventory);
        }
        (Target::Bucket(resource.name.clone()), own, Vec::new())
    } else {
        let Some(kind) = Kind::from_arn_type(resource.kind) else {
            report.skipped(
                &resource.arn,
                "tag",
                format!("{} resources are not tagged", resource.kind),
            );
            return None;
        };
        let own = reported(
            tags::list(&clients.sagemaker, &resource.arn).await,
            Some(&resource.arn),
            report,
        )?;
        let parent_arns = reported(
            lineage::parents(&clients.sagemaker, kind, &resource.name, &own).await,
            Some(&resource.arn),
            report,
        )?;
        let mut parents = Vec::new();
        for parent in parent_arns {
            parents.push(reported(
                tags::list(&clients.sagemaker, &parent).await,
                Some(&resource.arn),
                report,
            )?);
        }
        (Target::SageMaker, own, parents)
    };
    inventory.subjects.push(Subject {
        arn: resource.arn.clone(),
        target,
        sources: TagSources {
            own,
            parents,
            role,
            created_by: creator.as_ref().map(Creator::tag_value),
            created_at: Some(call.time),
        },
        creator: creator.as_ref().map(Creator::tag_value),
    });
    Some(inventory)
}

/// The data class of a bucket and, when it has one, its lifecycle configuration.
async fn bucket_state(
    clients: &Clients,
    config: &Config,
    name: &str,
    tags: &Tags,
) -> Result<Bucket, AwsError> {
    let class = lifecycle_plan::classify(name, tags, &config.data_class_prefixes);
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
) -> Inventory {
    let listed = list_sagemaker(clients, now, report).await;
    let tagged = read_tags(clients, listed, report).await;
    let buckets = read_buckets(clients, config, report).await;
    let roles = read_roles(
        clients,
        tagged
            .iter()
            .map(|(_, t)| t)
            .chain(buckets.iter().map(|(_, t)| t)),
        report,
    )
    .await;

    let mut inventory = Inventory::default();
    let parents = read_parents(clients, &tagged, report).await;
    for (listed, own) in &tagged {
        let Some(parents) = parents.get(&listed.arn) else {
            continue;
        };
        if let Some(subject) =
            sweep_subject(&listed.arn, Target::SageMaker, own, parents.clone(), &roles)
        {
            inventory.subjects.push(subject);
        }
    }
    for (bucket, own) in buckets {
        if matches!(bucket.class, Classified::Class(_))
            && let Some(subject) = sweep_subject(
                &bucket.arn,
                Target::Bucket(bucket.name.clone()),
                &own,
                Vec::new(),
                &roles,
            )
        {
            inventory.subjects.push(subject);
        }
        inventory.buckets.push(bucket);
    }
    inventory.log_groups = reported(
        log_groups::list_with_prefix(&clients.logs, SAGEMAKER_LOG_PREFIX).await,
        None,
        report,
    )
    .unwrap_or_default();
    inventory.endpoints = read_endpoints(clients, &tagged, report).await;
    inventory
}

/// A resource of the sweep: no creator event, but a `CreatedBy` tag written on create names
/// the role whose tags still apply. `None` when that role's tags could not be read.
fn sweep_subject(
    arn: &str,
    target: Target,
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
        target,
        sources: TagSources {
            own: own.clone(),
            parents,
            role,
            created_by: None,
            created_at: None,
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
        .filter_map(|list| reported(list, None, report))
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
        .filter_map(|(l, tags)| {
            let arn = l.arn.clone();
            reported(tags, Some(&arn), report).map(|t| (l, t))
        })
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
        if let Some(parents) = reported(parents, Some(&arn), report) {
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
            match (known.get(parent.as_str()), fetched.get(&parent)) {
                (Some(t), _) => tags.push((*t).clone()),
                (None, Some(Ok(t))) => tags.push(t.clone()),
                (None, Some(Err(err))) => {
                    report.error(Some(&arn), err);
                    continue 'resources;
                }
                (None, None) => continue 'resources,
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
            let resource = format!("role/{role}");
            let tags = reported(tags, Some(&resource), report);
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
    let names = match s3::list_buckets(&clients.s3, None, clients.region.as_deref()).await {
        Ok(names) => names,
        Err(err) => {
            report.error(None, &err);
            return Vec::new();
        }
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
            state => reported(state, Some(&s3::bucket_arn(&name)), report),
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
        .filter_map(|(arn, read)| reported(read, Some(&arn), report).flatten())
        .collect()
}
