//! Studio domains, spaces, user profiles and apps in the emulator (scripts/emulator/studio.py).

use aws_sdk_sagemaker::types::{
    AppInstanceType, AppType, AuthMode, DefaultSpaceSettings, OwnershipSettings, ResourceSpec,
    SharingType, SpaceSharingSettings, UserSettings,
};
use sagekeeper_core::Aws;

use super::sagemaker_tags_of;

const ROLE: &str = "arn:aws:iam::123456789012:role/StudioExecution";

/// A reserved emulator tag: the app's LastUserActivityTimestamp, epoch seconds.
pub const LAST_USER_ACTIVITY: &str = "emulator:last-user-activity";

/// A domain named `name` (lowercase: domain ids are) with `tags`; returns its id.
pub async fn seed_domain(aws: &Aws, name: &str, tags: &[(&str, &str)]) -> String {
    let created = aws
        .sagemaker()
        .create_domain()
        .domain_name(name)
        .auth_mode(AuthMode::Iam)
        .vpc_id("vpc-0123456789abcdef0")
        .subnet_ids("subnet-0123456789abcdef0")
        .default_user_settings(UserSettings::builder().execution_role(ROLE).build())
        .default_space_settings(DefaultSpaceSettings::builder().execution_role(ROLE).build())
        .set_tags(Some(sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create domain");
    let arn = created.domain_arn.expect("domain arn");
    arn.rsplit('/').next().expect("domain id").to_owned()
}

pub async fn seed_space(aws: &Aws, domain: &str, name: &str, tags: &[(&str, &str)]) {
    seed_space_of(aws, domain, name, None, tags).await;
}

/// A space; a private one of user profile `owner` when given.
pub async fn seed_space_of(
    aws: &Aws,
    domain: &str,
    name: &str,
    owner: Option<&str>,
    tags: &[(&str, &str)],
) {
    let ownership = owner.map(|o| {
        OwnershipSettings::builder()
            .owner_user_profile_name(o)
            .build()
    });
    let sharing = owner.map(|_| {
        SpaceSharingSettings::builder()
            .sharing_type(SharingType::Private)
            .build()
    });
    aws.sagemaker()
        .create_space()
        .domain_id(domain)
        .space_name(name)
        .set_ownership_settings(ownership)
        .set_space_sharing_settings(sharing)
        .set_tags((!tags.is_empty()).then(|| sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create space");
}

/// AddTags on a Studio resource (as its owner would, after creating it).
pub async fn add_tags(aws: &Aws, arn: &str, tags: &[(&str, &str)]) {
    aws.sagemaker()
        .add_tags()
        .resource_arn(arn)
        .set_tags(Some(sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("add tags");
}

pub async fn seed_profile(aws: &Aws, domain: &str, name: &str, tags: &[(&str, &str)]) {
    aws.sagemaker()
        .create_user_profile()
        .domain_id(domain)
        .user_profile_name(name)
        .set_tags((!tags.is_empty()).then(|| sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create user profile");
}

/// Which of a space or a user profile an app belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Space(&'a str),
    User(&'a str),
}

/// A running app `default` of `app_type`; `spec` = (instance type, image, lifecycle config).
pub async fn seed_app(
    aws: &Aws,
    domain: &str,
    owner: Owner<'_>,
    app_type: AppType,
    spec: Option<(AppInstanceType, &str, &str)>,
    tags: &[(&str, &str)],
) -> String {
    let (profile, space) = fields(owner);
    let spec = spec.map(|(instance, image, lcc)| {
        ResourceSpec::builder()
            .instance_type(instance)
            .sage_maker_image_arn(image)
            .lifecycle_config_arn(lcc)
            .build()
    });
    aws.sagemaker()
        .create_app()
        .domain_id(domain)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(app_type)
        .app_name("default")
        .set_resource_spec(spec)
        .set_tags((!tags.is_empty()).then(|| sagemaker_tags_of(tags)))
        .send()
        .await
        .expect("create app")
        .app_arn
        .expect("app arn")
}

pub async fn delete_app(aws: &Aws, domain: &str, owner: Owner<'_>, app_type: AppType) {
    let (profile, space) = fields(owner);
    aws.sagemaker()
        .delete_app()
        .domain_id(domain)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(app_type)
        .app_name("default")
        .send()
        .await
        .expect("delete app");
}

/// The app's status and (instance type, image, lifecycle config).
pub async fn app_state(
    aws: &Aws,
    domain: &str,
    owner: Owner<'_>,
    app_type: AppType,
) -> (String, Option<(String, String, String)>) {
    let (profile, space) = fields(owner);
    let out = aws
        .sagemaker()
        .describe_app()
        .domain_id(domain)
        .set_user_profile_name(profile)
        .set_space_name(space)
        .app_type(app_type)
        .app_name("default")
        .send()
        .await
        .expect("describe app");
    let spec = out.resource_spec().map(|s| {
        (
            s.instance_type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            s.sage_maker_image_arn().unwrap_or_default().to_owned(),
            s.lifecycle_config_arn().unwrap_or_default().to_owned(),
        )
    });
    let status = out
        .status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    (status, spec)
}

fn fields(owner: Owner<'_>) -> (Option<String>, Option<String>) {
    match owner {
        Owner::Space(name) => (None, Some(name.to_owned())),
        Owner::User(name) => (Some(name.to_owned()), None),
    }
}
