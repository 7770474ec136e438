//! One retrain per target at a time: two different alarms on one endpoint (data quality and
//! model quality) fire at the same moment, each with its own key, and each would find the
//! other's retrain missing from the history. A run that is about to start a retrain takes the
//! target's lease in the state bucket first (`sagekeeper_core::s3::lease`, an S3 conditional
//! write), reads the history again while holding it, decides again, and gives it back.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sagekeeper_core::run::report::ReportableError;
use sagekeeper_core::s3::lease::{self, Acquired, LEASE_PREFIX, Lease};
use sagekeeper_core::s3::state::{StateError, StateStore};

/// Longer than a run may take (the function's timeout is 60 s): a run that dies holding the
/// lock holds up others for at most this long.
pub const TTL: Duration = Duration::minutes(2);
/// How long a run waits for another run deciding on the same target: that run's history read
/// and start take well under a second.
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
const POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// Releases tried before the lease is left to expire.
const RELEASE_TRIES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("retrain lock: {0}")]
    State(#[from] StateError),
    #[error(
        "retrain lock {location} is held by {holder} until {until}: another run is starting a \
         retrain of this target; nothing was started (a retried delivery decides again)"
    )]
    Busy {
        location: String,
        holder: String,
        until: DateTime<Utc>,
    },
}

impl ReportableError for LockError {
    fn kind(&self) -> &'static str {
        match self {
            LockError::State(e) => e.kind(),
            LockError::Busy { .. } => "lock-busy",
        }
    }
    fn retryable(&self) -> bool {
        match self {
            LockError::State(e) => e.retryable(),
            LockError::Busy { .. } => true,
        }
    }
}

/// Takes the lock `name`, waiting a while for another run to give it back.
pub async fn take(store: &StateStore, name: &str, holder: &str) -> Result<Lease, LockError> {
    let deadline = Instant::now() + WAIT;
    loop {
        match lease::acquire(store, name, holder, Utc::now(), TTL).await? {
            Acquired::Held(lease) => return Ok(lease),
            Acquired::Busy { holder, until } if Instant::now() >= deadline => {
                return Err(LockError::Busy {
                    location: store.location(&format!("{LEASE_PREFIX}{name}.json")),
                    holder,
                    until,
                });
            }
            Acquired::Busy { .. } => tokio::time::sleep(POLL).await,
        }
    }
}

/// Gives the lock back. A failure only delays the next run of this target until the lease
/// expires, so it is logged, not reported: the retrain itself is what the report is about.
/// Tried a few times: a lease left behind fails every delivery of the target for its TTL.
/// Repeating is safe: the release is `If-Match` the lease's version, so a try whose write
/// landed with its answer lost makes the next one a conflict, which `release` takes as done.
pub async fn give_back(store: &StateStore, lease: Lease) {
    let key = lease.key().to_owned();
    for tries_left in (0..RELEASE_TRIES).rev() {
        match lease::release(store, lease.clone(), Utc::now()).await {
            Ok(()) => return,
            Err(err) if tries_left == 0 => {
                tracing::warn!(lease = %key, error = %err, "retrain lock not given back; it expires by itself");
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Who holds the lock, for people reading the bucket and for telling our own write apart:
/// the alarm transition and something unique to this run.
pub fn holder(function: &str, alarm_name: &str, marker: &str) -> String {
    let now = Utc::now();
    format!(
        "{function} {alarm_name} {marker} run {}-{}",
        std::process::id(),
        now.timestamp_nanos_opt()
            .unwrap_or_else(|| now.timestamp_micros())
    )
}
