//! What relies on a bucket as it is, and which of the S3 remediations would break it. Pure: the
//! evidence was read by `gather` (logging of the other buckets, website, replication, ACL and
//! the policy's grants to log delivery services).
//!
//! Each refusal names one rule whose remediation is not done. What is safe is kept: a log
//! target still gets the TLS-only deny and the public access block (log delivery writes over
//! TLS, as itself), a replication source still gets both too. Evidence that could not be read
//! refuses what it could have ruled out: never assumed safe.

use sagekeeper_core::s3::{
    DSSE_KMS, DefaultEncryption, LOG_DELIVERY_GROUP, PublicAccessBlock, SSE_KMS,
};

use crate::bucket_policy::{self, TlsDeny};
use crate::model::Bucket;
use crate::rules::s3::{DEFAULT_ENCRYPTION, DENY_INSECURE_TRANSPORT, PUBLIC_ACCESS_BLOCK};

/// A remediation that is not done, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule whose remediation is refused.
    pub rule: &'static str,
    pub reason: String,
    /// False when the evidence could not be read: the remediation is not known to be unsafe,
    /// only not known to be safe.
    pub known: bool,
}

/// The service principal of S3 server access log delivery (the policy-based set-up).
const S3_LOG_DELIVERY: &str = "logging.s3.amazonaws.com";
/// The service principal of vended logs: VPC flow logs, Network Load Balancer access logs and
/// other CloudWatch vended logs delivered to S3.
const VENDED_LOG_DELIVERY: &str = "delivery.logs.amazonaws.com";
/// Elastic Load Balancing log delivery in regions opened since August 2022.
const ELB_LOG_DELIVERY: &str = "logdelivery.elasticloadbalancing.amazonaws.com";
/// The Elastic Load Balancing accounts that write access logs, one per older region, as AWS
/// documents them for bucket policies.
const ELB_ACCOUNTS: &[&str] = &[
    "127311923021", // us-east-1
    "033677994240", // us-east-2
    "027434742980", // us-west-1
    "797873946194", // us-west-2
    "098369216593", // af-south-1
    "754344448648", // ap-east-1
    "589379963580", // ap-southeast-3
    "718504428378", // ap-south-1
    "383597477331", // ap-northeast-3
    "600734575887", // ap-northeast-2
    "114774131450", // ap-southeast-1
    "783225319266", // ap-southeast-2
    "582318560864", // ap-northeast-1
    "985666609251", // ca-central-1
    "054676820928", // eu-central-1
    "156460612806", // eu-west-1
    "652711504416", // eu-west-2
    "635631232127", // eu-south-1
    "009996457667", // eu-west-3
    "897822967062", // eu-north-1
    "076674570225", // me-south-1
    "507241528517", // sa-east-1
    "048591011584", // us-gov-west-1
    "190560391635", // us-gov-east-1
    "638102146993", // cn-north-1
    "037604701340", // cn-northwest-1
];

/// `principal` (an account id or an ARN of it) is one of the ELB log writers.
fn is_elb(principal: &str) -> bool {
    principal == ELB_LOG_DELIVERY
        || ELB_ACCOUNTS.iter().any(|account| {
            principal == *account
                || principal
                    .strip_prefix("arn:")
                    .and_then(|rest| rest.split(':').nth(3))
                    .is_some_and(|a| a == *account)
        })
}

/// Which evidence of reliance a bucket's own settings still call for. A refusal only ever holds
/// back a fix the plan would make, so evidence that could only refuse fixes the bucket does
/// not need is not read: on a daily sweep of a compliant account that is most of the reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceNeeded {
    /// Log sources, ACL and replication: they only refuse moving the default encryption to
    /// SSE-KMS, which a bucket already on SSE-KMS or DSSE-KMS has done. Such a bucket keeps its
    /// key (`plan::encryption_key`): its one possible encryption write is the S3 Bucket Key,
    /// with the same key, which changes nothing log delivery or replication depend on.
    pub encryption_reliance: bool,
    /// The website configuration: it refuses all three fixes.
    pub website: bool,
}

impl EvidenceNeeded {
    /// From the settings read first. Anything unsure (a policy that does not parse) reads.
    pub fn for_settings(
        bucket: &str,
        encryption: Option<&DefaultEncryption>,
        policy: Option<&str>,
        public_access_block: Option<&PublicAccessBlock>,
    ) -> EvidenceNeeded {
        let on_kms =
            encryption.is_some_and(|e| [SSE_KMS, DSSE_KMS].contains(&e.algorithm.as_str()));
        let denies_plain_http = policy.is_some_and(|text| {
            matches!(
                bucket_policy::tls_deny(text, bucket),
                Ok(TlsDeny::Everyone | TlsDeny::WithExceptions(_))
            )
        });
        let blocks_public = public_access_block.is_some_and(PublicAccessBlock::is_fully_on);
        EvidenceNeeded {
            encryption_reliance: !on_kms,
            website: !(on_kms && denies_plain_http && blocks_public),
        }
    }

    /// The same, from a gathered bucket's settings.
    pub fn for_bucket(bucket: &Bucket) -> EvidenceNeeded {
        Self::for_settings(
            &bucket.name,
            bucket.encryption.as_ref(),
            bucket.policy.as_deref(),
            bucket.public_access_block.as_ref(),
        )
    }
}

pub fn refusals(bucket: &Bucket) -> Vec<Refusal> {
    let mut out = Vec::new();
    let mut refuse = |rule: &'static str, known: bool, reason: String| {
        if !out
            .iter()
            .any(|r: &Refusal| r.rule == rule && r.reason == reason)
        {
            out.push(Refusal {
                rule,
                reason,
                known,
            });
        }
    };
    let uses = &bucket.uses;

    const SSE_S3_ONLY: &str =
        "and S3 delivers server access logs only to buckets whose default encryption is SSE-S3";
    match &uses.log_sources {
        Ok(sources) if !sources.is_empty() => refuse(
            DEFAULT_ENCRYPTION,
            true,
            format!(
                "it receives the server access logs of {}, {SSE_S3_ONLY}",
                sources.join(", ")
            ),
        ),
        Ok(_) => {}
        Err(err) => refuse(
            DEFAULT_ENCRYPTION,
            false,
            format!(
                "whether other buckets deliver their server access logs to it is unknown (reading their logging configuration failed: {err}), {SSE_S3_ONLY}"
            ),
        ),
    }
    match &uses.acl {
        Ok(grants) => {
            let log_delivery = grants.iter().any(|g| {
                g.grantee == LOG_DELIVERY_GROUP
                    && matches!(g.permission.as_str(), "WRITE" | "FULL_CONTROL")
            });
            if log_delivery {
                refuse(
                    DEFAULT_ENCRYPTION,
                    true,
                    format!(
                        "its ACL lets the S3 Log Delivery group write (a server access log target), {SSE_S3_ONLY}"
                    ),
                );
            }
        }
        Err(err) => refuse(
            DEFAULT_ENCRYPTION,
            false,
            format!(
                "its ACL could not be read ({err}), so whether S3 log delivery writes to it is unknown"
            ),
        ),
    }
    match bucket
        .policy
        .as_deref()
        .map(bucket_policy::allowed_principals)
    {
        None => {}
        Some(Ok(principals)) => {
            for principal in principals {
                if principal == S3_LOG_DELIVERY {
                    refuse(
                        DEFAULT_ENCRYPTION,
                        true,
                        format!(
                            "its policy lets {S3_LOG_DELIVERY} write (a server access log target), {SSE_S3_ONLY}"
                        ),
                    );
                } else if is_elb(&principal) {
                    refuse(
                        DEFAULT_ENCRYPTION,
                        true,
                        format!(
                            "its policy lets Elastic Load Balancing ({principal}) write access logs, which ELB delivers only to buckets whose default encryption is SSE-S3"
                        ),
                    );
                } else if principal == VENDED_LOG_DELIVERY {
                    refuse(
                        DEFAULT_ENCRYPTION,
                        true,
                        format!(
                            "its policy lets {VENDED_LOG_DELIVERY} write (VPC flow logs, NLB and other vended logs), which fail under SSE-KMS unless the key policy lets that service use the key; sagekeeper does not change key policies"
                        ),
                    );
                }
            }
        }
        Some(Err(err)) => refuse(
            DEFAULT_ENCRYPTION,
            false,
            format!(
                "its policy could not be read ({err}), so which services deliver logs to it is unknown"
            ),
        ),
    }
    match &uses.website {
        Ok(Some(site)) => {
            let what = match &site.redirect_all_to {
                Some(host) => format!("it is a static website (redirecting to {host})"),
                None => "it is a static website".to_owned(),
            };
            refuse(
                DENY_INSECURE_TRANSPORT,
                true,
                format!(
                    "{what}: S3 website endpoints answer only plain HTTP, so denying aws:SecureTransport=false would take the site down"
                ),
            );
            refuse(
                PUBLIC_ACCESS_BLOCK,
                true,
                format!(
                    "{what}: the website endpoint serves only what anyone may read, so blocking public access would take the site down"
                ),
            );
            refuse(
                DEFAULT_ENCRYPTION,
                true,
                format!(
                    "{what}: the website endpoint answers anonymous requests, which cannot read objects encrypted with SSE-KMS"
                ),
            );
        }
        Ok(None) => {}
        Err(err) => {
            let reason = format!(
                "its website configuration could not be read ({err}), so whether it serves a static website is unknown"
            );
            for rule in [
                DEFAULT_ENCRYPTION,
                DENY_INSECURE_TRANSPORT,
                PUBLIC_ACCESS_BLOCK,
            ] {
                refuse(rule, false, reason.clone());
            }
        }
    }
    match &uses.replication {
        Ok(rules) => {
            let skipping: Vec<&str> = rules
                .iter()
                .filter(|r| r.enabled && !r.replicates_sse_kms)
                .map(|r| r.id.as_deref().unwrap_or("(no id)"))
                .collect();
            if !skipping.is_empty() {
                refuse(
                    DEFAULT_ENCRYPTION,
                    true,
                    format!(
                        "it is a replication source whose rule(s) {} do not replicate SSE-KMS objects (SseKmsEncryptedObjects is not enabled), so new objects would silently stop replicating",
                        skipping.join(", ")
                    ),
                );
            }
        }
        Err(err) => refuse(
            DEFAULT_ENCRYPTION,
            false,
            format!(
                "its replication configuration could not be read ({err}), so whether SSE-KMS would stop its replication is unknown"
            ),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BucketUses;
    use crate::rules::s3::tests::good_bucket;
    use sagekeeper_core::aws::AwsError;
    use sagekeeper_core::s3::{AclGrant, ReplicationRule, Website};
    use serde_json::json;

    fn with(uses: BucketUses, policy: Option<serde_json::Value>) -> Bucket {
        Bucket {
            uses,
            policy: policy.map(|p| p.to_string()),
            ..good_bucket()
        }
    }

    fn rules(bucket: &Bucket) -> Vec<&'static str> {
        refusals(bucket).iter().map(|r| r.rule).collect()
    }

    fn denied() -> AwsError {
        AwsError {
            operation: "GetBucketWebsite",
            code: "AccessDenied".to_owned(),
            message: "Access Denied".to_owned(),
            retryable: false,
        }
    }

    fn allow(principal: serde_json::Value) -> serde_json::Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::acme-ml-training-data/*"}]})
    }

    #[test]
    fn a_compliant_bucket_needs_no_evidence_and_each_fix_needs_its_own() {
        let none = EvidenceNeeded {
            encryption_reliance: false,
            website: false,
        };
        assert_eq!(EvidenceNeeded::for_bucket(&good_bucket()), none);
        // Every fix that would move the default encryption to SSE-KMS needs all of it.
        let all = EvidenceNeeded {
            encryption_reliance: true,
            website: true,
        };
        let unencrypted = Bucket {
            encryption: None,
            ..good_bucket()
        };
        assert_eq!(EvidenceNeeded::for_bucket(&unencrypted), all);
        let sse_s3 = Bucket {
            encryption: Some(DefaultEncryption {
                algorithm: "AES256".to_owned(),
                kms_key_id: None,
                bucket_key_enabled: false,
            }),
            ..good_bucket()
        };
        assert_eq!(EvidenceNeeded::for_bucket(&sse_s3), all);
        // Already on SSE-KMS (here the AWS managed key, which is kept): nothing its log
        // delivery, ACL or replication show can be broken by a fix.
        let aws_managed = Bucket {
            encryption: Some(DefaultEncryption {
                algorithm: SSE_KMS.to_owned(),
                kms_key_id: None,
                bucket_key_enabled: true,
            }),
            ..good_bucket()
        };
        assert_eq!(EvidenceNeeded::for_bucket(&aws_managed), none);
        // The owner's exception to the TLS deny is kept, not a fix.
        let mut excepted = bucket_policy::tls_only_statement("acme-ml-training-data");
        excepted["Condition"]["ArnNotEquals"] =
            json!({"aws:PrincipalArn": "arn:aws:iam::123456789012:role/LegacyUploader"});
        let policy = json!({"Version": "2012-10-17", "Statement": [excepted]}).to_string();
        assert!(matches!(
            bucket_policy::tls_deny(&policy, "acme-ml-training-data"),
            Ok(TlsDeny::WithExceptions(_))
        ));
        let with_exception = Bucket {
            policy: Some(policy),
            ..good_bucket()
        };
        assert_eq!(EvidenceNeeded::for_bucket(&with_exception), none);
        // A policy or public access fix still needs the website.
        let website_only = EvidenceNeeded {
            encryption_reliance: false,
            website: true,
        };
        for bucket in [
            Bucket {
                policy: None,
                ..good_bucket()
            },
            Bucket {
                policy: Some(allow(json!({"AWS": "arn:aws:iam::123456789012:root"})).to_string()),
                ..good_bucket()
            },
            Bucket {
                policy: Some("{not json".to_owned()),
                ..good_bucket()
            },
            Bucket {
                public_access_block: None,
                ..good_bucket()
            },
            Bucket {
                public_access_block: Some(PublicAccessBlock {
                    block_public_acls: false,
                    ..PublicAccessBlock::ALL_ON
                }),
                ..good_bucket()
            },
        ] {
            assert_eq!(
                EvidenceNeeded::for_bucket(&bucket),
                website_only,
                "{bucket:?}"
            );
        }
    }

    #[test]
    fn a_bucket_nothing_relies_on_refuses_nothing() {
        assert_eq!(refusals(&good_bucket()), []);
        let reads = allow(json!({"AWS": "arn:aws:iam::123456789012:role/SageMakerExecutionRole"}));
        assert_eq!(refusals(&with(BucketUses::default(), Some(reads))), []);
        let replicating = BucketUses {
            replication: Ok(vec![ReplicationRule {
                id: Some("kms-aware".to_owned()),
                enabled: true,
                replicates_sse_kms: true,
                replica_kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/r".to_owned()),
            }]),
            ..BucketUses::default()
        };
        assert_eq!(refusals(&with(replicating, None)), []);
    }

    #[test]
    fn log_targets_refuse_sse_kms_only() {
        let targeted = BucketUses {
            log_sources: Ok(vec!["acme-ml-app".to_owned()]),
            ..BucketUses::default()
        };
        assert_eq!(rules(&with(targeted, None)), [DEFAULT_ENCRYPTION]);
        let acl = BucketUses {
            acl: Ok(vec![AclGrant {
                grantee: LOG_DELIVERY_GROUP.to_owned(),
                permission: "WRITE".to_owned(),
            }]),
            ..BucketUses::default()
        };
        assert_eq!(rules(&with(acl, None)), [DEFAULT_ENCRYPTION]);
        for principal in [
            json!({"Service": "logging.s3.amazonaws.com"}),
            json!({"Service": ["delivery.logs.amazonaws.com"]}),
            json!({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
            json!({"AWS": "arn:aws:iam::127311923021:root"}),
            json!({"AWS": "156460612806"}),
        ] {
            let bucket = with(BucketUses::default(), Some(allow(principal.clone())));
            assert_eq!(rules(&bucket), [DEFAULT_ENCRYPTION], "{principal}");
        }
    }

    #[test]
    fn websites_refuse_everything_and_replication_sources_sse_kms() {
        let site = BucketUses {
            website: Ok(Some(Website {
                redirect_all_to: None,
            })),
            ..BucketUses::default()
        };
        let refused = refusals(&with(site, None));
        assert_eq!(refused.len(), 3);
        let tls = refused
            .iter()
            .find(|r| r.rule == DENY_INSECURE_TRANSPORT)
            .unwrap();
        assert!(tls.reason.contains("only plain HTTP"), "{}", tls.reason);
        let replicating = BucketUses {
            replication: Ok(vec![ReplicationRule {
                id: Some("to-dr".to_owned()),
                enabled: true,
                replicates_sse_kms: false,
                replica_kms_key_id: None,
            }]),
            ..BucketUses::default()
        };
        let refused = refusals(&with(replicating, None));
        assert_eq!(refused.len(), 1);
        assert!(refused[0].reason.contains("to-dr"), "{}", refused[0].reason);
    }

    #[test]
    fn evidence_that_could_not_be_read_refuses_what_it_could_rule_out() {
        let unread = BucketUses {
            website: Err(denied()),
            ..BucketUses::default()
        };
        let refused = refusals(&with(unread, None));
        assert_eq!(refused.len(), 3);
        assert!(
            refused
                .iter()
                .all(|r| !r.known && r.reason.contains("AccessDenied"))
        );
        let unread = BucketUses {
            log_sources: Err(denied()),
            ..BucketUses::default()
        };
        assert_eq!(rules(&with(unread, None)), [DEFAULT_ENCRYPTION]);
        let garbled = Bucket {
            policy: Some("{not json".to_owned()),
            ..good_bucket()
        };
        assert_eq!(rules(&garbled), [DEFAULT_ENCRYPTION]);
    }
}
