//! Reading small JSON documents that other services write anywhere in S3 (a Model Monitor
//! report, for one), addressed by `s3://` URI. `state.rs` is the other way round: it owns one
//! bucket and writes what it reads.

use std::fmt;

use aws_sdk_s3::Client;
use serde::de::DeserializeOwned;

use crate::aws::{AwsError, AwsResultExt};
use crate::run::report::ReportableError;

/// `s3://bucket/key`, split. The key may be empty (the bucket's root) or end with `/` (a prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an S3 URI like s3://bucket/key")]
pub struct NotAnS3Uri(pub String);

impl S3Uri {
    pub fn parse(raw: &str) -> Result<S3Uri, NotAnS3Uri> {
        let rest = raw
            .strip_prefix("s3://")
            .ok_or_else(|| NotAnS3Uri(raw.to_owned()))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_bucket {
            return Err(NotAnS3Uri(raw.to_owned()));
        }
        Ok(S3Uri {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The object `name` under this URI taken as a prefix: `s3://b/out` + `x.json` is
    /// `s3://b/out/x.json`, whether or not the prefix ends with a slash.
    pub fn join(&self, name: &str) -> S3Uri {
        let prefix = self.key.trim_end_matches('/');
        let name = name.trim_start_matches('/');
        S3Uri {
            bucket: self.bucket.clone(),
            key: if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            },
        }
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{uri} is {size} bytes, more than the {limit} this reads")]
    TooLarge {
        uri: String,
        size: i64,
        limit: usize,
    },
    #[error("{uri} is not the JSON document expected: {source}")]
    NotJson {
        uri: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ReportableError for ObjectError {
    fn kind(&self) -> &'static str {
        match self {
            ObjectError::Aws(_) => "aws",
            ObjectError::TooLarge { .. } | ObjectError::NotJson { .. } => "object",
        }
    }
    fn retryable(&self) -> bool {
        matches!(self, ObjectError::Aws(e) if e.retryable)
    }
}

/// The object at `uri` parsed as `T`; `None` when there is no such object. Objects larger than
/// `limit` bytes are refused before their body is read, so a stray large file cannot exhaust a
/// small Lambda's memory.
pub async fn get_json<T: DeserializeOwned>(
    client: &Client,
    uri: &S3Uri,
    limit: usize,
) -> Result<Option<T>, ObjectError> {
    let Some(object) = get_object(client, &uri.bucket, &uri.key).await? else {
        return Ok(None);
    };
    if let Some(size) = object.content_length().filter(|s| *s > limit as i64) {
        return Err(ObjectError::TooLarge {
            uri: uri.to_string(),
            size,
            limit,
        });
    }
    let bytes = read_body(object).await?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| ObjectError::NotJson {
            uri: uri.to_string(),
            source,
        })
}

/// GetObject; `None` when there is no such object.
pub async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, AwsError> {
    let result = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .aws("GetObject");
    match result {
        Ok(object) => Ok(Some(object)),
        Err(err) if err.is_code("NoSuchKey") => Ok(None),
        Err(err) => Err(err),
    }
}

/// How long reading a body may take once its first byte came: the SDK's timeouts end there.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The whole body of a GetObject answer; a connection lost or stalled while reading is
/// retryable.
pub async fn read_body(
    object: aws_sdk_s3::operation::get_object::GetObjectOutput,
) -> Result<Vec<u8>, AwsError> {
    let failed = |message: String| AwsError {
        operation: "GetObject",
        code: "ReadBody".to_owned(),
        message,
        retryable: true,
    };
    let bytes = tokio::time::timeout(BODY_TIMEOUT, object.body.collect())
        .await
        .map_err(|_| failed(format!("no complete body within {BODY_TIMEOUT:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    Ok(bytes.into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[test]
    fn parses_and_joins_uris() {
        let uri = S3Uri::parse("s3://reports-bucket/monitoring/fraud/2026/11/20/17").unwrap();
        assert_eq!(uri.bucket, "reports-bucket");
        assert_eq!(
            uri.join("constraint_violations.json").to_string(),
            "s3://reports-bucket/monitoring/fraud/2026/11/20/17/constraint_violations.json"
        );
        assert_eq!(
            S3Uri::parse("s3://reports-bucket/out/")
                .unwrap()
                .join("/x.json")
                .key,
            "out/x.json"
        );
        assert_eq!(
            S3Uri::parse("s3://reports-bucket").unwrap().join("x").key,
            "x"
        );
        for bad in [
            "https://b/k",
            "s3://",
            "s3://Bad_Bucket/k",
            "reports-bucket/k",
        ] {
            assert!(S3Uri::parse(bad).is_err(), "{bad}");
        }
    }

    // Mocks only to reach the error paths without a bucket; reading real objects is covered
    // against the emulator in tests/retrainer.rs.
    #[tokio::test]
    async fn missing_objects_are_none_and_bad_json_is_an_error() {
        let missing = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("missing.json"))
            .then_error(|| {
                GetObjectError::NoSuchKey(
                    NoSuchKey::builder()
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("NoSuchKey")
                                .build(),
                        )
                        .build(),
                )
            });
        let garbage = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("garbage.json"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .body(ByteStream::from_static(b"<html>"))
                    .build()
            });
        let large = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("large.json"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .content_length(10_000)
                    .body(ByteStream::from_static(b"{}"))
                    .build()
            });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&missing, &garbage, &large]);
        let uri = |key: &str| S3Uri::parse(&format!("s3://reports-bucket/{key}")).unwrap();

        let none: Option<serde_json::Value> =
            get_json(&client, &uri("missing.json"), 1024).await.unwrap();
        assert_eq!(none, None);
        let err = get_json::<serde_json::Value>(&client, &uri("garbage.json"), 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, ObjectError::NotJson { .. }), "{err}");
        let err = get_json::<serde_json::Value>(&client, &uri("large.json"), 1024)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("10000 bytes"), "{err}");
    }
}
