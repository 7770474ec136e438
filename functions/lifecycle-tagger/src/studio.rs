//! SageMaker Studio domains, user profiles, spaces and apps: where each sits in its domain,
//! so that it inherits the required tags it lacks from its nearest ancestor that has them.
//!
//! A user profile or a shared space inherits from its domain; a private space from its
//! owner's user profile, then the domain; an app from its space (then, for a private space,
//! the space's owner) or its user profile, then the domain. Pure: the gathering lists the
//! domain, the inferring ([`crate::inferred_tags`]) adds only the keys a resource lacks.

use std::collections::BTreeSet;

use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::sagemaker::studio::{App, OwnerKind, Space, studio_arn};

use crate::creator::{CREATED_AT, CREATED_BY};

/// Keys a user profile, space or app never gets from its ancestors: the scheduler reads
/// `AutoShutdown` on a space or profile as overriding its domain's, so a copy of the domain's
/// value would freeze it there, and the platform team's later change at the domain would no
/// longer reach anything.
pub const DECIDED_BY_ANCESTORS: &[&str] = &["AutoShutdown"];

/// What a Studio domain holds, as the sweep lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainContents {
    pub arn: String,
    /// User profile names.
    pub profiles: Vec<String>,
    pub spaces: Vec<Space>,
    /// Every listed app, Deleted and Failed ones included.
    pub apps: Vec<App>,
}

/// A Studio resource to tag and its ancestors' ARNs, nearest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub arn: String,
    pub ancestors: Vec<String>,
}

/// An app still running or starting: neither deleted (nor being deleted) nor failed.
pub fn is_taggable(app: &App) -> bool {
    !matches!(app.status.as_str(), "Deleted" | "Deleting" | "Failed")
}

/// The domain, its user profiles, spaces and taggable apps, each with its ancestors. An
/// ancestor the listing does not show (a space's owner deleted since) is left out: there is
/// nothing to inherit from it.
pub fn place(domain: &DomainContents) -> Vec<Placed> {
    let profile_arn = |name: &str| studio_arn(&domain.arn, "user-profile", name);
    let profiles: BTreeSet<&str> = domain.profiles.iter().map(String::as_str).collect();
    let mut placed = vec![Placed {
        arn: domain.arn.clone(),
        ancestors: Vec::new(),
    }];
    for name in &domain.profiles {
        placed.extend(profile_arn(name).map(|arn| Placed {
            arn,
            ancestors: vec![domain.arn.clone()],
        }));
    }
    // A space's ancestors, itself included.
    let space_line = |space: &Space| -> Option<Vec<String>> {
        let mut line = vec![studio_arn(&domain.arn, "space", &space.name)?];
        let owner = space.owner_profile.as_deref();
        line.extend(owner.filter(|o| profiles.contains(o)).and_then(profile_arn));
        line.push(domain.arn.clone());
        Some(line)
    };
    for space in domain.spaces.iter().filter(|s| s.status != "Deleting") {
        if let Some(mut line) = space_line(space) {
            let arn = line.remove(0);
            placed.push(Placed {
                arn,
                ancestors: line,
            });
        }
    }
    for app in domain.apps.iter().filter(|a| is_taggable(a)) {
        let owner = &app.key.owner;
        let ancestors = match app.key.owner_kind {
            OwnerKind::Space => domain
                .spaces
                .iter()
                .find(|s| &s.name == owner)
                .and_then(space_line),
            OwnerKind::User => profiles
                .contains(owner.as_str())
                .then(|| profile_arn(owner))
                .flatten()
                .map(|arn| vec![arn, domain.arn.clone()]),
        };
        let (Some(arn), Some(ancestors)) = (app.key.arn_in(&domain.arn), ancestors) else {
            continue;
        };
        placed.push(Placed { arn, ancestors });
    }
    placed
}

/// A new app carries its domain's and user profile's tags, copied by AWS at launch: a
/// `CreatedBy`/`CreatedAt` equal to an ancestor's is that copy, not the app's own, and the
/// create event's creator replaces it.
pub fn without_copied_creator(own: &Tags, ancestors: &[Tags]) -> Tags {
    let copied = |key: &String, value: &String| {
        [CREATED_BY, CREATED_AT].contains(&key.as_str())
            && ancestors.iter().any(|a| a.get(key) == Some(value))
    };
    own.iter()
        .filter(|(k, v)| !copied(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Where the resource a create call made stands in its domain's listing now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Listed: its ancestors, nearest first (none for the domain itself).
    Placed(Vec<String>),
    /// Listed in a state nothing is tagged in (an app that failed or was closed at once, a
    /// space being deleted): why.
    Untaggable(String),
    /// Not listed yet (the listing lags the create call).
    NotListed,
}

pub fn find_created(domain: &DomainContents, arn: &str) -> Created {
    if arn.eq_ignore_ascii_case(&domain.arn) {
        return Created::Placed(Vec::new());
    }
    if let Some(placed) = place(domain)
        .into_iter()
        .find(|p| p.arn.eq_ignore_ascii_case(arn))
    {
        return Created::Placed(placed.ancestors);
    }
    let same = |listed: Option<String>| listed.is_some_and(|l| l.eq_ignore_ascii_case(arn));
    if let Some(app) = domain.apps.iter().find(|a| same(a.key.arn_in(&domain.arn))) {
        return Created::Untaggable(format!("the app is {}", app.status));
    }
    let space_arn = |s: &Space| studio_arn(&domain.arn, "space", &s.name);
    if let Some(space) = domain.spaces.iter().find(|s| same(space_arn(s))) {
        return Created::Untaggable(format!("the space is {}", space.status));
    }
    Created::NotListed
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagekeeper_core::model::tags::from_pairs as tags;
    use sagekeeper_core::sagemaker::studio::{AppKey, AppSpec};

    use crate::inferred_tags::{Inferred, TagPolicy, TagSources, infer};

    const DOMAIN: &str = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml";

    fn arn(kind: &str, path: &str) -> String {
        format!("arn:aws:sagemaker:us-east-1:123456789012:{kind}/d-ml/{path}")
    }

    fn space(name: &str, owner: Option<&str>) -> Space {
        Space {
            domain_id: "d-ml".to_owned(),
            name: name.to_owned(),
            status: "InService".to_owned(),
            owner_profile: owner.map(str::to_owned),
        }
    }

    fn app(owner_kind: OwnerKind, owner: &str, app_type: &str, status: &str) -> App {
        App {
            key: AppKey {
                domain_id: "d-ml".to_owned(),
                owner_kind,
                owner: owner.to_owned(),
                app_type: app_type.to_owned(),
                app_name: "default".to_owned(),
            },
            arn: None,
            status: status.to_owned(),
            spec: AppSpec::default(),
            created: None,
            last_user_activity: None,
        }
    }

    fn domain() -> DomainContents {
        DomainContents {
            arn: DOMAIN.to_owned(),
            profiles: vec!["ana".to_owned()],
            spaces: vec![
                space("team", None),
                space("ana-lab", Some("ana")),
                Space {
                    status: "Deleting".to_owned(),
                    ..space("old", None)
                },
            ],
            apps: vec![
                app(OwnerKind::Space, "ana-lab", "JupyterLab", "InService"),
                app(OwnerKind::Space, "team", "CodeEditor", "Pending"),
                app(OwnerKind::User, "ana", "Canvas", "InService"),
                app(OwnerKind::User, "ana", "KernelGateway", "Deleted"),
                app(OwnerKind::Space, "team", "JupyterLab", "Failed"),
            ],
        }
    }

    fn ancestors_of<'a>(placed: &'a [Placed], arn: &str) -> &'a [String] {
        &placed
            .iter()
            .find(|p| p.arn == arn)
            .unwrap_or_else(|| panic!("{arn} not placed: {placed:#?}"))
            .ancestors
    }

    #[test]
    fn a_creator_copied_from_the_domain_or_profile_is_not_the_apps_own() {
        let profile = tags(&[("CreatedBy", "assumed-role/Admin/ops"), ("Team", "ml")]);
        let own = tags(&[
            ("CreatedBy", "assumed-role/Admin/ops"),
            ("CreatedAt", "2026-01-01T00:00:00Z"),
            ("Team", "ml"),
        ]);
        assert_eq!(
            without_copied_creator(&own, std::slice::from_ref(&profile)),
            tags(&[("CreatedAt", "2026-01-01T00:00:00Z"), ("Team", "ml")]),
            "Team is kept: only the creator tags are the app's to have"
        );
        // Control: an app's own creator differs from its ancestors'.
        let mine = tags(&[("CreatedBy", "assumed-role/DataScientist/ana")]);
        assert_eq!(without_copied_creator(&mine, &[profile]), mine);
    }

    #[test]
    fn a_created_app_that_failed_at_once_is_not_waited_for() {
        let domain = domain();
        let failed = arn("app", "team/jupyterlab/default");
        assert_eq!(
            find_created(&domain, &failed),
            Created::Untaggable("the app is Failed".to_owned())
        );
        let deleting = arn("space", "old");
        assert_eq!(
            find_created(&domain, &deleting),
            Created::Untaggable("the space is Deleting".to_owned())
        );
        // Controls: a live app is placed, one not listed yet is waited for.
        let live = arn("app", "ana-lab/jupyterlab/default");
        assert_eq!(
            find_created(&domain, &live),
            Created::Placed(vec![
                arn("space", "ana-lab"),
                arn("user-profile", "ana"),
                DOMAIN.to_owned()
            ])
        );
        let unknown = arn("app", "ana-lab/codeeditor/default");
        assert_eq!(find_created(&domain, &unknown), Created::NotListed);
        assert_eq!(find_created(&domain, DOMAIN), Created::Placed(Vec::new()));
    }

    #[test]
    fn each_resource_inherits_from_its_nearest_ancestors_first() {
        let placed = place(&domain());
        let profile = arn("user-profile", "ana");
        let (team, lab) = (arn("space", "team"), arn("space", "ana-lab"));
        assert!(ancestors_of(&placed, DOMAIN).is_empty());
        assert_eq!(ancestors_of(&placed, &profile), [DOMAIN]);
        assert_eq!(ancestors_of(&placed, &team), [DOMAIN]);
        assert_eq!(ancestors_of(&placed, &lab), [&profile, DOMAIN]);
        assert_eq!(
            ancestors_of(&placed, &arn("app", "ana-lab/jupyterlab/default")),
            [&lab, &profile, DOMAIN]
        );
        assert_eq!(
            ancestors_of(&placed, &arn("app", "team/codeeditor/default")),
            [&team, DOMAIN]
        );
        assert_eq!(
            ancestors_of(&placed, &arn("app", "ana/canvas/default")),
            [&profile, DOMAIN]
        );
        // Deleted and failed apps and a space being deleted are not tagged.
        assert_eq!(placed.len(), 7, "{placed:#?}");
    }

    #[test]
    fn an_owner_the_listing_does_not_show_is_skipped() {
        let mut domain = domain();
        domain.profiles.clear();
        let placed = place(&domain);
        assert_eq!(ancestors_of(&placed, &arn("space", "ana-lab")), [DOMAIN]);
        // An app of a profile that is gone has nothing to sit in.
        assert!(
            !placed
                .iter()
                .any(|p| p.arn == arn("app", "ana/canvas/default"))
        );
    }

    /// What `infer` adds to the resource at `arn`, from the tags each ARN carries.
    fn added(domain: &DomainContents, arn: &str, tagged: &[(String, Tags)]) -> Inferred {
        let placed = place(domain);
        let tags_of = |a: &str| {
            tagged
                .iter()
                .find(|(t, _)| t == a)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        let sources = TagSources {
            own: tags_of(arn),
            parents: ancestors_of(&placed, arn)
                .iter()
                .map(|a| tags_of(a))
                .collect(),
            ..TagSources::default()
        };
        let required = ["Team", "Project"].map(String::from);
        infer(
            &sources,
            TagPolicy {
                required: &required,
                defaults: &Tags::new(),
            },
        )
    }

    #[test]
    fn the_nearest_value_wins_and_an_owners_tag_is_kept() {
        let domain = domain();
        let lab = arn("space", "ana-lab");
        let tagged = vec![
            (DOMAIN.to_owned(), tags(&[("Team", "ml"), ("Project", "p")])),
            (arn("user-profile", "ana"), tags(&[("Team", "fraud")])),
            (arn("space", "team"), tags(&[("Team", "own")])),
        ];
        let private = added(&domain, &lab, &tagged);
        assert_eq!(private.add, tags(&[("Team", "fraud"), ("Project", "p")]));
        let shared = added(&domain, &arn("space", "team"), &tagged);
        assert_eq!(shared.add, tags(&[("Project", "p")]), "Team is the owner's");
        let app = added(&domain, &arn("app", "team/codeeditor/default"), &tagged);
        assert_eq!(app.add, tags(&[("Team", "own"), ("Project", "p")]));
    }

    #[test]
    fn a_complete_resource_gets_nothing() {
        let domain = domain();
        let profile = arn("user-profile", "ana");
        let tagged = vec![
            (DOMAIN.to_owned(), tags(&[("Team", "ml"), ("Project", "p")])),
            (
                profile.clone(),
                tags(&[("Team", "fraud"), ("Project", "q")]),
            ),
        ];
        assert_eq!(added(&domain, &profile, &tagged), Inferred::default());
        assert_eq!(added(&domain, DOMAIN, &tagged), Inferred::default());
    }
}
