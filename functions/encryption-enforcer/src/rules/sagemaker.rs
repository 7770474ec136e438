//! SageMaker rules: jobs, endpoint configs and notebook instances encrypt with KMS keys, keep
//! traffic between instances encrypted, and keep sensitive work and notebooks off the internet.

use sagekeeper_core::Severity;

use super::{Context, Evaluation, Mode, Rule, RuleInfo};
use crate::model::{EndpointConfig, Job, JobKind, Notebook};

pub const JOB_VOLUME_KMS: &str = "sagemaker-job-volume-kms";
pub const JOB_OUTPUT_KMS: &str = "sagemaker-job-output-kms";
pub const JOB_INTER_CONTAINER_ENCRYPTION: &str = "sagemaker-job-inter-container-encryption";
pub const SENSITIVE_JOB_ISOLATION: &str = "sagemaker-sensitive-job-isolation";
pub const ENDPOINT_CONFIG_KMS: &str = "sagemaker-endpoint-config-kms";
pub const ENDPOINT_CONFIG_DATA_CAPTURE_KMS: &str = "sagemaker-endpoint-config-data-capture-kms";
pub const NOTEBOOK_KMS: &str = "sagemaker-notebook-kms";
pub const NOTEBOOK_DIRECT_INTERNET: &str = "sagemaker-notebook-no-direct-internet";
pub const NOTEBOOK_ROOT_ACCESS: &str = "sagemaker-notebook-no-root-access";

pub static JOB_RULES: &[Rule<Job>] = &[
    Rule {
        info: RuleInfo {
            id: JOB_VOLUME_KMS,
            title: "Job storage volumes are encrypted with a KMS key",
            severity: Severity::High,
            control: "Encrypt training and processing data at rest (VolumeKmsKeyId)",
            default_mode: Mode::Report,
        },
        check: job_volume_kms,
    },
    Rule {
        info: RuleInfo {
            id: JOB_OUTPUT_KMS,
            title: "Job output is encrypted with a KMS key",
            severity: Severity::High,
            control: "Encrypt model artifacts and job output at rest (output KmsKeyId)",
            default_mode: Mode::Report,
        },
        check: job_output_kms,
    },
    Rule {
        info: RuleInfo {
            id: JOB_INTER_CONTAINER_ENCRYPTION,
            title: "Distributed jobs encrypt traffic between their instances",
            severity: Severity::Medium,
            control: "Encrypt ML data in transit between instances (EnableInterContainerTrafficEncryption)",
            default_mode: Mode::Report,
        },
        check: job_inter_container_encryption,
    },
    Rule {
        info: RuleInfo {
            id: SENSITIVE_JOB_ISOLATION,
            title: "Jobs on sensitive data run with network isolation in a VPC",
            severity: Severity::High,
            control: "Keep sensitive data off the internet (EnableNetworkIsolation, VpcConfig)",
            default_mode: Mode::Report,
        },
        check: sensitive_job_isolation,
    },
];

pub static ENDPOINT_CONFIG_RULES: &[Rule<EndpointConfig>] = &[
    Rule {
        info: RuleInfo {
            id: ENDPOINT_CONFIG_KMS,
            title: "Endpoint config encrypts its storage volumes with a KMS key",
            severity: Severity::Medium,
            control: "Encrypt model data on endpoint instances at rest (KmsKeyId)",
            default_mode: Mode::Report,
        },
        check: endpoint_config_kms,
    },
    Rule {
        info: RuleInfo {
            id: ENDPOINT_CONFIG_DATA_CAPTURE_KMS,
            title: "Endpoint data capture is encrypted with a KMS key",
            severity: Severity::High,
            control: "Encrypt captured inference requests and responses at rest (DataCaptureConfig.KmsKeyId)",
            default_mode: Mode::Report,
        },
        check: endpoint_config_data_capture_kms,
    },
];

pub static NOTEBOOK_RULES: &[Rule<Notebook>] = &[
    Rule {
        info: RuleInfo {
            id: NOTEBOOK_KMS,
            title: "Notebook instance storage is encrypted with a KMS key",
            severity: Severity::Medium,
            control: "Encrypt notebook data at rest (KmsKeyId)",
            default_mode: Mode::Report,
        },
        check: notebook_kms,
    },
    Rule {
        info: RuleInfo {
            id: NOTEBOOK_DIRECT_INTERNET,
            title: "Notebook instance has no direct internet access",
            severity: Severity::High,
            control: "Keep ML data off the internet (DirectInternetAccess=Disabled)",
            default_mode: Mode::Report,
        },
        check: notebook_direct_internet,
    },
    Rule {
        info: RuleInfo {
            id: NOTEBOOK_ROOT_ACCESS,
            title: "Notebook instance users have no root access",
            severity: Severity::Medium,
            control: "Least privilege on notebook instances (RootAccess=Disabled)",
            default_mode: Mode::Report,
        },
        check: notebook_root_access,
    },
];

/// Instance types with local NVMe storage, which the instance's hardware encrypts. SageMaker
/// refuses a volume KMS key for them ("You can't request a VolumeKmsKeyId when using an instance
/// type with local storage"), so asking for one would be a rule nobody can pass. They are the
/// families with a `d` after the generation (`ml.m5d`, `ml.g4dn`, `ml.p4d`, `ml.r6id`) and a
/// few newer GPU and Trainium families.
pub fn has_local_nvme_storage(instance_type: &str) -> bool {
    let family = instance_type
        .strip_prefix("ml.")
        .and_then(|t| t.split('.').next())
        .unwrap_or_default();
    let suffix = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    suffix.contains('d')
        || matches!(
            family,
            "g5" | "g6" | "g6e" | "p5" | "p5e" | "p5en" | "trn1" | "trn1n"
        )
}

fn all_local_nvme(instance_types: &[String]) -> bool {
    !instance_types.is_empty() && instance_types.iter().all(|t| has_local_nvme_storage(t))
}

fn job_volume_kms(job: &Job, _: &Context) -> Evaluation {
    if job.volume_kms_key_id.is_some() {
        Evaluation::Compliant
    } else if all_local_nvme(&job.instance_types) {
        Evaluation::NotApplicable(format!(
            "{} has local NVMe storage, encrypted by the instance",
            job.instance_types.join(", ")
        ))
    } else {
        Evaluation::NonCompliant(
            "no VolumeKmsKeyId: the ML storage volumes use an AWS managed key, not a customer-managed one"
                .to_owned(),
        )
    }
}

fn job_output_kms(job: &Job, _: &Context) -> Evaluation {
    if !job.writes_output {
        Evaluation::NotApplicable("the job writes no output".to_owned())
    } else if job.output_kms_key_id.is_some() {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(
            "no output KmsKeyId: what the job writes to S3 is not encrypted with a customer-managed key"
                .to_owned(),
        )
    }
}

fn job_inter_container_encryption(job: &Job, _: &Context) -> Evaluation {
    if job.kind == JobKind::Transform {
        Evaluation::NotApplicable("transform instances do not exchange data".to_owned())
    } else if job.instance_count <= 1 {
        Evaluation::NotApplicable("the job runs on one instance".to_owned())
    } else if job.inter_container_traffic_encryption {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(format!(
            "{} instances exchange data unencrypted (EnableInterContainerTrafficEncryption is off)",
            job.instance_count
        ))
    }
}

fn sensitive_job_isolation(job: &Job, context: &Context) -> Evaluation {
    let sensitive = context.sensitive_tag;
    if !sensitive.matches(&job.tags) {
        return Evaluation::NotApplicable(format!("not tagged {sensitive}"));
    }
    let (Some(isolated), Some(in_vpc)) = (job.network_isolation, job.in_vpc) else {
        return Evaluation::NotApplicable(
            "a transform job takes network isolation and VPC from its model".to_owned(),
        );
    };
    let missing: Vec<&str> = [(isolated, "network isolation"), (in_vpc, "a VPC")]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, what)| what)
        .collect();
    if missing.is_empty() {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(format!(
            "tagged {sensitive} but runs without {}",
            missing.join(" and ")
        ))
    }
}

fn endpoint_config_kms(config: &EndpointConfig, _: &Context) -> Evaluation {
    if config.kms_key_id.is_some() {
        Evaluation::Compliant
    } else if all_local_nvme(&config.instance_types) {
        Evaluation::NotApplicable(format!(
            "{} has local NVMe storage, encrypted by the instance",
            config.instance_types.join(", ")
        ))
    } else {
        Evaluation::NonCompliant(
            "no KmsKeyId: the endpoint's storage volumes are not encrypted with a customer-managed key"
                .to_owned(),
        )
    }
}

fn endpoint_config_data_capture_kms(config: &EndpointConfig, _: &Context) -> Evaluation {
    if !config.data_capture_enabled {
        Evaluation::NotApplicable("data capture is off".to_owned())
    } else if config.data_capture_kms_key_id.is_some() {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(
            "data capture writes request and response payloads to S3 without a KMS key".to_owned(),
        )
    }
}

fn notebook_kms(notebook: &Notebook, _: &Context) -> Evaluation {
    if notebook.notebook.kms_key_id.is_some() {
        Evaluation::Compliant
    } else {
        Evaluation::NonCompliant(
            "no KmsKeyId: the notebook's storage volume is not encrypted with a customer-managed key"
                .to_owned(),
        )
    }
}

fn notebook_direct_internet(notebook: &Notebook, _: &Context) -> Evaluation {
    if notebook.notebook.direct_internet_access {
        Evaluation::NonCompliant(
            "direct internet access is enabled: data can leave without passing the VPC's controls"
                .to_owned(),
        )
    } else {
        Evaluation::Compliant
    }
}

fn notebook_root_access(notebook: &Notebook, _: &Context) -> Evaluation {
    if notebook.notebook.root_access {
        Evaluation::NonCompliant(
            "root access is enabled: users can change the instance's security settings".to_owned(),
        )
    } else {
        Evaluation::Compliant
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{KeyIndex, TagMatch};
    use sagekeeper_core::model::tags::Tags;
    use sagekeeper_core::sagemaker::notebooks;

    /// A multi-instance training job that passes every rule, tagged as sensitive.
    pub fn good_job() -> Job {
        Job {
            kind: JobKind::Training,
            name: "churn-xgb".to_owned(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb".to_owned(),
            status: "InProgress".to_owned(),
            instance_types: vec!["ml.m5.xlarge".to_owned()],
            instance_count: 2,
            volume_kms_key_id: Some("alias/ml-data".to_owned()),
            output_kms_key_id: Some("alias/ml-data".to_owned()),
            writes_output: true,
            inter_container_traffic_encryption: true,
            network_isolation: Some(true),
            in_vpc: Some(true),
            tags: Tags::from([("DataClassification".to_owned(), "Restricted".to_owned())]),
        }
    }

    pub fn good_config() -> EndpointConfig {
        EndpointConfig {
            name: "fraud-config".to_owned(),
            arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/fraud-config".to_owned(),
            kms_key_id: Some("alias/ml-data".to_owned()),
            data_capture_enabled: true,
            data_capture_kms_key_id: Some("alias/ml-data".to_owned()),
            instance_types: vec!["ml.m5.large".to_owned()],
            tags: Tags::new(),
        }
    }

    pub fn good_notebook() -> Notebook {
        Notebook {
            notebook: notebooks::Notebook {
                name: "ds-sandbox".to_owned(),
                arn: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/ds-sandbox"
                    .to_owned(),
                status: "InService".to_owned(),
                instance_type: "ml.t3.medium".to_owned(),
                kms_key_id: Some("alias/ml-data".to_owned()),
                direct_internet_access: false,
                root_access: false,
            },
            tags: Tags::new(),
        }
    }

    fn with_context<R>(f: impl FnOnce(&Context) -> R) -> R {
        let keys = KeyIndex::default();
        let sensitive = TagMatch::parse("DataClassification=Confidential|Restricted").unwrap();
        f(&Context {
            required_kms_key: None,
            keys: &keys,
            sensitive_tag: &sensitive,
        })
    }

    fn job(id: &str, job: &Job) -> Evaluation {
        let rule = JOB_RULES.iter().find(|r| r.info.id == id).unwrap();
        with_context(|c| (rule.check)(job, c))
    }

    fn config(id: &str, config: &EndpointConfig) -> Evaluation {
        let rule = ENDPOINT_CONFIG_RULES
            .iter()
            .find(|r| r.info.id == id)
            .unwrap();
        with_context(|c| (rule.check)(config, c))
    }

    fn notebook(id: &str, notebook: &Notebook) -> Evaluation {
        let rule = NOTEBOOK_RULES.iter().find(|r| r.info.id == id).unwrap();
        with_context(|c| (rule.check)(notebook, c))
    }

    fn non_compliant(evaluation: Evaluation) -> String {
        match evaluation {
            Evaluation::NonCompliant(reason) => reason,
            other => panic!("expected non-compliant, got {other:?}"),
        }
    }

    fn not_applicable(evaluation: Evaluation) -> String {
        match evaluation {
            Evaluation::NotApplicable(reason) => reason,
            other => panic!("expected not applicable, got {other:?}"),
        }
    }

    #[test]
    fn a_well_configured_job_config_and_notebook_pass_every_rule() {
        for rule in JOB_RULES {
            assert_eq!(
                job(rule.info.id, &good_job()),
                Evaluation::Compliant,
                "{}",
                rule.info.id
            );
        }
        for rule in ENDPOINT_CONFIG_RULES {
            assert_eq!(config(rule.info.id, &good_config()), Evaluation::Compliant);
        }
        for rule in NOTEBOOK_RULES {
            assert_eq!(
                notebook(rule.info.id, &good_notebook()),
                Evaluation::Compliant
            );
        }
    }

    #[test]
    fn job_keys_are_required_except_on_local_nvme_or_without_output() {
        let bare = Job {
            volume_kms_key_id: None,
            output_kms_key_id: None,
            ..good_job()
        };
        assert!(non_compliant(job(JOB_VOLUME_KMS, &bare)).contains("VolumeKmsKeyId"));
        assert!(non_compliant(job(JOB_OUTPUT_KMS, &bare)).contains("output KmsKeyId"));
        let nvme = Job {
            instance_types: vec!["ml.p4d.24xlarge".to_owned(), "ml.g5.2xlarge".to_owned()],
            ..bare.clone()
        };
        assert!(not_applicable(job(JOB_VOLUME_KMS, &nvme)).contains("local NVMe"));
        let no_output = Job {
            kind: JobKind::Processing,
            writes_output: false,
            ..bare
        };
        assert!(not_applicable(job(JOB_OUTPUT_KMS, &no_output)).contains("no output"));
    }

    #[test]
    fn local_nvme_families() {
        for t in [
            "ml.m5d.large",
            "ml.g4dn.xlarge",
            "ml.g4ad.xlarge",
            "ml.p3dn.24xlarge",
            "ml.p4de.24xlarge",
            "ml.r6id.large",
            "ml.g5.xlarge",
            "ml.trn1.32xlarge",
        ] {
            assert!(has_local_nvme_storage(t), "{t}");
        }
        for t in [
            "ml.m5.large",
            "ml.c5.2xlarge",
            "ml.p3.2xlarge",
            "ml.t3.medium",
            "ml.c6i.large",
            "ml.inf2.xlarge",
            "",
        ] {
            assert!(!has_local_nvme_storage(t), "{t}");
        }
    }

    #[test]
    fn inter_container_encryption_only_for_more_than_one_instance() {
        let open = Job {
            inter_container_traffic_encryption: false,
            ..good_job()
        };
        assert!(non_compliant(job(JOB_INTER_CONTAINER_ENCRYPTION, &open)).contains("2 instances"));
        let single = Job {
            instance_count: 1,
            ..open.clone()
        };
        assert!(
            not_applicable(job(JOB_INTER_CONTAINER_ENCRYPTION, &single)).contains("one instance")
        );
        let transform = Job {
            kind: JobKind::Transform,
            ..open
        };
        assert!(matches!(
            job(JOB_INTER_CONTAINER_ENCRYPTION, &transform),
            Evaluation::NotApplicable(_)
        ));
    }

    #[test]
    fn sensitive_jobs_need_isolation_and_a_vpc() {
        let open = Job {
            network_isolation: Some(false),
            in_vpc: Some(false),
            ..good_job()
        };
        assert_eq!(
            non_compliant(job(SENSITIVE_JOB_ISOLATION, &open)),
            "tagged DataClassification=Confidential|Restricted but runs without network isolation and a VPC"
        );
        let public = Job {
            tags: Tags::from([("DataClassification".to_owned(), "Public".to_owned())]),
            ..open.clone()
        };
        assert!(not_applicable(job(SENSITIVE_JOB_ISOLATION, &public)).contains("not tagged"));
        let transform = Job {
            kind: JobKind::Transform,
            network_isolation: None,
            in_vpc: None,
            ..open
        };
        assert!(not_applicable(job(SENSITIVE_JOB_ISOLATION, &transform)).contains("model"));
    }

    #[test]
    fn endpoint_configs_need_keys_for_volumes_and_capture() {
        let bare = EndpointConfig {
            kms_key_id: None,
            data_capture_kms_key_id: None,
            ..good_config()
        };
        assert!(non_compliant(config(ENDPOINT_CONFIG_KMS, &bare)).contains("KmsKeyId"));
        assert!(
            non_compliant(config(ENDPOINT_CONFIG_DATA_CAPTURE_KMS, &bare)).contains("data capture")
        );
        let no_capture = EndpointConfig {
            data_capture_enabled: false,
            ..bare.clone()
        };
        assert!(
            not_applicable(config(ENDPOINT_CONFIG_DATA_CAPTURE_KMS, &no_capture)).contains("off")
        );
        let nvme = EndpointConfig {
            instance_types: vec!["ml.g5.xlarge".to_owned()],
            ..bare
        };
        assert!(matches!(
            config(ENDPOINT_CONFIG_KMS, &nvme),
            Evaluation::NotApplicable(_)
        ));
    }

    #[test]
    fn notebooks_need_a_key_no_internet_and_no_root() {
        let mut open = good_notebook();
        open.notebook.kms_key_id = None;
        open.notebook.direct_internet_access = true;
        open.notebook.root_access = true;
        assert!(non_compliant(notebook(NOTEBOOK_KMS, &open)).contains("KmsKeyId"));
        assert!(non_compliant(notebook(NOTEBOOK_DIRECT_INTERNET, &open)).contains("internet"));
        assert!(non_compliant(notebook(NOTEBOOK_ROOT_ACCESS, &open)).contains("root"));
    }
}
