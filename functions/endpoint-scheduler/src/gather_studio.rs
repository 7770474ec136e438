//! Gathering Studio apps: opted-in domains, spaces and user profiles from one tag query, the
//! snapshots of parked apps, then per domain its apps (ListApps) and, for each running app,
//! DescribeApp (its last user activity).
//!
//! Opt-in: `AutoShutdown=true` on a space or user profile, or on its domain (inherited); the
//! resource's own value wins. The schedule tags are the domain's overlaid with the
//! resource's own.

use std::collections::{BTreeMap, BTreeSet};

use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::s3::snapshots::{self, Snapshots};
use sagekeeper_core::sagemaker::studio::{
    self, APP_SNAPSHOT_PREFIX, App, AppKey, AppSnapshot, OwnerKind,
};
use sagekeeper_core::sagemaker::tags;
use sagekeeper_core::tagging::{self, TaggedResource};
use sagekeeper_core::{Report, Severity};

use crate::clients::Clients;
use crate::model::{OPT_IN_TAG, StudioApp};

const RESOURCE_TYPES: &[&str] = &[
    "sagemaker:domain",
    "sagemaker:space",
    "sagemaker:user-profile",
];

/// A space or user profile, by kind and name.
type Owner = (OwnerKind, String);

/// `domain/d-x`, `space/d-x/name`, `user-profile/d-x/name` of an ARN: (domain, owner).
fn studio_path(arn: &str) -> Option<(String, Option<Owner>)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.splitn(3, '/');
    let kind = parts.next()?;
    let domain = parts.next()?.to_owned();
    let name = parts.next().map(str::to_owned);
    match (kind, name) {
        ("domain", None) => Some((domain, None)),
        ("space", Some(name)) => Some((domain, Some((OwnerKind::Space, name)))),
        ("user-profile", Some(name)) => Some((domain, Some((OwnerKind::User, name)))),
        _ => None,
    }
}

/// `snapshots/studio/<domain>/<space|user>/<owner>/<type>/<name>.json` → the app.
fn key_of(key: &str) -> Option<AppKey> {
    let path = key
        .strip_prefix(APP_SNAPSHOT_PREFIX)?
        .strip_suffix(".json")?;
    let parts: Vec<&str> = path.split('/').collect();
    let [domain, kind, owner, app_type, app_name] = parts.as_slice() else {
        return None;
    };
    let owner_kind = match *kind {
        "space" => OwnerKind::Space,
        "user" => OwnerKind::User,
        _ => return None,
    };
    Some(AppKey {
        domain_id: (*domain).to_owned(),
        owner_kind,
        owner: (*owner).to_owned(),
        app_type: (*app_type).to_owned(),
        app_name: (*app_name).to_owned(),
    })
}

/// What merged tags say of a space or user profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptIn {
    /// `AutoShutdown=true`, any case.
    In,
    /// `false`, or no tag.
    Out,
    /// Another value: a finding, and its apps are left alone whatever state they are in.
    Unknown,
}

fn opt_in(arn: &str, tags: &Tags, report: &mut Report) -> OptIn {
    let Some(value) = tags.get(OPT_IN_TAG) else {
        return OptIn::Out;
    };
    if value.eq_ignore_ascii_case("true") {
        return OptIn::In;
    }
    if value.eq_ignore_ascii_case("false") {
        return OptIn::Out;
    }
    report.finding(
        arn,
        "unknown-opt-in-value",
        Severity::Medium,
        format!("{OPT_IN_TAG}={value:?} is neither true nor false; its apps are left alone"),
    );
    OptIn::Unknown
}

/// The apps of opted-in spaces and user profiles, running or parked. A domain, owner or app
/// that cannot be read is an error in the report and is left out of this run.
pub async fn gather_studio(clients: &Clients, report: &mut Report) -> Vec<StudioApp> {
    let Some(tagged) = report.keep(
        None,
        tagging::resources_with_tag(&clients.tagging, RESOURCE_TYPES, OPT_IN_TAG, &[]).await,
    ) else {
        return Vec::new();
    };
    let mut snapshots: Snapshots<AppKey, AppSnapshot> =
        snapshots::read_all(&clients.state, APP_SNAPSHOT_PREFIX, key_of, report).await;
    let mut by_domain: BTreeMap<String, Vec<(Option<Owner>, TaggedResource)>> = BTreeMap::new();
    for resource in tagged {
        if let Some((domain, owner)) = studio_path(&resource.arn) {
            by_domain.entry(domain).or_default().push((owner, resource));
        }
    }
    for app in snapshots.read.keys().chain(snapshots.problems.keys()) {
        by_domain.entry(app.domain_id.clone()).or_default();
    }
    let mut found = Vec::new();
    for (domain_id, tagged) in by_domain {
        let domain_tags = tagged
            .iter()
            .find(|(owner, _)| owner.is_none())
            .map(|(_, r)| r.tags.clone());
        let owner_tags: BTreeMap<Owner, Tags> = tagged
            .into_iter()
            .filter_map(|(owner, r)| owner.map(|o| (o, r.tags)))
            .collect();
        let Some(domain) = report.keep(
            Some(&domain_id),
            studio::describe_domain(&clients.sagemaker, &domain_id).await,
        ) else {
            continue;
        };
        let domain_tags = match domain_tags {
            Some(tags) => tags,
            None => match report.keep(
                Some(&domain.arn),
                tags::list(&clients.sagemaker, &domain.arn).await,
            ) {
                Some(tags) => tags,
                None => continue,
            },
        };
        let Some(apps) = report.keep(
            Some(&domain.arn),
            studio::list_apps(&clients.sagemaker, &domain_id).await,
        ) else {
            continue;
        };
        let mut owners: BTreeSet<Owner> = owner_tags.keys().cloned().collect();
        let domain_opted = domain_tags.contains_key(OPT_IN_TAG);
        for app in &apps {
            if domain_opted {
                owners.insert((app.key.owner_kind, app.key.owner.clone()));
            }
        }
        for app in snapshots.read.keys().chain(snapshots.problems.keys()) {
            if app.domain_id == domain_id {
                owners.insert((app.owner_kind, app.owner.clone()));
            }
        }
        for (kind, owner) in owners {
            let owner_arn =
                studio::studio_arn(&domain.arn, kind.arn_type(), &owner).unwrap_or_default();
            let mut owner_gone = false;
            let own = match owner_tags.get(&(kind, owner.clone())) {
                Some(tags) => tags.clone(),
                None => match tags::list(&clients.sagemaker, &owner_arn).await {
                    Ok(tags) => tags,
                    Err(err) if sagekeeper_core::sagemaker::is_not_found(&err) => {
                        owner_gone = true;
                        Tags::new()
                    }
                    Err(err) => {
                        report.error(Some(&owner_arn), &err);
                        continue;
                    }
                },
            };
            let mut merged = domain_tags.clone();
            merged.extend(own);
            let owns =
                |k: &AppKey| k.domain_id == domain_id && k.owner_kind == kind && k.owner == owner;
            let opted_out = match opt_in(&owner_arn, &merged, report) {
                OptIn::In => owner_gone,
                OptIn::Out => true,
                OptIn::Unknown => continue,
            };
            let keys: BTreeSet<AppKey> = if opted_out {
                // Only what we parked and would start again: the owner's word ends our care.
                snapshots
                    .read
                    .iter()
                    .filter(|(k, s)| owns(k) && s.value.prewarm)
                    .map(|(k, _)| k.clone())
                    .collect()
            } else {
                let listed = apps.iter().map(|a| &a.key);
                let parked = snapshots.read.keys().chain(snapshots.problems.keys());
                listed.chain(parked).filter(|k| owns(k)).cloned().collect()
            };
            for key in keys {
                let listed = current_record(&apps, &key);
                let live = match listed {
                    Some(app) if app.is_in_service() => {
                        match studio::describe_app(&clients.sagemaker, &key).await {
                            Ok(described) => described,
                            Err(err) => {
                                report.error(Some(&owner_arn), &err);
                                continue;
                            }
                        }
                    }
                    listed => listed,
                };
                let snapshot = snapshots.read.remove(&key);
                let problem = snapshots.problem(&key);
                let space_taken_by = match kind {
                    OwnerKind::Space => apps
                        .iter()
                        .find(|a| owns(&a.key) && a.key != key && a.is_live())
                        .map(|a| a.key.clone()),
                    OwnerKind::User => None,
                };
                found.push(StudioApp {
                    arn: app_arn(&domain.arn, &key, live.as_ref()),
                    opted_out: opted_out && !owner_gone,
                    owner_gone,
                    space_taken_by,
                    tags: merged.clone(),
                    snapshot_etag: snapshot.as_ref().map(|s| s.etag.clone()),
                    snapshot: snapshot.map(|s| s.value),
                    snapshot_problem: problem,
                    live,
                    key,
                });
            }
        }
    }
    found
}

/// The record of the app now: ListApps keeps a Deleted app listed beside the new app of the
/// same name, so the live one wins, then the newest.
fn current_record(apps: &[App], key: &AppKey) -> Option<App> {
    apps.iter()
        .filter(|a| a.key == *key)
        .max_by_key(|a| (a.is_live(), a.created))
        .cloned()
}

/// The app's ARN as DescribeApp gives it, else as AWS forms it (lowercase type).
fn app_arn(domain_arn: &str, key: &AppKey, live: Option<&App>) -> String {
    live.and_then(|l| l.arn.clone())
        .or_else(|| key.arn_in(domain_arn))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn studio_arns_and_snapshot_keys_name_their_domain_and_owner() {
        assert_eq!(
            studio_path("arn:aws:sagemaker:us-east-1:123456789012:space/d-ml/lab"),
            Some(("d-ml".into(), Some((OwnerKind::Space, "lab".into()))))
        );
        assert_eq!(
            studio_path("arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml/ana"),
            Some(("d-ml".into(), Some((OwnerKind::User, "ana".into()))))
        );
        assert_eq!(
            studio_path("arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml"),
            Some(("d-ml".into(), None))
        );
        assert_eq!(
            studio_path("arn:aws:sagemaker:us-east-1:1:endpoint/ep"),
            None
        );
        let key = AppKey {
            domain_id: "d-ml".into(),
            owner_kind: OwnerKind::Space,
            owner: "lab".into(),
            app_type: "JupyterLab".into(),
            app_name: "default".into(),
        };
        assert_eq!(key_of(&AppSnapshot::key_for(&key)), Some(key));
        assert_eq!(key_of("snapshots/studio/d-ml/lab.json"), None);
    }

    #[test]
    fn the_live_record_of_an_app_wins_over_the_deleted_one_listed_before_it() {
        let key = AppKey {
            domain_id: "d-ml".into(),
            owner_kind: OwnerKind::Space,
            owner: "lab".into(),
            app_type: "JupyterLab".into(),
            app_name: "default".into(),
        };
        let record = |status: &str, hour: u32| App {
            key: key.clone(),
            arn: None,
            status: status.into(),
            spec: Default::default(),
            created: Some(
                chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 19, hour, 0, 0).unwrap(),
            ),
            last_user_activity: None,
        };
        let mut other = record("InService", 12);
        other.key.app_name = "other".into();
        let listed = [record("Deleted", 8), record("InService", 9), other];
        assert_eq!(current_record(&listed, &key).unwrap().status, "InService");
        // Control: only deleted records — the newest.
        let gone = [record("Deleted", 8), record("Deleted", 10)];
        let newest = current_record(&gone, &key).unwrap();
        assert_eq!(
            (newest.status.as_str(), newest.created),
            ("Deleted", gone[1].created)
        );
    }
}
