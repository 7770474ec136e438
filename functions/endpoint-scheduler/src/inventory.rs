//! Gathering what the planner needs: opted-in resources from one bulk tag query, parked
//! endpoints from their snapshots, then per-resource describes with a bound on concurrency.

use std::collections::BTreeMap;

use sagekeeper_core::aws::{DEFAULT_CONCURRENCY, map_bounded};
use sagekeeper_core::sagemaker::endpoints;
use sagekeeper_core::sagemaker::inference_components;
use sagekeeper_core::sagemaker::notebooks::{self, Notebook};
use sagekeeper_core::sagemaker::snapshot::{EndpointSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_PREFIX};
use sagekeeper_core::tagging::{self, TaggedResource, Tags};
use sagekeeper_core::{Arn, Report, Severity};

use crate::handler::Deps;
use crate::plan::EndpointState;

pub const OPT_IN_TAG: &str = "AutoShutdown";
const RESOURCE_TYPES: &[&str] = &["sagemaker:endpoint", "sagemaker:notebook-instance"];

#[derive(Debug, Default)]
pub struct Inventory {
    pub endpoints: Vec<EndpointState>,
    pub notebooks: Vec<(Notebook, Tags)>,
}

/// Reads everything a run needs. A resource that cannot be read is an error in the report
/// and is left out of this run; the others go on.
pub async fn gather(deps: &Deps, report: &mut Report) -> Inventory {
    let tagged =
        match tagging::resources_with_tag(&deps.tagging, RESOURCE_TYPES, OPT_IN_TAG, &[]).await {
            Ok(tagged) => tagged,
            Err(err) => {
                report.error(None, &err);
                return Inventory::default();
            }
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
    let snapshots = read_snapshots(deps, report).await;

    let mut names: Vec<String> = live_endpoints.keys().cloned().collect();
    names.extend(
        snapshots
            .keys()
            .filter(|n| !live_endpoints.contains_key(*n))
            .cloned(),
    );
    let described = map_bounded(names, DEFAULT_CONCURRENCY, |name| {
        let tagged = live_endpoints.get(&name).cloned();
        let snapshot = snapshots.get(&name).cloned();
        async move { describe_endpoint(deps, name, tagged, snapshot).await }
    })
    .await;
    let mut inventory = Inventory::default();
    for result in described {
        match result {
            Ok(state) => inventory.endpoints.push(state),
            Err((resource, err)) => report.error(Some(&resource), &err),
        }
    }

    let notebooks = map_bounded(
        notebook_names,
        DEFAULT_CONCURRENCY,
        |(name, tags)| async move {
            notebooks::describe(&deps.sagemaker, &name)
                .await
                .map(|n| (n, tags))
                .map_err(|e| (name, e))
        },
    )
    .await;
    for result in notebooks {
        match result {
            Ok(notebook) => inventory.notebooks.push(notebook),
            Err((name, err)) => report.error(Some(&name), &err),
        }
    }
    inventory
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

async fn read_snapshots(deps: &Deps, report: &mut Report) -> BTreeMap<String, EndpointSnapshot> {
    let keys = match deps.state.list_keys(SNAPSHOT_PREFIX).await {
        Ok(keys) => keys,
        Err(err) => {
            report.error(None, &err);
            return BTreeMap::new();
        }
    };
    let read = map_bounded(keys, DEFAULT_CONCURRENCY, |key| async move {
        let result = deps.state.get_json::<EndpointSnapshot>(&key).await;
        (key, result)
    })
    .await;
    let mut snapshots = BTreeMap::new();
    for (key, result) in read {
        let location = deps.state.location(&key);
        match result {
            Ok(Some(snapshot)) if snapshot.format == SNAPSHOT_FORMAT => {
                snapshots.insert(snapshot.endpoint_name.clone(), snapshot);
            }
            Ok(Some(snapshot)) => report.finding(
                &location,
                "unknown-snapshot-format",
                Severity::High,
                format!(
                    "snapshot format {} is not one this version reads; left untouched",
                    snapshot.format
                ),
            ),
            Ok(None) => {}
            Err(err) => report.error(Some(&location), &err),
        }
    }
    snapshots
}

async fn describe_endpoint(
    deps: &Deps,
    name: String,
    tagged: Option<TaggedResource>,
    snapshot: Option<EndpointSnapshot>,
) -> Result<EndpointState, (String, sagekeeper_core::AwsError)> {
    let fail = |err| (name.clone(), err);
    let live = endpoints::describe(&deps.sagemaker, &name)
        .await
        .map_err(fail)?;
    let config_name = live
        .as_ref()
        .map(|l| l.config_name.clone())
        .or_else(|| snapshot.as_ref().map(|s| s.endpoint_config_name.clone()));
    let config = match &config_name {
        Some(config_name) => endpoints::describe_config(&deps.sagemaker, config_name)
            .await
            .map_err(fail)?,
        None => None,
    };
    let components = match (&live, &config) {
        (Some(_), Some(config)) if config.hosts_inference_components() => {
            inference_components::list_for_endpoint(&deps.sagemaker, &name)
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
        snapshot,
    })
}
