//! Small JSON documents in the state bucket (snapshots, records), written with SSE-KMS and
//! read back before anyone relies on them.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::{AwsError, AwsResultExt};
use crate::report::ReportableError;
use crate::s3_objects;

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
}

impl ReportableError for StateError {
    fn kind(&self) -> &'static str {
        "state"
    }
    fn retryable(&self) -> bool {
        matches!(self, StateError::Aws(e) if e.retryable)
    }
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
        let body = serde_json::to_vec_pretty(value).map_err(|source| self.corrupt(key, source))?;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .set_ssekms_key_id(self.kms_key_id.clone())
            .body(ByteStream::from(body))
            .send()
            .await
            .aws("PutObject")?;
        Ok(())
    }

    /// `None` when there is no such object.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        let found = s3_objects::get_object(&self.s3, &self.bucket, &self.full(key)).await?;
        let Some(object) = found else {
            return Ok(None);
        };
        let bytes = s3_objects::read_body(object).await?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| self.corrupt(key, source))
    }

    /// Writes, reads back and compares: nothing may rely on a document that is not there.
    pub async fn put_verified<T>(&self, key: &str, value: &T) -> Result<(), StateError>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        self.put_json(key, value).await?;
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

    fn corrupt(&self, key: &str, source: serde_json::Error) -> StateError {
        StateError::Corrupt {
            bucket: self.bucket.clone(),
            key: self.full(key),
            source,
        }
    }
}
