//! What the rules evaluate: plain descriptions of resources, as `gather` found them. Nothing
//! here talks to AWS, so rules and the planner are tested with hand-built values.

use std::collections::{BTreeMap, BTreeSet};

use sagekeeper_core::aws::AwsError;
use sagekeeper_core::kms::KeyInfo;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::s3::{
    AclGrant, DefaultEncryption, PublicAccessBlock, ReplicationRule, Website,
};
use sagekeeper_core::sagemaker::{notebooks, studio};

pub use sagekeeper_core::sagemaker::endpoint_configs::EndpointConfig;
pub use sagekeeper_core::sagemaker::jobs::{Job, JobKind};

/// Anything rules evaluate: exemptions are read from its ARN and tags.
pub trait Evaluable {
    fn arn(&self) -> &str;
    fn tags(&self) -> &Tags;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub arn: String,
    /// `None`: no default encryption configuration, so S3 applies SSE-S3.
    pub encryption: Option<DefaultEncryption>,
    /// The policy document as stored.
    pub policy: Option<String>,
    pub public_access_block: Option<PublicAccessBlock>,
    pub tags: Tags,
    /// What relies on the bucket as it is, read from S3: it decides which remediations are safe.
    pub uses: BucketUses,
}

/// A piece of evidence, or the error that kept it from being read.
pub type Evidence<T> = Result<T, AwsError>;

/// The bucket-side evidence of what depends on a bucket's encryption, policy and public access.
/// Evidence that could only refuse a fix the bucket does not need is not read, and stays as
/// the default says (`reliance::EvidenceNeeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUses {
    /// The buckets (of this account and region) whose server access logs go to this one.
    pub log_sources: Evidence<Vec<String>>,
    pub website: Evidence<Option<Website>>,
    pub replication: Evidence<Vec<ReplicationRule>>,
    pub acl: Evidence<Vec<AclGrant>>,
}

impl Default for BucketUses {
    /// Nothing relies on the bucket.
    fn default() -> Self {
        BucketUses {
            log_sources: Ok(Vec::new()),
            website: Ok(None),
            replication: Ok(Vec::new()),
            acl: Ok(Vec::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notebook {
    pub notebook: notebooks::Notebook,
    pub tags: Tags,
}

/// A Studio domain, with its user profiles (whose settings override the domain's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub domain: studio::Domain,
    /// The profiles, or the error that kept them from being read: the rules about the domain's
    /// own settings still apply, and the report has the error.
    pub profiles: Evidence<Vec<studio::UserProfile>>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub info: KeyInfo,
    /// `None` when KMS cannot rotate the key, so its status was not read.
    pub rotation_enabled: Option<bool>,
    pub tags: Tags,
}

impl Evaluable for Bucket {
    fn arn(&self) -> &str {
        &self.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Evaluable for Job {
    fn arn(&self) -> &str {
        &self.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Evaluable for EndpointConfig {
    fn arn(&self) -> &str {
        &self.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Evaluable for Notebook {
    fn arn(&self) -> &str {
        &self.notebook.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Evaluable for Domain {
    fn arn(&self) -> &str {
        &self.domain.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

impl Evaluable for Key {
    fn arn(&self) -> &str {
        &self.info.arn
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

/// The keys resources refer to. A reference is whatever the resource says: key id, key ARN,
/// alias name or alias ARN; several references can name one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyIndex {
    arn_by_reference: BTreeMap<String, String>,
    keys: BTreeMap<String, Key>,
}

impl KeyIndex {
    pub fn insert(&mut self, reference: &str, key: Key) {
        self.arn_by_reference
            .insert(reference.to_owned(), key.info.arn.clone());
        self.arn_by_reference
            .insert(key.info.arn.clone(), key.info.arn.clone());
        self.keys.insert(key.info.arn.clone(), key);
    }

    pub fn absorb(&mut self, other: KeyIndex) {
        self.arn_by_reference.extend(other.arn_by_reference);
        self.keys.extend(other.keys);
    }

    pub fn get(&self, reference: &str) -> Option<&Key> {
        self.arn_by_reference
            .get(reference)
            .and_then(|arn| self.keys.get(arn))
    }

    /// Each key once, however many references name it.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.values()
    }
}

/// Everything one run evaluates, as `gather` found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    pub buckets: Vec<Bucket>,
    pub jobs: Vec<Job>,
    pub endpoint_configs: Vec<EndpointConfig>,
    pub notebooks: Vec<Notebook>,
    pub domains: Vec<Domain>,
    pub keys: KeyIndex,
}

impl Gathered {
    /// Takes in what another part of the sweep found, after what this one holds.
    pub fn absorb(&mut self, part: Gathered) {
        self.buckets.extend(part.buckets);
        self.jobs.extend(part.jobs);
        self.endpoint_configs.extend(part.endpoint_configs);
        self.notebooks.extend(part.notebooks);
        self.domains.extend(part.domains);
        self.keys.absorb(part.keys);
    }

    /// Every key the gathered resources name, for `gather` to describe.
    pub fn key_references(&self) -> BTreeSet<String> {
        let buckets = self
            .buckets
            .iter()
            .filter_map(|b| b.encryption.as_ref()?.kms_key_id.clone());
        let jobs = self.jobs.iter().flat_map(|j| {
            [j.volume_kms_key_id.clone(), j.output_kms_key_id.clone()]
                .into_iter()
                .flatten()
        });
        let configs = self.endpoint_configs.iter().flat_map(|c| {
            [c.kms_key_id.clone(), c.data_capture_kms_key_id.clone()]
                .into_iter()
                .flatten()
        });
        let notebooks = self
            .notebooks
            .iter()
            .filter_map(|n| n.notebook.kms_key_id.clone());
        let domains = self
            .domains
            .iter()
            .filter_map(|d| d.domain.kms_key_id.clone());
        buckets
            .chain(jobs)
            .chain(configs)
            .chain(notebooks)
            .chain(domains)
            .collect()
    }
}

/// A tag condition from configuration: `Key` (any value) or `Key=Value1|Value2`. Values match
/// without regard to case, so `confidential` counts as `Confidential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMatch {
    pub key: String,
    pub values: Vec<String>,
}

impl TagMatch {
    /// `None` when `raw` has no key.
    pub fn parse(raw: &str) -> Option<TagMatch> {
        let (key, values) = match raw.split_once('=') {
            Some((key, values)) => (
                key.trim(),
                values
                    .split('|')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            None => (raw.trim(), Vec::new()),
        };
        (!key.is_empty()).then(|| TagMatch {
            key: key.to_owned(),
            values,
        })
    }

    pub fn matches(&self, tags: &Tags) -> bool {
        tags.get(&self.key).is_some_and(|value| {
            self.values.is_empty() || self.values.iter().any(|v| v.eq_ignore_ascii_case(value))
        })
    }
}

impl std::fmt::Display for TagMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.values.is_empty() {
            f.write_str(&self.key)
        } else {
            write!(f, "{}={}", self.key, self.values.join("|"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_match_by_key_or_values() {
        let sensitive = TagMatch::parse("DataClassification=Confidential|Restricted").unwrap();
        let tags = |v: &str| Tags::from([("DataClassification".to_owned(), v.to_owned())]);
        assert!(sensitive.matches(&tags("Restricted")));
        assert!(sensitive.matches(&tags("confidential")));
        assert!(!sensitive.matches(&tags("Public")));
        assert!(!sensitive.matches(&Tags::new()));
        let any = TagMatch::parse("DataClassification").unwrap();
        assert!(any.matches(&tags("Public")));
        assert_eq!(
            sensitive.to_string(),
            "DataClassification=Confidential|Restricted"
        );
        assert_eq!(TagMatch::parse(" =x"), None);
    }

    #[test]
    fn key_index_finds_a_key_by_any_of_its_references() {
        let key = Key {
            info: sagekeeper_core::kms::KeyInfo {
                arn: "arn:aws:kms:us-east-1:123456789012:key/k1".to_owned(),
                key_id: "k1".to_owned(),
                manager: sagekeeper_core::kms::KeyManager::Customer,
                spec: "SYMMETRIC_DEFAULT".to_owned(),
                state: "Enabled".to_owned(),
                origin: "AWS_KMS".to_owned(),
                multi_region_replica: false,
            },
            rotation_enabled: Some(true),
            tags: Tags::new(),
        };
        let mut index = KeyIndex::default();
        index.insert("alias/ml", key.clone());
        index.insert("k1", key);
        assert!(index.get("alias/ml").is_some());
        assert!(
            index
                .get("arn:aws:kms:us-east-1:123456789012:key/k1")
                .is_some()
        );
        assert!(index.get("alias/other").is_none());
        assert_eq!(index.keys().count(), 1);
    }
}
