//! One run at a time per target. EventBridge delivers a schedule at least once and a slow run
//! can meet the next one, so two runs could park and restore the same endpoints at once; each
//! run first takes a lease in the state bucket (an S3 conditional write) and a run that finds
//! it held changes nothing. A crashed run's lease expires, so it blocks at most one tick.
//!
//! Reserved concurrency 1 would not do: the organisation fan-out runs targets in parallel.

use chrono::{Duration, Utc};
use sagekeeper_core::Report;
use sagekeeper_core::s3::lease::{self, Acquired, LEASE_PREFIX, Lease};

use crate::clients::Clients;
use crate::config::NAME;

const LEASE: &str = NAME;
/// Longer than a run may last (the function's 300 s timeout), shorter than the 15 minutes
/// between ticks, so a lease left by a crash never holds back the next tick.
const TTL_SECONDS: i64 = 600;
/// A lease that could not be given back blocks the next runs until it expires: try again.
const RELEASE_ATTEMPTS: usize = 3;

/// This run's turn: the lease, or a dry run (which writes nothing, not even a lease).
pub enum Turn {
    Alone(Lease),
    DryRun,
}

/// Takes the lease; `None` (reported) when another run holds it or it cannot be taken.
pub async fn take(clients: &Clients, report: &mut Report) -> Option<Turn> {
    if report.dry_run {
        return Some(Turn::DryRun);
    }
    let location = clients
        .state
        .location(&format!("{LEASE_PREFIX}{LEASE}.json"));
    // The wall clock, not the event's time: the lease is about runs happening now.
    let taken = lease::acquire(
        &clients.state,
        LEASE,
        &holder(),
        Utc::now(),
        Duration::seconds(TTL_SECONDS),
    )
    .await;
    match taken {
        Ok(Acquired::Held(lease)) => Some(Turn::Alone(lease)),
        Ok(Acquired::Busy { holder, until }) => {
            report.skipped(
                &location,
                "run",
                format!(
                    "another run ({holder}) holds the lease until {until}: this run changes nothing"
                ),
            );
            None
        }
        Err(err) => {
            report.error(Some(&location), &err);
            None
        }
    }
}

pub async fn give_back(clients: &Clients, turn: Turn, report: &mut Report) {
    let Turn::Alone(lease) = turn else {
        return;
    };
    let location = clients.state.location(lease.key());
    let mut last = None;
    for _ in 0..RELEASE_ATTEMPTS {
        match lease::release(&clients.state, lease.clone(), Utc::now()).await {
            Ok(()) => return,
            Err(err) => last = Some(err),
        }
    }
    if let Some(err) = last {
        report.error(Some(&location), &err);
    }
}

/// Unique to this run, so a retried write of our own lease is recognised as ours.
fn holder() -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{NAME} pid {} at {nanos}", std::process::id())
}
