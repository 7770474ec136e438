//! Gathering what the planner needs: opted-in resources from one bulk tag query, parked
//! endpoints from their snapshots, then per-resource describes with a bound on concurrency.

use std::collections::BTreeMap;

use sagekeeper_core::autoscaling;
use sagekeeper_core::aws::AwsError;
use sagekeeper_core::aws::{DEFAULT_CONCURRENCY, map_bounded};
use sagekeeper_core::model::snapshot::{EndpointSnapshot, SNAPSHOT_PREFIX};
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::run::report::ReportableError;
use sagekeeper_core::s3::snapshots::{self, Snapshots};
use sagekeeper_core::s3::state::StateError;
use sagekeeper_core::sagemaker::endpoints;
use sagekeeper_core::sagemaker::inference_components;
use sagekeeper_core::sagemaker::notebooks;
use sagekeeper_core::sagemaker::park;
use sagekeeper_core::tagging::{self, TaggedResource};
use sagekeeper_core::{Arn, Report, Severity};

use crate::clients::Clients;
use crate::gather_studio::gather_studio;
use crate::model::{EndpointState, OPT_IN_TAG, Observed};

const RESOURCE_TYPES: &[&str] = &["sagemaker:endpoint", "sagemaker:notebook-instance"];

/// Reads everything a run needs. A resource that cannot be read is an error in the report
/// and is left out of this run; the others go on.
pub async fn gather(clients: &Clients, report: &mut Report) -> Observed {
    let Some(tagged) = report.keep(
        None,
        tagging::resources_with_tag(&clients.tagging, RESOURCE_TYPES, OPT_IN_TAG, &[]).await,
    ) else {
        return Observed::default();
    };
    let opted_in = opted_in(tagged, report);
    let mut live_endpoints: BTreeMap<String, TaggedResource> = BTreeMap::new();
    let mut notebook_names = Vec::new();
    for resource in opted_in {
        let Ok(arn) = Arn::parse(&resource.arn) else {
            continue;
        };
        match arn.resource_type() {
            Some("endpoint") => {
                live_endpoints.insert(arn.resource_name().to_owned(), resource);
            }
            Some("notebook-instance") => {
                notebook_names.push((arn.resource_name().to_owned(), resource.tags))
            }
            _ => {}
        }
    }
    // Endpoints, notebooks and Studio are read at once: at ~50 ms a call, one after another
    // they added up. Each records into its own part of the report, merged in this order.
    let mut parts: [Report; 3] = std::array::from_fn(|_| report.fragment());
    let [in_endpoints, in_notebooks, in_studio] = &mut parts;
    let (endpoints, notebooks, studio) = tokio::join!(
        gather_endpoints(clients, live_endpoints, in_endpoints),
        gather_notebooks(clients, notebook_names, in_notebooks),
        gather_studio(clients, in_studio),
    );
    parts.into_iter().for_each(|part| report.absorb(part));
    Observed {
        endpoints,
        notebooks,
        studio,
    }
}

/// The opted-in endpoints and the parked ones (those with a snapshot), described.
async fn gather_endpoints(
    clients: &Clients,
    live_endpoints: BTreeMap<String, TaggedResource>,
    report: &mut Report,
) -> Vec<EndpointState> {
    let snapshots: Snapshots<String, EndpointSnapshot> =
        snapshots::read_all(&clients.state, SNAPSHOT_PREFIX, endpoint_of, report).await;

    let mut names: Vec<String> = live_endpoints.keys().cloned().collect();
    names.extend(
        snapshots
            .read
            .keys()
            .filter(|n| !live_endpoints.contains_key(*n))
            .cloned(),
    );
    let described = map_bounded(names, DEFAULT_CONCURRENCY, |name| {
        let tagged = live_endpoints.get(&name).cloned();
        let read = snapshots.read.get(&name).cloned();
        let problem = snapshots.problem(&name);
        async move {
            let (snapshot, etag) = read.map_or((None, None), |v| (Some(v.value), Some(v.etag)));
            let mut state = describe_endpoint(clients, name, tagged, snapshot).await?;
            state.snapshot_etag = etag;
            state.snapshot_problem = problem;
            Ok::<_, (String, AwsError)>(state)
        }
    })
    .await;
    let mut endpoints = Vec::new();
    for result in described {
        match result {
            Ok(state) => endpoints.push(state),
            Err((resource, err)) => report.error(Some(&resource), &err),
        }
    }
    endpoints
}

/// The opted-in notebook instances, described.
async fn gather_notebooks(
    clients: &Clients,
    notebook_names: Vec<(String, Tags)>,
    report: &mut Report,
) -> Vec<(notebooks::Notebook, Tags)> {
    let notebooks = map_bounded(
        notebook_names,
        DEFAULT_CONCURRENCY,
        |(name, tags)| async move {
            notebooks::describe(&clients.sagemaker, &name)
                .await
                .map(|n| (n, tags))
                .map_err(|e| (name, e))
        },
    )
    .await;
    let mut described = Vec::new();
    for result in notebooks {
        match result {
            Ok(notebook) => described.push(notebook),
            Err((name, err)) => report.error(Some(&name), &err),
        }
    }
    described
}

/// Keeps `AutoShutdown=true` (any case); `false` is a deliberate opt-out. Any other value is
/// a mistake worth telling the owner about, and the resource is left alone.
fn opted_in(tagged: Vec<TaggedResource>, report: &mut Report) -> Vec<TaggedResource> {
    tagged
        .into_iter()
        .filter(|resource| {
            let value = resource.tags.get(OPT_IN_TAG).map(String::as_str).unwrap_or_default();
            if value.eq_ignore_ascii_case("true") {
                return true;
            }
            if !value.eq_ignore_ascii_case("false") {
                report.finding(
                    &resource.arn,
                    "unknown-opt-in-value",
                    Severity::Medium,
                    format!("{OPT_IN_TAG}={value:?} is neither true nor false; the resource is left alone"),
                );
            }
            false
        })
        .collect()
}

/// `snapshots/endpoints/<name>.json` → `<name>`.
fn endpoint_of(key: &str) -> Option<String> {
    key.strip_prefix(SNAPSHOT_PREFIX)
        .and_then(|k| k.strip_suffix(".json"))
        .map(str::to_owned)
}

/// The endpoint read again (live state and snapshot), after a conflict showed that a
/// concurrent run changed it since this run looked.
pub async fn refresh(
    clients: &Clients,
    state: &EndpointState,
) -> Result<EndpointState, RefreshError> {
    let key = EndpointSnapshot::key_for(&state.name);
    let (snapshot, problem) = match clients
        .state
        .get_versioned::<EndpointSnapshot>(&key)
        .await?
    {
        Some(read) if read.value.is_readable() => (Some(read), None),
        Some(read) => (
            None,
            Some(format!("its snapshot is of format {}", read.value.format)),
        ),
        None => (None, None),
    };
    let tagged = state.live.as_ref().map(|_| TaggedResource {
        arn: state.arn.clone(),
        tags: state.tags.clone(),
    });
    let mut fresh = describe_endpoint(
        clients,
        state.name.clone(),
        tagged,
        snapshot.as_ref().map(|v| v.value.clone()),
    )
    .await
    .map_err(|(_, err)| err)?;
    fresh.snapshot_etag = snapshot.map(|v| v.etag);
    fresh.snapshot_problem = problem;
    Ok(fresh)
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl ReportableError for RefreshError {
    fn kind(&self) -> &'static str {
        match self {
            RefreshError::State(e) => e.kind(),
            RefreshError::Aws(e) => e.kind(),
        }
    }
    fn retryable(&self) -> bool {
        match self {
            RefreshError::State(e) => e.retryable(),
            RefreshError::Aws(e) => e.retryable(),
        }
    }
}

async fn describe_endpoint(
    clients: &Clients,
    name: String,
    tagged: Option<TaggedResource>,
    snapshot: Option<EndpointSnapshot>,
) -> Result<EndpointState, (String, AwsError)> {
    let fail = |err| (name.clone(), err);
    let live = endpoints::describe(&clients.sagemaker, &name)
        .await
        .map_err(fail)?;
    let config_name = live
        .as_ref()
        .map(|l| l.config_name.clone())
        .or_else(|| snapshot.as_ref().map(|s| s.endpoint_config_name.clone()));
    let config = match &config_name {
        Some(config_name) => endpoints::describe_config(&clients.sagemaker, config_name)
            .await
            .map_err(fail)?,
        None => None,
    };
    let components = match (&live, &config) {
        (Some(_), Some(config)) if config.hosts_inference_components() => {
            inference_components::list_for_endpoint(&clients.sagemaker, &name)
                .await
                .map_err(fail)?
        }
        _ => Vec::new(),
    };
    // Whether an asynchronous endpoint is held at zero shows in its scaling limits only.
    let scaling_limits = match (&live, &config) {
        (Some(live), Some(config)) if config.asynchronous => {
            let variants = park::scaling_resource_ids(live, config, &components);
            autoscaling::limits(&clients.autoscaling, &variants)
                .await
                .map_err(fail)?
        }
        _ => Vec::new(),
    };
    let arn = live
        .as_ref()
        .map(|l| l.arn.clone())
        .or_else(|| tagged.as_ref().map(|t| t.arn.clone()))
        .or_else(|| snapshot.as_ref().map(|s| s.endpoint_arn.clone()))
        .unwrap_or_default();
    let tags = match (&tagged, &snapshot) {
        (Some(tagged), _) => tagged.tags.clone(),
        (None, Some(snapshot)) => snapshot.tags.clone(),
        (None, None) => Tags::new(),
    };
    Ok(EndpointState {
        name,
        arn,
        tags,
        live,
        config,
        components,
        scaling_limits,
        snapshot,
        snapshot_etag: None,
        snapshot_problem: None,
    })
}
