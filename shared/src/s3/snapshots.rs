//! Reading every snapshot of one kind from the state store: what a run must know before it
//! parks anything. A snapshot that cannot be read, or is of a format this version does not
//! read, is recorded as a problem for its resource (which must then not be parked: that could
//! overwrite a snapshot nobody has read); a store that cannot be listed makes every resource's
//! snapshot unknown.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::aws::{DEFAULT_CONCURRENCY, map_bounded};
use crate::run::report::{Report, Severity};
use crate::s3::state::{StateStore, Versioned};

/// A snapshot document with a format number.
pub trait Snapshot: DeserializeOwned {
    fn format(&self) -> u32;
    fn is_readable(&self) -> bool;
}

/// Every snapshot under a prefix, by the resource its key names.
#[derive(Debug)]
pub struct Snapshots<K, T> {
    pub read: BTreeMap<K, Versioned<T>>,
    /// Resource → why its snapshot could not be used.
    pub problems: BTreeMap<K, String>,
    /// Why the store could not be listed: then no resource's snapshot is known.
    pub unlisted: Option<String>,
}

impl<K: Ord, T> Default for Snapshots<K, T> {
    fn default() -> Self {
        Snapshots {
            read: BTreeMap::new(),
            problems: BTreeMap::new(),
            unlisted: None,
        }
    }
}

impl<K: Ord, T> Snapshots<K, T> {
    /// Why the resource's snapshot is not known, if it is not.
    pub fn problem(&self, resource: &K) -> Option<String> {
        self.unlisted
            .clone()
            .or_else(|| self.problems.get(resource).cloned())
    }
}

/// Reads every snapshot under `prefix` whose key `resource_of` names a resource (others are
/// ignored), a few at a time; errors and unknown formats go into the report.
pub async fn read_all<K, T>(
    store: &StateStore,
    prefix: &str,
    resource_of: impl Fn(&str) -> Option<K>,
    report: &mut Report,
) -> Snapshots<K, T>
where
    K: Ord,
    T: Snapshot,
{
    let mut snapshots = Snapshots::default();
    let keys = match store.list_keys(prefix).await {
        Ok(keys) => keys,
        Err(err) => {
            report.error(None, &err);
            snapshots.unlisted = Some(format!(
                "the state bucket s3://{} could not be listed",
                store.bucket()
            ));
            return snapshots;
        }
    };
    let named: Vec<(K, String)> = keys
        .into_iter()
        .filter_map(|key| resource_of(&key).map(|resource| (resource, key)))
        .collect();
    let read = map_bounded(named, DEFAULT_CONCURRENCY, |(resource, key)| async move {
        let result = store.get_versioned::<T>(&key).await;
        (resource, key, result)
    })
    .await;
    for (resource, key, result) in read {
        let location = store.location(&key);
        match result {
            Ok(Some(read)) if read.value.is_readable() => {
                snapshots.read.insert(resource, read);
            }
            Ok(Some(read)) => {
                let format = read.value.format();
                report.finding(
                    &location,
                    "unknown-snapshot-format",
                    Severity::High,
                    format!(
                        "snapshot format {format} is not one this version reads; left untouched"
                    ),
                );
                let problem = format!("its snapshot {location} is of format {format}");
                snapshots.problems.insert(resource, problem);
            }
            Ok(None) => {}
            Err(err) => {
                report.error(Some(&location), &err);
                let problem = format!("its snapshot {location} could not be read");
                snapshots.problems.insert(resource, problem);
            }
        }
    }
    snapshots
}
