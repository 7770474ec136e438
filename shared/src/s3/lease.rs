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
    match store.put_json_if(&key, &record, &expect).await {
        Ok(etag) => Ok(Acquired::Held(Lease { key, etag, record })),
        Err(StateError::Conflict { .. }) => {
            // Someone else took it between our read and our write: theirs now. Unless it is
            // our own write, retried after its answer was lost.
            match store.get_versioned::<LeaseRecord>(&key).await? {
                Some(Versioned { value, etag }) if value == record => {
                    Ok(Acquired::Held(Lease { key, etag, record }))
                }
                current => Ok(Acquired::Busy {
                    holder: current
                        .as_ref()
                        .map_or_else(|| "another run".to_owned(), |v| v.value.holder.clone()),
                    until: current.map_or(now + ttl, |v| v.value.expires_at),
                }),
            }
        }
        Err(err) => Err(err),
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
