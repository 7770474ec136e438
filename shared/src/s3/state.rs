//! Small JSON documents in the state bucket (snapshots, records), written with SSE-KMS and
//! read back before anyone relies on them.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
}

impl StateStore {
    /// Objects are encrypted with `kms_key_id` when given, else with the bucket's default key.
    pub fn new(s3: Client, bucket: impl Into<String>, kms_key_id: Option<String>) -> Self {
        StateStore {
            s3,
            bucket: bucket.into(),
            kms_key_id,
            namespace: String::new(),
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
        let body = serde_json::to_vec_pretty(value).map_err(|source| self.corrupt(key, source))?;
        let (if_none_match, if_match) = match expect {
            None => (None, None),
            Some(Expect::Absent) => (Some("*".to_owned()), None),
            Some(Expect::Version(etag)) => (None, Some(etag.clone())),
        };
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
            .body(ByteStream::from(body))
            .send()
            .await
            .aws("PutObject");
        match written {
            Ok(out) => Ok(out.e_tag.unwrap_or_default()),
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

    /// Writes, reads back and compares: nothing may rely on a document that is not there.
    pub async fn put_verified<T>(&self, key: &str, value: &T) -> Result<(), StateError>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        self.put_json(key, value).await?;
        self.verify(key, value).await
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
        self.put_json_if(key, value, expect).await?;
        self.verify(key, value).await
    }

    async fn verify<T>(&self, key: &str, value: &T) -> Result<(), StateError>
    where
        T: DeserializeOwned + PartialEq,
    {
        match self.get_json::<T>(key).await? {
            Some(read) if &read == value => Ok(()),
            _ => Err(StateError::VerifyFailed {
                bucket: self.bucket.clone(),
                key: self.full(key),
            }),
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
