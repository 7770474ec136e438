//! SageMaker Studio domains and their user profiles, as plain structs: the settings that decide
//! encryption, network exposure, root in apps and who shares an execution role.
//!
//! Spaces are not read here: a space's own `SpaceSettings` hold app settings, storage size,
//! custom file systems and remote access, but no KMS key, network access, POSIX user or
//! execution role; those come from the domain's `DefaultSpaceSettings`.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    AppNetworkAccessType, CustomPosixUserConfig, FeatureStatus, NotebookOutputOption,
    SharingSettings,
};

use crate::aws::{AwsError, AwsResultExt};

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
}
