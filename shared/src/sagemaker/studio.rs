//! SageMaker Studio domains and their user profiles, as plain structs: the settings that decide
//! encryption, network exposure, root in apps and who shares an execution role.
//!
//! A space's own `SpaceSettings` hold app settings, storage size, custom file systems and
//! remote access, but no KMS key, network access, POSIX user or execution role (those come
//! from the domain's `DefaultSpaceSettings`): spaces are read here only as owners of apps.
//!
//! Apps (JupyterLab, Code Editor, KernelGateway, Canvas, ...) run on an instance each: they
//! are listed, described, deleted and created again from a recorded [`AppSpec`].

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    AppInstanceType, AppNetworkAccessType, AppType, CustomPosixUserConfig, FeatureStatus,
    NotebookOutputOption, ResourceSpec, SharingSettings, Tag,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsResultExt};
use crate::model::tags::Tags;
use crate::sagemaker::to_chrono;

/// The settings a domain gives users or spaces by default, and a user profile may override.
/// `None`: not set at this level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudioSettings {
    pub execution_role: Option<String>,
    /// `CustomPosixUserConfig.Uid`: 0 runs the user's apps as root.
    pub posix_uid: Option<i64>,
    pub sharing: Option<NotebookSharing>,
}

/// `SharingSettings`: whether notebooks can be shared (with their output) through S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookSharing {
    /// `NotebookOutputOption=Allowed`: shared notebooks carry their cell output.
    pub output_allowed: bool,
    pub s3_output_path: Option<String>,
    pub s3_kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub status: String,
    /// The key of the domain's storage (EFS home directories, EBS of apps); `None` is an AWS
    /// managed key.
    pub kms_key_id: Option<String>,
    /// `AppNetworkAccessType=VpcOnly`; otherwise (the default, `PublicInternetOnly`) apps reach
    /// the internet directly through SageMaker's VPC.
    pub vpc_only: bool,
    /// `DefaultUserSettings`.
    pub user_defaults: StudioSettings,
    /// `DefaultSpaceSettings` (no sharing settings there).
    pub space_defaults: StudioSettings,
    /// `DomainSettings.DockerSettings.EnableDockerAccess=ENABLED`.
    pub docker_access: bool,
    /// `DomainSettings.DockerSettings.RootlessDocker=ENABLED`.
    pub rootless_docker: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub domain_id: String,
    pub name: String,
    pub arn: String,
    pub status: String,
    /// The profile's own `UserSettings`: what it overrides of the domain's defaults.
    pub settings: StudioSettings,
}

fn uid_of(config: Option<&CustomPosixUserConfig>) -> Option<i64> {
    config.and_then(CustomPosixUserConfig::uid)
}

fn sharing_of(sharing: Option<&SharingSettings>) -> Option<NotebookSharing> {
    sharing.map(|s| NotebookSharing {
        output_allowed: s.notebook_output_option() == Some(&NotebookOutputOption::Allowed),
        s3_output_path: s.s3_output_path().map(str::to_owned),
        s3_kms_key_id: s.s3_kms_key_id().map(str::to_owned),
    })
}

fn user_settings(settings: Option<&aws_sdk_sagemaker::types::UserSettings>) -> StudioSettings {
    settings
        .map(|s| StudioSettings {
            execution_role: s.execution_role().map(str::to_owned),
            posix_uid: uid_of(s.custom_posix_user_config()),
            sharing: sharing_of(s.sharing_settings()),
        })
        .unwrap_or_default()
}

/// Ids of every Studio domain in the region.
pub async fn list_domains(client: &Client) -> Result<Vec<String>, AwsError> {
    let mut pages = client.list_domains().into_paginator().items().send();
    let mut ids = Vec::new();
    while let Some(domain) = pages.next().await {
        if let Some(id) = domain.aws("ListDomains")?.domain_id {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub async fn describe_domain(client: &Client, id: &str) -> Result<Domain, AwsError> {
    let out = client
        .describe_domain()
        .domain_id(id)
        .send()
        .await
        .aws("DescribeDomain")?;
    let docker = out.domain_settings().and_then(|s| s.docker_settings());
    let enabled = |status: Option<&FeatureStatus>| status == Some(&FeatureStatus::Enabled);
    let space = out.default_space_settings();
    Ok(Domain {
        id: out.domain_id().unwrap_or(id).to_owned(),
        name: out.domain_name().unwrap_or_default().to_owned(),
        arn: out.domain_arn().unwrap_or_default().to_owned(),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        kms_key_id: out.kms_key_id().map(str::to_owned),
        vpc_only: out.app_network_access_type() == Some(&AppNetworkAccessType::VpcOnly),
        user_defaults: user_settings(out.default_user_settings()),
        space_defaults: StudioSettings {
            execution_role: space.and_then(|s| s.execution_role()).map(str::to_owned),
            posix_uid: uid_of(space.and_then(|s| s.custom_posix_user_config())),
            sharing: None,
        },
        docker_access: enabled(docker.and_then(|d| d.enable_docker_access())),
        rootless_docker: enabled(docker.and_then(|d| d.rootless_docker())),
    })
}

/// Names of the domain's user profiles.
pub async fn list_user_profiles(client: &Client, domain_id: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = client
        .list_user_profiles()
        .domain_id_equals(domain_id)
        .into_paginator()
        .items()
        .send();
    let mut names = Vec::new();
    while let Some(profile) = pages.next().await {
        let profile = profile.aws("ListUserProfiles")?;
        // A filter the service ignored would bring other domains' profiles.
        if profile.domain_id.as_deref().is_none_or(|d| d == domain_id)
            && let Some(name) = profile.user_profile_name
        {
            names.push(name);
        }
    }
    Ok(names)
}

pub async fn describe_user_profile(
    client: &Client,
    domain_id: &str,
    name: &str,
) -> Result<UserProfile, AwsError> {
    let out = client
        .describe_user_profile()
        .domain_id(domain_id)
        .user_profile_name(name)
        .send()
        .await
        .aws("DescribeUserProfile")?;
    Ok(UserProfile {
        domain_id: domain_id.to_owned(),
        name: out.user_profile_name().unwrap_or(name).to_owned(),
        arn: out.user_profile_arn().unwrap_or_default().to_owned(),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        settings: user_settings(out.user_settings()),
    })
}

/// The domain's user profiles, each described.
pub async fn user_profiles(client: &Client, domain_id: &str) -> Result<Vec<UserProfile>, AwsError> {
    let names = list_user_profiles(client, domain_id).await?;
    let mut profiles = Vec::with_capacity(names.len());
    for name in names {
        profiles.push(describe_user_profile(client, domain_id, &name).await?);
    }
    Ok(profiles)
}

/// One space as ListSpaces shows it (ListSpaces carries no ARN: see [`studio_arn`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    pub domain_id: String,
    pub name: String,
    pub status: String,
    /// `OwnershipSettings.OwnerUserProfileName`: the user profile a private space belongs to.
    pub owner_profile: Option<String>,
}

/// The domain's spaces.
pub async fn list_spaces(client: &Client, domain_id: &str) -> Result<Vec<Space>, AwsError> {
    let mut pages = client
        .list_spaces()
        .domain_id_equals(domain_id)
        .into_paginator()
        .items()
        .send();
    let mut spaces = Vec::new();
    while let Some(space) = pages.next().await {
        let space = space.aws("ListSpaces")?;
        // A filter the service ignored would bring other domains' spaces.
        if space.domain_id.as_deref().is_none_or(|d| d == domain_id)
            && let Some(name) = space.space_name.clone()
        {
            spaces.push(Space {
                domain_id: domain_id.to_owned(),
                name,
                status: space
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                owner_profile: space
                    .ownership_settings_summary()
                    .and_then(|o| o.owner_user_profile_name())
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            });
        }
    }
    Ok(spaces)
}

/// The ARN of a resource of the domain whose ARN is `domain_arn`, from the ARN formats
/// SageMaker documents (`user-profile/<domain>/<name>`, `space/<domain>/<name>`,
/// `app/<domain>/<profile-or-space>/<app type, lowercase>/<name>`): ListUserProfiles,
/// ListSpaces and ListApps carry no ARN. `path` is what follows the domain id; `None` when
/// `domain_arn` is not a domain's ARN.
pub fn studio_arn(domain_arn: &str, resource_type: &str, path: &str) -> Option<String> {
    let (prefix, domain_id) = domain_arn.rsplit_once(":domain/")?;
    (!domain_id.is_empty() && !domain_id.contains('/'))
        .then(|| format!("{prefix}:{resource_type}/{domain_id}/{path}"))
}

impl AppKey {
    /// The app's ARN in the domain whose ARN is `domain_arn` (see [`studio_arn`]).
    pub fn arn_in(&self, domain_arn: &str) -> Option<String> {
        let path = format!(
            "{}/{}/{}",
            self.owner,
            self.app_type.to_ascii_lowercase(),
            self.app_name
        );
        studio_arn(domain_arn, "app", &path)
    }
}

/// Who an app belongs to: a space (JupyterLab, Code Editor) or a user profile (Studio
/// Classic KernelGateway, Canvas, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerKind {
    Space,
    User,
}

impl OwnerKind {
    /// The path segment of snapshot keys and the word of messages: `space` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Space => "space",
            OwnerKind::User => "user",
        }
    }

    /// The ARN resource type of the owner: `space` or `user-profile`.
    pub fn arn_type(self) -> &'static str {
        match self {
            OwnerKind::Space => "space",
            OwnerKind::User => "user-profile",
        }
    }
}

/// What names one app: AWS keys apps by domain, owner, type and name (not by ARN, whose type
/// segment is lowercase in some places and not in others).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppKey {
    pub domain_id: String,
    pub owner_kind: OwnerKind,
    pub owner: String,
    /// `JupyterLab`, `CodeEditor`, `KernelGateway`, `Canvas`, `JupyterServer`, ...
    pub app_type: String,
    pub app_name: String,
}

/// An app's `ResourceSpec`: what CreateApp needs to start the same app again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sagemaker_image_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sagemaker_image_version_arn: Option<String>,
    /// A version alias (`1.9`) pins the image version as the user chose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sagemaker_image_version_alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_config_arn: Option<String>,
}

/// One app as ListApps (and, with `arn` and `last_user_activity`, DescribeApp) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub key: AppKey,
    /// DescribeApp only.
    pub arn: Option<String>,
    /// `InService`, `Pending`, `Deleting`, `Deleted`, `Failed`.
    pub status: String,
    pub spec: AppSpec,
    pub created: Option<DateTime<Utc>>,
    /// DescribeApp only: ListApps does not carry it.
    pub last_user_activity: Option<DateTime<Utc>>,
}

impl App {
    pub fn is_in_service(&self) -> bool {
        self.status == "InService"
    }

    /// Not deleted (nor being deleted): CreateApp of the same key would be refused.
    pub fn is_live(&self) -> bool {
        !matches!(self.status.as_str(), "Deleted" | "Deleting")
    }
}

fn spec_of(spec: Option<&ResourceSpec>) -> AppSpec {
    spec.map(|s| AppSpec {
        instance_type: s.instance_type().map(|t| t.as_str().to_owned()),
        sagemaker_image_arn: s.sage_maker_image_arn().map(str::to_owned),
        sagemaker_image_version_arn: s.sage_maker_image_version_arn().map(str::to_owned),
        sagemaker_image_version_alias: s.sage_maker_image_version_alias().map(str::to_owned),
        lifecycle_config_arn: s.lifecycle_config_arn().map(str::to_owned),
    })
    .unwrap_or_default()
}

fn resource_spec(spec: &AppSpec) -> ResourceSpec {
    ResourceSpec::builder()
        .set_instance_type(spec.instance_type.as_deref().map(AppInstanceType::from))
        .set_sage_maker_image_arn(spec.sagemaker_image_arn.clone())
        .set_sage_maker_image_version_arn(spec.sagemaker_image_version_arn.clone())
        .set_sage_maker_image_version_alias(spec.sagemaker_image_version_alias.clone())
        .set_lifecycle_config_arn(spec.lifecycle_config_arn.clone())
        .build()
}

fn owner_of(profile: Option<String>, space: Option<String>) -> Option<(OwnerKind, String)> {
    match (profile, space) {
        (_, Some(space)) if !space.is_empty() => Some((OwnerKind::Space, space)),
        (Some(profile), _) if !profile.is_empty() => Some((OwnerKind::User, profile)),
        _ => None,
    }
}

/// Every app of the domain, Deleted ones included (AWS lists them for a while), as ListApps
/// shows them: no ARN and no last user activity (see [`describe_app`]).
pub async fn list_apps(client: &Client, domain_id: &str) -> Result<Vec<App>, AwsError> {
    let mut pages = client
        .list_apps()
        .domain_id_equals(domain_id)
        .into_paginator()
        .items()
        .send();
    let mut apps = Vec::new();
    while let Some(app) = pages.next().await {
        let app = app.aws("ListApps")?;
        let domain = app
            .domain_id
            .clone()
            .unwrap_or_else(|| domain_id.to_owned());
        if domain != domain_id {
            continue;
        }
        let (Some((owner_kind, owner)), Some(app_type), Some(app_name)) = (
            owner_of(app.user_profile_name.clone(), app.space_name.clone()),
            app.app_type.as_ref(),
            app.app_name.clone(),
        ) else {
            continue;
        };
        apps.push(App {
            key: AppKey {
                domain_id: domain,
                owner_kind,
                owner,
                app_type: app_type.as_str().to_owned(),
                app_name,
            },
            arn: None,
            status: app
                .status
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            spec: spec_of(app.resource_spec.as_ref()),
            created: app.creation_time.as_ref().and_then(to_chrono),
            last_user_activity: None,
        });
    }
    Ok(apps)
}

/// DescribeApp: the app with its ARN and last user activity; `None` when it does not exist.
pub async fn describe_app(client: &Client, key: &AppKey) -> Result<Option<App>, AwsError> {
    let (profile, space) = owner_fields(key);
    let described = client
        .describe_app()
        .domain_id(&key.domain_id)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(AppType::from(key.app_type.as_str()))
        .app_name(&key.app_name)
        .send()
        .await
        .aws("DescribeApp");
    let out = match described {
        Ok(out) => out,
        Err(err) if crate::sagemaker::is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(Some(App {
        key: key.clone(),
        arn: out.app_arn().map(str::to_owned),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        spec: spec_of(out.resource_spec()),
        created: out.creation_time().and_then(to_chrono),
        last_user_activity: out.last_user_activity_timestamp().and_then(to_chrono),
    }))
}

fn owner_fields(key: &AppKey) -> (Option<String>, Option<String>) {
    match key.owner_kind {
        OwnerKind::Space => (None, Some(key.owner.clone())),
        OwnerKind::User => (Some(key.owner.clone()), None),
    }
}

/// DeleteApp: the app's instance goes; the space's or profile's storage stays.
pub async fn delete_app(client: &Client, key: &AppKey) -> Result<(), AwsError> {
    let (profile, space) = owner_fields(key);
    client
        .delete_app()
        .domain_id(&key.domain_id)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(AppType::from(key.app_type.as_str()))
        .app_name(&key.app_name)
        .send()
        .await
        .aws("DeleteApp")?;
    Ok(())
}

/// CreateApp with a recorded spec; returns the new app's ARN.
pub async fn create_app(
    client: &Client,
    key: &AppKey,
    spec: &AppSpec,
    tags: &Tags,
) -> Result<Option<String>, AwsError> {
    let (profile, space) = owner_fields(key);
    let tags = (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    });
    let out = client
        .create_app()
        .domain_id(&key.domain_id)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(AppType::from(key.app_type.as_str()))
        .app_name(&key.app_name)
        .resource_spec(resource_spec(spec))
        .set_tags(tags)
        .send()
        .await
        .aws("CreateApp")?;
    Ok(out.app_arn)
}

pub const APP_SNAPSHOT_PREFIX: &str = "snapshots/studio/";
/// Format 2 adds the app's own tags and the image version alias; format 1 lacks them (read
/// as none), so a version that knows only format 1 refuses a format 2 snapshot rather than
/// starting the app without them.
pub const APP_SNAPSHOT_FORMAT: u32 = 2;
const READABLE_APP_SNAPSHOT_FORMATS: [u32; 2] = [1, APP_SNAPSHOT_FORMAT];

/// What the endpoint-scheduler records of a Studio app it deletes: what CreateApp needs to
/// start it again, and whether it should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSnapshot {
    pub format: u32,
    #[serde(flatten)]
    pub app: AppKey,
    #[serde(flatten)]
    pub spec: AppSpec,
    /// Started again at the start of the schedule's window. False for an app closed because
    /// it was idle within hours: the snapshot only records what was closed.
    pub prewarm: bool,
    /// The app's own tags (without `aws:` ones), given again to CreateApp.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub parked_at: DateTime<Utc>,
    pub parked_by: String,
}

impl crate::s3::snapshots::Snapshot for AppSnapshot {
    fn format(&self) -> u32 {
        self.format
    }
    fn is_readable(&self) -> bool {
        AppSnapshot::is_readable(self)
    }
}

impl AppSnapshot {
    /// `snapshots/studio/<domain>/<space|user>/<owner>/<type>/<name>.json`.
    pub fn key_for(app: &AppKey) -> String {
        format!(
            "{APP_SNAPSHOT_PREFIX}{}/{}/{}/{}/{}.json",
            app.domain_id,
            app.owner_kind.as_str(),
            app.owner,
            app.app_type,
            app.app_name
        )
    }

    pub fn key(&self) -> String {
        Self::key_for(&self.app)
    }

    /// Where the snapshot goes once the app is started again.
    pub fn archive_key(&self) -> String {
        format!(
            "archive/studio/{}/{}/{}/{}/{}/{}.json",
            self.app.domain_id,
            self.app.owner_kind.as_str(),
            self.app.owner,
            self.app.app_type,
            self.app.app_name,
            self.parked_at.format("%Y%m%dT%H%M%SZ")
        )
    }

    pub fn is_readable(&self) -> bool {
        READABLE_APP_SNAPSHOT_FORMATS.contains(&self.format)
    }

    /// The same app, spec and intent, whenever and by whom it was written.
    pub fn same_as(&self, other: &AppSnapshot) -> bool {
        self.app == other.app
            && self.spec == other.spec
            && self.prewarm == other.prewarm
            && self.tags == other.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::operation::describe_domain::DescribeDomainOutput;
    use aws_sdk_sagemaker::operation::describe_user_profile::{
        DescribeUserProfileError, DescribeUserProfileOutput,
    };
    use aws_sdk_sagemaker::operation::list_user_profiles::ListUserProfilesOutput;
    use aws_sdk_sagemaker::types::{
        DefaultSpaceSettings, DockerSettings, DomainSettings, UserProfileDetails, UserSettings,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const ROLE: &str = "arn:aws:iam::123456789012:role/StudioExecution";

    #[tokio::test]
    async fn a_domain_is_read_with_its_defaults_and_docker_settings() {
        let describe = mock!(Client::describe_domain)
            .match_requests(|r| r.domain_id() == Some("d-ml"))
            .then_output(|| {
                DescribeDomainOutput::builder()
                    .domain_id("d-ml")
                    .domain_name("ml")
                    .domain_arn("arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml")
                    .app_network_access_type(AppNetworkAccessType::PublicInternetOnly)
                    .default_user_settings(
                        UserSettings::builder()
                            .execution_role(ROLE)
                            .custom_posix_user_config(
                                CustomPosixUserConfig::builder().uid(0).gid(0).build(),
                            )
                            .sharing_settings(
                                SharingSettings::builder()
                                    .notebook_output_option(NotebookOutputOption::Allowed)
                                    .s3_output_path("s3://shared/nb")
                                    .build(),
                            )
                            .build(),
                    )
                    .default_space_settings(
                        DefaultSpaceSettings::builder()
                            .execution_role(ROLE)
                            .custom_posix_user_config(
                                CustomPosixUserConfig::builder()
                                    .uid(200001)
                                    .gid(1001)
                                    .build(),
                            )
                            .build(),
                    )
                    .domain_settings(
                        DomainSettings::builder()
                            .docker_settings(
                                DockerSettings::builder()
                                    .enable_docker_access(FeatureStatus::Enabled)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, [&describe]);
        let domain = describe_domain(&client, "d-ml").await.unwrap();
        assert_eq!(domain.kms_key_id, None);
        assert!(!domain.vpc_only);
        assert!(domain.docker_access);
        assert!(!domain.rootless_docker);
        assert_eq!(domain.user_defaults.posix_uid, Some(0));
        assert_eq!(domain.user_defaults.execution_role.as_deref(), Some(ROLE));
        let sharing = domain.user_defaults.sharing.unwrap();
        assert!(sharing.output_allowed);
        assert_eq!(sharing.s3_kms_key_id, None);
        assert_eq!(domain.space_defaults.posix_uid, Some(200001));
    }

    #[tokio::test]
    async fn a_domains_profiles_are_listed_by_domain_and_described() {
        let list = mock!(Client::list_user_profiles)
            .match_requests(|r| r.domain_id_equals() == Some("d-ml"))
            .then_output(|| {
                ListUserProfilesOutput::builder()
                    .user_profiles(
                        UserProfileDetails::builder()
                            .domain_id("d-ml")
                            .user_profile_name("ana")
                            .build(),
                    )
                    // Another domain's profile, as from a service that ignored the filter.
                    .user_profiles(
                        UserProfileDetails::builder()
                            .domain_id("d-other")
                            .user_profile_name("bo")
                            .build(),
                    )
                    .build()
            });
        let describe = mock!(Client::describe_user_profile)
            .match_requests(|r| {
                r.domain_id() == Some("d-ml") && r.user_profile_name() == Some("ana")
            })
            .then_output(|| {
                DescribeUserProfileOutput::builder()
                    .domain_id("d-ml")
                    .user_profile_name("ana")
                    .user_profile_arn(
                        "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml/ana",
                    )
                    .user_settings(
                        UserSettings::builder()
                            .custom_posix_user_config(
                                CustomPosixUserConfig::builder().uid(0).gid(0).build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&list, &describe]);
        let profiles = user_profiles(&client, "d-ml").await.unwrap();
        assert_eq!(profiles.len(), 1, "{profiles:?}");
        assert_eq!(profiles[0].name, "ana");
        assert_eq!(profiles[0].settings.posix_uid, Some(0));
        assert_eq!(profiles[0].settings.execution_role, None);
        assert_eq!(describe.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_profile_that_cannot_be_read_is_an_error_naming_the_operation() {
        let list = mock!(Client::list_user_profiles).then_output(|| {
            ListUserProfilesOutput::builder()
                .user_profiles(
                    UserProfileDetails::builder()
                        .domain_id("d-ml")
                        .user_profile_name("ana")
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_user_profile)
            .then_error(|| DescribeUserProfileError::unhandled("boom"));
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&list, &describe]);
        let err = user_profiles(&client, "d-ml").await.unwrap_err();
        assert_eq!(err.operation, "DescribeUserProfile");
    }

    #[tokio::test]
    async fn spaces_are_listed_by_domain_with_their_owner() {
        use aws_sdk_sagemaker::operation::list_spaces::ListSpacesOutput;
        use aws_sdk_sagemaker::types::{OwnershipSettingsSummary, SpaceDetails};
        let list = mock!(Client::list_spaces)
            .match_requests(|r| r.domain_id_equals() == Some("d-ml"))
            .then_output(|| {
                ListSpacesOutput::builder()
                    .spaces(
                        SpaceDetails::builder()
                            .domain_id("d-ml")
                            .space_name("ana-lab")
                            .ownership_settings_summary(
                                OwnershipSettingsSummary::builder()
                                    .owner_user_profile_name("ana")
                                    .build(),
                            )
                            .build(),
                    )
                    .spaces(
                        SpaceDetails::builder()
                            .domain_id("d-ml")
                            .space_name("team")
                            .build(),
                    )
                    .spaces(
                        SpaceDetails::builder()
                            .domain_id("d-other")
                            .space_name("x")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, [&list]);
        let spaces = list_spaces(&client, "d-ml").await.unwrap();
        let owners: Vec<_> = spaces
            .iter()
            .map(|s| (s.name.as_str(), s.owner_profile.as_deref()))
            .collect();
        assert_eq!(owners, [("ana-lab", Some("ana")), ("team", None)]);
    }

    #[test]
    fn studio_arns_follow_the_domains() {
        let domain = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml";
        assert_eq!(
            studio_arn(domain, "space", "lab").as_deref(),
            Some("arn:aws:sagemaker:us-east-1:123456789012:space/d-ml/lab")
        );
        let app = AppKey {
            domain_id: "d-ml".to_owned(),
            owner_kind: OwnerKind::User,
            owner: "ana".to_owned(),
            app_type: "KernelGateway".to_owned(),
            app_name: "default".to_owned(),
        };
        assert_eq!(
            app.arn_in(domain).as_deref(),
            Some("arn:aws:sagemaker:us-east-1:123456789012:app/d-ml/ana/kernelgateway/default")
        );
        assert_eq!(
            studio_arn("arn:aws:sagemaker:us-east-1:1:model/m", "space", "x"),
            None
        );
    }

    #[tokio::test]
    async fn apps_are_listed_by_owner_and_described_with_their_spec_and_activity() {
        use aws_sdk_sagemaker::operation::create_app::CreateAppOutput;
        use aws_sdk_sagemaker::operation::describe_app::{DescribeAppError, DescribeAppOutput};
        use aws_sdk_sagemaker::operation::list_apps::ListAppsOutput;
        use aws_sdk_sagemaker::types::{AppDetails, AppStatus};
        let spec = || {
            ResourceSpec::builder()
                .instance_type(AppInstanceType::MlT3Large)
                .sage_maker_image_arn(
                    "arn:aws:sagemaker:us-east-1:081325390199:image/sagemaker-distribution-cpu",
                )
                .lifecycle_config_arn(
                    "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/lcc",
                )
                .build()
        };
        let list = mock!(Client::list_apps)
            .match_requests(|r| r.domain_id_equals() == Some("d-ml"))
            .then_output(move || {
                ListAppsOutput::builder()
                    .apps(
                        AppDetails::builder()
                            .domain_id("d-ml")
                            .space_name("lab")
                            .app_type(AppType::JupyterLab)
                            .app_name("default")
                            .status(AppStatus::InService)
                            .resource_spec(spec())
                            .build(),
                    )
                    .apps(
                        AppDetails::builder()
                            .domain_id("d-ml")
                            .user_profile_name("ana")
                            .app_type(AppType::Canvas)
                            .app_name("default")
                            .status(AppStatus::Deleted)
                            .build(),
                    )
                    .build()
            });
        let describe = mock!(Client::describe_app)
            .match_requests(|r| r.space_name() == Some("lab"))
            .then_output(move || {
                DescribeAppOutput::builder()
                    .app_arn(
                        "arn:aws:sagemaker:us-east-1:123456789012:app/d-ml/lab/jupyterlab/default",
                    )
                    .status(AppStatus::InService)
                    .resource_spec(spec())
                    .last_user_activity_timestamp(aws_smithy_types::DateTime::from_secs(
                        1_700_000_000,
                    ))
                    .build()
            });
        let gone = mock!(Client::describe_app)
            .match_requests(|r| r.user_profile_name() == Some("ana"))
            .then_error(|| {
                DescribeAppError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ResourceNotFound")
                        .message("App 'default' of type Canvas does not exist for ana.")
                        .build(),
                )
            });
        let create = mock!(Client::create_app)
            .match_requests(|r| {
                r.space_name() == Some("lab")
                    && r.user_profile_name().is_none()
                    && r.app_type() == Some(&AppType::JupyterLab)
                    && r.resource_spec().and_then(|s| s.instance_type())
                        == Some(&AppInstanceType::MlT3Large)
                    && r.resource_spec()
                        .and_then(|s| s.lifecycle_config_arn())
                        .is_some()
            })
            .then_output(|| CreateAppOutput::builder().app_arn("arn:new").build());
        let client = mock_client!(
            aws_sdk_sagemaker,
            RuleMode::MatchAny,
            [&list, &describe, &gone, &create]
        );
        let apps = list_apps(&client, "d-ml").await.unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].key.owner_kind, OwnerKind::Space);
        assert_eq!(apps[0].key.app_type, "JupyterLab");
        assert_eq!(apps[0].spec.instance_type.as_deref(), Some("ml.t3.large"));
        assert_eq!(apps[1].key.owner_kind, OwnerKind::User);
        assert!(!apps[1].is_live());
        let lab = describe_app(&client, &apps[0].key).await.unwrap().unwrap();
        assert_eq!(lab.spec, apps[0].spec);
        assert_eq!(lab.last_user_activity.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(describe_app(&client, &apps[1].key).await.unwrap(), None);
        let arn = create_app(&client, &lab.key, &lab.spec, &Tags::new())
            .await
            .unwrap();
        assert_eq!(arn.as_deref(), Some("arn:new"));
    }
}
