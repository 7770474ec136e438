//! SageMaker Studio domain rules: the domain's storage key, its network, root in its apps, one
//! execution role for everyone, and the key of shared notebooks. Report only: a domain's key
//! cannot be changed after creation, and its network, POSIX user and Docker settings change
//! what every user's apps can reach, so sagekeeper reports and people decide.
//!
//! Studio has no `RootAccess` (that is a notebook-instance setting). The nearest controls are
//! the POSIX user apps run as (`CustomPosixUserConfig.Uid`, 0 = root) and Docker access from
//! the apps (`DomainSettings.DockerSettings.EnableDockerAccess`).
//!
//! A user profile's own settings override the domain's defaults, so the rules name every
//! profile that overrides them badly. Spaces cannot override any of these settings.

use sagekeeper_core::Severity;
use sagekeeper_core::sagemaker::studio::{StudioSettings, UserProfile};

use super::{Context, Evaluation, Mode, Rule, RuleInfo};
use crate::model::Domain;

pub const DOMAIN_KMS: &str = "sagemaker-domain-kms";
pub const DOMAIN_VPC_ONLY: &str = "sagemaker-domain-vpc-only";
pub const DOMAIN_ROOT_POSIX_UID: &str = "sagemaker-domain-root-posix-uid";
pub const DOMAIN_DOCKER_ACCESS: &str = "sagemaker-domain-docker-access";
pub const DOMAIN_SHARED_EXECUTION_ROLE: &str = "sagemaker-domain-shared-execution-role";
pub const DOMAIN_SHARING_KMS: &str = "sagemaker-domain-sharing-kms";

pub static DOMAIN_RULES: &[Rule<Domain>] = &[
    Rule {
        info: RuleInfo {
            id: DOMAIN_KMS,
            title: "Studio domain storage is encrypted with a customer-managed KMS key",
            severity: Severity::High,
            control: "Encrypt Studio home directories and app volumes at rest (KmsKeyId); Prowler sagemaker_domain_encrypted_with_cmk",
            default_mode: Mode::Report,
        },
        check: domain_kms,
    },
    Rule {
        info: RuleInfo {
            id: DOMAIN_VPC_ONLY,
            title: "Studio domain apps reach the network only through the domain's VPC",
            severity: Severity::High,
            control: "Keep ML data off the internet (AppNetworkAccessType=VpcOnly); AWS Config sagemaker-domain-in-vpc, Prowler sagemaker_domain_vpc_only_enabled",
            default_mode: Mode::Report,
        },
        check: domain_vpc_only,
    },
    Rule {
        info: RuleInfo {
            id: DOMAIN_ROOT_POSIX_UID,
            title: "Studio apps do not run as root",
            severity: Severity::High,
            control: "Least privilege in Studio apps (CustomPosixUserConfig.Uid not 0); nearest to Security Hub SageMaker.3",
            default_mode: Mode::Report,
        },
        check: domain_root_posix_uid,
    },
    Rule {
        info: RuleInfo {
            id: DOMAIN_DOCKER_ACCESS,
            title: "Studio apps cannot run Docker",
            severity: Severity::Medium,
            control: "Least privilege in Studio apps (DockerSettings.EnableDockerAccess=DISABLED); nearest to Security Hub SageMaker.3",
            default_mode: Mode::Report,
        },
        check: domain_docker_access,
    },
    Rule {
        info: RuleInfo {
            id: DOMAIN_SHARED_EXECUTION_ROLE,
            title: "Studio users do not all share one execution role",
            severity: Severity::Low,
            control: "Least privilege per user (UserSettings.ExecutionRole per user profile)",
            default_mode: Mode::Report,
        },
        check: domain_shared_execution_role,
    },
    Rule {
        info: RuleInfo {
            id: DOMAIN_SHARING_KMS,
            title: "Shared Studio notebooks with output are encrypted with a KMS key",
            severity: Severity::Medium,
            control: "Encrypt shared notebooks and their output at rest (SharingSettings.S3KmsKeyId)",
            default_mode: Mode::Report,
        },
        check: domain_sharing_kms,
    },
];

/// Why a rule that needs the user profiles cannot say more than the domain's defaults do.
const PROFILES_UNREAD: &str = "its user profiles could not be read, so their overrides are unknown";

fn domain_kms(domain: &Domain, _: &Context) -> Evaluation {
    if domain.domain.kms_key_id.is_some() {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(
            "no KmsKeyId: home directories and app volumes use an AWS managed key, and the key cannot be changed after the domain is created"
                .to_owned(),
        )
    }
}

fn domain_vpc_only(domain: &Domain, _: &Context) -> Evaluation {
    if domain.domain.vpc_only {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(
            "AppNetworkAccessType is PublicInternetOnly: apps reach the internet directly, not through the domain's VPC and its controls"
                .to_owned(),
        )
    }
}

/// The problems of the domain's defaults and of each readable profile, and whether profiles
/// were readable.
fn problems(
    domain: &Domain,
    defaults: impl Fn(&StudioSettings) -> Option<String>,
    profile: impl Fn(&UserProfile) -> Option<String>,
    with_spaces: bool,
) -> (Vec<String>, bool) {
    let d = &domain.domain;
    let mut found: Vec<String> = defaults(&d.user_defaults)
        .map(|p| format!("DefaultUserSettings {p}"))
        .into_iter()
        .collect();
    if with_spaces && let Some(p) = defaults(&d.space_defaults) {
        found.push(format!("DefaultSpaceSettings {p}"));
    }
    match &domain.profiles {
        Ok(profiles) => {
            found.extend(
                profiles
                    .iter()
                    .filter_map(|u| profile(u).map(|p| format!("user profile {} {p}", u.name))),
            );
            (found, true)
        }
        Err(_) => (found, false),
    }
}

/// Non-compliant with the problems; compliant when there are none and the profiles were read.
fn verdict(found: Vec<String>, profiles_read: bool, defaults_ok: &str) -> Evaluation {
    match (found.is_empty(), profiles_read) {
        (false, true) => Evaluation::NonCompliant(found.join("; ")),
        (false, false) => {
            Evaluation::NonCompliant(format!("{} ({PROFILES_UNREAD})", found.join("; ")))
        }
        (true, true) => Evaluation::Compliant,
        (true, false) => Evaluation::NotApplicable(format!("{defaults_ok}, but {PROFILES_UNREAD}")),
    }
}

fn domain_root_posix_uid(domain: &Domain, _: &Context) -> Evaluation {
    let root = |s: &StudioSettings| {
        (s.posix_uid == Some(0))
            .then(|| "runs apps as root (CustomPosixUserConfig.Uid 0)".to_owned())
    };
    let (found, read) = problems(domain, root, |u| root(&u.settings), true);
    verdict(found, read, "the domain's defaults do not run apps as root")
}

fn domain_docker_access(domain: &Domain, _: &Context) -> Evaluation {
    let d = &domain.domain;
    if !d.docker_access {
        return Evaluation::Compliant;
    }
    let rootless = if d.rootless_docker {
        "rootless"
    } else {
        "not rootless"
    };
    Evaluation::NonCompliant(format!(
        "DockerSettings.EnableDockerAccess is ENABLED ({rootless}): apps can build and run containers"
    ))
}

fn domain_shared_execution_role(domain: &Domain, _: &Context) -> Evaluation {
    let profiles = match &domain.profiles {
        Ok(profiles) => profiles,
        Err(_) => return Evaluation::NotApplicable(PROFILES_UNREAD.to_owned()),
    };
    if profiles.len() < 2 {
        return Evaluation::NotApplicable(format!(
            "{} user profile(s): nothing to share",
            profiles.len()
        ));
    }
    let default = domain.domain.user_defaults.execution_role.as_deref();
    let mut roles = profiles
        .iter()
        .map(|u| u.settings.execution_role.as_deref().or(default));
    let first = roles.next().flatten();
    if first.is_some() && roles.all(|r| r == first) {
        Evaluation::NonCompliant(format!(
            "all {} user profiles run as {}: none sets its own ExecutionRole",
            profiles.len(),
            first.unwrap_or_default()
        ))
    } else {
        Evaluation::Compliant
    }
}

fn domain_sharing_kms(domain: &Domain, _: &Context) -> Evaluation {
    let unencrypted = |s: &StudioSettings| {
        let sharing = s.sharing.as_ref()?;
        (sharing.output_allowed && sharing.s3_kms_key_id.is_none()).then(|| {
            format!(
                "shares notebooks with their output to {} without S3KmsKeyId",
                sharing.s3_output_path.as_deref().unwrap_or("S3")
            )
        })
    };
    let (found, read) = problems(domain, unencrypted, |u| unencrypted(&u.settings), false);
    let sharing_on = |s: &StudioSettings| s.sharing.as_ref().is_some_and(|s| s.output_allowed);
    let any_sharing = sharing_on(&domain.domain.user_defaults)
        || domain
            .profiles
            .as_ref()
            .is_ok_and(|p| p.iter().any(|u| sharing_on(&u.settings)));
    if found.is_empty() && read && !any_sharing {
        return Evaluation::NotApplicable("notebook sharing with output is off".to_owned());
    }
    verdict(
        found,
        read,
        "the domain's default sharing settings have a key or no output",
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{KeyIndex, TagMatch};
    use sagekeeper_core::aws::AwsError;
    use sagekeeper_core::model::tags::Tags;
    use sagekeeper_core::sagemaker::studio::{self, NotebookSharing};

    pub const ROLE: &str = "arn:aws:iam::123456789012:role/StudioExecution";

    fn profile(name: &str, settings: StudioSettings) -> UserProfile {
        UserProfile {
            domain_id: "d-ml".to_owned(),
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml/{name}"),
            status: "InService".to_owned(),
            settings,
        }
    }

    fn own_role(name: &str) -> StudioSettings {
        StudioSettings {
            execution_role: Some(format!("arn:aws:iam::123456789012:role/{name}")),
            ..StudioSettings::default()
        }
    }

    /// A domain that passes every rule: a key, VpcOnly, no root, no Docker, two users with
    /// their own roles, encrypted sharing.
    pub fn good_domain() -> Domain {
        let defaults = StudioSettings {
            execution_role: Some(ROLE.to_owned()),
            posix_uid: Some(200001),
            sharing: Some(NotebookSharing {
                output_allowed: true,
                s3_output_path: Some("s3://shared/nb".to_owned()),
                s3_kms_key_id: Some("alias/ml-data".to_owned()),
            }),
        };
        Domain {
            domain: studio::Domain {
                id: "d-ml".to_owned(),
                name: "ml".to_owned(),
                arn: "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ml".to_owned(),
                status: "InService".to_owned(),
                kms_key_id: Some("alias/ml-data".to_owned()),
                vpc_only: true,
                user_defaults: defaults.clone(),
                space_defaults: StudioSettings {
                    sharing: None,
                    ..defaults
                },
                docker_access: false,
                rootless_docker: false,
            },
            profiles: Ok(vec![
                profile("ana", own_role("Ana")),
                profile("bo", own_role("Bo")),
            ]),
            tags: Tags::new(),
        }
    }

    fn check(id: &str, domain: &Domain) -> Evaluation {
        let rule = DOMAIN_RULES.iter().find(|r| r.info.id == id).unwrap();
        let keys = KeyIndex::default();
        let sensitive = TagMatch::parse("DataClassification").unwrap();
        (rule.check)(
            domain,
            &Context {
                required_kms_key: None,
                keys: &keys,
                sensitive_tag: &sensitive,
            },
        )
    }

    #[track_caller]
    fn non_compliant(evaluation: Evaluation) -> String {
        match evaluation {
            Evaluation::NonCompliant(reason) => reason,
            other => panic!("expected non-compliant, got {other:?}"),
        }
    }

    #[track_caller]
    fn not_applicable(evaluation: Evaluation) -> String {
        match evaluation {
            Evaluation::NotApplicable(reason) => reason,
            other => panic!("expected not applicable, got {other:?}"),
        }
    }

    fn unread() -> Evidence {
        Err(AwsError {
            operation: "ListUserProfiles",
            code: "InternalFailure".to_owned(),
            message: "not implemented".to_owned(),
            retryable: false,
        })
    }
    type Evidence = crate::model::Evidence<Vec<UserProfile>>;

    #[test]
    fn a_well_configured_domain_passes_every_rule() {
        for rule in DOMAIN_RULES {
            assert_eq!(
                check(rule.info.id, &good_domain()),
                Evaluation::Compliant,
                "{}",
                rule.info.id
            );
        }
    }

    #[test]
    fn no_key_public_internet_and_docker_are_findings() {
        let mut open = good_domain();
        open.domain.kms_key_id = None;
        open.domain.vpc_only = false;
        open.domain.docker_access = true;
        assert!(non_compliant(check(DOMAIN_KMS, &open)).contains("no KmsKeyId"));
        assert!(non_compliant(check(DOMAIN_VPC_ONLY, &open)).contains("PublicInternetOnly"));
        assert!(non_compliant(check(DOMAIN_DOCKER_ACCESS, &open)).contains("(not rootless)"));
        open.domain.rootless_docker = true;
        assert!(non_compliant(check(DOMAIN_DOCKER_ACCESS, &open)).contains("(rootless)"));
    }

    #[test]
    fn root_in_the_defaults_or_a_profiles_override_is_named() {
        let mut domain = good_domain();
        domain.domain.space_defaults.posix_uid = Some(0);
        let Ok(profiles) = &mut domain.profiles else {
            panic!()
        };
        profiles[1].settings.posix_uid = Some(0);
        let problem = non_compliant(check(DOMAIN_ROOT_POSIX_UID, &domain));
        assert_eq!(
            problem,
            "DefaultSpaceSettings runs apps as root (CustomPosixUserConfig.Uid 0); user profile bo runs apps as root (CustomPosixUserConfig.Uid 0)"
        );
        // A profile's own non-root user does not hide the domain's root default.
        let mut domain = good_domain();
        domain.domain.user_defaults.posix_uid = Some(0);
        domain.profiles = Ok(vec![profile(
            "ana",
            StudioSettings {
                posix_uid: Some(1000),
                ..StudioSettings::default()
            },
        )]);
        assert!(
            non_compliant(check(DOMAIN_ROOT_POSIX_UID, &domain)).starts_with("DefaultUserSettings")
        );
    }

    #[test]
    fn unread_profiles_leave_the_domains_own_findings_and_say_so() {
        let mut domain = good_domain();
        domain.profiles = unread();
        assert!(
            not_applicable(check(DOMAIN_ROOT_POSIX_UID, &domain)).contains("could not be read")
        );
        assert!(
            not_applicable(check(DOMAIN_SHARED_EXECUTION_ROLE, &domain))
                .contains("could not be read")
        );
        assert_eq!(check(DOMAIN_KMS, &domain), Evaluation::Compliant);
        domain.domain.user_defaults.posix_uid = Some(0);
        let problem = non_compliant(check(DOMAIN_ROOT_POSIX_UID, &domain));
        assert!(
            problem.starts_with("DefaultUserSettings runs apps as root"),
            "{problem}"
        );
        assert!(problem.contains("could not be read"), "{problem}");
    }

    #[test]
    fn one_role_for_every_user_is_a_finding_only_with_two_users_or_more() {
        let mut domain = good_domain();
        domain.profiles = Ok(vec![
            profile("ana", StudioSettings::default()),
            profile("bo", StudioSettings::default()),
            // Naming the default role itself is still the same role.
            profile(
                "cy",
                StudioSettings {
                    execution_role: Some(ROLE.to_owned()),
                    ..StudioSettings::default()
                },
            ),
        ]);
        assert_eq!(
            non_compliant(check(DOMAIN_SHARED_EXECUTION_ROLE, &domain)),
            format!("all 3 user profiles run as {ROLE}: none sets its own ExecutionRole")
        );
        domain.profiles = Ok(vec![
            profile("ana", StudioSettings::default()),
            profile("bo", own_role("Bo")),
        ]);
        assert_eq!(
            check(DOMAIN_SHARED_EXECUTION_ROLE, &domain),
            Evaluation::Compliant
        );
        domain.profiles = Ok(vec![profile("ana", StudioSettings::default())]);
        assert!(not_applicable(check(DOMAIN_SHARED_EXECUTION_ROLE, &domain)).contains("1 user"));
    }

    #[test]
    fn shared_notebook_output_needs_a_key_where_sharing_is_on() {
        let mut domain = good_domain();
        let no_key = NotebookSharing {
            output_allowed: true,
            s3_output_path: Some("s3://shared/nb".to_owned()),
            s3_kms_key_id: None,
        };
        domain.domain.user_defaults.sharing = Some(no_key.clone());
        assert_eq!(
            non_compliant(check(DOMAIN_SHARING_KMS, &domain)),
            "DefaultUserSettings shares notebooks with their output to s3://shared/nb without S3KmsKeyId"
        );
        domain.domain.user_defaults.sharing = None;
        assert!(not_applicable(check(DOMAIN_SHARING_KMS, &domain)).contains("off"));
        let Ok(profiles) = &mut domain.profiles else {
            panic!()
        };
        profiles[0].settings.sharing = Some(no_key);
        assert!(non_compliant(check(DOMAIN_SHARING_KMS, &domain)).starts_with("user profile ana"));
    }
}
