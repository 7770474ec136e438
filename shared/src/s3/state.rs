//! Small JSON documents in the state bucket (snapshots, records), written with SSE-KMS and
//! verified before anyone relies on them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use aws_smithy_types::base64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::aws::{AwsError, AwsResultExt};
use crate::run::report::ReportableError;
use crate::s3::objects;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state bucket: {0}")]
    Aws(#[from] AwsError),
    #[error("s3://{bucket}/{key} is not a valid document: {source}")]
    Corrupt {
        bucket: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("s3://{bucket}/{key} read back differs from what was written")]
    VerifyFailed { bucket: String, key: String },
    /// A defect, not a state problem: the document would not read back as itself.
    #[error("{key} would not read back as what is written; nothing was written")]
    NotRoundTrip { key: String },
    /// A conditional write lost: someone else created or replaced the document since it was
    /// read. Read again and decide again; never overwrite.
    #[error("s3://{bucket}/{key} changed since it was read (a concurrent run wrote it)")]
    Conflict { bucket: String, key: String },
}

impl ReportableError for StateError {
    fn kind(&self) -> &'static str {
        "state"
    }
    fn retryable(&self) -> bool {
        match self {
            StateError::Aws(e) => e.retryable,
            StateError::Conflict { .. } => true,
            _ => false,
        }
    }
}

/// A write S3 accepted: the new version, and whether S3 confirmed the checksum it checked.
struct Written {
    etag: String,
    confirmed: bool,
}

fn sha256_base64(body: &[u8]) -> String {
    base64::encode(Sha256::digest(body))
}

/// A document together with the version (ETag) it was read at, so that it can be replaced
/// only if nobody changed it since.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub etag: String,
}

/// The condition a write must meet (S3 conditional writes): it fails with
/// `StateError::Conflict` instead of overwriting what another run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Create only: `If-None-Match: *`.
    Absent,
    /// Replace only the version that was read: `If-Match: <etag>`.
    Version(String),
}

/// S3 answers a lost condition with 412 PreconditionFailed, and a race between two
/// conditional writes in flight with 409 ConditionalRequestConflict.
fn is_conflict(err: &AwsError) -> bool {
    err.is_code("PreconditionFailed") || err.is_code("ConditionalRequestConflict")
}

#[derive(Debug, Clone)]
pub struct StateStore {
    s3: Client,
    bucket: String,
    kms_key_id: Option<String>,
    /// Prepended to every key, so targets sharing the bucket never see each other's documents.
    namespace: String,
    /// Set once a verified document was read back: reading needs `kms:Decrypt` (writing only
    /// `kms:GenerateDataKey`), which a checksum cannot show.
    read_back_once: Arc<AtomicBool>,
}

impl StateStore {
    /// Objects are encrypted with `kms_key_id` when given, else with the bucket's default key.
    pub fn new(s3: Client, bucket: impl Into<String>, kms_key_id: Option<String>) -> Self {
        StateStore {
            s3,
            bucket: bucket.into(),
            kms_key_id,
            namespace: String::new(),
            read_back_once: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same store with every key under `namespace` (e.g. `targets/<account>/<region>/`);
    /// callers keep using keys relative to it.
    pub fn within(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_owned();
        self
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }

    /// Where a document lives, for people: `s3://bucket/<namespace><key>`.
    pub fn location(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full(key))
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StateError> {
        self.put(key, value, None).await.map(|_| ())
    }

    /// Writes only if `expect` holds; returns the new version.
    pub async fn put_json_if<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        expect: &Expect,
    ) -> Result<String, StateError> {
        self.put(key, value, Some(expect)).await
    }

    async fn put<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        expect: Option<&Expect>,
    ) -> Result<String, StateError> {
        self.put_bytes(key, &self.body_of(key, value)?, expect)
            .await
            .map(|written| written.etag)
    }

    fn body_of<T: Serialize>(&self, key: &str, value: &T) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec_pretty(value).map_err(|source| self.corrupt(key, source))
    }

    /// Sends the body with its SHA-256, which S3 checks against what it received before it
    /// stores anything (a mismatch is refused with `BadDigest`).
    async fn put_bytes(
        &self,
        key: &str,
        body: &[u8],
        expect: Option<&Expect>,
    ) -> Result<Written, StateError> {
        let (if_none_match, if_match) = match expect {
            None => (None, None),
            Some(Expect::Absent) => (Some("*".to_owned()), None),
            Some(Expect::Version(etag)) => (None, Some(etag.clone())),
        };
        let sha256 = sha256_base64(body);
        let written = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .set_ssekms_key_id(self.kms_key_id.clone())
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&sha256)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .aws("PutObject");
        match written {
            Ok(out) => Ok(Written {
                etag: out.e_tag.unwrap_or_default(),
                confirmed: out.checksum_sha256.as_deref() == Some(sha256.as_str()),
            }),
            Err(err) if is_conflict(&err) => Err(self.conflict(key)),
            // If-Match on a document deleted since it was read.
            Err(err) if matches!(expect, Some(Expect::Version(_))) && err.is_code("NoSuchKey") => {
                Err(self.conflict(key))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The document and the version it was read at; `None` when there is no such object.
    pub async fn get_versioned<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StateError> {
        let found = objects::get_object(&self.s3, &self.bucket, &self.full(key)).await?;
        let Some(object) = found else {
            return Ok(None);
        };
        let etag = object.e_tag.clone().unwrap_or_default();
        let bytes = objects::read_body(object).await?;
        let value = serde_json::from_slice(&bytes).map_err(|source| self.corrupt(key, source))?;
        Ok(Some(Versioned { value, etag }))
    }

    /// `None` when there is no such object.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        Ok(self.get_versioned(key).await?.map(|v| v.value))
    }

    /// Writes and makes sure the document is there before anything relies on it: stored
    /// byte for byte (S3 refuses a body that does not match the SHA-256 sent with it, and
    /// echoes it on success) and readable as `T`. The first document a store writes is also
    /// read back, which shows its key lets this role decrypt what it wrote; so is any whose
    /// answer does not echo the checksum (an S3-compatible store).
    pub async fn put_verified<T>(&self, key: &str, value: &T) -> Result<(), StateError>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        self.write_verified(key, value, None).await
    }

    /// `put_verified` under a condition: a concurrent writer makes it `StateError::Conflict`
    /// instead of being overwritten.
    pub async fn put_verified_if<T>(
        &self,
        key: &str,
        value: &T,
        expect: &Expect,
    ) -> Result<(), StateError>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        self.write_verified(key, value, Some(expect)).await
    }

    async fn write_verified<T>(
        &self,
        key: &str,
        value: &T,
        expect: Option<&Expect>,
    ) -> Result<(), StateError>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        let body = self.body_of(key, value)?;
        // What a later read will parse: the same bytes, so parse them now.
        let readable = serde_json::from_slice::<T>(&body).is_ok_and(|read| &read == value);
        if !readable {
            return Err(StateError::NotRoundTrip {
                key: self.full(key),
            });
        }
        let confirmed = self.put_bytes(key, &body, expect).await?.confirmed;
        if confirmed && self.read_back_once.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.get_json::<T>(key).await? {
            Some(read) if &read == value => {
                self.read_back_once.store(true, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(self.verify_failed(key)),
        }
    }

    fn verify_failed(&self, key: &str) -> StateError {
        StateError::VerifyFailed {
            bucket: self.bucket.clone(),
            key: self.full(key),
        }
    }

    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full(prefix))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListObjectsV2")?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key)
                    .filter_map(|k| k.strip_prefix(&self.namespace).map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Copies `key` to `archive_key`, then deletes `key`. Re-running after a crash between
    /// the two steps copies again (same content) and deletes.
    pub async fn archive(&self, key: &str, archive_key: &str) -> Result<(), StateError> {
        self.s3
            .copy_object()
            .bucket(&self.bucket)
            .key(self.full(archive_key))
            .copy_source(format!("{}/{}", self.bucket, self.full(key)))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .set_ssekms_key_id(self.kms_key_id.clone())
            .send()
            .await
            .aws("CopyObject")?;
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .aws("DeleteObject")?;
        Ok(())
    }

    fn conflict(&self, key: &str) -> StateError {
        StateError::Conflict {
            bucket: self.bucket.clone(),
            key: self.full(key),
        }
    }

    fn corrupt(&self, key: &str, source: serde_json::Error) -> StateError {
        StateError::Corrupt {
            bucket: self.bucket.clone(),
            key: self.full(key),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        endpoint: String,
        instances: u32,
    }

    fn doc() -> Doc {
        Doc {
            endpoint: "churn".to_owned(),
            instances: 2,
        }
    }

    fn body_of(doc: &Doc) -> Vec<u8> {
        serde_json::to_vec_pretty(doc).unwrap()
    }

    /// A PutObject that answers with `echoed` as its ChecksumSHA256, and records what it was
    /// sent.
    fn put_answering(echoed: Option<String>) -> Rule {
        let expected = sha256_base64(&body_of(&doc()));
        mock!(Client::put_object)
            .match_requests(move |req| {
                req.checksum_sha256() == Some(expected.as_str())
                    && req.checksum_algorithm() == Some(&ChecksumAlgorithm::Sha256)
            })
            .then_output(move || {
                PutObjectOutput::builder()
                    .e_tag("\"v2\"")
                    .set_checksum_sha256(echoed.clone())
                    .build()
            })
    }

    fn get_returning(stored: Doc) -> Rule {
        mock!(Client::get_object).then_output(move || {
            GetObjectOutput::builder()
                .e_tag("\"v2\"")
                .body(ByteStream::from(body_of(&stored)))
                .build()
        })
    }

    async fn write_with(store: &StateStore) -> Result<(), StateError> {
        store
            .put_verified_if("snapshots/endpoints/churn.json", &doc(), &Expect::Absent)
            .await
    }

    async fn write(put: &Rule, get: &Rule) -> Result<(), StateError> {
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [put, get]);
        write_with(&StateStore::new(client, "state", None)).await
    }

    #[tokio::test]
    async fn a_confirmed_checksum_verifies_every_write_after_the_first_without_reading_it_back() {
        let put = put_answering(Some(sha256_base64(&body_of(&doc()))));
        let get = get_returning(doc());
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get]);
        let store = StateStore::new(client, "state", None);
        for _ in 0..3 {
            write_with(&store).await.unwrap();
        }
        assert_eq!(put.num_calls(), 3, "each put carries the body's SHA-256");
        assert_eq!(get.num_calls(), 1, "only the first write is read back");
    }

    #[tokio::test]
    async fn a_first_write_that_cannot_be_read_back_fails_though_its_checksum_was_confirmed() {
        // As with a key that lets the role encrypt but not decrypt: the read fails.
        let put = put_answering(Some(sha256_base64(&body_of(&doc()))));
        let get = mock!(Client::get_object).then_error(|| {
            aws_sdk_s3::operation::get_object::GetObjectError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("kms:Decrypt denied")
                    .build(),
            )
        });
        let result = write(&put, &get).await;
        assert!(matches!(result, Err(StateError::Aws(_))), "{result:?}");
        assert_eq!(get.num_calls(), 1);
    }

    /// Writes twice through one store whose PutObject echoes `echoed`; how many reads back.
    async fn reads_back_of_two_writes(echoed: Option<String>) -> usize {
        let put = put_answering(echoed);
        let get = get_returning(doc());
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get]);
        let store = StateStore::new(client, "state", None);
        write_with(&store).await.unwrap();
        write_with(&store).await.unwrap();
        get.num_calls()
    }

    #[tokio::test]
    async fn without_the_checksum_echoed_every_write_is_read_back() {
        assert_eq!(reads_back_of_two_writes(None).await, 2);
        let other = Some(sha256_base64(b"something else"));
        assert_eq!(reads_back_of_two_writes(other).await, 2);
        // The control: the same two writes with the checksum echoed.
        let ours = Some(sha256_base64(&body_of(&doc())));
        assert_eq!(reads_back_of_two_writes(ours).await, 1);
    }

    #[tokio::test]
    async fn a_document_read_back_different_fails_the_write() {
        let put = put_answering(None);
        let get = get_returning(Doc {
            instances: 0,
            ..doc()
        });
        let result = write(&put, &get).await;
        assert!(
            matches!(result, Err(StateError::VerifyFailed { .. })),
            "{result:?}"
        );
    }
}
