//! Mutual exclusion between runs that may overlap (at-least-once delivery, a slow run meeting
//! the next schedule, two alarms at once): a lease document in the state bucket, taken with an
//! S3 conditional write and given up by expiring it, so a run that crashes while holding it
//! blocks others only until the expiry.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::s3::state::{Expect, StateError, StateStore, Versioned};

pub const LEASE_PREFIX: &str = "leases/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Who holds it (a function name and its request id), for people reading the bucket.
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A lease this run holds; give it back with `release` when done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    key: String,
    etag: String,
    record: LeaseRecord,
}

/// What trying to take a lease came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Held(Lease),
    /// Another run holds it until `until`.
    Busy {
        holder: String,
        until: DateTime<Utc>,
    },
}

impl Lease {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        self.record.expires_at
    }
}

fn key_for(name: &str) -> String {
    format!("{LEASE_PREFIX}{name}.json")
}

/// Takes the lease `name` for `ttl` unless a live one is held by another run. Exactly one of
/// several runs trying at the same moment gets it: the create is `If-None-Match: *`, the
/// takeover of an expired lease `If-Match` the version that was seen expired.
pub async fn acquire(
    store: &StateStore,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Acquired, StateError> {
    let key = key_for(name);
    let record = LeaseRecord {
        holder: holder.to_owned(),
        acquired_at: now,
        expires_at: now + ttl,
    };
    let expect = match store.get_versioned::<LeaseRecord>(&key).await? {
        None => Expect::Absent,
        Some(Versioned { value, .. }) if value.expires_at > now => {
            return Ok(Acquired::Busy {
                holder: value.holder,
                until: value.expires_at,
            });
        }
        Some(Versioned { etag, .. }) => Expect::Version(etag),
    };
    let written = store.put_json_if(&key, &record, &expect).await;
    let err = match written {
        Ok(etag) => return Ok(Acquired::Held(Lease { key, etag, record })),
        Err(err) => err,
    };
    // A conflict: someone else took it between our read and our write, or our own write
    // landed and the SDK's retry of it met it. Any other failure: the write may still have
    // landed with its answer lost (and every retry failed). Either way, whoever's record is
    // there now holds the lease; a lease of ours taken for a failed run would otherwise
    // block every run until it expires.
    let conflict = matches!(err, StateError::Conflict { .. });
    let current = match store.get_versioned::<LeaseRecord>(&key).await {
        Ok(current) => current,
        Err(read) => return Err(if conflict { read } else { err }),
    };
    match current {
        Some(Versioned { value, etag }) if value == record => {
            Ok(Acquired::Held(Lease { key, etag, record }))
        }
        current if conflict => Ok(Acquired::Busy {
            holder: current
                .as_ref()
                .map_or_else(|| "another run".to_owned(), |v| v.value.holder.clone()),
            until: current.map_or(now + ttl, |v| v.value.expires_at),
        }),
        _ => Err(err),
    }
}

/// Gives the lease back by expiring it, only if it is still ours (`If-Match`): a run that held
/// it past its expiry never releases the lease a later run has taken since.
pub async fn release(
    store: &StateStore,
    lease: Lease,
    now: DateTime<Utc>,
) -> Result<(), StateError> {
    let expired = LeaseRecord {
        expires_at: now.min(lease.record.expires_at),
        ..lease.record
    };
    match store
        .put_json_if(&lease.key, &expired, &Expect::Version(lease.etag))
        .await
    {
        Ok(_) | Err(StateError::Conflict { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::Client;
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;
    use chrono::TimeZone;

    const HOLDER: &str = "endpoint-scheduler pid 7";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap()
    }

    fn ttl() -> Duration {
        Duration::seconds(600)
    }

    /// The lease as `acquire(HOLDER, now(), ttl())` writes it, or as `holder` would.
    fn record_of(holder: &str) -> Vec<u8> {
        serde_json::to_vec(&LeaseRecord {
            holder: holder.to_owned(),
            acquired_at: now(),
            expires_at: now() + ttl(),
        })
        .unwrap()
    }

    fn no_such_key() -> NoSuchKey {
        let meta = ErrorMetadata::builder().code("NoSuchKey").build();
        NoSuchKey::builder().meta(meta).build()
    }

    /// No lease yet; our conditional write fails with a 500 after it landed (its answer was
    /// lost and the retries gave up); then reading the lease gives `there`.
    async fn acquire_after_a_lost_answer(there: Option<Vec<u8>>) -> Result<Acquired, StateError> {
        let absent =
            mock!(Client::get_object).then_error(|| GetObjectError::NoSuchKey(no_such_key()));
        let lost = mock!(Client::put_object).then_error(|| {
            PutObjectError::generic(
                ErrorMetadata::builder()
                    .code("InternalError")
                    .message("injected")
                    .build(),
            )
        });
        let read_back = match there {
            Some(body) => mock!(Client::get_object).then_output(move || {
                GetObjectOutput::builder()
                    .e_tag("\"v1\"")
                    .body(ByteStream::from(body.clone()))
                    .build()
            }),
            None => {
                mock!(Client::get_object).then_error(|| GetObjectError::NoSuchKey(no_such_key()))
            }
        };
        let s3 = mock_client!(
            aws_sdk_s3,
            RuleMode::Sequential,
            [&absent, &lost, &read_back]
        );
        let store = StateStore::new(s3, "state", None);
        acquire(&store, "endpoint-scheduler", HOLDER, now(), ttl()).await
    }

    #[tokio::test]
    async fn a_lease_whose_write_landed_but_whose_answer_was_lost_is_held() {
        let held = acquire_after_a_lost_answer(Some(record_of(HOLDER))).await;
        let Ok(Acquired::Held(lease)) = held else {
            panic!("{held:?}");
        };
        assert_eq!(lease.expires_at(), now() + ttl());
        // Controls: nothing there, or another run's lease: the write failed, and says so.
        let nothing = acquire_after_a_lost_answer(None).await;
        assert!(matches!(nothing, Err(StateError::Aws(_))), "{nothing:?}");
        let theirs = acquire_after_a_lost_answer(Some(record_of("another run"))).await;
        assert!(matches!(theirs, Err(StateError::Aws(_))), "{theirs:?}");
    }
}
